import { describe, expect, it } from 'vitest'
import semver from 'semver'
import {
  bumpVersion,
  isBreaking,
  parseVersionTag,
  releaseType,
  selectVersion,
  compileTagPattern,
  parseTagWithPattern,
} from '../../src/versions.js'
import { releaseHistory, NOISE_TAGS } from '../support/registry.js'

const history = releaseHistory()
const tagsUntil = (date: string) => [...history.filter((h) => h.date <= date).map((h) => h.tag), ...NOISE_TAGS]

describe('parseVersionTag', () => {
  it.each(['0.25.1', '1.9.0', '0.24.2025101500', '1.10.0-canary.3', 'v1.2.3', '0.0.0', '1.0.0-rc.1.x-y'])('accepts %s', (tag) => {
    expect(parseVersionTag(tag)?.tag).toBe(tag)
  })
  it.each([
    'latest',
    'canary',
    'sha-3f9c2e1',
    '1.10',
    '1',
    '2025-11-20',
    '01.2.3',
    '1.2.3.4',
    '1.2.3+build',
    'V1.2.3',
    '=1.2.3',
    ' 1.2.3',
    '1.2.3-',
    '1.2.3-01',
  ])('rejects %s', (tag) => {
    expect(parseVersionTag(tag)).toBeUndefined()
  })
})

describe('selectVersion on the real rocicorp/zero history', () => {
  it.each([
    // [as of date, includePrereleases, range, expected]
    ['2025-07-01', false, '*', '0.22.2025063000'],
    ['2025-10-22', false, '*', '0.24.2025102200'],
    ['2025-12-12', false, '*', '0.24.2025102200'],
    ['2025-12-12', true, '*', '0.25.0-canary.27'],
    ['2025-12-13', true, '*', '0.26.0-canary.0'],
    ['2025-12-13', false, '*', '0.25.1'],
    ['2026-03-04', true, '*', '0.26.1-canary.4'],
    ['2026-08-14', false, '*', '1.9.0'],
    ['2026-08-14', false, '<1', '0.26.1'],
    ['2026-08-14', false, '~1.6', '1.6.2'],
    ['2026-08-14', true, '>=0.26.0-0 <0.27', '0.26.1'],
    ['2026-08-14', false, '>=2', undefined],
  ])('as of %s, prereleases %s, range %s → %s', (date, includePrereleases, range, expected) => {
    expect(selectVersion(tagsUntil(date), { includePrereleases, range }).selected?.tag).toBe(expected)
  })

  it('counts what it saw', () => {
    const sel = selectVersion(tagsUntil('2026-08-14'), { includePrereleases: false, range: '*' })
    expect(sel.total).toBe(history.length + NOISE_TAGS.length)
    expect(sel.semver).toBe(history.length)
    expect(sel.allowed).toBe(history.filter((h) => !h.tag.includes('-')).length)
  })

  it('counts an excluded prerelease as semver exactly when semver.parse accepts it (the fast path skips the parse)', () => {
    const long = `1.0.0-${'a'.repeat(251)}` // 257 characters: over semver's MAX_LENGTH
    const tags = ['1.0.0-rc.1', 'v2.0.0-rc.1', '9007199254740992.0.0-rc.1', '1.9007199254740992.0-rc.1', long, long.slice(0, -1), '1.0.0']
    const expected = tags.filter((t) => semver.parse(t.replace(/^v/, '')) !== null).length
    for (const includePrereleases of [false, true]) {
      const sel = selectVersion(tags, { includePrereleases, range: '*' })
      expect(sel.semver).toBe(expected)
      expect(sel.semver).toBe(tags.filter((t) => parseVersionTag(t)).length)
    }
    expect(expected).toBe(4)
  })

  it('does not depend on listing order, and prefers the tag without v', () => {
    const tags = ['v1.2.3', '1.2.3', '1.2.2', 'v1.2.3']
    expect(selectVersion(tags, { includePrereleases: false, range: '*' }).selected?.tag).toBe('1.2.3')
    expect(selectVersion([...tags].reverse(), { includePrereleases: false, range: '*' }).selected?.tag).toBe('1.2.3')
    expect(selectVersion(['v2.0.0', '1.9.9'], { includePrereleases: false, range: '*' }).selected?.tag).toBe('v2.0.0')
  })
})

