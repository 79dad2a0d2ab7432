import type semver from 'semver'
import type { VersionTag } from '../versions.js'

/**
 * `min-release-age`: a version is a candidate only once its image is that old, so a release that
 * upstream yanks or fixes within hours is never published. The age is the image's own build date
 * (`org.opencontainers.image.created`, else its configuration's `created`), read for the newest
 * candidates only, newest first, until one is old enough.
 */

/** Candidates whose date is read at most, newest first: a bound on the extra requests (1 to 3 each). */
export const MAX_DATED = 5

/** A newer version held back, and why. */
export interface Waiting {
  tag: string
  /** When it becomes a candidate; undefined when its image gives no date. */
  until?: Date
}

/** What the cooldown chose. */
export interface CooldownResult {
  /** The newest version old enough (or undated and taken); undefined: stay at the current version. */
  selected?: VersionTag
  /** Newer versions held back, newest first. */
  waiting: Waiting[]
  /** Candidates newer than the current version that were not dated (beyond {@link MAX_DATED}). */
  unchecked: number
}

/**
 * Walks `candidates` (allowed versions, newest first) down to `current`, reading each one's date
 * with `created`, and picks the first that is at least `minAgeMs` old at `now`. An undated version
 * is taken when `takeUndated`, else held back.
 */
export async function pickOldEnough(
  candidates: readonly VersionTag[],
  current: semver.SemVer | undefined,
  rule: { minAgeMs: number; takeUndated: boolean; now: Date },
  created: (tag: string) => Promise<Date | undefined>,
): Promise<CooldownResult> {
  const newer = current ? candidates.filter((c) => c.version.compare(current) > 0) : candidates
  const waiting: Waiting[] = []
  for (const [i, candidate] of newer.entries()) {
    if (i >= MAX_DATED) return { waiting, unchecked: newer.length - i }
    const date = await created(candidate.tag)
    if (!date) {
      if (rule.takeUndated) return { selected: candidate, waiting, unchecked: 0 }
      waiting.push({ tag: candidate.tag })
      continue
    }
    const until = new Date(date.getTime() + rule.minAgeMs)
    if (until.getTime() <= rule.now.getTime()) return { selected: candidate, waiting, unchecked: 0 }
    waiting.push({ tag: candidate.tag, until })
  }
  return { waiting, unchecked: 0 }
}

/** `72h`, `3d`, `90m`, `1.5d` → milliseconds; undefined for anything else. */
export function parseAge(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(m|min|h|d)$/.exec(text.trim())
  if (!m) return undefined
  const unit = { m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'min' | 'h' | 'd']
  const ms = Number(m[1]) * unit
  return ms > 0 ? ms : undefined
}
