import semver from 'semver'

/**
 * Version selection and the chart version bump policy. Pure functions: no I/O.
 */

/** A tag that parsed as a strict semantic version (optionally with a leading `v`). */
export interface VersionTag {
  /** The tag as the registry lists it, e.g. `0.25.1`, `v1.2.3`. This is what `appVersion` is set to. */
  tag: string
  /** The parsed version. */
  version: semver.SemVer
}

/** A numeric identifier without leading zeros (SemVer §2). */
const NUMBER = '(0|[1-9]\\d*)'
/** A prerelease identifier: numeric without leading zeros, or alphanumeric (SemVer §9). */
const PRERELEASE_ID = '(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)'
const STRICT = new RegExp(`^v?${NUMBER}\\.${NUMBER}\\.${NUMBER}(?:-(${PRERELEASE_ID}(?:\\.${PRERELEASE_ID})*))?$`)

/**
 * Parses a tag as a strict semantic version (SemVer 2.0.0 §2, §9; a leading `v` allowed).
 * Build metadata is rejected because OCI tags cannot carry `+`. Returns undefined for
 * `latest`, `canary`, `sha-abc123`, `1.10`, `2025-11-01`, `01.2.3`, and other non-semver tags.
 */
export function parseVersionTag(tag: string): VersionTag | undefined {
  if (!STRICT.test(tag)) return undefined
  const version = semver.parse(tag.startsWith('v') ? tag.slice(1) : tag)
  return version ? { tag, version } : undefined
}

/** A captured version: 1 to 3 numeric parts (`16`, `16.4`, `1.2.3`), an optional `v` and prerelease. */
const CAPTURED = new RegExp(`^v?${NUMBER}(?:\\.${NUMBER})?(?:\\.${NUMBER})?(?:-(${PRERELEASE_ID}(?:\\.${PRERELEASE_ID})*))?$`)

/**
 * Parses a tag with a `tag-pattern`: the pattern's named group `version` is the version, with
 * missing parts as zero (`16.4` compares as `16.4.0`, `16` as `16.0.0`); the tag itself, exactly as
 * listed, is what `appVersion` becomes. Returns undefined when the pattern does not match, or the
 * captured text is not a version.
 */
export function parseTagWithPattern(tag: string, pattern: RegExp): VersionTag | undefined {
  const captured = pattern.exec(tag)?.groups?.version
  const m = captured === undefined ? null : CAPTURED.exec(captured)
  if (!m) return undefined
  const version = semver.parse(`${m[1]}.${m[2] ?? '0'}.${m[3] ?? '0'}${m[4] ? `-${m[4]}` : ''}`)
  return version ? { tag, version } : undefined
}

/**
 * Compiles a `tag-pattern` (a JavaScript regular expression with a named group `version`).
 *
 * @returns the pattern, or an error message saying why it cannot be used.
 */
export function compileTagPattern(source: string): RegExp | string {
  let pattern: RegExp
  try {
    pattern = new RegExp(source)
  } catch (error) {
    return `'${source}' is not a valid regular expression: ${(error as Error).message}`
  }
  // Every named group is a key of `groups` on any match, matched or not: an empty alternative matches ''.
  const groups = new RegExp(`(?:${source})|`).exec('')?.groups
  if (!groups || !('version' in groups)) {
    return `'${source}' has no named group 'version' (e.g. ^(?<version>\\d+\\.\\d+\\.\\d+)-alpine$)`
  }
  return pattern
}

/** The policy that decides which upstream versions are candidates. */
export interface SelectionPolicy {
  /** Consider prerelease versions such as `1.10.0-canary.3`. */
  includePrereleases: boolean
  /** A semver range candidates must satisfy (`*` for any). */
  range: string
  /** `tag-pattern`: which tags are versions, and where the version is in them; strict semver tags when undefined. */
  pattern?: RegExp
}

/** What {@link selectVersion} found, for the log and the job summary. */
export interface Selection {
  /** The highest allowed version, or undefined when none is allowed. */
  selected?: VersionTag
  /** How many tags were listed. */
  total: number
  /** How many of them are strict semver. */
  semver: number
  /** How many passed the policy. */
  allowed: number
}

/**
 * Picks the highest version among `tags` that the policy allows (SemVer 2.0.0 §11 precedence).
 * When two tags denote the same version (`1.2.3` and `v1.2.3`), the one without `v` wins, so the
 * choice does not depend on listing order.
 */
export function selectVersion(tags: readonly string[], policy: SelectionPolicy): Selection {
  // Parsed once for every tag (semver.satisfies would parse the range string per call).
  const range = new semver.Range(policy.range, { includePrerelease: policy.includePrereleases })
  if (policy.pattern) return selectWithPattern(tags, policy, policy.pattern, range)
  let selected: VersionTag | undefined
  let semverCount = 0
  let allowed = 0
  for (const tag of tags) {
    const match = STRICT.exec(tag)
    if (!match) continue
    // An excluded prerelease (most of a busy repository's tags: canaries) is only counted; it is
    // parsed only when semver might refuse it (see withinSemverLimits), so the count stays exact.
    if (match[4] !== undefined && !policy.includePrereleases && withinSemverLimits(tag, match)) {
      semverCount++
      continue
    }
    const parsed = parseVersionTag(tag)
    if (!parsed) continue
    semverCount++
    if (!isAllowed(parsed.version, policy, range)) continue
    allowed++
    if (!selected) {
      selected = parsed
      continue
    }
    const order = semver.compare(parsed.version, selected.version)
    if (order > 0 || (order === 0 && selected.tag.startsWith('v') && !parsed.tag.startsWith('v'))) selected = parsed
  }
  return { selected, total: tags.length, semver: semverCount, allowed }
}

