import { describe, expect, it } from 'vitest'
import { soak } from './soak.js'

/**
 * A month of the replayed year (test/soak/soak.ts) in every `npm test`: the first month of
 * rocicorp/zero's history in test/fixtures (2025-05-20 to 2025-06-20: 11 releases, daily samples, a
 * maintainer's commits, orphaned package versions for prune), fault-free and faulted. The whole
 * history is `npm run soak`.
 */
describe('soak: a month of unattended hourly runs', () => {
  it('keeps every invariant, and the faulted replay ends where the fault-free one does', { timeout: 600_000 }, async () => {
    const lines: string[] = []
    const result = await soak({ from: '2025-05-20', to: '2025-06-20', seed: 19, verbose: true }, (l) => lines.push(l))
    console.log(`${lines.filter((l) => !l.endsWith('exit 0')).join('\n')}\n${result.line}`)
    expect(result.violations).toEqual([])
    expect(result.clean.red, 'the fault-free replay is green').toBe(0)
    expect(result.faulted.runs).toBeGreaterThanOrEqual(result.clean.runs)
    expect(result.equal, JSON.stringify({ clean: result.clean.final, faulted: result.faulted.final })).toBe(true)
  })
})
