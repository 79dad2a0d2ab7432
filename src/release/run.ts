import * as core from '@actions/core'
import { ActionError } from '../errors.js'
import type { Inputs } from '../inputs.js'
import { formatReference } from '../oci/reference.js'
import type { RunReport } from '../report.js'
import { allowedVersions, appVersionOf, selectVersion, type Selection } from '../versions.js'
import { pickOldEnough } from './cooldown.js'
import {
  applyStep,
  outcomeOf,
  preflight,
  prepareUpdate,
  pushUpdate,
  verifyFailure,
  verifyUpdate,
  type ApplyContext,
  type Outcome,
  type Worktree,
} from './apply.js'
import { chartAt, observe, prepare, readRemote, type RemoteState } from './observe.js'
import { describeStep, plan, type ChartPlan } from './plan.js'
import { checkPublicApplies, readAnonymously } from './public.js'
import { upstreamListing, type ActionRuntime, type ChartRuntime } from './runtime.js'
import type { ReleaseConfig, Snapshot } from './snapshot.js'

/**
 * The release of one chart, composed: watch (the upstream tags) → observe (a snapshot of the
 * remotes) → plan (pure) → apply (each step idempotent). In push mode the update is committed and
 * pushed first; a push that loses a race re-observes and re-plans, at most {@link MAX_ATTEMPTS}
 * times. Dry run is "observe, plan, print, stop".
 *
 * Every plan starts from the remote branch tip (`origin/<branch>`), never from the checked-out
 * HEAD: the update is committed in a worktree of that tip, so the only commit a run pushes is its
 * own, whatever the checkout holds. Packages are built in a worktree of the release commit, so
 * uncommitted files never reach a chart either. Before the first write, the run proves that it can
 * publish (helm is there, the registry grants push), so a commit or tag is never pushed for a chart
 * that cannot be.
 */

/** Attempts at observe → plan → commit → push before a run gives up on a busy branch. */
export const MAX_ATTEMPTS = 4

/** The settings `plan()` reads, from the inputs of this chart's release. */
function configOf(inputs: Inputs): ReleaseConfig {
  return {
    dryRun: inputs.dryRun,
    bump: inputs.bump,
    tagFormat: inputs.tagFormat,
    commitMessage: inputs.commitMessage,
    commitMode: inputs.commitMode,
    pullRequestBranch: inputs.pullRequestBranch,
    lint: inputs.lint,
    ociRepo: inputs.ociRepo.url,
    githubRelease: inputs.githubRelease,
    artifacthubRepo: inputs.artifacthubRepo,
    dispatchWorkflow: inputs.dispatchWorkflow,
    sign: inputs.sign,
    tagPattern: inputs.tagPattern,
  }
}

/**
 * Releases one chart and fills `report` (planned steps, completed steps, outputs) from the plan and
 * the steps' outcomes.
 *
 * @param inputs this chart's inputs (`image` set, `chartDir` the chart's).
 * @throws ActionError (and subclasses) with a message for the user.
 */
export async function runRelease(runtime: ActionRuntime, inputs: Inputs, report: RunReport): Promise<void> {
  const image = inputs.image!
  report.image = formatReference(image)
  // The upstream tags are listed while git reads the checkout and the remote: neither needs the
  // other. Errors keep their order: an upstream failure is reported first, as when run in turn.
  const { client: upstream, tags: listing } = upstreamListing(runtime, inputs, image)
  const prepared = prepare(inputs, runtime.scratch)
  listing.catch(() => undefined)
  prepared.catch(() => undefined)
  const tags = await listing
  const selection = watch(inputs, report, tags)
  const { rt, remote } = await prepared
  rt.upstream = { client: upstream, tags }
  const config = configOf(inputs)
  let updated: Worktree | undefined
  try {
    const settled = await settle(rt, config, { image: report.image, selection }, remote, report)
    updated = settled.updated
    reportPlan(report, settled.snap, settled.plan, settled.preflight)
    if (inputs.dryRun) return await checkPullable(inputs, settled.plan, report)
    const ctx: ApplyContext = { rt, snap: settled.snap, plan: settled.plan, updated, digest: settled.plan.digest }
    if (settled.outcome) record(report, settled.outcome)
    for (const step of settled.plan.steps) {
      const outcome = await applyStep(ctx, step).catch((error: unknown) => {
        const partial = outcomeOf(error)
        if (partial) record(report, partial)
        throw error
      })
      if (outcome) record(report, outcome)
    }
    await checkPullable(inputs, settled.plan, report)
  } finally {
    if (updated) await rt.git.removeWorktree(updated.dir)
  }
}

