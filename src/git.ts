import { runCommand, type CommandResult } from './exec.js'
import { ActionError } from './errors.js'

/**
 * A typed wrapper over the git CLI for one work tree whose remote is `origin` (as actions/checkout
 * sets it up, with credentials in git's config: no token ever appears in a URL or argv here).
 */

/** The identity used for commits and tags when the repository has none configured. */
export const BOT_IDENTITY = {
  name: 'github-actions[bot]',
  email: '41898282+github-actions[bot]@users.noreply.github.com',
}

/** Outcome of a push. `rejected` covers non-fast-forward, hook declines and lost ref races. */
export interface PushResult {
  ok: boolean
  stderr: string
}

export class Git {
  private identity?: { name: string; email: string }

  constructor(readonly cwd: string) {}

  /** Runs `git <args>` in the work tree; throws CommandError on failure unless `allowFailure`. */
  async git(args: string[], options: { allowFailure?: boolean; stdin?: string } = {}): Promise<CommandResult> {
    return runCommand('git', args, { cwd: this.cwd, allowFailure: options.allowFailure, stdin: options.stdin })
  }

  private async out(args: string[]): Promise<string> {
    return (await this.git(args)).stdout.trim()
  }

  /** Throws a clear error when the workspace is not a git work tree with an `origin` remote. */
  async assertRepository(): Promise<void> {
    const inside = await this.git(['rev-parse', '--is-inside-work-tree'], { allowFailure: true })
    if (inside.exitCode !== 0) {
      throw new ActionError(`${this.cwd} is not a git work tree: run actions/checkout before this action`)
    }
    const remote = await this.git(['remote', 'get-url', 'origin'], { allowFailure: true })
    if (remote.exitCode !== 0) throw new ActionError(`the repository in ${this.cwd} has no 'origin' remote`)
  }

  /** The checked-out branch, or undefined on a detached HEAD. */
  async currentBranch(): Promise<string | undefined> {
    const res = await this.git(['symbolic-ref', '--quiet', '--short', 'HEAD'], { allowFailure: true })
    return res.exitCode === 0 ? res.stdout.trim() : undefined
  }

