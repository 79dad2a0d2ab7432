import { execFileSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRemote, gitEnv, type TestRemote } from '../support/git.js'
import { serveGit, type GitHttpServer } from '../support/git-http.js'
import { GitHubApiDouble } from '../support/github-api.js'
import { startProxy, type FaultAction, type FaultProxy } from '../support/proxy.js'
import { REGISTRY_PASSWORD, REGISTRY_USER, releaseHistory, startRegistry, type TestRegistry } from '../support/registry.js'
import { runAction, type ActionRun } from '../support/runner.js'

/**
 * A replayed year of unattended hourly runs (issue 19): rocicorp/zero's real release history
 * (test/fixtures, 107 releases from 2025-05 on) replayed hour by hour through the bundled
 * dist/index.js, the way the hourly workflow runs it, against loopback parts: docker-registry as
 * the upstream and the chart registry (behind a fault proxy, token service included), a bare git
 * remote served over smart HTTP, real helm, and the GitHub API double, whose package versions age
 * on the replay's simulated clock so that prune and `max-age-days` are exercised.
 *
 * Time is compressed: every hour in which the upstream tag list changes is run (a day's releases
 * at 10:00, 14:00, 18:00 UTC), then every hour after a red run until a run is green (the hourly
 * schedule would), plus one sampled no-op hour a day (03:00 UTC); a maintainer commits to the
 * README every 10 days (09:00 UTC), and an untagged package version appears every 5 days (a build
 * cache the action did not make; prune's work).
 * Git's clock in each run is the hour the newest upstream release appeared, so a release that a
 * fault delays produces the same commit, tag and chart digest as the fault-free replay, and the
 * final states can be compared exactly.
 *
 * The faulted replay adds, from a seeded generator: about 1% of HTTP requests to the registries
 * (and the token service) answered 500 or 503, reset, or slowed past the client's timeout; about
 * 1% of GitHub API requests answered 502; a git push refused once in about 3% of runs; a SIGKILL
 * of the step in about 1% of runs. After every run: the invariants (no duplicate commit, tag or
 * chart version; no tag moved; no published version changed; every tag's chart published or
 * publishable; no secret on disk) and that a red run had a fault injected in it. At the end: the
 * final state (Chart.yaml, branch tip, tags, chart versions and digests, package versions left
 * after prune) equals the fault-free replay's.
 */

const HOUR = 3_600_000
const DAY = 24 * HOUR
const GITHUB_TOKEN = 'ghs_soakToken0123456789abcdef'
const SECRETS = [REGISTRY_PASSWORD, Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString('base64'), GITHUB_TOKEN]
const TIME_SCALE = '50'

