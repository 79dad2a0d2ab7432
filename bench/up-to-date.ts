/**
 * `npm run bench`: the hourly common case — nothing new upstream — timed end to end.
 *
 * Two docker-registry instances on loopback, each with token auth (as Docker Hub and ghcr.io) and
 * each behind a counting proxy: "upstream" holds rocicorp/zero with 3,000 tags; "charts" holds the
 * published chart. A bare git remote holds the chart, already current. The bundled dist/index.js
 * runs as a runner runs it; the script prints wall time per run and HTTP round trips per registry
 * (requests through the proxy plus requests to that registry's token service).
 *
 * Usage: npm run bench [-- --runs N]
 */
import { performance } from 'node:perf_hooks'
import { createRemote } from '../test/support/git.js'
import { startCountingProxy } from '../test/support/proxy.js'
import { REGISTRY_PASSWORD, REGISTRY_USER, releaseHistory, startRegistry, NOISE_TAGS } from '../test/support/registry.js'
import { runAction } from '../test/support/runner.js'

const runsArg = process.argv.indexOf('--runs')
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10
const TAGS = 3000

/** 3,000 realistic tags: the real history, canaries and per-commit sha tags as rocicorp/zero has. */
function upstreamTags(): string[] {
  const tags = new Set([...releaseHistory().map((h) => h.tag), ...NOISE_TAGS])
  for (let i = 0; tags.size < TAGS; i++) {
    tags.add(i % 3 === 0 ? `sha-${(0x1000000 + i * 7919).toString(16)}` : `0.${20 + (i % 6)}.0-canary.${i}`)
  }
  return [...tags]
}

const upstreamRegistry = await startRegistry()
const chartRegistry = await startRegistry()
const upstreamProxy = await startCountingProxy(upstreamRegistry.host)
const chartProxy = await startCountingProxy(chartRegistry.host)
const remote = createRemote({ version: '2.0.0', appVersion: '1.8.0' })
try {
  const tags = upstreamTags()
  await upstreamRegistry.seedTags('rocicorp/zero', tags)
  const inputs = {
    image: `${upstreamProxy.host}/rocicorp/zero`,
    'oci-repo': `oci://${chartProxy.host}/acme/zero-cache-chart`,
    'plain-http': 'true',
  }
  const context = { actor: REGISTRY_USER, token: REGISTRY_PASSWORD }
  const workspace = remote.checkout()
  const first = await runAction({ workspace, inputs, home: remote.home, context })
  if (first.exitCode !== 0 || first.outputs.pushed !== 'true') throw new Error(`setup run failed:\n${first.log}`)

  console.log(`up-to-date run: ${tags.length} upstream tags, chart ${first.outputs['chart-ref']} already published; ${RUNS} runs\n`)
  console.log('run  wall ms  upstream round trips (registry + token)  chart registry round trips (registry + token)  updated')
  const walls: number[] = []
  let lastCounts = ''
  for (let i = 1; i <= RUNS; i++) {
    upstreamProxy.reset()
    chartProxy.reset()
    const tokensBefore = { up: { ...upstreamRegistry.tokenRequests }, ch: { ...chartRegistry.tokenRequests } }
    const started = performance.now()
    const r = await runAction({ workspace: remote.checkout(), inputs, home: remote.home, context })
    const wall = performance.now() - started
    if (r.exitCode !== 0) throw new Error(`run ${i} failed:\n${r.log}`)
    const tokenCount = (now: typeof upstreamRegistry.tokenRequests, before: typeof now) =>
      now.anonymous + now.authenticated + now.refused - (before.anonymous + before.authenticated + before.refused)
    const upTokens = tokenCount(upstreamRegistry.tokenRequests, tokensBefore.up)
    const chTokens = tokenCount(chartRegistry.tokenRequests, tokensBefore.ch)
    walls.push(wall)
    const up = upstreamProxy.requests.length + upTokens
    const ch = chartProxy.requests.length + chTokens
    console.log(
      `${String(i).padStart(3)}  ${wall.toFixed(0).padStart(7)}  ${String(up).padStart(3)} (${upstreamProxy.requests.length} + ` +
        `${upTokens})${' '.repeat(29)}${String(ch).padStart(3)} (${chartProxy.requests.length} + ` +
        `${chTokens})${' '.repeat(35)}${r.outputs.updated}`,
    )
    lastCounts =
      `upstream: ${upstreamProxy.requests.join(', ')} + ${upTokens} token\n  chart registry: ` +
      `${chartProxy.requests.join(', ')} + ${chTokens} token`
  }
  walls.sort((a, b) => a - b)
  const median = walls[Math.floor(walls.length / 2)]
  console.log(
    `\nwall time: median ${median.toFixed(0)} ms, min ${walls[0].toFixed(0)} ms, max ${walls[walls.length - 1].toFixed(0)} ms (includes ` +
      `node start-up and two git calls to the remote)`,
  )
  console.log(`requests of the last run:\n  ${lastCounts}`)
} finally {
  await Promise.all([upstreamProxy.stop(), chartProxy.stop()])
  await Promise.all([upstreamRegistry.stop(), chartRegistry.stop()])
  remote.cleanup()
}
