import { lutimes, readdir, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { runCommand } from '../exec.js'
import { ActionError } from '../errors.js'
import type { Scratch } from '../scratch.js'
import type { Credentials } from '../oci/registry.js'

/**
 * The helm CLI (Helm 3.8+ or Helm 4) through `@actions/exec`. Registry credentials reach helm on
 * stdin (`helm registry login --password-stdin`), never in argv, and live in a registry config file
 * in the run's scratch area, which is removed when the run ends (see {@link Scratch}).
 */
export class Helm {
  private major?: number
  private registryConfig?: string
  private repositoryDir?: string

  /**
   * @param scratch the run's private temporary directories (registry config, packages).
   * @param binary the helm executable (`helm` from PATH by default).
   */
  constructor(
    private readonly scratch: Scratch,
    private readonly binary = 'helm',
  ) {}

  /** Helm's major version (3 or 4), from `helm version --short`. @throws ActionError when helm is missing. */
  async majorVersion(): Promise<number> {
    if (this.major === undefined) {
      const res = await runCommand(this.binary, ['version', '--short'], { allowFailure: true }).catch(() => undefined)
      const m = res && /v(\d+)\./.exec(res.stdout)
      if (!m) {
        throw new ActionError(
          `helm is not installed or not on PATH (needed to lint, package and push the chart); add azure/setup-helm before this step. ` +
            `Nothing was written`,
        )
      }
      this.major = Number(m[1])
    }
    return this.major
  }

  private globalArgs(): string[] {
    if (!this.registryConfig) this.registryConfig = join(this.scratch.dir('helm-registry-'), 'config.json')
    return ['--registry-config', this.registryConfig]
  }

  /**
   * `helm lint <chartDir>` (with `--strict` when `strict`: warnings fail too), once per
   * chart-testing scenario when the chart has any: every `<chartDir>/ci/*-values.yaml` is linted
   * with `--values <file>`, as chart-testing's `ct lint` runs it, so a chart that requires values
   * (a database URL) can still be linted. Without scenarios the chart is linted with its defaults.
   * Returns helm's reports; throws an ActionError naming the failing scenario.
   */
  async lint(chartDir: string, strict = false): Promise<string> {
    await this.majorVersion()
    const ciDir = join(chartDir, 'ci')
    const scenarios = (await readdir(ciDir, { withFileTypes: true }).catch(() => []))
      .filter((e) => e.isFile() && e.name.endsWith('-values.yaml'))
      .map((e) => e.name)
      .sort()
    const runs: Array<string | undefined> = scenarios.length > 0 ? scenarios : [undefined]
    const reports: string[] = []
    for (const scenario of runs) {
      const args = ['lint', ...(strict ? ['--strict'] : []), chartDir, ...(scenario ? ['--values', join(ciDir, scenario)] : [])]
      const res = await runCommand(this.binary, args, { allowFailure: true })
      const label = scenario ? `${chartDir} with ci/${scenario}` : chartDir
      if (res.exitCode !== 0) {
        throw new ActionError(`helm lint failed for ${label}; nothing was written:\n${(res.stdout + res.stderr).trim()}`)
      }
      reports.push(`${label}: ${res.stdout.trim().split('\n').pop() ?? ''}`)
    }
    return reports.join('\n')
  }

  /**
   * `helm package <chartDir> -d <tmp>`; returns the path of the .tgz.
   *
   * With `epoch` (seconds; the release commit's time) the result is reproducible: the same commit
   * gives the same archive and, through `helm push`, the same manifest digest, whichever run or
   * re-run publishes it. Helm 4 writes each file's modification time into the archive, so every
   * file and directory of the chart is stamped with `epoch` first (modification times only; content
   * is untouched); Helm releases that honour `SOURCE_DATE_EPOCH` get it too; and the archive's own
   * modification time, which `helm push` records as `org.opencontainers.image.created`, is set to
   * `epoch`. Helm 3 before `SOURCE_DATE_EPOCH` support stamps entries with the current time, so its
   * archives differ between runs (the `created` annotation is still the commit time).
   */
  async package(chartDir: string, epoch?: number): Promise<string> {
    const dest = this.scratch.dir('helm-package-')
    if (epoch !== undefined) await stampTree(chartDir, epoch)
    await runCommand(
      this.binary,
      ['package', chartDir, '--destination', dest],
      epoch !== undefined ? { env: { SOURCE_DATE_EPOCH: String(epoch) } } : {},
    )
    const files = (await readdir(dest)).filter((f) => f.endsWith('.tgz'))
    if (files.length !== 1) throw new ActionError(`helm package left ${files.length} archives in ${dest}`)
    const archive = join(dest, files[0])
    if (epoch !== undefined) await utimes(archive, epoch, epoch)
    return archive
  }

  /**
   * Vendors a chart's `dependencies` into `<chartDir>/charts`, as `helm dependency build` does,
   * before the chart is linted and packaged. `Chart.lock` is respected: with a lock, `helm
   * dependency build` fetches exactly what it names; without one, or when it is out of date with
   * Chart.yaml (helm says "out of sync"), `helm dependency update` resolves the ranges (said in
   * the result). `https://` repositories are added under generated names to a repository config of
   * the run's own (helm builds from a lock only through added repositories); `oci://` ones use this
   * run's registry login; `file://` ones are read from the worktree.
   *
   * @returns what was done, for the log; undefined when Chart.yaml lists no dependencies.
   * @throws ActionError with helm's message when a dependency cannot be fetched.
   */
  async dependencies(chartDir: string, deps: { repository?: string }[], plainHttp: boolean): Promise<string | undefined> {
    if (!deps.length) return undefined
    await this.majorVersion()
    const repoArgs = this.repositoryArgs()
    const urls = [...new Set(deps.map((d) => d.repository ?? '').filter((r) => /^https?:\/\//.test(r)))]
    for (const [i, url] of urls.entries()) {
      const res = await runCommand(this.binary, ['repo', 'add', `zcc-dependency-${i}`, url, '--force-update', ...repoArgs], {
        allowFailure: true,
      })
      if (res.exitCode !== 0) {
        throw new ActionError(`the chart repository ${url} of a dependency cannot be read; nothing was written:\n${res.stderr.trim()}`)
      }
    }
    const args = [chartDir, ...repoArgs, ...this.globalArgs(), ...(plainHttp ? ['--plain-http'] : [])]
    const hasLock = await readdir(chartDir).then((files) => files.includes('Chart.lock'))
    let how = 'helm dependency build (from Chart.lock)'
    let res = hasLock ? await runCommand(this.binary, ['dependency', 'build', ...args], { allowFailure: true }) : undefined
    if (!res || (res.exitCode !== 0 && /out of sync/i.test(res.stderr))) {
      how = hasLock
        ? 'Chart.lock is out of date with Chart.yaml: helm dependency update resolved the dependencies again (Chart.lock is not committed)'
        : 'no Chart.lock: helm dependency update resolved the dependencies'
      res = await runCommand(this.binary, ['dependency', 'update', ...args], { allowFailure: true })
    }
    if (res.exitCode !== 0) {
      throw new ActionError(
        `the chart's dependencies could not be fetched (${how.split(':')[0]}); nothing was written:\n${res.stderr.trim()}`,
      )
    }
    return `${how}; ${deps.length} dependenc${deps.length === 1 ? 'y' : 'ies'} in ${join(chartDir, 'charts')}`
  }

  /** `--repository-config`/`--repository-cache` in the run's scratch area: the user's helm repositories are never changed. */
  private repositoryArgs(): string[] {
    if (!this.repositoryDir) this.repositoryDir = this.scratch.dir('helm-repositories-')
    return ['--repository-config', join(this.repositoryDir, 'repositories.yaml'), '--repository-cache', join(this.repositoryDir, 'cache')]
  }

  /**
   * `helm registry login <host> --username … --password-stdin` into the private registry config.
   * Plain HTTP: Helm 4 takes `--plain-http`; Helm 3's login has no such flag and uses `--insecure`.
   */
  async login(host: string, credentials: Credentials, plainHttp: boolean): Promise<void> {
    const args = ['registry', 'login', host, '--username', credentials.username, '--password-stdin', ...this.globalArgs()]
    if (plainHttp) args.push((await this.majorVersion()) >= 4 ? '--plain-http' : '--insecure')
    const res = await runCommand(this.binary, args, { stdin: credentials.password, allowFailure: true })
    if (res.exitCode !== 0) {
      throw new ActionError(
        `helm registry login to ${host} as '${credentials.username}' failed: ${res.stderr.trim().split('\n').pop()}. Check ` +
          `registry-username/registry-password (for ghcr.io the token needs packages: write)`,
      )
    }
  }

  /**
   * `helm push <archive> oci://<repo>`; returns the manifest digest helm reports (`Digest: sha256:…`).
   */
  async push(archive: string, ociUrl: string, plainHttp: boolean): Promise<string | undefined> {
    const args = ['push', archive, ociUrl, ...this.globalArgs()]
    if (plainHttp) args.push('--plain-http')
    const res = await runCommand(this.binary, args)
    const m = /Digest:\s*(sha256:[a-f0-9]{64})/.exec(res.stdout + res.stderr)
    return m?.[1]
  }
}

/** Sets the access and modification times of `dir` and everything under it (symlinks themselves, not their targets) to `epoch` seconds. */
async function stampTree(dir: string, epoch: number): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) await stampTree(path, epoch)
    else await lutimes(path, epoch, epoch)
  }
  await utimes(dir, epoch, epoch)
}
