import { describe, expect, it } from 'vitest'
import {
  classify,
  cutoffFor,
  dependenciesOf,
  isReferrersTag,
  needsScan,
  packageName,
  type PackageVersion,
  type PrunePolicy,
} from '../../src/github/prune-select.js'

/** Prune's selection, pure: what happens to each package version, and the names it works with. */

const NOW = new Date('2026-11-29T12:00:00Z')
const DAY = 86_400_000
const digest = (c: string) => `sha256:${c.repeat(64)}`
const version = (over: Partial<PackageVersion>): PackageVersion => ({
  id: 1,
  digest: digest('a'),
  createdAt: new Date(NOW.getTime() - 30 * DAY),
  tags: [],
  ...over,
})

describe('classify', () => {
  const prune: PrunePolicy = { mode: 'prune', cutoff: cutoffFor(7, NOW), protectedDigests: new Set([digest('p')]) }
  const orphans: PrunePolicy = { ...prune, orphanDigests: new Set([digest('o')]) }
  it.each<[string, Partial<PackageVersion>, PrunePolicy, string]>([
    ['old and untagged: deleted', {}, prune, 'delete'],
    ['tagged, however old: kept', { tags: ['1.0.0'] }, prune, 'tagged'],
    ['untagged but younger than max-age-days: kept', { createdAt: new Date(NOW.getTime() - 6 * DAY) }, prune, 'young'],
    ['exactly at the cutoff: young', { createdAt: cutoffFor(7, NOW) }, prune, 'young'],
    ["a live index child or a live version's referrer: kept", { digest: digest('p') }, prune, 'protected'],
    ['an orphaned referrers index, old: deleted', { digest: digest('o'), tags: [`sha256-${'d'.repeat(64)}`] }, orphans, 'delete'],
    [
      'an orphaned referrers index, young: kept',
      { digest: digest('o'), tags: [`sha256-${'d'.repeat(64)}`], createdAt: new Date(NOW.getTime() - DAY) },
      orphans,
      'young',
    ],
    ['a referrers index of a live version: tagged, kept', { tags: [`sha256-${'d'.repeat(64)}`] }, orphans, 'tagged'],
    ['an orphan digest that also carries a release tag: kept', { digest: digest('o'), tags: ['1.0.0'] }, orphans, 'tagged'],
    ['cleanup-all: everything goes, tagged too', { tags: ['1.0.0'] }, { ...prune, mode: 'cleanup-all' }, 'delete'],
  ])('%s', (_name, over, policy, verdict) => {
    expect(classify(version(over), policy)).toBe(verdict)
  })
})

describe('cutoffFor', () => {
  it('counts days back from now, fractions allowed', () => {
    expect(cutoffFor(7, NOW).toISOString()).toBe('2026-11-22T12:00:00.000Z')
    expect(cutoffFor(0.5, NOW).toISOString()).toBe('2026-11-29T00:00:00.000Z')
    expect(cutoffFor(0, NOW).getTime()).toBe(NOW.getTime())
  })
})

describe('referrers and what they depend on', () => {
  const hex = (c: string) => c.repeat(64)
  it('names referrers tags: the OCI tag schema and cosign suffixes, nothing else', () => {
    expect(
      [`sha256-${hex('b')}`, `sha256-${hex('b')}.sig`, `sha256-${hex('b')}.att`, '1.0.0', 'sha256-short.sig', 'sha256-x'].map(
        isReferrersTag,
      ),
    ).toEqual([true, true, true, false, false, false])
  })

  it('keeps the referrers of live versions (to a fixed point), orphans the rest; a referrers tag keeps no subject alive', () => {
    const chart = digest('1')
    const gone = digest('2')
    const untaggedSubject = digest('3')
    const found = dependenciesOf([
      { tag: '1.0.0', digest: chart, children: [] },
      // The chart's referrers index: a signature and an attestation.
      { tag: `sha256-${hex('1')}`, digest: digest('i'), children: [digest('s'), digest('a')] },
      // A signature of that attestation (subject: a protected referrer): live too.
      { tag: `sha256-${hex('a')}`, digest: digest('j'), children: [digest('t')] },
      // The referrers index of a version deleted long ago.
      { tag: `sha256-${hex('2')}`, digest: digest('k'), children: [digest('u')] },
      // cosign's legacy signature tag of an untagged manifest: that manifest is not live.
      { tag: `sha256-${hex('3')}.sig`, digest: digest('l'), children: [] },
    ])
    expect([...found.protectedDigests].sort()).toEqual([digest('s'), digest('a'), digest('t')].sort())
    expect([...found.orphanDigests].sort()).toEqual([digest('k'), digest('l')].sort())
    expect(found.protectedDigests.has(gone) || found.protectedDigests.has(untaggedSubject)).toBe(false)
  })

  it('scans only for old versions that are untagged or tagged only with referrers tags', () => {
    const policy: PrunePolicy = { mode: 'prune', cutoff: cutoffFor(7, NOW), protectedDigests: new Set() }
    expect(needsScan(version({}), policy)).toBe(true)
    expect(needsScan(version({ tags: [`sha256-${hex('b')}`] }), policy)).toBe(true)
    expect(needsScan(version({ tags: ['1.0.0'] }), policy)).toBe(false)
    expect(needsScan(version({ createdAt: NOW }), policy)).toBe(false)
    expect(needsScan(version({}), { ...policy, mode: 'cleanup-all' })).toBe(false)
  })
})

describe('packageName', () => {
  it.each([
    ['acme/zero-cache-chart', 'zero-cache', { owner: 'acme', name: 'zero-cache-chart/zero-cache' }],
    ['acme', 'zero-cache', { owner: 'acme', name: 'zero-cache' }],
    ['acme/a/b', 'demo', { owner: 'acme', name: 'a/b/demo' }],
  ])('oci://ghcr.io/%s with chart %s', (path, chart, expected) => {
    expect(packageName(path, chart)).toEqual(expected)
  })
})
