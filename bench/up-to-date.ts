/**
 * `npm run bench`: the hourly common case — nothing new upstream — timed end to end, against the
 * floor that any correct implementation pays.
 *
 * Two docker-registry instances on loopback, each with token auth (as Docker Hub and ghcr.io) and
 * each behind a counting proxy: "upstream" holds rocicorp/zero with 3,000 tags; "charts" holds the
 * published chart. A bare git remote holds the chart, already current. In turn, each round runs:
 *
 * - `node -e 0`: Node's own start and exit;
 * - `@actions/core` alone (bench/core-only.mjs, bundled as the action is): what every run must load, since
 *   @actions/core is a requested dependency and its @actions/http-client imports undici at the top;
 * - the floor (bench/floor.mjs): Node, then the two registry reads and `git ls-remote` with plain
 *   `node:http` and no library;
 * - the bundled dist/index.js, run as a runner runs it (environment `INPUT_*`, `GITHUB_OUTPUT` …).
 *
 * Each is timed from spawn to exit. The script prints the medians, the ratio action / floor, HTTP
 * round trips per registry, the bundle's size, and a breakdown of one traced run of the action
 * (bench/trace.mjs, preloaded with NODE_OPTIONS: Node's start, start to first I/O, each request,
 * each subprocess, the exit).
 *
 * Usage: npm run bench [-- [--runs N] [--before <dir>/index.js]]; ZCC_DIST=<dir>/index.js measures another bundle;
 * ZCC_BENCH_IMPORT=<file> adds a preload to the traced runs (a CPU profiler, for instance).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createRemote, gitEnv } from '../test/support/git.js'
import { startCountingProxy } from '../test/support/proxy.js'
import { REGISTRY_PASSWORD, REGISTRY_USER, releaseHistory, startRegistry, NOISE_TAGS } from '../test/support/registry.js'
import { DIST, runAction, type ActionRun } from '../test/support/runner.js'
import { jobClaims, startSigstore } from '../test/support/sigstore.js'

const beforeArg = process.argv.indexOf('--before')
/** An older bundle (its index.js), timed in the same rounds: before and after, measured the same way. */
const BEFORE = beforeArg > 0 ? resolve(process.argv[beforeArg + 1]) : undefined
const runsArg = process.argv.indexOf('--runs')
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15
const TRACED_RUNS = 5
const TAGS = 3000
const FLOOR = new URL('./floor.mjs', import.meta.url).pathname
const TRACE = new URL('./trace.mjs', import.meta.url).pathname
const CORE_ONLY = new URL('./core-only.mjs', import.meta.url).pathname

/** bench/core-only.mjs bundled by ncc, minified as scripts/build.mjs bundles the action; returns the file's path. */
async function bundleCoreOnly(dir: string): Promise<string> {
  const { default: ncc } = await import('@vercel/ncc')
  const { code } = await ncc(CORE_ONLY, { minify: true, quiet: true })
  const file = join(dir, 'core-only.mjs')
  writeFileSync(file, code)
  return file
}

/** 3,000 realistic tags: the real history, canaries and per-commit sha tags as rocicorp/zero has. */
function upstreamTags(): string[] {
  const tags = new Set([...releaseHistory().map((h) => h.tag), ...NOISE_TAGS])
  for (let i = 0; tags.size < TAGS; i++) {
    tags.add(i % 3 === 0 ? `sha-${(0x1000000 + i * 7919).toString(16)}` : `0.${20 + (i % 6)}.0-canary.${i}`)
  }
  return [...tags]
}