describe('bump policy', () => {
  const v = (s: string) => semver.parse(s)!
  it.each([
    ['0.24.2025101500', '0.24.2025102200', false],
    ['0.24.2025102200', '0.25.1', true],
    ['0.25.0-canary.27', '0.25.1', false],
    ['0.26.1', '1.4.0', true],
    ['1.8.0', '1.9.0', false],
    ['1.9.0', '2.0.0', true],
    ['1.9.0', '1.9.1', false],
  ])('%s → %s breaking: %s', (from, to, breaking) => {
    expect(isBreaking(v(from), v(to))).toBe(breaking)
    expect(releaseType('auto', v(from), v(to))).toBe(breaking ? 'major' : 'patch')
    expect(releaseType('minor', v(from), v(to))).toBe('minor')
  })

  it.each([
    ['1.4.2', 'patch', '1.4.3'],
    ['1.4.2', 'minor', '1.5.0'],
    ['1.4.2', 'major', '2.0.0'],
    ['0.9.0', 'major', '1.0.0'],
    ['1.3.0-rc.1', 'patch', '1.3.0'],
  ] as const)('%s + %s → %s', (from, type, to) => {
    expect(bumpVersion(from, type)).toBe(to)
  })
})

describe('tag-pattern (issue 21)', () => {
  const alpine = compileTagPattern('^(?<version>\\d+\\.\\d+(?:\\.\\d+)?)-alpine$') as RegExp
  it.each([
    ['16.4-alpine', '16.4.0'],
    ['16-alpine', undefined], // the pattern wants two or three parts
    ['16.4.2-alpine', '16.4.2'],
    ['16.4', undefined],
    ['16.4-alpine3.20', undefined],
  ])('%s → %s', (tag, version) => {
    expect(parseTagWithPattern(tag, alpine)?.version.version).toBe(version)
  })

  it('keeps the tag exactly as listed, and compares by the captured version', () => {
    const tags = ['16.3-alpine', '16.10-alpine', '16.4-alpine', '17.0-alpine', '16.9', 'latest', '16.10.0-alpine']
    const sel = selectVersion(tags, { includePrereleases: false, range: '<17', pattern: alpine })
    // 16.10 and 16.10.0 are one version: the shorter tag wins, whatever the order.
    expect(sel).toMatchObject({ total: 7, semver: 5, allowed: 4 })
    expect(sel.selected?.tag).toBe('16.10-alpine')
    expect(selectVersion([...tags].reverse(), { includePrereleases: false, range: '<17', pattern: alpine }).selected?.tag).toBe(
      '16.10-alpine',
    )
  })

  it('applies the prerelease rule to the captured version; a v inside the group is allowed', () => {
    const distroless = compileTagPattern('^(?<version>v\\d+\\.\\d+\\.\\d+(?:-[\\w.]+)?)-distroless$') as RegExp
    const tags = ['v1.2.3-distroless', 'v1.3.0-rc.1-distroless', 'v1.2.4-debug']
    expect(selectVersion(tags, { includePrereleases: false, range: '*', pattern: distroless }).selected?.tag).toBe('v1.2.3-distroless')
    expect(selectVersion(tags, { includePrereleases: true, range: '*', pattern: distroless }).selected?.tag).toBe('v1.3.0-rc.1-distroless')
  })

  it.each([
    ['(', /is not a valid regular expression/],
    ['^\\d+\\.\\d+$', /has no named group 'version'/],
    ['^(?<ver>\\d+)$', /has no named group 'version'/],
  ])('refuses %s', (source, message) => {
    expect(compileTagPattern(source)).toMatch(message)
  })
})
