/**
 * `tsx scripts/compare-captures.ts <before dir> <after dir>`: compares what two bundles reported on
 * the same end-to-end suites — each run's exit code, step outputs and job summary, captured with
 * `ZCC_CAPTURE_DIR` (test/support/runner.ts) — after replacing what differs between any two runs of
 * the same suite (commit ids and digests, ports, process ids in namespaces, times, temp paths).
 * Prints each difference and exits 1 when there is one; a refactor must print none.
 *
 *   ZCC_DIST=/tmp/before/dist/index.js ZCC_CAPTURE_DIR=/tmp/cap-before npx vitest run test/e2e
 *   ZCC_CAPTURE_DIR=/tmp/cap-after npx vitest run test/e2e
 *   npx tsx scripts/compare-captures.ts /tmp/cap-before /tmp/cap-after
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const [before, after] = process.argv.slice(2)
if (!before || !after) {
  console.error('usage: tsx scripts/compare-captures.ts <before dir> <after dir>')
  process.exit(2)
}

/** What legitimately differs between two runs of one suite, replaced by a placeholder. */
function normalize(text: string): string {
  return text
    .replace(/(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/g, '<sha256>')
    .replace(/(?<![0-9a-f])[0-9a-f]{40}(?![0-9a-f])/g, '<commit>')
    .replace(/(?<![0-9a-f])[0-9a-f]{12}(?![0-9a-f])/g, '<commit12>')
    .replace(/127\.0\.0\.1:\d+|localhost:\d+/g, '<host>')
    .replace(/charts-\d+-\d+/g, 'charts-<pid>-<n>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/\/tmp\/[\w./-]+/g, '<tmp>')
    .replace(/zero-cache-chart-\d+/g, 'zero-cache-chart-<n>')
}

let differences = 0
let compared = 0
for (const file of readdirSync(before)
  .filter((f) => f.endsWith('.jsonl'))
  .sort()) {
  const b = readFileSync(join(before, file), 'utf8').trim().split('\n')
  const a = existsSync(join(after, file)) ? readFileSync(join(after, file), 'utf8').trim().split('\n') : []
  if (a.length !== b.length) {
    console.log(`${file}: ${b.length} runs before, ${a.length} after`)
    differences++
  }
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    compared++
    const nb = normalize(b[i])
    const na = normalize(a[i])
    if (nb === na) continue
    differences++
    const x = JSON.parse(nb) as Record<string, unknown>
    const y = JSON.parse(na) as Record<string, unknown>
    for (const key of ['exitCode', 'outputs', 'summary']) {
      if (JSON.stringify(x[key]) !== JSON.stringify(y[key])) {
        console.log(`${file} run ${i + 1}: ${key} differs\n  before: ${JSON.stringify(x[key])}\n  after:  ${JSON.stringify(y[key])}`)
      }
    }
  }
}
console.log(`compare-captures: ${compared} runs compared, ${differences} differing`)
process.exit(differences ? 1 : 0)
