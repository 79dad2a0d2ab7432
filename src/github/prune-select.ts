/**
 * Prune selection: pure functions deciding what happens to each package version. No I/O.
 */

/** A version of a container package as the GitHub Packages API lists it (`package-version` schema). */
export interface PackageVersion {
  /** `id`: the package version id used in DELETE paths. */
  id: number
  /** `name`: for container packages, the manifest digest (`sha256:…`). */
  digest: string
  /** `created_at`. */
  createdAt: Date
  /** `metadata.container.tags`. */
  tags: string[]
}

/** What prune does with one version. */
export type Verdict = 'delete' | 'tagged' | 'young' | 'protected'

/** The prune policy. */
export interface PrunePolicy {
  /** `cleanup-all` deletes every version; `prune` only old untagged ones. */
  mode: 'prune' | 'cleanup-all'
  /** Versions created at or after this instant are young (prune mode). */
  cutoff: Date
  /** Digests that tagged versions depend on (image index children, referrer subjects): never deleted by prune. */
  protectedDigests: ReadonlySet<string>
}

/**
 * Classifies a version: `cleanup-all` deletes everything; `prune` keeps tagged versions, versions
 * younger than the cutoff, and versions a tagged version depends on, and deletes the rest.
 */
export function classify(version: PackageVersion, policy: PrunePolicy): Verdict {
  if (policy.mode === 'cleanup-all') return 'delete'
  if (version.tags.length > 0) return 'tagged'
  if (version.createdAt.getTime() >= policy.cutoff.getTime()) return 'young'
  if (policy.protectedDigests.has(version.digest)) return 'protected'
  return 'delete'
}

/** The age cutoff for `max-age-days` (fractional days allowed) at `now`. */
export function cutoffFor(maxAgeDays: number, now = new Date()): Date {
  return new Date(now.getTime() - maxAgeDays * 24 * 60 * 60 * 1000)
}

/**
 * Digests that tags protect, from the registry's tag list alone: cosign/OCI tag-schema referrer tags
 * `sha256-<hex>[.sig|.att|.sbom|…]` name their subject `sha256:<hex>`.
 */
export function subjectsFromTags(tags: readonly string[]): Set<string> {
  const out = new Set<string>()
  for (const tag of tags) {
    const m = /^sha256-([a-f0-9]{64})(?:\..*)?$/.exec(tag)
    if (m) out.add(`sha256:${m[1]}`)
  }
  return out
}

/** The package name GitHub gives a chart pushed to `oci://ghcr.io/<owner>/<rest>` as `<chart>`: `<rest>/<chart>` (or `<chart>`). */
export function packageName(repositoryPath: string, chartName: string): { owner: string; name: string } {
  const [owner, ...rest] = repositoryPath.split('/')
  return { owner, name: [...rest, chartName].join('/') }
}