/**
 * {@link selectVersion} with a `tag-pattern`: the tags the pattern matches, compared by their
 * captured version. Of two tags with the same version (`16.4-alpine` and `16.4.0-alpine`), the
 * shorter, then the lexically first, wins, so the choice does not depend on listing order.
 */
function selectWithPattern(tags: readonly string[], policy: SelectionPolicy, pattern: RegExp, range: semver.Range): Selection {
  let selected: VersionTag | undefined
  let matched = 0
  let allowed = 0
  for (const tag of tags) {
    const parsed = parseTagWithPattern(tag, pattern)
    if (!parsed) continue
    matched++
    if (!isAllowed(parsed.version, policy, range)) continue
    allowed++
    const order = selected ? semver.compare(parsed.version, selected.version) : 1
    const tie = order === 0 && (tag.length < selected!.tag.length || (tag.length === selected!.tag.length && tag < selected!.tag))
    if (order > 0 || tie) selected = parsed
  }
  return { selected, total: tags.length, semver: matched, allowed }
}

/** The version of a chart's `appVersion` (under `tag-pattern` when given), or undefined when it has none. */
export function appVersionOf(appVersion: string, pattern?: RegExp): semver.SemVer | undefined {
  if (pattern) return parseTagWithPattern(appVersion, pattern)?.version
  return parseVersionTag(appVersion)?.version ?? semver.parse(appVersion.replace(/^v/, '')) ?? undefined
}

/**
 * Every version among `tags` that the policy allows, newest first (the candidates the cooldown
 * walks); tags denoting the same version are listed once, as {@link selectVersion} would pick.
 */
export function allowedVersions(tags: readonly string[], policy: SelectionPolicy): VersionTag[] {
  const range = new semver.Range(policy.range, { includePrerelease: policy.includePrereleases })
  const byVersion = new Map<string, VersionTag>()
  for (const tag of tags) {
    const parsed = policy.pattern ? parseTagWithPattern(tag, policy.pattern) : parseVersionTag(tag)
    if (!parsed || !isAllowed(parsed.version, policy, range)) continue
    const key = parsed.version.version
    const seen = byVersion.get(key)
    if (!seen || selectVersion([seen.tag, tag], policy).selected?.tag === tag) byVersion.set(key, parsed)
  }
  return [...byVersion.values()].sort((a, b) => semver.rcompare(a.version, b.version))
}

/** The longest version string `semver.parse` accepts (semver's internal/constants.js, MAX_LENGTH). */
const SEMVER_MAX_LENGTH = 256

/**
 * True when `semver.parse` accepts a tag that matched {@link STRICT}: it refuses only versions longer
 * than its MAX_LENGTH (256) and major, minor or patch numbers above Number.MAX_SAFE_INTEGER.
 */
function withinSemverLimits(tag: string, match: RegExpExecArray): boolean {
  const version = tag.startsWith('v') ? tag.length - 1 : tag.length
  return (
    version <= SEMVER_MAX_LENGTH &&
    Number(match[1]) <= Number.MAX_SAFE_INTEGER &&
    Number(match[2]) <= Number.MAX_SAFE_INTEGER &&
    Number(match[3]) <= Number.MAX_SAFE_INTEGER
  )
}

function isAllowed(version: semver.SemVer, policy: SelectionPolicy, range: semver.Range): boolean {
  if (version.prerelease.length > 0 && !policy.includePrereleases) return false
  return range.test(version)
}

/** Validates a `version-range` value; returns an error message or undefined. */
export function checkRange(range: string): string | undefined {
  return semver.validRange(range) === null ? `'${range}' is not a valid semver range (e.g. '>=1 <2', '^0.25', '*')` : undefined
}

/** How the chart `version` moves: the `bump` input. */
export type BumpKind = 'auto' | 'patch' | 'minor' | 'major'

/**
 * True when an upstream change from `from` to `to` is breaking by SemVer's rules: the major
 * version changes, or, below 1.0.0, the minor version changes (SemVer 2.0.0 §4: "anything MAY
 * change at any time" in 0.y.z; by convention 0.y is the breaking position).
 */
export function isBreaking(from: semver.SemVer, to: semver.SemVer): boolean {
  if (from.major !== to.major) return true
  return from.major === 0 && from.minor !== to.minor
}

/**
 * The release type for the chart `version` under `bump`: `auto` gives `major` for a breaking
 * upstream change ({@link isBreaking}) and `patch` otherwise.
 */
export function releaseType(bump: BumpKind, from: semver.SemVer, to: semver.SemVer): 'patch' | 'minor' | 'major' {
  if (bump !== 'auto') return bump
  return isBreaking(from, to) ? 'major' : 'patch'
}

/**
 * The next chart version: `semver.inc(version, type)`. A prerelease chart version is released
 * (`1.3.0-rc.1` + patch → `1.3.0`), as semver defines. Build metadata is dropped.
 *
 * @throws Error when `version` is not semver (callers validate Chart.yaml first).
 */
export function bumpVersion(version: string, type: 'patch' | 'minor' | 'major'): string {
  const next = semver.inc(version, type)
  if (!next) throw new Error(`cannot bump '${version}': not a semantic version`)
  return next
}
