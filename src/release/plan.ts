import { createHash } from 'node:crypto'
import semver from 'semver'
import { isMap, parseDocument } from 'yaml'
import { ATTESTATION_KINDS, type AttestationKind } from './sign.js'
import type { ChartMetadata } from '../chart/chart-file.js'
import { ActionError, ChartError } from '../errors.js'
import { isValidTagName, MAX_REF_COMPONENT_BYTES } from '../git.js'
import { COMPONENT } from '../oci/reference.js'
import type { Release } from '../github/repo.js'
import { decidePullRequest, LEFT_ALONE_MARKER, leftAloneComment, pullRequestBody } from './pull-request.js'
import type { ReleaseConfig, Snapshot, ValuesImageChange } from './snapshot.js'
import { appVersionOf, bumpVersion, isBreaking, releaseType, type BumpKind, type Selection } from '../versions.js'

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
      /** values-images that move with this update. */
      images?: readonly ValuesImageChange[]
    }
  | { kind: 'current'; chart: ChartMetadata }
  | { kind: 'ahead'; chart: ChartMetadata; newest: string }
  | { kind: 'none-allowed'; chart: ChartMetadata }

/**
 * Decides whether the chart follows upstream: an update when the selected upstream version is
 * newer than `appVersion` (SemVer precedence). Never downgrades: when `appVersion` is ahead of
 * everything the policy allows (say a canary while prereleases are excluded), the chart stays.
 */
export function decideUpdate(
  chart: ChartMetadata,
  selection: Selection,
  bump: BumpKind,
  tagPattern?: RegExp,
  images: readonly ValuesImageChange[] = [],
): UpdateDecision {
  const decision = decideAppVersion(chart, selection, bump, tagPattern)
  if (!images.length) return decision
  if (decision.kind === 'update') return { ...decision, images }
  // values-images alone: the chart's version moves (patch), appVersion stays.
  return {
    kind: 'update',
    from: chart,
    appVersion: chart.appVersion,
    version: bumpVersion(chart.version, 'patch'),
    releaseType: 'patch',
    breaking: false,
    images,
  }
}

