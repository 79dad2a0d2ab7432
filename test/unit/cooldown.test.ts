import { describe, expect, it } from 'vitest'
import semver from 'semver'
import { MAX_DATED, parseAge, pickOldEnough } from '../../src/release/cooldown.js'
import { parseVersionTag, type VersionTag } from '../../src/versions.js'

const now = new Date('2026-11-29T12:00:00Z')
const DAY = 86_400_000
const v = (tag: string) => parseVersionTag(tag)!
const ago = (days: number) => new Date(now.getTime() - days * DAY)

describe('min-release-age (issue 21)', () => {
  it.each([
    ['72h', 3 * DAY],
    ['3d', 3 * DAY],
    ['90m', 5_400_000],
    ['1.5d', 1.5 * DAY],
    ['3 d', 3 * DAY],
    ['3', undefined],
    ['-1d', undefined],
    ['0h', undefined],
    ['3w', undefined],
  ])('parseAge(%s) = %s', (text, ms) => {
    expect(parseAge(text)).toBe(ms)
  })

  const candidates: VersionTag[] = ['1.7.0', '1.6.1', '1.6.0', '1.5.0'].map(v)
  const dates: Record<string, Date | undefined> = { '1.7.0': ago(0.5), '1.6.1': undefined, '1.6.0': ago(5), '1.5.0': ago(30) }

  it('takes the newest version old enough; newer ones wait, with the date they become candidates', async () => {
    const asked: string[] = []
    const r = await pickOldEnough(candidates, semver.parse('1.5.0')!, { minAgeMs: 3 * DAY, takeUndated: false, now }, async (t) => {
      asked.push(t)
      return dates[t]
    })
    expect(r.selected?.tag).toBe('1.6.0')
    expect(r.waiting).toEqual([{ tag: '1.7.0', until: new Date(ago(0.5).getTime() + 3 * DAY) }, { tag: '1.6.1' }])
    // Dated newest first, stopping at the first old enough: 1.5.0 is never asked.
    expect(asked).toEqual(['1.7.0', '1.6.1', '1.6.0'])
  })

  it('an undated version is taken with takeUndated', async () => {
    const r = await pickOldEnough(candidates, semver.parse('1.5.0')!, { minAgeMs: 3 * DAY, takeUndated: true, now }, async (t) => dates[t])
    expect(r.selected?.tag).toBe('1.6.1')
  })

  it('nothing newer than the current version old enough: no selection (the chart stays)', async () => {
    const r = await pickOldEnough(candidates, semver.parse('1.6.0')!, { minAgeMs: 3 * DAY, takeUndated: false, now }, async (t) => dates[t])
    expect(r.selected).toBeUndefined()
    expect(r.waiting.map((w) => w.tag)).toEqual(['1.7.0', '1.6.1'])
  })

  it(`dates at most ${MAX_DATED} candidates`, async () => {
    const many = Array.from({ length: 9 }, (_, i) => v(`2.${9 - i}.0`))
    let asked = 0
    const r = await pickOldEnough(many, semver.parse('1.0.0')!, { minAgeMs: DAY, takeUndated: false, now }, async () => {
      asked++
      return ago(0)
    })
    expect(asked).toBe(MAX_DATED)
    expect(r.selected).toBeUndefined()
    expect(r.unchecked).toBe(9 - MAX_DATED)
  })
})
