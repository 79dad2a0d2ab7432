import semver from 'semver'
import type { ChartMetadata } from '../chart/chart-file.js'
import { ActionError } from '../errors.js'
import { bumpVersion, isBreaking, parseVersionTag, releaseType, type BumpKind, type Selection } from '../versions.js'

/**
 * Planning: pure functions from observed state to the steps a run takes. Nothing here does I/O,
 * so dry run is "plan, print, stop", and every branch of the release state machine is unit-tested.
 *
 * The state machine converges: each step is planned only when its effect is missing from the
 * remote (git branch, git tags, OCI registry), so a run that died after any step is finished by
 * the next one, and a step already done is never done twice.
 */

/** What the update stage decided, from Chart.yaml and the upstream selection. */
export type UpdateDecision =
  | {
      kind: 'update'
      from: ChartMetadata
      appVersion: string
      version: string
      releaseType: 'patch' | 'minor' | 'major'
      breaking: boolean
    }
  | { kind: 'current'; chart: ChartMetadata }
  | { kind: 'ahead'; chart: ChartMetadata; newest: string }
  | { kind: 'none-allowed'; chart: ChartMetadata }

/**
 * Decides whether the chart follows upstream: an update when the selected upstream version is
 * newer than `appVersion` (SemVer precedence). Never downgrades: when `appVersion` is ahead of
 * everything the policy allows (say a canary while prereleases are excluded), the chart stays.
 */
export function decideUpdate(chart: ChartMetadata, selection: Selection, bump: BumpKind): UpdateDecision {
  const newest = selection.selected
  if (!newest) return { kind: 'none-allowed', chart }
  const current = parseVersionTag(chart.appVersion)?.version ?? semver.parse(chart.appVersion.replace(/^v/, ''))
  if (!current) throw new Error(`appVersion '${chart.appVersion}' is not semver`) // parseChart rejects this earlier
  const order = semver.compare(newest.version, current)
  if (order === 0) return { kind: 'current', chart }
  if (order < 0) return { kind: 'ahead', chart, newest: newest.tag }
  const type = releaseType(bump, current, newest.version)
  return {
    kind: 'update',
    from: chart,
    appVersion: appVersionInChartForm(chart.appVersion, newest.tag),
    version: bumpVersion(chart.version, type),
    releaseType: type,
    breaking: isBreaking(current, newest.version),
  }
}

/**
 * The new `appVersion` written the way the chart writes it: a chart that keeps `appVersion`
 * without the `v` its image tags carry (its templates add it: `image: …:v{{ .Chart.AppVersion }}`)
 * gets the tag without the `v` too; otherwise the tag exactly as listed.
 */
export function appVersionInChartForm(current: string, tag: string): string {
  return tag.startsWith('v') && !current.startsWith('v') ? tag.slice(1) : tag
}

/**
 * The chart version a bump should produce: `proposed`, or the next patch version after it when a
 * tag or a registry entry already holds that version (a stale tag or an abandoned release), so a
 * version is never published twice with different content.
 *
 * @param taken true when a version is already used (tag on the remote, or manifest in the registry).
 * @param limit how many versions to try before giving up.
 * @returns the free version and the versions skipped.
 */
export async function firstFreeVersion(
  proposed: string,
  taken: (version: string) => Promise<boolean>,
  limit = 20,
): Promise<{ version: string; skipped: string[] }> {
  const skipped: string[] = []
  let version = proposed
  for (let i = 0; i < limit; i++) {
    if (!(await taken(version))) return { version, skipped }
    skipped.push(version)
    version = bumpVersion(version, 'patch')
  }
  throw new ActionError(
    `chart versions ${proposed} to ${skipped[skipped.length - 1]} are all taken (tags or registry); set the chart version in Chart.yaml ` +
      `by hand`,
  )
}

/** Placeholders of `tag-format` and `commit-message`. */
export interface TemplateValues {
  version: string
  'app-version': string
  name: string
}

/** Names of the placeholders, for validation. */
export const PLACEHOLDERS = ['version', 'app-version', 'name'] as const

/** Replaces `{version}`, `{app-version}` and `{name}` in `template`. */
export function formatTemplate(template: string, values: TemplateValues): string {
  return template.replace(/\{(version|app-version|name)\}/g, (_, key: keyof TemplateValues) => values[key])
}

/** Placeholders in `template` that are not known, e.g. `{chart}`; empty when all are known. */
export function unknownPlaceholders(template: string): string[] {
  return [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]).filter((p) => !(PLACEHOLDERS as readonly string[]).includes(p))
}

/** A commit: a full id, or `new` for the commit the update step creates. */
export type CommitRef = string | 'new'

/** One step of a run, in order. */
export type Step =
  | {
      kind: 'update'
      from: { version: string; appVersion: string }
      to: { version: string; appVersion: string }
      releaseType: string
      breaking: boolean
      skippedVersions: string[]
    }
  /** `strict`: `helm lint --strict` (warnings fail); otherwise `helm lint` as chart-testing runs it. */
  | { kind: 'lint'; source: CommitRef; strict?: boolean }
  | { kind: 'commit'; branch: string; message: string }
  | { kind: 'tag'; tag: string; commit: CommitRef }
  | { kind: 'publish'; chartRef: string; version: string; source: CommitRef }
  | {
      kind: 'github-release'
      tag: string
      version: string
      /** The packaged chart's file name, `<name>-<version>.tgz`. */
      asset: string
      /** What the Release lacks: all of it, its notes, or the chart. */
      missing: ('release' | 'notes' | 'asset')[]
      /** The Release of the tag, when there is one. */
      existing?: { id: number; url: string }
    }
  /** `missed`: the release is complete but its dispatch was never recorded (a run failed before or during it). */
  | { kind: 'dispatch'; workflow: string; ref: string; tag: string; missed?: boolean }
  /** Push `artifacthub-repo.yml` as the `artifacthub.io` tag of the chart's OCI repository. */
  | { kind: 'artifacthub-repo'; file: string; ref: string }
  /** Comment once on a pull request: why the action leaves its branch alone. */
  | { kind: 'pull-request-comment'; number: number; url: string; body: string }
  | {
      kind: 'pull-request'
      /** The head branch the update is committed to. */
      branch: string
      /** The head branch's tip when observed (undefined: it does not exist); the push's lease. */
      tip?: string
      /** The branch the pull request targets. */
      base: string
      title: string
      /** The open pull request this run updates; undefined when it opens one. */
      existing?: { number: number; url: string }
    }

