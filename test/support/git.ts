import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'

/** The repository's own chart, copied into each test remote. */
export const CHART_SOURCE = resolve(new URL('../../charts/zero-cache', import.meta.url).pathname)

/** An isolated git environment: no user or system config leaks in from the machine. */
export function gitEnv(home: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
  }
}

/** A bare remote with a seeded main branch, and helpers to look at it. */
export interface TestRemote {
  dir: string
  /** `file://` URL of the bare repository. */
  url: string
  home: string
  git(args: string[], cwd?: string): string
  /**
   * Clones like actions/checkout does (`--depth 1`, branch main) into a new directory; with `url`,
   * origin is then that URL (the same repository served another way, e.g. over HTTP).
   */
  checkout(options?: { depth?: number; url?: string }): string
  /** Commits on main of the remote, newest first: `<sha> <subject>`. */
  log(): string[]
  /** Tags on the remote: name → peeled commit. */
  tags(): Map<string, string>
  /** Chart.yaml on the remote's main. */
  chartYaml(): string
  /** Makes a commit on the remote's main through a scratch clone (a human pushing meanwhile). */
  pushChange(file: string, content: string, message: string): string
  /** Commits several files at once (`null` deletes one) and pushes to main; returns the commit. */
  pushFiles(files: Record<string, string | null>, message: string): string
  cleanup(): void
}

/**
 * Creates a bare repository whose main holds `charts/zero-cache` with the given `version` and
 * `appVersion` (Chart.yaml otherwise as in this repository, or exactly `chartYaml`) and a README.
 */
export function createRemote(chart: { version: string; appVersion: string; chartYaml?: string }): TestRemote {
  const root = mkdtempSync(join(tmpdir(), 'zcc-git-'))
  const home = join(root, 'home')
  const dir = join(root, 'remote.git')
  const env = gitEnv(home)
  const git = (args: string[], cwd = root) =>
    execFileSync('git', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
  execFileSync('mkdir', ['-p', home])
  git(['init', '--quiet', '--bare', '--initial-branch=main', dir])
  const seed = join(root, 'seed')
  git(['clone', '--quiet', dir, seed])
  cpSync(CHART_SOURCE, join(seed, 'charts/zero-cache'), { recursive: true })
  const chartFile = join(seed, 'charts/zero-cache/Chart.yaml')
  // A given Chart.yaml is written as it is (tests of unusual forms); otherwise the repository's
  // own, with version and appVersion set.
  writeFileSync(chartFile, chart.chartYaml ?? fixtureChart(readFileSync(chartFile, 'utf8'), chart.version, chart.appVersion))
  writeFileSync(join(seed, 'README.md'), '# charts\n')
  const id = ['-c', 'user.name=Maintainer', '-c', 'user.email=maintainer@example.com']
  git(['add', '-A'], seed)
  git([...id, 'commit', '--quiet', '-m', 'feat: zero-cache chart'], seed)
  git(['push', '--quiet', 'origin', 'HEAD:refs/heads/main'], seed)
  const url = `file://${dir}`
  let n = 0
  return {
    dir,
    url,
    home,
    git,
    checkout(options = {}) {
      const ws = join(root, `workspace-${++n}`)
      git(['clone', '--quiet', '--no-tags', ...(options.depth === 0 ? [] : [`--depth=${options.depth ?? 1}`]), '--branch', 'main', url, ws])
      if (options.url) git(['remote', 'set-url', 'origin', options.url], ws)
      return ws
    },
    log() {
      return git(['log', '--format=%H %s', 'main'], dir).split('\n').filter(Boolean)
    },
    tags() {
      const out = git(['for-each-ref', '--format=%(refname:short) %(*objectname) %(objectname)', 'refs/tags'], dir)
      return new Map(
        out
          .split('\n')
          .filter(Boolean)
          .map((l) => {
            const [name, peeled, obj] = l.split(' ')
            return [name, peeled || obj] as [string, string]
          }),
      )
    },
    chartYaml() {
      return git(['show', 'main:charts/zero-cache/Chart.yaml'], dir)
    },
    pushFiles(files, message) {
      const scratch = join(root, `scratch-${++n}`)
      git(['clone', '--quiet', url, scratch])
      for (const [file, content] of Object.entries(files)) {
        if (content === null) rmSync(join(scratch, file), { force: true })
        else {
          mkdirSync(dirname(join(scratch, file)), { recursive: true })
          writeFileSync(join(scratch, file), content)
        }
      }
      git(['add', '-A'], scratch)
      git([...id, 'commit', '--quiet', '-m', message], scratch)
      git(['push', '--quiet', 'origin', 'HEAD:refs/heads/main'], scratch)
      return git(['rev-parse', 'HEAD'], scratch)
    },
    pushChange(file, content, message) {
      const scratch = join(root, `scratch-${++n}`)
      git(['clone', '--quiet', url, scratch])
      writeFileSync(join(scratch, file), content)
      git(['add', '-A'], scratch)
      git([...id, 'commit', '--quiet', '-m', message], scratch)
      git(['push', '--quiet', 'origin', 'HEAD:refs/heads/main'], scratch)
      return git(['rev-parse', 'HEAD'], scratch)
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true })
    },
  }
}

/**
 * This repository's Chart.yaml as a test's starting point: `version` and `appVersion` set, the
 * Artifact Hub image entry at that appVersion (as the action keeps it), and its changes entry the
 * plain one a release without an upstream link writes.
 */
export function fixtureChart(text: string, version: string, appVersion: string): string {
  return text
    .replace(/^version:.*$/m, `version: ${version}`)
    .replace(/^appVersion:.*$/m, `appVersion: "${appVersion}"`)
    .replace(/(image: docker\.io\/rocicorp\/zero:)\S+/, `$1${appVersion}`)
    .replace(/(description: "Update zero-cache to )[^"]*"/, `$1${appVersion}"`)
    .replace(/\n {6}links:\n {8}- name: "Upstream releases"\n {10}url: "[^"]*"/, '')
}
