import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The run's private temporary directories (under `RUNNER_TEMP`): helm's registry config, which
 * holds the registry credentials, packaged archives and git worktrees. Everything made here is
 * removed when the run ends, whatever the outcome ({@link removeAll}, from `run()`'s `finally` and
 * from the SIGINT/SIGTERM handlers a cancelled workflow triggers), so no later step of the job can
 * read the credentials. A SIGKILL cannot be handled; the runner empties `RUNNER_TEMP` when the
 * job ends.
 */
export class Scratch {
  private readonly dirs = new Set<string>()

  /** @param root the parent directory (`RUNNER_TEMP`, or the OS temp directory). */
  constructor(readonly root: string) {}

  /** A new directory `<root>/<prefix>XXXXXX`, mode 0700 (as `mkdtemp` makes it). */
  dir(prefix: string): string {
    const dir = mkdtempSync(join(this.root, prefix))
    this.dirs.add(dir)
    return dir
  }

  /** Removes every directory made here, synchronously (safe in a signal handler); never throws. */
  removeAll(): void {
    for (const dir of this.dirs) {
      try {
        rmSync(dir, { recursive: true, force: true })
      } catch {
        // best effort: a directory that cannot be removed now is RUNNER_TEMP's, emptied by the runner
      }
      this.dirs.delete(dir)
    }
  }
}