/** Selects the newest allowed upstream version, in a log group, and reports the selection. @throws ActionError when none is allowed. */
function watch(inputs: Inputs, report: RunReport, tags: string[]): Selection {
  core.startGroup('Watch: upstream tags')
  const sel = selectVersion(tags, { includePrereleases: inputs.includePrereleases, range: inputs.versionRange, pattern: inputs.tagPattern })
  const versions = inputs.tagPattern ? `matching tag-pattern '${inputs.tagPattern.source}'` : 'semver'
  core.info(
    `${report.image}: ${sel.total} tags, ${sel.semver} ${versions}, ${sel.allowed} allowed (prereleases ` +
      `${inputs.includePrereleases ? 'included' : 'excluded'}, range '${inputs.versionRange}')`,
  )
  core.info(sel.selected ? `newest allowed version: ${sel.selected.tag}` : 'no tag is allowed by the policy')
  core.endGroup()
  report.upstream = {
    selected: sel.selected?.tag,
    total: sel.total,
    semver: sel.semver,
    allowed: sel.allowed,
    policy:
      `${inputs.includePrereleases ? 'prereleases included' : 'stable only'}, range '${inputs.versionRange}'` +
      (inputs.tagPattern ? `, tag-pattern '${inputs.tagPattern.source}'` : ''),
  }
  if (!sel.selected) {
    throw new ActionError(
      `no tag of ${report.image} is allowed: ${sel.total} tags listed, ${sel.semver} of them ${versions}, none matching ` +
        `${inputs.includePrereleases ? '' : 'stable versions in '}range '${inputs.versionRange}'. Check image, version-range, ` +
        `include-prereleases${inputs.tagPattern ? ' and tag-pattern' : ''}`,
    )
  }
  return sel
}

/**
 * `min-release-age`: the selection with its newest version replaced by the newest one old enough
 * (or the current `appVersion`, when no newer one is), the held-back versions in the report's notes.
 * Decided once per run (the dates do not change while it re-plans).
 */
async function cooledSelection(rt: ChartRuntime, selection: Selection, appVersion: string, report: RunReport): Promise<Selection> {
  const { inputs } = rt
  const { minReleaseAge } = inputs
  if (!minReleaseAge || !selection.selected || !rt.upstream) return selection
  const upstream = rt.upstream
  const current = appVersionOf(appVersion, inputs.tagPattern)
  // Dated once per run, unless a re-plan finds another appVersion (a concurrent run moved the branch).
  if (rt.cooldown?.appVersion !== appVersion) {
    const candidates = allowedVersions(upstream.tags, {
      includePrereleases: inputs.includePrereleases,
      range: inputs.versionRange,
      pattern: inputs.tagPattern,
    })
    const rule = { minAgeMs: minReleaseAge.ms, takeUndated: inputs.minReleaseAgeUndated === 'take', now: new Date() }
    const result = await pickOldEnough(candidates, current, rule, (tag) => upstream.client.imageCreated(tag))
    rt.cooldown = { appVersion, result }
    for (const w of result.waiting) {
      const line = w.until
        ? `${w.tag} waits for min-release-age ${minReleaseAge.text}: a candidate from ${w.until.toISOString()}`
        : `${w.tag} is held back: its image gives no build date (org.opencontainers.image.created or the configuration's created); ` +
          `set min-release-age-undated: take to take undated versions`
      if (!w.until) core.notice(line)
      else core.info(line)
      report.notes.push(line)
    }
    if (result.unchecked) report.notes.push(`${result.unchecked} older candidates newer than appVersion ${appVersion} were not dated`)
    if (result.selected && result.selected.tag !== selection.selected.tag) core.info(`after the cooldown: ${result.selected.tag}`)
  }
  const { result } = rt.cooldown
  // No newer version old enough: the chart stays at its appVersion.
  return { ...selection, selected: result.selected ?? (current ? { tag: appVersion, version: current } : selection.selected) }
}