/** mulberry32: a small seeded generator, so a replay's faults can be replayed. */
function generator(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface SoakOptions {
  /** First and last simulated day (inclusive), `YYYY-MM-DD`. */
  from: string
  to: string
  seed: number
  /** Print a line per run. */
  verbose?: boolean
}

export interface ReplayResult {
  runs: number
  faulted: number
  killed: number
  red: number
  violations: string[]
  final: FinalState
}

interface FinalState {
  chartYaml: string
  tip: string
  tags: [string, string][]
  charts: [string, string][]
  packageVersions: string[]
}

/** The hours to run, in order, and what happens at each (releases, a maintainer's commit, an orphan). */
interface Hour {
  at: number
  releases: string[]
  human: boolean
  orphan: boolean
}

function schedule(from: string, to: string): { before: string[]; hours: Hour[]; end: number } {
  const start = Date.parse(`${from}T00:00:00Z`)
  const end = Date.parse(`${to}T23:00:00Z`)
  const history = releaseHistory()
  const byHour = new Map<number, string[]>()
  const before: string[] = []
  const counts = new Map<string, number>()
  for (const { date, tag } of history) {
    const n = counts.get(date) ?? 0
    counts.set(date, n + 1)
    // Releases of one day four hours apart: a red run's retry, an hour later, still comes before the next.
    const at = Date.parse(`${date}T10:00:00Z`) + n * 4 * HOUR
    if (at < start) before.push(tag)
    else if (at <= end) byHour.set(at, [...(byHour.get(at) ?? []), tag])
  }
  const hours = new Map<number, Hour>()
  const hour = (at: number) => hours.get(at) ?? hours.set(at, { at, releases: [], human: false, orphan: false }).get(at)!
  for (const [at, tags] of byHour) hour(at).releases.push(...tags)
  for (let day = start, i = 0; day <= end; day += DAY, i++) {
    hour(day + 3 * HOUR)
    if (i % 10 === 9) hour(day + 9 * HOUR).human = true
    if (i % 5 === 4) hour(day + 9 * HOUR).orphan = true
  }
  return { before, hours: [...hours.values()].sort((a, b) => a.at - b.at), end }
}

/** A package version as the replay keeps it: its digest, tags, and when it appeared on the simulated clock. */
interface SimVersion {
  digest: string
  tags: string[]
  simCreated: number
  /** Handed to the API double: gone from it later means prune deleted it. */
  synced: boolean
}

/**
 * One replay (faulted or not) over its own registry namespace, git remote and API double. The
 * upstream registry and its proxy are shared by the caller; each replay gets its own upstream
 * repository, filled as the simulated clock passes each release.
 */
async function replay(
  registry: TestRegistry,
  template: TestRemote,
  options: SoakOptions,
  faulted: boolean,
  log: (line: string) => void,
): Promise<ReplayResult> {
  const random = generator(options.seed + (faulted ? 1 : 0))
  const { before, hours, end } = schedule(options.from, options.to)
  const label = faulted ? 'faulted' : 'clean'
  const upstreamRepo = `rocicorp/zero-soak-${label}-${process.pid}`
  const ns = `acme/soak-${label}-${process.pid}`
  await registry.seedTags(upstreamRepo, before.length ? before : [releaseHistory()[0].tag])
  const proxy: FaultProxy = await startProxy({ target: registry.host, token: registry.realm })
  // Both replays start from one history: the same commits, so their final states can be compared.
  const remote = createRemote({ version: '0.1.0', appVersion: '0.0.0' })
  rmSync(remote.dir, { recursive: true, force: true })
  cpSync(template.dir, remote.dir, { recursive: true })
  const http: GitHttpServer = await serveGit(remote.dir)
  const api = await new GitHubApiDouble({ timeScale: Number(TIME_SCALE) }).start()
  const state = {
    released: [...before],
    tagCommits: new Map<string, string>(),
    chartDigests: new Map<string, string>(),
    pkg: [] as SimVersion[],
    upstreamClock: Date.parse(`${options.from}T00:00:00Z`),
  }
  const result: ReplayResult = { runs: 0, faulted: 0, killed: 0, red: 0, violations: [], final: undefined as never }
  const pkgName = `${ns.split('/')[1]}/zero-cache`
  try {
    const queue = [...hours]
    for (let i = 0; i < queue.length; i++) {
      const h = queue[i]
      if (h.at > end + 2 * DAY) {
        result.violations.push(`${label}: still red two days after the last hour`)
        break
      }
      await prepareHour(registry, remote, upstreamRepo, h, state)
      // The last hour has no faults: both replays end with a run in the same conditions.
      const last = i === queue.length - 1
      const ctx = { registry, proxy, http, api, remote, ns, upstreamRepo, pkgName, state, random, faulted: faulted && !last, result }
      const run = await runHour(h.at, ctx)
      // After a red run the next hour runs too, as the hourly schedule would.
      if (run.exitCode !== 0 && !(queue[i + 1]?.at <= h.at + HOUR))
        queue.splice(i + 1, 0, { at: h.at + HOUR, releases: [], human: false, orphan: false })
      if (options.verbose)
        log(`${label} ${new Date(h.at).toISOString().slice(0, 13)} exit ${run.exitCode}${run.faults ? ` faults: ${run.faults}` : ''}`)
    }
    result.final = await finalState(registry, remote, ns, api, pkgName)
  } finally {
    await api.stop()
    await http.stop()
    await proxy.stop()
    remote.cleanup()
  }
  return result
}

/** Before a run: new upstream tags, a maintainer's commit, an orphan package version, as the hour says. */
async function prepareHour(
  registry: TestRegistry,
  remote: TestRemote,
  upstreamRepo: string,
  h: Hour,
  state: { released: string[]; pkg: SimVersion[]; upstreamClock: number },
): Promise<void> {
  if (h.releases.length) {
    await registry.seedTags(upstreamRepo, h.releases)
    state.released.push(...h.releases)
    state.upstreamClock = h.at
  }
  if (h.human) commitAs(remote, 'README.md', `# charts\n\nnotes of ${new Date(h.at).toISOString().slice(0, 10)}\n`, h.at)
  if (h.orphan) {
    const digest = `sha256:${createHash('sha256').update(`orphan-${h.at}`).digest('hex')}`
    state.pkg.push({ digest, tags: [], simCreated: h.at, synced: false })
  }
}

/** Replaces the repository's chart with a small one (Chart.yaml kept, one ConfigMap): quick to lint and package. */
function smallChart(remote: TestRemote): void {
  const dir = mkdtempSync(join(tmpdir(), 'zcc-soak-chart-'))
  const git = (args: string[]) => execFileSync('git', args, { cwd: dir, env: gitEnv(remote.home), stdio: ['ignore', 'pipe', 'pipe'] })
  git(['clone', '--quiet', remote.url, '.'])
  const chart = readFileSync(join(dir, 'charts/zero-cache/Chart.yaml'), 'utf8')
  rmSync(join(dir, 'charts/zero-cache'), { recursive: true, force: true })
  mkdirSync(join(dir, 'charts/zero-cache/templates'), { recursive: true })
  writeFileSync(join(dir, 'charts/zero-cache/Chart.yaml'), chart)
  writeFileSync(join(dir, 'charts/zero-cache/values.yaml'), 'replicas: 1\n')
  writeFileSync(
    join(dir, 'charts/zero-cache/templates/configmap.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  app: "{{ .Chart.AppVersion }}"\n',
  )
  git(['add', '-A'])
  git(['-c', 'user.name=Maintainer', '-c', 'user.email=maintainer@example.com', 'commit', '--quiet', '-m', 'chore: a small chart'])
  git(['push', '--quiet', 'origin', 'HEAD:refs/heads/main'])
  rmSync(dir, { recursive: true, force: true })
}

/** A maintainer's commit on main, dated `at` (so both replays make the same commit). */
function commitAs(remote: TestRemote, file: string, content: string, at: number): void {
  const dir = mkdtempSync(join(tmpdir(), 'zcc-soak-human-'))
  const date = new Date(at).toISOString()
  const env = { ...gitEnv(remote.home), GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date }
  const git = (args: string[]) => execFileSync('git', args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  git(['clone', '--quiet', remote.url, '.'])
  writeFileSync(join(dir, file), content)
  git(['-c', 'user.name=Maintainer', '-c', 'user.email=maintainer@example.com', 'commit', '--quiet', '-am', 'docs: notes'])
  git(['push', '--quiet', 'origin', 'HEAD:refs/heads/main'])
  rmSync(dir, { recursive: true, force: true })
}

interface HourContext {
  registry: TestRegistry
  proxy: FaultProxy
  http: GitHttpServer
  api: GitHubApiDouble
  remote: TestRemote
  ns: string
  upstreamRepo: string
  pkgName: string
  state: {
    released: string[]
    tagCommits: Map<string, string>
    chartDigests: Map<string, string>
    pkg: SimVersion[]
    upstreamClock: number
  }
  random: () => number
  faulted: boolean
  result: ReplayResult
}

/** The faults of a run: registry, token service and API answers, a refused push, a kill. */
function armFaults(c: HourContext): { kill?: number } {
  if (!c.faulted) return {}
  const kinds: FaultAction[] = [{ answer: 500 }, { answer: 503 }, { reset: 'before-forwarding' }, { delayMs: 5_500 }]
  const pickKind = () => {
    const r = c.random()
    return r < 0.3 ? kinds[0] : r < 0.6 ? kinds[1] : r < 0.9 ? kinds[2] : kinds[3]
  }
  const kind = pickKind()
  c.proxy.inject({ name: `registry ${JSON.stringify(kind)}`, chance: { p: 0.01, random: c.random }, do: kind })
  if (c.random() < 0.01 * 8)
    c.api.inject({
      path: /\/packages\//,
      status: 502,
      body: '{"message":"Server Error"}',
      contentType: 'application/json',
      skip: Math.floor(c.random() * 4),
    })
  if (c.random() < 0.03)
    c.http.inject({ name: 'push refused', service: 'git-receive-pack', method: 'POST', do: { answer: 403, body: 'refused' } })
  if (c.random() < 0.01) return { kill: 200 + Math.floor(c.random() * 2500) }
  return {}
}

/** One hourly run: the package's ages on the simulated clock, the faults, the run, the checks. */
async function runHour(at: number, c: HourContext): Promise<ActionRun & { faults: string }> {
  syncPackage(c, at)
  c.proxy.reset()
  c.http.reset()
  c.api.clearFaults()
  const apiLogBefore = c.api.log.length
  const { kill } = armFaults(c)
  const runnerTemp = mkdtempSync(join(tmpdir(), 'zcc-soak-temp-'))
  const workspace = c.remote.checkout({ url: c.http.url })
  const date = new Date(c.state.upstreamClock).toISOString()
  let killed = false
  let child: ChildProcess | undefined
  const timer = kill
    ? setTimeout(() => {
        if (!child?.pid) return
        killed = true
        try {
          process.kill(-child.pid, 'SIGKILL')
        } catch {
          killed = false
        }
      }, kill)
    : undefined
  const run = await runAction({
    workspace,
    home: c.remote.home,
    runnerTemp,
    context: { actor: REGISTRY_USER, token: GITHUB_TOKEN, apiUrl: c.api.url },
    env: { ZERO_CACHE_CHART_TIME_SCALE: TIME_SCALE, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
    onSpawn: (p) => (child = p),
    inputs: {
      image: `${c.proxy.host}/${c.upstreamRepo}`,
      'oci-repo': `oci://${c.proxy.host}/${c.ns}`,
      'plain-http': 'true',
      'registry-username': REGISTRY_USER,
      'registry-password': REGISTRY_PASSWORD,
      'github-packages': 'true',
      'github-token': GITHUB_TOKEN,
      'max-age-days': '7',
    },
  })
  if (timer) clearTimeout(timer)
  const applied = { ...c.proxy.applied(), ...c.http.applied() }
  const apiFaults = c.api.log.slice(apiLogBefore).filter((l) => l.status === 502).length
  const faults = [
    ...Object.entries(applied).map(([k, n]) => `${k} ×${n}`),
    ...(apiFaults ? [`api 502 ×${apiFaults}`] : []),
    ...(killed ? ['SIGKILL'] : []),
  ]
  c.result.runs++
  if (faults.length) c.result.faulted++
  if (killed) c.result.killed++
  if (run.exitCode !== 0) c.result.red++
  const when = new Date(at).toISOString().slice(0, 13)
  if (run.exitCode !== 0 && !faults.length) {
    c.result.violations.push(`${when}: red run (exit ${run.exitCode}) with no fault injected:\n${run.log.split('\n').slice(-8).join('\n')}`)
  }
  if (!killed) for (const file of secretsIn(runnerTemp)) c.result.violations.push(`${when}: a secret left on disk in ${file}`)
  for (const file of secretsIn(workspace)) c.result.violations.push(`${when}: a secret in the checkout, ${file}`)
  rmSync(runnerTemp, { recursive: true, force: true })
  rmSync(workspace, { recursive: true, force: true })
  await checkInvariants(c, when)
  return { ...run, faults: faults.join(', ') }
}

/** The API double's package as the replay models it, each version's age mapped from the simulated clock. */
function syncPackage(c: HourContext, simNow: number): void {
  const left = new Set(c.api.versions('acme', c.pkgName).map((v) => v.digest))
  c.state.pkg = c.state.pkg.filter((v) => !v.synced || left.has(v.digest))
  for (const [version, digest] of c.state.chartDigests) {
    if (!c.state.pkg.some((v) => v.digest === digest)) c.state.pkg.push({ digest, tags: [version], simCreated: simNow, synced: false })
  }
  for (const v of c.state.pkg) v.synced = true
  const now = Date.now()
  c.api.addPackage(
    'acme',
    'Organization',
    c.pkgName,
    c.state.pkg.map((v) => ({ digest: v.digest, tags: v.tags, createdAt: new Date(now - (simNow - v.simCreated)) })),
  )
}

/** Files under `dir` that hold a secret (the registry password, its Basic form, the GitHub token). */
function secretsIn(dir: string): string[] {
  const found: string[] = []
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name)
      const st = statSync(path, { throwIfNoEntry: false })
      if (!st) continue
      if (st.isDirectory()) walk(path)
      else if (st.size < 5_000_000) {
        const text = readFileSync(path, 'latin1')
        if (SECRETS.some((s) => text.includes(s))) found.push(path)
      }
    }
  }
  walk(dir)
  return found
}

/** After every run: no duplicate commit, tag or chart version; no tag moved; no version re-pushed; every tag publishable. */
async function checkInvariants(c: HourContext, when: string): Promise<void> {
  const v = c.result.violations
  const subjects = c.remote.log().map((l) => l.slice(41))
  const bumps = subjects.filter((s) => s.startsWith('chore(chart): update appVersion to '))
  const dup = bumps.find((s, i) => bumps.indexOf(s) !== i)
  if (dup) v.push(`${when}: duplicate commit "${dup}"`)
  for (const [tag, commit] of c.remote.tags()) {
    const before = c.state.tagCommits.get(tag)
    if (before && before !== commit) v.push(`${when}: tag ${tag} moved from ${before.slice(0, 12)} to ${commit.slice(0, 12)}`)
    c.state.tagCommits.set(tag, commit)
    const chart = c.remote.git(['show', `${commit}:charts/zero-cache/Chart.yaml`], c.remote.dir)
    const version = /^version: (.+)$/m.exec(chart)?.[1]
    if (`v${version}` !== tag) v.push(`${when}: tag ${tag} is at a commit whose chart version is ${version}`)
  }
  const charts = await c.registry.listTags(`${c.ns}/zero-cache`).catch(() => [] as string[])
  for (const version of charts) {
    const { digest } = await c.registry.manifest(`${c.ns}/zero-cache`, version)
    const before = c.state.chartDigests.get(version)
    if (before && before !== digest) v.push(`${when}: chart ${version} was pushed again (${before} → ${digest})`)
    c.state.chartDigests.set(version, digest)
  }
}

async function finalState(
  registry: TestRegistry,
  remote: TestRemote,
  ns: string,
  api: GitHubApiDouble,
  pkgName: string,
): Promise<FinalState> {
  const charts = await registry.listTags(`${ns}/zero-cache`).catch(() => [] as string[])
  const digests: [string, string][] = []
  for (const t of charts.sort()) digests.push([t, (await registry.manifest(`${ns}/zero-cache`, t)).digest])
  return {
    chartYaml: remote.chartYaml(),
    tip: remote.log()[0].split(' ')[0],
    tags: [...remote.tags()].sort(),
    charts: digests,
    packageVersions: api
      .versions('acme', pkgName)
      .map((v) => `${v.digest} ${v.tags.join(',')}`)
      .sort(),
  }
}

/**
 * The soak: the fault-free replay, then the faulted one, over the same simulated days, and the
 * comparison of their final states.
 *
 * @returns both replays, whether their final states are equal, the wall time (s), and the summary line.
 */
export async function soak(options: SoakOptions, log: (line: string) => void = console.log) {
  const started = Date.now()
  const registry = await startRegistry()
  const { before } = schedule(options.from, options.to)
  const first = before.length ? before[before.length - 1] : releaseHistory()[0].tag
  // The chart repository both replays start from: a small chart following rocicorp/zero.
  const template = createRemote({
    version: '0.1.0',
    appVersion: first,
    chartYaml: `apiVersion: v2\nname: zero-cache\nversion: 0.1.0\nappVersion: "${first}"\n`,
  })
  smallChart(template)
  try {
    const clean = await replay(registry, template, options, false, log)
    const faulted = await replay(registry, template, options, true, log)
    const equal = JSON.stringify(clean.final) === JSON.stringify(faulted.final)
    const violations = [...clean.violations.map((x) => `clean: ${x}`), ...faulted.violations.map((x) => `faulted: ${x}`)]
    if (clean.red) violations.push(`clean: ${clean.red} red runs without any fault`)
    const wall = Math.round((Date.now() - started) / 1000)
    const runs = clean.runs + faulted.runs
    const line =
      `soak: ${runs} runs (${faulted.faulted} faulted, ${faulted.killed} killed), ${violations.length} invariant violations, ` +
      `final state equal: ${equal ? 'yes' : 'no'}, wall ${wall} s`
    return { clean, faulted, equal, violations, wall, line }
  } finally {
    await registry.stop()
    template.cleanup()
  }
}