/** Spawn to exit of a process, in ms; throws when it fails. */
async function timeProcess(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const started = performance.now()
  const child = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  const wall = performance.now() - started
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited ${code}:\n${stderr}`)
  return wall
}

/** Spawn to exit of one action run (the runner's own file handling excluded). */
async function timeAction(run: (onSpawn: (child: ChildProcess) => void) => Promise<ActionRun>): Promise<{ wall: number; r: ActionRun }> {
  let started = 0
  let exited = 0
  const r = await run((child) => {
    started = performance.now()
    child.once('exit', () => (exited = performance.now()))
  })
  if (r.exitCode !== 0 || r.outputs.updated !== 'false') throw new Error(`the up-to-date run failed or updated:\n${r.log}`)
  return { wall: exited - started, r }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ms = (x: number) => `${x.toFixed(0)} ms`

/** The bundle's code: every .js file in the bundle's directory (source maps and the licence file not counted). */
function bundleBytes(): { code: number; maps: number; files: number } {
  const dir = dirname(DIST)
  let code = 0
  let maps = 0
  let files = 0
  for (const name of readdirSync(dir)) {
    const size = statSync(join(dir, name)).size
    if (name.endsWith('.js') || name.endsWith('.cjs') || name.endsWith('.mjs')) {
      code += size
      files++
    } else if (name.endsWith('.map')) maps += size
  }
  return { code, maps, files }
}

interface Trace {
  preloaded: number
  lastLog: number
  beforeExit: number
  exit: number
  events: { kind: 'http' | 'exec'; label: string; start: number; headers?: number; end?: number; status?: number }[]
}

const upstreamRegistry = await startRegistry()
const chartRegistry = await startRegistry()
const upstreamProxy = await startCountingProxy(upstreamRegistry.host)
const chartProxy = await startCountingProxy(chartRegistry.host)
const remote = createRemote({ version: '2.0.0', appVersion: '1.8.0' })
const traceDir = mkdtempSync(join(tmpdir(), 'zcc-bench-trace-'))
try {
  const tags = upstreamTags()
  await upstreamRegistry.seedTags('rocicorp/zero', tags)
  const inputs = {
    image: `${upstreamProxy.host}/rocicorp/zero`,
    'oci-repo': `oci://${chartProxy.host}/acme/zero-cache-chart`,
    'plain-http': 'true',
    'registry-username': REGISTRY_USER,
    'registry-password': REGISTRY_PASSWORD,
  }
  const context = { actor: REGISTRY_USER, token: REGISTRY_PASSWORD }
  const workspace = remote.checkout()
  const first = await runAction({ workspace, inputs, home: remote.home, context })
  if (first.exitCode !== 0 || first.outputs.pushed !== 'true') throw new Error(`setup run failed:\n${first.log}`)
  const version = first.outputs['chart-version']
  const floorArgs = [
    FLOOR,
    upstreamProxy.host,
    'rocicorp/zero',
    chartProxy.host,
    'acme/zero-cache-chart/zero-cache',
    version,
    REGISTRY_USER,
    REGISTRY_PASSWORD,
    workspace,
  ]
  const floorEnv = gitEnv(remote.home)
  const bundle = bundleBytes()
  const coreOnly = await bundleCoreOnly(traceDir)

  console.log(`up-to-date run: ${tags.length} upstream tags, chart ${first.outputs['chart-ref']} already published`)
  console.log(`bundle: ${DIST}`)
  console.log(
    `  ${bundle.files} file(s), ${(bundle.code / 1e6).toFixed(2)} MB of code` +
      `${bundle.maps ? ` (+ ${(bundle.maps / 1e6).toFixed(2)} MB of source map)` : ''}\n`,
  )
  if (BEFORE) console.log(`before: ${BEFORE}, run in the same rounds\n`)
  console.log(
    `${RUNS} rounds, each: node -e 0, @actions/core alone, the floor,${BEFORE ? ' the before bundle,' : ''} the action (spawn to exit)\n`,
  )
  console.log(
    `round  node -e 0  core  floor  ${BEFORE ? 'before  ' : ''}action  upstream round trips (registry + token)  ` +
      'chart registry round trips (registry + token)',
  )
  const bare: number[] = []
  const core: number[] = []
  const floor: number[] = []
  const action: number[] = []
  const before: number[] = []
  let lastCounts = ''
  for (let i = 1; i <= RUNS; i++) {
    bare.push(await timeProcess(['-e', '0']))
    core.push(await timeProcess([coreOnly]))
    floor.push(await timeProcess(floorArgs, { cwd: workspace, env: floorEnv }))
    if (BEFORE) {
      const checkout = remote.checkout()
      const old = await timeAction((onSpawn) =>
        runAction({ workspace: checkout, inputs, home: remote.home, context, onSpawn, dist: BEFORE }),
      )
      rmSync(checkout, { recursive: true, force: true })
      before.push(old.wall)
    }
    upstreamProxy.reset()
    chartProxy.reset()
    const tokensBefore = { up: { ...upstreamRegistry.tokenRequests }, ch: { ...chartRegistry.tokenRequests } }
    const checkout = remote.checkout()
    const { wall } = await timeAction((onSpawn) => runAction({ workspace: checkout, inputs, home: remote.home, context, onSpawn }))
    rmSync(checkout, { recursive: true, force: true })
    action.push(wall)
    const tokenCount = (now: typeof upstreamRegistry.tokenRequests, before: typeof now) =>
      now.anonymous + now.authenticated + now.refused - (before.anonymous + before.authenticated + before.refused)
    const upTokens = tokenCount(upstreamRegistry.tokenRequests, tokensBefore.up)
    const chTokens = tokenCount(chartRegistry.tokenRequests, tokensBefore.ch)
    const up = upstreamProxy.requests.length + upTokens
    const ch = chartProxy.requests.length + chTokens
    console.log(
      `${String(i).padStart(5)}  ${ms(bare.at(-1)!).padStart(9)}  ${ms(core.at(-1)!).padStart(4)}  ${ms(floor.at(-1)!).padStart(5)}  ` +
        `${BEFORE ? `${ms(before.at(-1)!).padStart(6)}  ` : ''}${ms(wall).padStart(6)}  ` +
        `${String(up).padStart(3)} (${upstreamProxy.requests.length} + ${upTokens})${' '.repeat(31)}` +
        `${String(ch).padStart(3)} (${chartProxy.requests.length} + ${chTokens})`,
    )
    lastCounts =
      `upstream: ${upstreamProxy.requests.join(', ')} + ${upTokens} token\n  chart registry: ` +
      `${chartProxy.requests.join(', ')} + ${chTokens} token`
  }
  console.log(`\nrequests of the last run:\n  ${lastCounts}`)

  // Traced runs: where the time goes (the preload adds a little to each; these are not in the medians above).
  const traces: { wall: number; trace: Trace }[] = []
  for (let i = 0; i < TRACED_RUNS; i++) {
    const file = join(traceDir, `trace-${i}.json`)
    const checkout = remote.checkout()
    const env = {
      NODE_OPTIONS: `--import=${TRACE} ${process.env.ZCC_BENCH_IMPORT ? `--import=${process.env.ZCC_BENCH_IMPORT}` : ''}`,
      ZCC_TRACE_FILE: file,
    }
    const { wall } = await timeAction((onSpawn) => runAction({ workspace: checkout, inputs, home: remote.home, context, onSpawn, env }))
    rmSync(checkout, { recursive: true, force: true })
    traces.push({ wall, trace: JSON.parse(readFileSync(file, 'utf8')) as Trace })
  }
  traces.sort((a, b) => a.wall - b.wall)
  const { wall: tracedWall, trace } = traces[Math.floor(traces.length / 2)]
  const events = [...trace.events].sort((a, b) => a.start - b.start)
  console.log(`\nbreakdown of the median of ${TRACED_RUNS} traced runs (${ms(tracedWall)}; ms since the process's time origin):`)
  console.log(`  ${'0'.padStart(5)}  ${ms(trace.preloaded).padStart(7)}  Node's start, up to the first module`)
  const firstIo = events[0]?.start ?? trace.exit
  const row = (at: number, took: number, what: string) => console.log(`  ${at.toFixed(0).padStart(5)}  ${ms(took).padStart(7)}  ${what}`)
  row(trace.preloaded, firstIo - trace.preloaded, 'loading the bundle and reading the inputs, up to the first I/O')
  let busy = 0
  let lastEnd = firstIo
  for (const e of events) {
    const end = e.end ?? e.headers ?? e.start
    const what = e.kind === 'http' ? `${e.label} → ${e.status ?? 'no answer'}` : `$ ${e.label}`
    const gap = e.start - lastEnd
    row(e.start, end - e.start, `${what}${gap > 3 ? `   (${ms(gap)} in the action before it)` : ''}`)
    busy += Math.max(0, end - Math.max(e.start, lastEnd))
    lastEnd = Math.max(lastEnd, end)
  }
  row(lastEnd, trace.lastLog - lastEnd, 'after the last I/O, up to the last line logged')
  if (trace.beforeExit) {
    row(trace.lastLog, trace.beforeExit - trace.lastLog, 'until the event loop is empty')
    row(trace.beforeExit, trace.exit - trace.beforeExit, 'exit')
  } else row(trace.lastLog, trace.exit - trace.lastLog, 'exit (process.exit: no wait for an empty event loop)')
  const http = events.filter((e) => e.kind === 'http').length
  const execs = events.filter((e) => e.kind === 'exec')
  console.log(
    `  ${events.length} I/O events: ${http} HTTP requests (as undici sends them; tokens included), ${execs.length} subprocesses ` +
      `(${execs.map((e) => e.label).join(', ') || 'none'}); ${ms(busy)} waiting on I/O, ` +
      `${ms(trace.exit - trace.preloaded - busy)} in the action's own code`,
  )

  const m = { bare: median(bare), floor: median(floor), action: median(action) }
  // The machine's speed drifts; each round's own ratio cancels most of it.
  const ratios = (xs: number[]) => median(xs.map((x, i) => x / floor[i]))
  console.log(`\nmedians of ${RUNS} rounds: node -e 0 ${ms(m.bare)}, floor ${ms(m.floor)}, action ${ms(m.action)}`)
  if (BEFORE)
    console.log(`before: median ${ms(median(before))}, ratio before / floor ${ratios(before).toFixed(2)} (median of the rounds' ratios)`)
  const ofMedians = (m.action / m.floor).toFixed(2)
  console.log(`ratio action / floor: ${ratios(action).toFixed(2)} (median of the rounds' ratios; ratio of the medians ${ofMedians})`)
  // What loading @actions/core costs over a bare Node, per round: no change to the action's own code removes it.
  const coreLoad = core.map((x, i) => x - bare[i])
  const withoutCore = median(action.map((x, i) => (x - coreLoad[i]) / floor[i]))
  console.log(
    `loading @actions/core (a requested dependency; its @actions/http-client imports undici): ${ms(median(coreLoad))} ` +
      `= ${(median(coreLoad.map((x, i) => x / floor[i])) * 100).toFixed(0)}% of the floor; ` +
      `ratio without it (action − core's load) / floor: ${withoutCore.toFixed(2)}`,
  )

  // sign: true on the same no-op: the published version is signed once (setup), then each run only
  // looks up its referrers. Extra requests over sign: false are what signing costs an hourly no-op.
  const sigstore = await startSigstore(jobClaims('acme/zero-cache-chart'))
  try {
    // No GitHub API here: the provenance is attached in the registry only.
    const signInputs = { ...inputs, sign: 'true', 'github-token': '' }
    const env = sigstore.env()
    const setup = await runAction({ workspace: remote.checkout(), inputs: signInputs, home: remote.home, context, env })
    if (setup.exitCode !== 0) throw new Error(`sign setup run failed:\n${setup.log}`)
    const signCalls = () => [...sigstore.requests.values()].reduce((a, b) => a + b, 0)
    const signWalls: number[] = []
    let extra = ''
    for (let i = 0; i < Math.min(RUNS, 7); i++) {
      upstreamProxy.reset()
      chartProxy.reset()
      const before = { ch: { ...chartRegistry.tokenRequests }, sigstore: signCalls() }
      const checkout = remote.checkout()
      const { wall } = await timeAction((onSpawn) =>
        runAction({ workspace: checkout, inputs: signInputs, home: remote.home, context, onSpawn, env }),
      )
      rmSync(checkout, { recursive: true, force: true })
      signWalls.push(wall)
      const tokens = chartRegistry.tokenRequests
      const chTokens =
        tokens.anonymous + tokens.authenticated + tokens.refused - (before.ch.anonymous + before.ch.authenticated + before.ch.refused)
      extra =
        `chart registry: ${chartProxy.requests.length} + ${chTokens} token (${chartProxy.requests.join(', ')}); ` +
        `upstream: ${upstreamProxy.requests.length}; Sigstore services: ${signCalls() - before.sigstore}`
    }
    console.log(`\nsign: true, nothing to do (the version signed and attested already): median ${ms(median(signWalls))}`)
    console.log(`  requests of the last run: ${extra}`)
  } finally {
    await sigstore.stop()
  }
} finally {
  await Promise.all([upstreamProxy.stop(), chartProxy.stop()])
  await Promise.all([upstreamRegistry.stop(), chartRegistry.stop()])
  remote.cleanup()
  rmSync(traceDir, { recursive: true, force: true })
}
