/**
 * `npm run soak [-- --from YYYY-MM-DD --to YYYY-MM-DD --seed N --verbose]`: the replayed year of
 * hourly runs (test/soak/soak.ts), by default over the whole release history in test/fixtures
 * (2025-05-20 to 2026-08-14). Prints the violations, if any, and last one line:
 * `soak: R runs (F faulted, K killed), V invariant violations, final state equal: yes|no, wall S s`.
 * Exits 1 on a violation or a final state that differs.
 */
import { soak } from './soak.js'

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : fallback
}
const result = await soak({
  from: arg('from', '2025-05-20'),
  to: arg('to', '2026-08-14'),
  seed: Number(arg('seed', '19')),
  verbose: process.argv.includes('--verbose'),
})
for (const v of result.violations) console.log(`violation: ${v}`)
if (!result.equal)
  console.log(`final states differ:\nclean:   ${JSON.stringify(result.clean.final)}\nfaulted: ${JSON.stringify(result.faulted.final)}`)
console.log(
  `clean replay: ${result.clean.runs} runs, ${result.clean.red} red; faulted replay: ${result.faulted.runs} runs, ` +
    `${result.faulted.faulted} with faults, ${result.faulted.killed} killed, ${result.faulted.red} red`,
)
console.log(result.line)
process.exit(result.violations.length || !result.equal ? 1 : 0)
