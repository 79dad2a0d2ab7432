/**
 * `npm run bench:prune`: clearing 39,000 old untagged versions under GitHub's limits.
 *
 * The GitHub API double holds 40,000 versions of one package (39,000 untagged and 30+ days old,
 * 1,000 tagged), enforces a primary budget of 1,000 requests per run (reset between runs, as an
 * hour passing would) and the secondary limit of 900 points per minute (GET 1, DELETE 5), time-scaled
 * so a run takes seconds, and adds 10 ms latency to every response. The action (dist/index.js,
 * mode prune) runs until nothing is left to delete. The baseline is the reference CLI's algorithm
 * run against the same double: list every page first, then delete one by one as fast as the API
 * answers, and stop at the first error.
 *
 * Usage: npm run bench:prune [-- --scale 200]
 */
import { createHash } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { createRemote } from '../test/support/git.js'
import { GitHubApiDouble, type StoredVersion } from '../test/support/github-api.js'
import { startRegistry } from '../test/support/registry.js'
import { runAction } from '../test/support/runner.js'

const scaleArg = process.argv.indexOf('--scale')
const SCALE = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : 200
const DAY = 86_400_000

function population(): Omit<StoredVersion, 'id'>[] {
  const out: Omit<StoredVersion, 'id'>[] = []
  const now = Date.now()
  for (let i = 0; i < 39_000; i++)
    out.push({
      digest: `sha256:${createHash('sha256').update(`u${i}`).digest('hex')}`,
      createdAt: new Date(now - 30 * DAY - i * 60_000),
      tags: [],
    })
  for (let i = 0; i < 1_000; i++)
    out.push({
      digest: `sha256:${createHash('sha256').update(`t${i}`).digest('hex')}`,
      createdAt: new Date(now - i * 3_600_000),
      tags: [`1.${Math.floor(i / 100)}.${i % 100}`],
    })
  return out
}

async function double() {
  const api = await new GitHubApiDouble({ primaryLimit: 1000, secondaryPointsPerMinute: 900, timeScale: SCALE, latencyMs: 10 }).start()
  api.addPackage('acme', 'Organization', 'zero-cache-chart/zero-cache', population())
  return api
}

console.log(
  `time scale ${SCALE}× (a minute lasts ${(60_000 / SCALE).toFixed(0)} ms); 10 ms latency; budget 1,000 requests per run; secondary 900 ` +
    `points/min\n`,
)

// --- the action ---
const registry = await startRegistry({ auth: false })
const remote = createRemote({ version: '2.0.0', appVersion: '1.9.0' })
const api = await double()
console.log('action (mode prune):')
console.log('run  requests  deleted  rate-limit rejections  5xx  wall s   exit')
let runs = 0
let totalDeleted = 0
const started = performance.now()
try {
  while (api.versions('acme', 'zero-cache-chart/zero-cache').some((v) => v.tags.length === 0) && runs < 60) {
    runs++
    api.resetBudget()
    const before = api.counts()
    const t = performance.now()
    const r = await runAction({
      workspace: remote.checkout(),
      home: remote.home,
      context: { apiUrl: api.url },
      env: { ZERO_CACHE_CHART_TIME_SCALE: String(SCALE) },
      inputs: {
        mode: 'prune',
        'oci-repo': `oci://${registry.host}/acme/zero-cache-chart`,
        'plain-http': 'true',
        'github-packages': 'true',
      },
    })
    const after = api.counts()
    totalDeleted += after.deletes - before.deletes
    console.log(
      `${String(runs).padStart(3)}  ${String(after.requests - before.requests).padStart(8)}  ` +
        `${String(after.deletes - before.deletes).padStart(7)}  ${String(after.rateLimited - before.rateLimited).padStart(21)}  ` +
        `${String(after.serverErrors - before.serverErrors).padStart(3)}  ${((performance.now() - t) / 1000).toFixed(1).padStart(6)}  ` +
        `${String(r.exitCode).padStart(5)}`,
    )
    if (r.exitCode !== 0)
      console.log(
        r.log
          .split('\n')
          .filter((l) => l.startsWith('::error'))
          .join('\n'),
      )
  }
  console.log(
    `\naction: ${runs} runs, ${totalDeleted} deleted, ${api.counts().rateLimited} rejected requests, OpenAPI violations: ` +
      `${api.violations.length}, ${((performance.now() - started) / 1000).toFixed(1)} s in all; tagged left: ` +
      `${api.versions('acme', 'zero-cache-chart/zero-cache').filter((v) => v.tags.length).length}\n`,
  )
} finally {
  await api.stop()
  await registry.stop()
  remote.cleanup()
}

// --- the baseline: list everything, then delete one by one, stop on the first error ---
const base = await double()
const headers = { authorization: 'token bench', accept: 'application/vnd.github+json' }
const path = `/orgs/acme/packages/container/${encodeURIComponent('zero-cache-chart/zero-cache')}/versions`
console.log('baseline (list every page, then delete one by one, stop on the first error):')
console.log('run  requests  deleted  rate-limit rejections  wall s   outcome')
let baseRuns = 0
let baseDeleted = 0
while (baseRuns < 3) {
  baseRuns++
  base.resetBudget()
  const before = base.counts()
  const t = performance.now()
  let outcome = 'ok'
  const all: { id: number; tags: string[]; created: number }[] = []
  try {
    for (let page = 1; ; page++) {
      const res = await fetch(`${base.url}${path}?per_page=100&page=${page}`, { headers })
      if (!res.ok) throw new Error(`list page ${page}: HTTP ${res.status}`)
      const data = (await res.json()) as { id: number; created_at: string; metadata: { container: { tags: string[] } } }[]
      all.push(...data.map((v) => ({ id: v.id, tags: v.metadata.container.tags, created: Date.parse(v.created_at) })))
      if (!res.headers.get('link')?.includes('rel="next"')) break
    }
    for (const v of all.filter((x) => x.tags.length === 0 && x.created < Date.now() - 7 * DAY)) {
      const res = await fetch(`${base.url}${path}/${v.id}`, { method: 'DELETE', headers })
      if (res.status !== 204) throw new Error(`delete ${v.id}: HTTP ${res.status}`)
    }
  } catch (error) {
    outcome = `failed: ${(error as Error).message}`
  }
  const after = base.counts()
  baseDeleted += after.deletes - before.deletes
  console.log(
    `${String(baseRuns).padStart(3)}  ${String(after.requests - before.requests).padStart(8)}  ` +
      `${String(after.deletes - before.deletes).padStart(7)}  ${String(after.rateLimited - before.rateLimited).padStart(21)}  ` +
      `${((performance.now() - t) / 1000).toFixed(1).padStart(6)}   ${outcome}`,
  )
}
const leftUntagged = base.versions('acme', 'zero-cache-chart/zero-cache').filter((v) => v.tags.length === 0).length
console.log(
  `\nbaseline: ${baseRuns} runs, ${baseDeleted} deleted, ${leftUntagged} untagged left (at this rate ` +
    `~${Math.ceil(leftUntagged / Math.max(baseDeleted / baseRuns, 1))} more runs, each failing)`,
)
await base.stop()