/** Observed state of the release for one chart version. */
export interface ReleaseState {
  /** The chart version the run releases (after an update, the new one). */
  version: string
  appVersion: string
  name: string
  /** The release tag's name. */
  tag: string
  /** The commit the remote's tag points to (peeled), or undefined when the tag is absent. */
  remoteTagCommit?: string
  /** The commit that set `version` in Chart.yaml; `new` when the update step creates it. */
  releaseCommit: CommitRef
  /** True when the registry already has `<name>:<version>`. */
  published: boolean
  /** `oci://host/ns/name:version`. */
  chartRef: string
}

/** What {@link planRelease} returns: the steps, and warnings for the log. */
export interface Plan {
  steps: Step[]
  warnings: string[]
}

/**
 * Plans a run: the update (if any), then the tag and the publication for the release's version,
 * each only when the remote lacks it. An existing tag that points at another commit is never moved:
 * it is reported as a warning and the tag step is left out.
 */
export function planRelease(input: {
  decision: UpdateDecision
  release: ReleaseState
  branch: string
  commitMessage: string
  lint: boolean
  /** `helm lint --strict` rather than `helm lint`. */
  strictLint?: boolean
  skippedVersions?: string[]
}): Plan {
  const { decision, release } = input
  const steps: Step[] = []
  const warnings: string[] = []
  if (decision.kind === 'update') {
    steps.push({
      kind: 'update',
      from: { version: decision.from.version, appVersion: decision.from.appVersion },
      to: { version: release.version, appVersion: decision.appVersion },
      releaseType: decision.releaseType,
      breaking: decision.breaking,
      skippedVersions: input.skippedVersions ?? [],
    })
    if (input.lint) steps.push({ kind: 'lint', source: 'new', ...(input.strictLint ? { strict: true } : {}) })
    steps.push({ kind: 'commit', branch: input.branch, message: input.commitMessage })
  }
  if (release.remoteTagCommit === undefined) {
    steps.push({ kind: 'tag', tag: release.tag, commit: release.releaseCommit })
  } else if (release.releaseCommit !== 'new' && release.remoteTagCommit !== release.releaseCommit) {
    warnings.push(
      `tag ${release.tag} already exists at ${release.remoteTagCommit.slice(0, 12)}, not at ${release.releaseCommit.slice(0, 12)} (the ` +
        `commit that set version ${release.version}); it is left as it is`,
    )
  }
  if (!release.published) {
    if (input.lint && decision.kind !== 'update')
      steps.push({ kind: 'lint', source: release.releaseCommit, ...(input.strictLint ? { strict: true } : {}) })
    steps.push({ kind: 'publish', chartRef: release.chartRef, version: release.version, source: release.releaseCommit })
  }
  return { steps, warnings }
}

/** One line per step, for logs, dry-run output and the job summary. */
export function describeStep(step: Step): string {
  const at = (c: CommitRef) => (c === 'new' ? 'the new commit' : c.slice(0, 12))
  switch (step.kind) {
    case 'update': {
      const why = `${step.releaseType}${step.breaking ? ', breaking upstream change' : ''}`
      const skipped = step.skippedVersions.length ? `; skipped taken versions ${step.skippedVersions.join(', ')}` : ''
      return (
        `update Chart.yaml: appVersion ${step.from.appVersion} → ${step.to.appVersion}, ` +
        `version ${step.from.version} → ${step.to.version} (${why})${skipped}`
      )
    }
    case 'lint':
      return `helm lint${step.strict ? ' --strict' : ''} the chart at ${at(step.source)}`
    case 'commit':
      return `commit "${step.message.split('\n')[0]}" and push to ${step.branch}`
    case 'tag':
      return `create tag ${step.tag} at ${at(step.commit)} and push it`
    case 'publish':
      return `helm package and helm push ${step.chartRef} (from ${at(step.source)})`
    case 'github-release':
      return step.missing.includes('release')
        ? `create the GitHub Release of ${step.tag} with notes and ${step.asset} attached`
        : `complete the GitHub Release of ${step.tag} (${step.existing?.url}): add ${step.missing
            .map((m) => (m === 'notes' ? 'the notes' : step.asset))
            .join(' and ')}`
    case 'artifacthub-repo':
      return `push ${step.file} to ${step.ref} (Artifact Hub repository metadata)`
    case 'dispatch':
      return (
        `start workflow ${step.workflow} on ${step.ref} (workflow_dispatch) for ${step.tag}` +
        (step.missed ? ' (its dispatch was never recorded: a run failed before sending it)' : '')
      )
    case 'pull-request-comment':
      return `comment on pull request #${step.number} (${step.url}): its branch holds commits this action did not make, left as they are`
    case 'pull-request':
      return step.existing
        ? `push the update to ${step.branch} and update pull request #${step.existing.number} (${step.existing.url})`
        : `push the update to ${step.branch} and open a pull request into ${step.base}: "${step.title}"`
  }
}
