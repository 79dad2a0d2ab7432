import { describe, expect, it } from 'vitest'
import { classify, cutoffFor, packageName, subjectsFromTags, type PackageVersion, type PrunePolicy } from '../../src/github/prune-select.js'

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
  it.each<[string, Partial<PackageVersion>, PrunePolicy, string]>([
    ['old and untagged: deleted', {}, prune, 'delete'],
    ['tagged, however old: kept', { tags: ['1.0.0'] }, prune, 'tagged'],
    ['untagged but younger than max-age-days: kept', { createdAt: new Date(NOW.getTime() - 6 * DAY) }, prune, 'young'],
    ['exactly at the cutoff: young', { createdAt: cutoffFor(7, NOW) }, prune, 'young'],
    ['a tagged index child or referrer subject: kept', { digest: digest('p') }, prune, 'protected'],
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

describe('subjectsFromTags', () => {
  it('reads the subjects of tag-schema referrers (cosign .sig/.att/.sbom, the OCI fallback tag)', () => {
    const hex = 'b'.repeat(64)
    expect([
      ...subjectsFromTags([`sha256-${hex}.sig`, `sha256-${hex}`, `sha256-${'c'.repeat(64)}.att`, '1.0.0', 'sha256-short.sig']),
    ]).toEqual([`sha256:${hex}`, `sha256:${'c'.repeat(64)}`])
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