/**
 * Observes and plans until the plan holds: once, unless push mode's update loses a push race, when
 * it observes and plans again from the new tip. Runs the preflight before the first write.
 *
 * @returns the snapshot and plan the run goes on with, and the update this run pushed (push mode).
 */
async function settle(
  rt: ChartRuntime,
  config: ReleaseConfig,
  upstream: { image: string; selection: Selection },
  first: RemoteState,
  report: RunReport,
): Promise<{ snap: Snapshot; plan: ChartPlan; preflight: string[]; updated?: Worktree; outcome?: Outcome }> {
  let preflightWarnings: string[] = []
  for (let attempt = 1; ; attempt++) {
    const remote = attempt === 1 ? first : await readRemote(rt)
    const { snap, plan: p } = await core.group(`Observe and plan${attempt > 1 ? ` (attempt ${attempt})` : ''}`, async () => {
      const chart = await chartAt(rt, remote)
      report.chartName = chart.name
      report.previousAppVersion = chart.appVersion
      report.previousChartVersion = chart.version
      const selection = await cooledSelection(rt, upstream.selection, chart.appVersion, report)
      const snapshot = await observe(rt, config, { ...upstream, selection }, remote, chart)
      return { snap: snapshot, plan: plan(snapshot, config) }
    })
    report.steps = p.steps
    for (const step of p.steps) core.info(`${config.dryRun ? 'would' : 'will'}: ${describeStep(step)}`)
    if (p.steps.length === 0) core.info('nothing to do: the chart, the tag and the published chart are up to date')
    // Verification comes before the preflight: a failed one must write nothing, not even an upload session.
    const earlier = preflightWarnings
    const result = await verifyAndPush(rt, config, snap, p, report, () => (attempt === 1 ? preflight(rt, p) : Promise.resolve(earlier)))
    preflightWarnings = result.preflight
    if (result.settled) return { snap, plan: p, preflight: preflightWarnings, ...result.settled }
    if (attempt >= MAX_ATTEMPTS) {
      throw new ActionError(
        `the push to ${rt.branch} was rejected ${attempt} times because the branch kept moving; the next run will try again`,
      )
    }
    core.info(`${rt.branch} moved while this run was pushing; re-planning from the new tip`)
  }
}

/**
 * The part of settling that makes the update: prepares it (push mode, or a dry run that verifies),
 * runs `verify-command` on it, then the preflight, then pushes it (push mode).
 *
 * @returns `settled` when the plan holds (no push to make, or the push landed); undefined `settled`
 *   when the push lost a race.
 * @throws VerifyError when the verification failed (nothing written).
 */