/** {@link decideUpdate} for `appVersion` alone. */
function decideAppVersion(chart: ChartMetadata, selection: Selection, bump: BumpKind, tagPattern?: RegExp): UpdateDecision {
  const newest = selection.selected
  if (!newest) return { kind: 'none-allowed', chart }
  const current = appVersionOf(chart.appVersion, tagPattern)
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

/** How many chart versions a bump tries before giving up: the proposed one and the patches after it. */
export const MAX_VERSION_TRIES = 20

/**
 * The chart version a bump should produce: `proposed`, or the next patch version after it when a
 * tag or a registry entry already holds that version (a stale tag or an abandoned release), so a
 * version is never published twice with different content.
 *
 * @param taken true when a version is already used (tag on the remote, or manifest in the registry).
 * @param limit how many versions to try before giving up.
 * @returns the free version and the versions skipped.
 * @throws ActionError when all `limit` versions are taken.
 */
export function firstFreeVersion(
  proposed: string,
  taken: (version: string) => boolean,
  limit = MAX_VERSION_TRIES,
): { version: string; skipped: string[] } {
  const skipped: string[] = []
  let version = proposed
  for (let i = 0; i < limit; i++) {
    if (!taken(version)) return { version, skipped }
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
export type CommitRef = 'new' | (string & {})

/** One step of a run, in order. */
export type Step =
  | {
      kind: 'update'
      from: { version: string; appVersion: string }
      to: { version: string; appVersion: string }
      releaseType: string
      breaking: boolean
      skippedVersions: string[]
      /** values-images moving with the update (their tags in values.yaml). */
      images?: readonly ValuesImageChange[]
    }
  /** `strict`: `helm lint --strict` (warnings fail); otherwise `helm lint` as chart-testing runs it. */
  | { kind: 'lint'; source: CommitRef; strict?: boolean }
  | { kind: 'commit'; branch: string; message: string }
  | { kind: 'tag'; tag: string; commit: CommitRef }
  | { kind: 'publish'; chartRef: string; version: string; source: CommitRef }
  /** sign: the published version's missing Sigstore bundles, attached as referrers (its digest: observed or just pushed). */
  | { kind: 'sign'; chartRef: string; version: string; missing: AttestationKind[] }
  | GithubReleaseStep
  /** `missed`: the release is complete but its dispatch was never recorded (a run failed before or during it). */
  | { kind: 'dispatch'; workflow: string; ref: string; tag: string; missed?: boolean }
  /** Push `artifacthub-repo.yml` (`text`) as the `artifacthub.io` tag of the chart's OCI repository. */
  | { kind: 'artifacthub-repo'; file: string; ref: string; text: string }
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
      /** The commit's message (its first line is the title). */
      message: string
      title: string
      /** The open pull request this run updates; undefined when it opens one. */
      existing?: { number: number; url: string }
    }

/** The github-release step: the Release of the tag, made or completed. */
export interface GithubReleaseStep {
  kind: 'github-release'
  tag: string
  version: string
  /** The packaged chart's file name, `<name>-<version>.tgz`. */
  asset: string
  /** What the Release lacks: all of it (a draft made, filled, published), its notes, the chart, being published (a draft). */
  missing: ('release' | 'notes' | 'asset' | 'publish')[]
  /** The Release of the tag, or the draft of it a run left, when there is one. */
  existing?: { id: number; url: string; draft?: boolean }
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
      ...(decision.images?.length ? { images: decision.images } : {}),
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
    case 'update':
      return describeUpdate(step)
    case 'lint':
      return `helm lint${step.strict ? ' --strict' : ''} the chart at ${at(step.source)}`
    case 'commit':
      return `commit "${step.message.split('\n')[0]}" and push to ${step.branch}`
    case 'tag':
      return `create tag ${step.tag} at ${at(step.commit)} and push it`
    case 'publish':
      return `helm package and helm push ${step.chartRef} (from ${at(step.source)})`
    case 'sign': {
      const what = step.missing.map((m) => (m === 'signature' ? 'a signature' : 'a SLSA provenance attestation'))
      return `sign ${step.chartRef} with Sigstore: ${what.join(' and ')}, attached as OCI referrers`
    }
    case 'github-release': {
      if (step.missing.includes('release'))
        return `create the GitHub Release of ${step.tag} as a draft, add the notes and ${step.asset}, then publish it`
      const parts = { notes: 'add the notes', asset: `attach ${step.asset}`, publish: 'publish it', release: '' }
      const what = step.existing?.draft ? 'the draft GitHub Release' : 'the GitHub Release'
      return `complete ${what} of ${step.tag} (${step.existing?.url}): ${step.missing.map((m) => parts[m]).join(', ')}`
    }
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

/** The update step in one line: appVersion (when it moves), version, why, skipped versions, values-images. */
function describeUpdate(step: Extract<Step, { kind: 'update' }>): string {
  const why = `${step.releaseType}${step.breaking ? ', breaking upstream change' : ''}`
  const skipped = step.skippedVersions.length ? `; skipped taken versions ${step.skippedVersions.join(', ')}` : ''
  const images = (step.images ?? []).map((i) => `; values.yaml ${i.path}: ${i.image} ${i.from} → ${i.to}`).join('')
  const app = step.from.appVersion === step.to.appVersion ? '' : `appVersion ${step.from.appVersion} → ${step.to.appVersion}, `
  return `update Chart.yaml: ${app}version ${step.from.version} → ${step.to.version} (${why})${skipped}${images}`
}

/** The pull request as the job summary and the outputs show it. */
export interface PullRequestReport {
  number?: number
  url?: string
  appVersion: string
  version: string
  /** `opened`/`updated`/`unchanged` by this run; `held`: closed without merging; `left`: its branch holds a person's commits. */
  status: 'opened' | 'updated' | 'unchanged' | 'held' | 'left'
}

/** Everything {@link plan} decides for one chart: the steps and what the run reports besides them. */
export interface ChartPlan extends Plan {
  /** The release the run completes (after an update in push mode, the new version). */
  release: ReleaseState
  /** The manifest digest of the release's chart version, when the registry has it. */
  digest?: string
  /** Lines about what is already in place (job summary, "Already in place"). */
  facts: string[]
  /** What the reader should know about the run's choices (job summary, "Notes"). */
  notes: string[]
  /** Notice annotations: things that hold the run back without failing it. */
  notices: string[]
  /** Plain log lines about the plan. */
  info: string[]
  /** The pull request, when pull-request mode has one to report. */
  pullRequest?: PullRequestReport
  /** The body of the pull request the `pull-request` step opens or updates. */
  pullRequestBody?: string
  /** The Release of the tag as observed, when it has one. */
  existingRelease?: Release
}

/**
 * Refuses a chart name that cannot be the last component of its OCI repository (`helm push`
 * pushes `<oci-repo>/<name>`): upper case, spaces, other punctuation. Checked before any write.
 *
 * @throws ChartError naming the file and a name that would do.
 */
export function checkChartName(name: string, file: string): void {
  if (COMPONENT.test(name)) return
  throw new ChartError(
    `${file}: chart name '${name}' cannot be an OCI repository name (lower-case letters, digits and . _ - between them, as helm push ` +
      `needs), so the chart could never be pushed; rename it (e.g. '${name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-')}'). ` +
      'Nothing was written',
  )
}

/**
 * A tag of an earlier `tag-format` under which `version` was released: one at `commit` (the
 * commit that set `version`) whose name ends with the version (`v2.0.0`, `zero-cache-2.0.0`).
 */
export function earlierFormatTag(tags: ReadonlyMap<string, string>, commit: string, version: string): string | undefined {
  const escaped = version.replace(/[.+]/g, '\\$&')
  const re = new RegExp(`(?:^|[^0-9.])${escaped}$`)
  return [...tags].find(([name, at]) => at === commit && re.test(name))?.[0]
}

/** The placeholders of a chart's templates. */
function templateValues(name: string, version: string, appVersion: string): TemplateValues {
  return { version, 'app-version': appVersion, name }
}

/**
 * The tag of a chart version: `tag-format` rendered, checked against git's ref-name rules.
 *
 * @throws ActionError naming the rendered tag when git could not create it.
 */
export function releaseTag(config: ReleaseConfig, name: string, version: string, appVersion: string): string {
  const tag = formatTemplate(config.tagFormat, templateValues(name, version, appVersion))
  if (!isValidTagName(tag)) {
    throw new ActionError(
      `tag-format gives '${tag}', which is not a valid git tag name (git check-ref-format rules, each part at most ` +
        `${MAX_REF_COMPONENT_BYTES} bytes); nothing was written`,
    )
  }
  return tag
}

/** The facts {@link releaseOf} needs: what observe reads before it knows the release's tag. */
export type ReleaseFacts = Pick<Snapshot, 'chart' | 'selection' | 'tags' | 'registry' | 'versionCommit' | 'base' | 'valuesImages'>

/**
 * The release a run completes, from the facts about the chart: the update decision, whether it is
 * proposed (pull-request mode) rather than committed, the chart version it proposes (`next`: the
 * bump, or the first free patch after it), and the release state of the version the run
 * completes. Observe calls it too, to know which tag and commit to ask the remotes about.
 */
export function releaseOf(facts: ReleaseFacts, config: ReleaseConfig) {
  const { chart } = facts
  const decision = decideUpdate(chart, facts.selection, config.bump, config.tagPattern, facts.valuesImages?.changes)
  const propose = decision.kind === 'update' && config.commitMode === 'pull-request'
  const warnings: string[] = []
  let version = chart.version
  let appVersion = chart.appVersion
  let next = chart.version
  let skipped: string[] = []
  if (decision.kind === 'update') {
    const taken = (v: string) =>
      facts.tags.has(formatTemplate(config.tagFormat, templateValues(chart.name, v, decision.appVersion))) ||
      (facts.registry.get(v) ?? null) !== null
    const free = firstFreeVersion(decision.version, taken)
    for (const v of free.skipped) {
      warnings.push(`chart version ${v} is already taken (tag or registry) though Chart.yaml is at ${chart.version}; using ${free.version}`)
    }
    next = free.version
    skipped = free.skipped
    if (!propose) [version, appVersion] = [free.version, decision.appVersion]
  }
  const state = releaseStateOf(facts, config, decision.kind === 'update' && !propose, version, appVersion)
  return { decision, propose, next, skipped, warnings, ...state }
}

/**
 * Plans one chart's release from a {@link Snapshot}: pure and synchronous, every step kind, each
 * only when the remote lacks its effect, with what the run reports besides (facts, notes, notices,
 * warnings). The order of steps is the order of applying them: update, lint, commit, tag, publish,
 * GitHub Release, Artifact Hub metadata, dispatch, pull request.
 *
 * @throws ChartError or ActionError for a chart or a setting that no run could release (a chart
 *   name that cannot be an OCI repository, a tag git cannot create, every bump version taken).
 */
export function plan(snap: Snapshot, config: ReleaseConfig): ChartPlan {
  const { chart } = snap
  checkChartName(chart.name, snap.chartFile)
  const r = releaseOf(snap, config)
  const { decision } = r
  const out: ChartPlan = { steps: [], warnings: [...r.warnings], facts: [], notes: [], notices: [], info: [...r.info], release: r.release }
  if (r.digest) out.digest = r.digest
  if (decision.kind === 'ahead') {
    out.notices.push(
      `appVersion ${chart.appVersion} is ahead of the newest allowed upstream version ${decision.newest}; the chart is left as it is`,
    )
  }
  if (decision.kind === 'update' && decision.appVersion !== snap.selection.selected?.tag) {
    out.notes.push(
      `appVersion is written ${decision.appVersion}, without the leading v of the image tag ${snap.selection.selected?.tag}, ` +
        `as the chart writes it (${chart.appVersion}); its templates add the v`,
    )
  }
  const { release } = out
  if (release.remoteTagCommit && decision.kind !== 'update')
    out.facts.push(`tag ${release.tag} exists at ${release.remoteTagCommit.slice(0, 12)}`)
  if (release.published) out.facts.push(`${release.chartRef} is published${out.digest ? ` (${out.digest})` : ''}`)
  const core = planRelease({
    decision: r.propose ? { kind: 'current', chart } : decision,
    release,
    branch: snap.branch,
    commitMessage: commitMessageOf(config, chart, release, decision),
    lint: config.lint !== 'off',
    strictLint: config.lint === 'strict',
    skippedVersions: r.skipped,
  })
  out.steps.push(...core.steps)
  planSigning(snap, config, out)
  planGithubRelease(snap, config, out)
  planArtifactHub(snap, config, out)
  planDispatch(snap, config, out)
  out.warnings.push(...core.warnings)
  if (r.propose && decision.kind === 'update') planProposal(snap, config, decision, r.next, r.skipped, out)
  return out
}

/** The last part of an image's name: `docker.io/otel/opentelemetry-collector` → `opentelemetry-collector`. */
export function imageName(image: string): string {
  return image.split('/').pop()!
}

/**
 * The update's commit message: `commit-message` rendered, or, when only values-images move (the
 * template speaks of appVersion), `chore(chart): update <image> to <tag>, …`; either way a body
 * listing each image change.
 */
function commitMessageOf(
  config: ReleaseConfig,
  chart: ChartMetadata,
  release: { version: string; appVersion: string },
  decision: UpdateDecision,
): string {
  const images = decision.kind === 'update' ? (decision.images ?? []) : []
  const appChanged = decision.kind === 'update' && decision.appVersion !== chart.appVersion
  const subject =
    images.length && !appChanged
      ? `chore(chart): update ${images.map((i) => `${imageName(i.image)} to ${i.to}`).join(', ')}${chart.name ? ` (${chart.name})` : ''}`
      : formatTemplate(config.commitMessage, templateValues(chart.name, release.version, release.appVersion))
  if (!images.length) return subject
  return `${subject}\n\n${images.map((i) => `- ${i.image}: ${i.from} → ${i.to} (values.yaml ${i.path})`).join('\n')}`
}

/** The release state of the version the run completes: its tag, release commit and publication. */
function releaseStateOf(
  facts: ReleaseFacts,
  config: ReleaseConfig,
  updating: boolean,
  version: string,
  appVersion: string,
): { release: ReleaseState; digest?: string; info: string[] } {
  const { chart, tags } = facts
  const info: string[] = []
  let releaseCommit: CommitRef = 'new'
  let digest: string | undefined
  let tag = releaseTag(config, chart.name, version, appVersion)
  if (!updating) {
    digest = facts.registry.get(version) ?? undefined
    releaseCommit = digest !== undefined && tags.has(tag) ? tags.get(tag)! : (facts.versionCommit ?? facts.base)
    const earlier = digest !== undefined && !tags.has(tag) ? earlierFormatTag(tags, releaseCommit, version) : undefined
    if (earlier) {
      info.push(
        `${chart.name} ${version} is published and tagged ${earlier} (an earlier tag-format); tag-format ` +
          `'${config.tagFormat}' applies to new versions`,
      )
      tag = earlier
    }
  }
  const release: ReleaseState = {
    version,
    appVersion,
    name: chart.name,
    tag,
    remoteTagCommit: tags.get(tag),
    releaseCommit,
    published: digest !== undefined,
    chartRef: `${config.ociRepo}/${chart.name}:${version}`,
  }
  return { release, digest, info }
}

/**
 * github-release: the Release of the tag, made as GitHub advises for immutable releases — a draft,
 * its notes and the chart attached, then published — or completed: a draft left by a run that
 * stopped half-way (found by listing: the lookup by tag does not see drafts) gets what it lacks and
 * is published; a published Release gets its notes, and the chart unless it is immutable.
 */
function planGithubRelease(snap: Snapshot, config: ReleaseConfig, out: ChartPlan): void {
  if (!config.githubRelease || !snap.githubRelease) return
  const { tag, version, name } = out.release
  const existing = snap.githubRelease.release
  const [draft, ...others] = existing ? [] : snap.githubRelease.drafts
  const asset = `${name}-${version}.tgz`
  if (existing) out.existingRelease = existing
  for (const d of others) {
    out.warnings.push(`another draft Release of ${tag} exists (${d.url}); ${draft.url} is the one completed: delete the other`)
  }
  const target = existing ?? draft
  const missing: GithubReleaseStep['missing'] = !target
    ? ['release']
    : [
        ...(target.body.trim() ? [] : (['notes'] as const)),
        ...(target.assets.includes(asset) ? [] : (['asset'] as const)),
        ...(target.draft ? (['publish'] as const) : []),
      ]
  if (existing?.immutable && missing.includes('asset')) {
    out.warnings.push(
      `the GitHub Release of ${tag} (${existing.url}) is published and immutable without ${asset}, and assets cannot be added to an ` +
        `immutable release: it stays without the chart (the chart is in the registry). Releases this action makes are drafts until ` +
        `their assets are attached`,
    )
    missing.splice(missing.indexOf('asset'), 1)
  }
  if (!missing.length) {
    out.facts.push(`the GitHub Release of ${tag} is complete (${target.url})`)
    return
  }
  out.steps.push({
    kind: 'github-release',
    tag,
    version,
    asset,
    missing,
    existing: target && { id: target.id, url: target.url, draft: target.draft },
  })
}

/**
 * sign: a version this run publishes gets both bundles; a published one gets those its referrers
 * lack (a run stopped after the push, or `sign` turned on later), so none is ever made twice.
 */
function planSigning(snap: Snapshot, config: ReleaseConfig, out: ChartPlan): void {
  if (!config.sign) return
  const { release } = out
  const step = { kind: 'sign' as const, chartRef: release.chartRef, version: release.version }
  if (out.steps.some((s) => s.kind === 'publish')) {
    out.steps.push({ ...step, missing: [...ATTESTATION_KINDS] })
    return
  }
  if (!release.published || !snap.signing) return
  const missing = ATTESTATION_KINDS.filter((k) => !snap.signing!.found.includes(k))
  if (missing.length) out.steps.push({ ...step, missing })
  else
    out.facts.push(
      `${release.chartRef} is signed and has its build provenance attestation (Sigstore bundles referring to ${snap.signing.digest})`,
    )
}

/** artifacthub-repo: the chart's `artifacthub-repo.yml` pushed when the registry holds other bytes. */
function planArtifactHub(snap: Snapshot, config: ReleaseConfig, out: ChartPlan): void {
  const a = snap.artifactHub
  if (!config.artifacthubRepo || !a) return
  if (a.text === undefined) {
    out.warnings.push(`artifacthub-repo is on, but ${a.file} does not exist at ${snap.branch}; nothing to publish`)
    return
  }
  checkArtifactHubRepo(a.text, a.file)
  const ref = `${config.ociRepo}/${snap.chart.name}:${ARTIFACTHUB_TAG}`
  if (a.pushedLayer === sha256Hex(a.text)) out.facts.push(`${ref} holds ${a.file} as it is`)
  else out.steps.push({ kind: 'artifacthub-repo', file: a.file, ref, text: a.text })
}

/**
 * dispatch-workflow: sent after a run that releases (a tag, a chart or a new Release), and by a
 * run that finds the release complete without the record of its dispatch.
 */
function planDispatch(snap: Snapshot, config: ReleaseConfig, out: ChartPlan): void {
  if (!config.dispatchWorkflow) return
  const { release } = out
  const releasing = out.steps.some(
    (s) => s.kind === 'tag' || s.kind === 'publish' || (s.kind === 'github-release' && (!s.existing || s.existing.draft === true)),
  )
  const step = { kind: 'dispatch' as const, workflow: config.dispatchWorkflow, ref: snap.branch, tag: release.tag }
  if (releasing) out.steps.push(step)
  else if (release.published && release.remoteTagCommit && snap.dispatchRecord !== undefined) {
    if (snap.dispatchRecord)
      out.facts.push(`${config.dispatchWorkflow} was dispatched for ${release.tag} (${snap.dispatchRecord.description})`)
    else out.steps.push({ ...step, missed: true })
  }
}

/**
 * pull-request mode with an update: the proposal (update, lint, pull request) on its own branch;
 * held after an unmerged close until upstream is newer; left alone, with one comment, while the
 * branch holds a person's commits.
 */
function planProposal(
  snap: Snapshot,
  config: ReleaseConfig,
  decision: Extract<UpdateDecision, { kind: 'update' }>,
  nextVersion: string,
  skipped: string[],
  out: ChartPlan,
): void {
  const { chart } = snap
  const next = templateValues(chart.name, nextVersion, decision.appVersion)
  const prBranch = formatTemplate(config.pullRequestBranch, next)
  if (!isValidTagName(prBranch) || prBranch === snap.branch) {
    throw new ActionError(
      `pull-request-branch gives '${prBranch}', which is not a branch name this run can push to (it must differ from ${snap.branch})`,
    )
  }
  const pr = snap.pullRequest ?? { branch: prBranch, pulls: [] }
  const prDecision = decidePullRequest([...pr.pulls], chart.name, decision.appVersion)
  const to = { version: nextVersion, appVersion: decision.appVersion }
  if (prDecision.kind === 'hold') {
    const { closed, proposal } = prDecision
    const n =
      `pull request #${closed.number} (${closed.url}) proposed appVersion ${proposal.appVersion} and was closed without merging; ` +
      `no new pull request until upstream has a newer version than that`
    out.notices.push(n)
    out.facts.push(n)
    out.pullRequest = { number: closed.number, url: closed.url, appVersion: proposal.appVersion, version: proposal.version, status: 'held' }
    return
  }
  const open = prDecision.kind === 'update' ? prDecision.pullRequest : undefined
  if (pr.foreign) {
    const n =
      `${prBranch} holds commits this action did not make (${pr.foreign}); it is left as it is (no push, no rebase). The action ` +
      `proposes appVersion ${decision.appVersion} there again once the branch is deleted or holds only its own commit`
    out.notices.push(n)
    out.notes.push(n)
    out.pullRequest = { number: open?.number, url: open?.url, ...to, status: 'left' }
    if (open && !(pr.comments ?? []).some((c) => c.includes(LEFT_ALONE_MARKER))) {
      out.steps.push({ kind: 'pull-request-comment', number: open.number, url: open.url, body: leftAloneComment(prBranch, pr.foreign) })
    }
    return
  }
  const update: Extract<Step, { kind: 'update' }> = {
    kind: 'update',
    from: { version: chart.version, appVersion: chart.appVersion },
    to,
    releaseType: decision.releaseType,
    breaking: decision.breaking,
    skippedVersions: skipped,
    ...(decision.images?.length ? { images: decision.images } : {}),
  }
  out.pullRequestBody = pullRequestBody({
    chart: chart.name,
    image: snap.image,
    update,
    releaseNotes: snap.upstreamReleases,
    tag: releaseTag(config, chart.name, nextVersion, decision.appVersion),
    chartRef: `${config.ociRepo}/${chart.name}:${nextVersion}`,
    base: snap.branch,
  })
  out.steps.push(update)
  if (config.lint !== 'off') out.steps.push({ kind: 'lint', source: 'new', ...(config.lint === 'strict' ? { strict: true } : {}) })
  out.steps.push({
    kind: 'pull-request',
    branch: prBranch,
    base: snap.branch,
    message: commitMessageOf(config, chart, to, decision),
    title: commitMessageOf(config, chart, to, decision).split('\n')[0],
    tip: pr.tip,
    existing: open && { number: open.number, url: open.url },
  })
  if (open) out.pullRequest = { number: open.number, url: open.url, ...to, status: 'unchanged' }
}

/** The tag Artifact Hub reads an OCI repository's metadata from (artifacthub.io docs, "Repositories"). */
export const ARTIFACTHUB_TAG = 'artifacthub.io'

/** `sha256:<hex>` of a text's UTF-8 bytes: the digest of a layer holding it. */
function sha256Hex(text: string): string {
  return `sha256:${createHash('sha256').update(Buffer.from(text)).digest('hex')}`
}

/**
 * Refuses an `artifacthub-repo.yml` that is not a YAML mapping (Artifact Hub's "Repositories"
 * metadata file: `repositoryID`, `owners`, …): pushed as it is, Artifact Hub would reject it.
 *
 * @throws ChartError naming the file.
 */
export function checkArtifactHubRepo(text: string, file: string): void {
  const doc = parseDocument(text)
  const problem = doc.errors[0]
    ? `is not valid YAML (${doc.errors[0].message.split('\n')[0]})`
    : !isMap(doc.contents)
      ? 'is not a YAML mapping (Artifact Hub expects repositoryID, owners, …)'
      : undefined
  if (problem) throw new ChartError(`${file} ${problem}; it was not pushed. Fix the file, or turn artifacthub-repo off`)
}
