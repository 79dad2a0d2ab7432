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
  /**
   * Digests that live versions depend on: children of live image indexes, and the referrers
   * (signatures, attestations) of live versions listed by their referrers tag's index. Never deleted by prune.
   */
  protectedDigests: ReadonlySet<string>
  /**
   * Versions tagged only with referrers tags (`sha256-<hex>…`) whose subject is gone: orphans, which
   * prune deletes under the same age rule as untagged versions. Empty until the registry is scanned.
   */
  orphanDigests?: ReadonlySet<string>
  /**
   * Every live digest (tagged manifests, their index children, live referrers): an untagged
   * candidate whose manifest names one of these as its `subject` (a referrer kept by a registry
   * with the referrers API, without a referrers tag) is kept too.
   */
  live?: ReadonlySet<string>
}

/**
 * A referrers tag: the OCI tag schema `sha256-<hex>` (distribution-spec "Referrers Tag Schema", the
 * index a registry without the referrers API keeps) or cosign's `sha256-<hex>.sig` / `.att` / `.sbom`.
 * Such a tag keeps nothing alive by itself: it lives as long as its subject does.
 */
export function isReferrersTag(tag: string): boolean {
  return /^sha256-[a-f0-9]{64}(?:\..*)?$/.test(tag)
}

/** The subject a referrers tag names: `sha256-<hex>[.sig]` → `sha256:<hex>`. */
export function subjectOfTag(tag: string): string | undefined {
  const m = /^sha256-([a-f0-9]{64})(?:\..*)?$/.exec(tag)
  return m ? `sha256:${m[1]}` : undefined
}

/** True when every tag of a tagged version is a referrers tag: it is live only while its subject is. */
export function onlyReferrersTags(version: PackageVersion): boolean {
  return version.tags.length > 0 && version.tags.every(isReferrersTag)
}

/**
 * Whether prune needs the registry's view (what live versions depend on) to decide this version:
 * an old untagged version, or an old one tagged only with referrers tags.
 */
export function needsScan(version: PackageVersion, policy: PrunePolicy): boolean {
  if (policy.mode === 'cleanup-all' || version.createdAt.getTime() >= policy.cutoff.getTime()) return false
  return version.tags.length === 0 || onlyReferrersTags(version)
}

/**
 * Classifies a version: `cleanup-all` deletes everything; `prune` keeps tagged versions (but not
 * orphaned referrers indexes), versions younger than the cutoff, and versions a live version
 * depends on, and deletes the rest.
 */
export function classify(version: PackageVersion, policy: PrunePolicy): Verdict {
  if (policy.mode === 'cleanup-all') return 'delete'
  const orphan = policy.orphanDigests?.has(version.digest) === true && onlyReferrersTags(version)
  if (version.tags.length > 0 && !orphan) return 'tagged'
  if (version.createdAt.getTime() >= policy.cutoff.getTime()) return 'young'
  if (policy.protectedDigests.has(version.digest)) return 'protected'
  return 'delete'
}

/** The age cutoff for `max-age-days` (fractional days allowed) at `now`. */
export function cutoffFor(maxAgeDays: number, now = new Date()): Date {
  return new Date(now.getTime() - maxAgeDays * 24 * 60 * 60 * 1000)
}

/** A tag as prune's registry scan reads it: the manifest it points to, and that manifest's children when it is an index. */
export interface TagState {
  tag: string
  digest: string
  /** An index's manifests (a referrers index: its referrers); empty for a manifest. */
  children: readonly string[]
}

/**
 * What live versions depend on, from the tags alone. Live: the manifest of every tag that is not a
 * referrers tag, and the children of such an index. A referrers tag is live when its subject is
 * (to a fixed point: a signature of a live attestation is live too); its index's children (the
 * signatures and attestations) are then protected. A version tagged only with referrers tags of
 * subjects that are gone is an orphan.
 *
 * @returns `protectedDigests` (never deleted), `orphanDigests` (deleted under the age rule), and
 *   `live`, every digest found live.
 */
export function dependenciesOf(tags: readonly TagState[]): {
  protectedDigests: Set<string>
  orphanDigests: Set<string>
  live: Set<string>
} {
  const live = new Set<string>()
  const protectedDigests = new Set<string>()
  const keep = (t: TagState) => {
    live.add(t.digest)
    for (const c of t.children) {
      live.add(c)
      protectedDigests.add(c)
    }
  }
  for (const t of tags) if (!isReferrersTag(t.tag)) keep(t)
  const referrers = tags.filter((t) => isReferrersTag(t.tag))
  const kept = new Set<TagState>()
  for (let changed = true; changed;) {
    changed = false
    for (const t of referrers) {
      if (kept.has(t) || !live.has(subjectOfTag(t.tag)!)) continue
      kept.add(t)
      keep(t)
      changed = true
    }
  }
  const orphanDigests = new Set(referrers.filter((t) => !kept.has(t) && !live.has(t.digest)).map((t) => t.digest))
  return { protectedDigests, orphanDigests, live }
}

/** The package name GitHub gives a chart pushed to `oci://ghcr.io/<owner>/<rest>` as `<chart>`: `<rest>/<chart>` (or `<chart>`). */
export function packageName(repositoryPath: string, chartName: string): { owner: string; name: string } {
  const [owner, ...rest] = repositoryPath.split('/')
  return { owner, name: [...rest, chartName].join('/') }
}