async function verifyAndPush(
  rt: ChartRuntime,
  config: ReleaseConfig,
  snap: Snapshot,
  p: ChartPlan,
  report: RunReport,
  runPreflight: () => Promise<string[]>,
): Promise<{ preflight: string[]; settled?: { updated?: Worktree; outcome?: Outcome } }> {
  const pushing = !config.dryRun && config.commitMode === 'push' && p.steps[0]?.kind === 'update'
  // A dry run verifies what a real run would (the update of either mode); pull-request mode
  // verifies on the pull request's commit (applyPullRequest).
  const verifying = rt.inputs.verifyCommand !== '' && p.steps.some((s) => s.kind === 'update') && (pushing || config.dryRun)
  let candidate: Worktree | undefined
  let kept = false
  try {
    if (pushing || verifying) candidate = await core.group('Update: edit, lint, commit', () => prepareUpdate(rt, snap, p))
    if (candidate && verifying) {
      const result = await verifyUpdate(rt, snap, p, candidate)
      report.verify = result
      if (!result.passed) {
        reportPlan(report, snap, p, [])
        throw verifyFailure(rt, result)
      }
    }
    const preflightWarnings = await runPreflight()
    // In pull-request mode the update goes to its own branch, after the release steps.
    if (!pushing) return { preflight: preflightWarnings, settled: {} }
    const outcome = await core.group('Update: push', () => pushUpdate(rt, snap, p, candidate!))
    if (!outcome) return { preflight: preflightWarnings }
    kept = true
    return { preflight: preflightWarnings, settled: { updated: candidate, outcome } }
  } finally {
    if (candidate && !kept) await rt.git.removeWorktree(candidate.dir)
  }
}

/**
 * check-public, once the chart version is in the registry (published before, or by this run):
 * one anonymous read. Not readable is a warning (`auto`) or the step's failure (`true`); the
 * release itself is complete either way.
 */
async function checkPullable(inputs: Inputs, p: ChartPlan, report: RunReport): Promise<void> {
  if (!checkPublicApplies(inputs)) return
  if (!p.release.published && !report.done.some((s) => s.kind === 'publish') && !report.chartDigest) return
  const read = await core.group('Check: can anyone pull the chart?', () => readAnonymously(inputs, p.release.name, p.release.version))
  if (!read) return
  report.publicRead = read
  if (read.readable) return core.info(read.detail)
  if (inputs.checkPublic === 'true') {
    throw new ActionError(`${read.detail}. The release itself is complete; check-public: true makes this the step's failure`)
  }
  core.warning(read.detail)
  report.warnings.push(read.detail)
}

/** The report's view of the plan: the release it completes, the facts, notes and warnings, the pull request. */
function reportPlan(report: RunReport, snap: Snapshot, p: ChartPlan, preflightWarnings: string[]): void {
  for (const line of p.info) core.info(line)
  for (const notice of p.notices) core.notice(notice)
  for (const warning of p.warnings) core.warning(warning)
  report.warnings.push(...p.warnings, ...preflightWarnings)
  report.facts = [...p.facts]
  // The cooldown's notes (decided while observing) stay, ahead of the plan's.
  report.notes = [...new Set([...report.notes, ...p.notes])]
  const { release } = p
  report.chartName = snap.chart.name
  report.previousAppVersion = snap.chart.appVersion
  report.previousChartVersion = snap.chart.version
  report.appVersion = release.appVersion
  report.chartVersion = release.version
  report.tag = release.tag
  report.chartRef = release.chartRef
  if (p.digest) report.chartDigest = p.digest
  if (p.existingRelease) report.releaseUrl = p.existingRelease.url
  report.updated = p.steps.some((s) => s.kind === 'update')
  if (p.pullRequest) report.pullRequest = p.pullRequest
}

/** Adds a step's outcome to the report: what it completed, found in place, warned of, and made. */
function record(report: RunReport, o: Outcome): void {
  report.done.push(...o.done)
  report.facts.push(...(o.facts ?? []))
  report.warnings.push(...(o.warnings ?? []))
  if (o.commit) report.commit = o.commit
  if (o.digest) report.chartDigest = o.digest
  if (o.pushed) report.pushed = true
  if (o.releaseUrl) report.releaseUrl = o.releaseUrl
  if (o.pullRequest) report.pullRequest = o.pullRequest
  if (o.verify) report.verify = o.verify
}