  /** Full commit id of a revision. */
  async revParse(rev: string): Promise<string> {
    return this.out(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`])
  }

  /** The committer time of `rev`, in seconds since the Unix epoch (`git show -s --format=%ct`). */
  async commitTime(rev: string): Promise<number> {
    return Number(await this.out(['show', '-s', '--format=%ct', `${rev}^{commit}`]))
  }

  /** `git fetch origin <branch>` into `refs/remotes/origin/<branch>`; returns the remote tip. */
  async fetchBranch(branch: string): Promise<string> {
    await this.git(['fetch', '--no-tags', '--quiet', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`])
    return this.revParse(`refs/remotes/origin/${branch}`)
  }

  /** True when `ancestor` is an ancestor of (or equal to) `descendant`. */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const res = await this.git(['merge-base', '--is-ancestor', ancestor, descendant], { allowFailure: true })
    if (res.exitCode > 1) throw new ActionError(`git merge-base failed: ${res.stderr.trim()}`)
    return res.exitCode === 0
  }

  /**
   * Checks out `branch` at `commit` (creating or moving the local branch), keeping local
   * uncommitted changes that do not conflict; `git reset --keep` refuses rather than losing work.
   */
  async checkoutAt(branch: string, commit: string): Promise<void> {
    const current = await this.currentBranch()
    if (current !== branch) await this.git(['checkout', '--quiet', '-B', branch, commit])
    else await this.git(['reset', '--quiet', '--keep', commit])
  }

  /** True when the repository is a shallow clone (actions/checkout's default `fetch-depth: 1`). */
  async isShallow(): Promise<boolean> {
    return (await this.out(['rev-parse', '--is-shallow-repository'])) === 'true'
  }

  /** Fetches the full history of `branch` (only needed on rare recovery paths). */
  async unshallow(branch: string): Promise<void> {
    if (await this.isShallow()) {
      await this.git(['fetch', '--no-tags', '--quiet', '--unshallow', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`])
    }
  }

  /**
   * The newest commit reachable from `rev` whose diff touches a line of `file` matching `pattern`
   * (`git log -G`), or undefined.
   */
  async lastCommitTouching(rev: string, file: string, pattern: string): Promise<string | undefined> {
    const res = await this.out(['log', '-n', '1', '--format=%H', `-G${pattern}`, rev, '--', file])
    return res || undefined
  }

  /** The content of `file` (relative to the repository root) at `rev`, or undefined if absent. */
  async show(rev: string, file: string): Promise<string | undefined> {
    const res = await this.git(['show', `${rev}:${file}`], { allowFailure: true })
    return res.exitCode === 0 ? res.stdout : undefined
  }

  /** The path of the work tree root. */
  async topLevel(): Promise<string> {
    return this.out(['rev-parse', '--show-toplevel'])
  }

  private async ensureIdentity(): Promise<{ name: string; email: string }> {
    if (!this.identity) {
      const name = (await this.git(['config', 'user.name'], { allowFailure: true })).stdout.trim()
      const email = (await this.git(['config', 'user.email'], { allowFailure: true })).stdout.trim()
      this.identity = name && email ? { name, email } : BOT_IDENTITY
    }
    return this.identity
  }

  private async identityArgs(): Promise<string[]> {
    const id = await this.ensureIdentity()
    return ['-c', `user.name=${id.name}`, '-c', `user.email=${id.email}`]
  }

  /** Commits exactly `files` with `message`; returns the new commit id. */
  async commit(files: string[], message: string): Promise<string> {
    await this.git(['add', '--', ...files])
    await this.git([...(await this.identityArgs()), 'commit', '--quiet', '--no-verify', '-F', '-', '--', ...files], { stdin: message })
    return this.revParse('HEAD')
  }

  /** Restores `files` from HEAD, dropping uncommitted edits to them. */
  async restore(files: string[]): Promise<void> {
    await this.git(['checkout', '--quiet', 'HEAD', '--', ...files])
  }

  /** `git push origin <commit>:refs/heads/<branch>` without force. */
  async pushBranch(commit: string, branch: string): Promise<PushResult> {
    const res = await this.git(['push', '--porcelain', 'origin', `${commit}:refs/heads/${branch}`], { allowFailure: true })
    return { ok: res.exitCode === 0, stderr: `${res.stderr}\n${res.stdout}`.trim() }
  }

  /**
   * Remote tags (`git ls-remote --tags origin`) as tag name → commit id; annotated tags are peeled
   * to the commit they point to.
   */
  async remoteTags(): Promise<Map<string, string>> {
    const out = await this.out(['ls-remote', '--tags', 'origin'])
    const tags = new Map<string, string>()
    const peeled = new Map<string, string>()
    for (const line of out.split('\n')) {
      const [sha, ref] = line.split('\t')
      if (!sha || !ref?.startsWith('refs/tags/')) continue
      const name = ref.slice('refs/tags/'.length)
      if (name.endsWith('^{}')) peeled.set(name.slice(0, -3), sha)
      else tags.set(name, sha)
    }
    for (const [name, sha] of peeled) tags.set(name, sha)
    return tags
  }

  /** True when `name` is a valid tag name (`git check-ref-format`). */
  async isValidTagName(name: string): Promise<boolean> {
    const res = await this.git(['check-ref-format', `refs/tags/${name}`], { allowFailure: true })
    return res.exitCode === 0
  }

  /**
   * Creates an annotated tag `name` at `commit` (replacing a stale local tag of that name: local
   * tags are not the record, the remote is) and pushes it without force. Returns the push result;
   * a rejection means the remote already has the tag.
   */
  async createAndPushTag(name: string, commit: string, message: string): Promise<PushResult> {
    await this.git([...(await this.identityArgs()), 'tag', '--force', '--annotate', '--file', '-', name, commit], { stdin: message })
    const res = await this.git(['push', '--porcelain', 'origin', `refs/tags/${name}:refs/tags/${name}`], { allowFailure: true })
    return { ok: res.exitCode === 0, stderr: `${res.stderr}\n${res.stdout}`.trim() }
  }

  /** Adds a detached worktree of `commit` at `dir` (for packaging a chart as it was at a commit). */
  async addWorktree(dir: string, commit: string): Promise<void> {
    await this.git(['worktree', 'add', '--quiet', '--detach', dir, commit])
  }

  /** Removes a worktree added by {@link addWorktree}. */
  async removeWorktree(dir: string): Promise<void> {
    await this.git(['worktree', 'remove', '--force', dir], { allowFailure: true })
  }

  /** True when `path` is the same in `a` and `b`. */
  async sameTree(a: string, b: string, path: string): Promise<boolean> {
    const res = await this.git(['diff', '--quiet', a, b, '--', path], { allowFailure: true })
    return res.exitCode === 0
  }
}
