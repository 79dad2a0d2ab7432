import * as core from '@actions/core'
import { describeStep, type Step } from './release/plan.js'
import { describeVerify, type VerifyResult } from './release/verify.js'

/**
 * Everything a run reports, collected as the run goes and written once at the end: step outputs
 * (action.yml `outputs`) and the job summary (`GITHUB_STEP_SUMMARY`).
 */
export interface RunReport {
  mode: string
  dryRun: boolean
  image?: string
  upstream?: { selected?: string; total: number; semver: number; allowed: number; policy: string }
  chartName?: string
  previousAppVersion?: string
  previousChartVersion?: string
  appVersion?: string
  chartVersion?: string
  tag?: string
  chartRef?: string
  chartDigest?: string
  updated: boolean
  pushed: boolean
  /** Steps planned (in a dry run: what a real run would do). */
  steps: Step[]
  /** Steps this run completed, in order: a subset of `steps` (the summary never claims more). */
  done: Step[]
  /** Lines about what was already in place. */
  facts: string[]
  warnings: string[]
  prune?: PruneReport
  commit?: string
  /** The GitHub Release of the tag (github-release). */
  releaseUrl?: string
  /** A chart skipped in a several-chart run (no image to follow), and why. */
  skipped?: string
  /** commit-mode pull-request: the pull request for the update, and what this run did with it. */
  pullRequest?: {
    number?: number
    url?: string
    appVersion: string
    version: string
    status: 'opened' | 'updated' | 'unchanged' | 'held' | 'left'
  }
  /** Things the reader should know about what the run chose (e.g. the form appVersion is written in). */
  notes: string[]
  /** verify-command's result on the update, when this run verified one. */
  verify?: VerifyResult
  /** The anonymous read of the published chart (check-public), when this run made it. */
  publicRead?: { readable: boolean; detail: string }
}

/** Counts the prune stage reports (see src/github/prune.ts). */
export interface PruneReport {
  package: string
  skipped?: string
  deleted: number
  taggedKept: number
  youngKept: number
  protectedKept: number
  leftForLater: number
  oldestDeleted?: string
  newestDeleted?: string
  stoppedReason?: string
  /** cleanup-all deleted the package itself (GitHub does not delete a package's last version alone). */
  packageDeleted?: boolean
  /** prune kept this digest: it was the package's last version, which GitHub does not delete alone. */
  lastVersionKept?: string
  /** Digests GitHub refuses to delete (public, more than 5,000 downloads): kept, with a notice. */
  retained: string[]
}

/** A fresh report for a run. */
export function newReport(mode: string, dryRun: boolean): RunReport {
  return { mode, dryRun, updated: false, pushed: false, steps: [], done: [], facts: [], warnings: [], notes: [] }
}

/** Sets every output of action.yml from the report (empty string when unknown). */
export function writeOutputs(report: RunReport, chartPath?: string): void {
  core.setOutput('charts', report.mode === 'pipeline' && chartPath ? JSON.stringify([chartResult(report, chartPath)]) : '[]')
  core.setOutput('updated', String(report.updated))
  core.setOutput('previous-app-version', report.previousAppVersion ?? '')
  core.setOutput('app-version', report.appVersion ?? '')
  core.setOutput('chart-version', report.chartVersion ?? '')
  core.setOutput('tag', report.tag ?? '')
  core.setOutput('chart-ref', report.chartRef ?? '')
  core.setOutput('chart-digest', report.chartDigest ?? '')
  core.setOutput('pushed', String(report.pushed))
  core.setOutput('signed', signedBy(report).join(','))
  core.setOutput('pruned', String(report.prune?.deleted ?? 0))
  core.setOutput('release-url', report.releaseUrl ?? '')
  // A pull request closed unmerged (held) is not the run's pull request: the outputs name an open one only.
  const pr = report.pullRequest?.status === 'held' || report.pullRequest?.number === undefined ? undefined : report.pullRequest
  core.setOutput('pull-request-number', pr?.number === undefined ? '' : String(pr.number))
  core.setOutput('pull-request-url', pr?.url ?? '')
}

/** What this run signed (`sign`): `signature` and/or `provenance`, in the order attached. */
export function signedBy(report: RunReport): string[] {
  return report.done.flatMap((s) => (s.kind === 'sign' ? s.missing : []))
}

/** Writes the job summary. Safe to call when `GITHUB_STEP_SUMMARY` is unset (then it does nothing). */
export async function writeSummary(report: RunReport, error?: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  // The chart name comes from the user's Chart.yaml: escaped like everything else from outside.
  const title = `Helm chart sync${report.chartName ? `: ${escape(report.chartName)}` : ''}${report.dryRun ? ' (dry run)' : ''}`
  core.summary.addHeading(title, 2)
  addReport(report, error, 3)
  await core.summary.write()
}

/** One chart's result for the `charts` output (action.yml). */
export function chartResult(report: RunReport, path: string, error?: string): Record<string, string | boolean | number | undefined> {
  return {
    name: report.chartName,
    path,
    updated: report.updated,
    'app-version': report.appVersion,
    'chart-version': report.chartVersion,
    tag: report.tag,
    'chart-ref': report.chartRef,
    'chart-digest': report.chartDigest,
    pushed: report.pushed,
    signed: signedBy(report).join(','),
    pruned: report.prune?.deleted ?? 0,
    skipped: report.skipped,
    error,
  }
}

/**
 * The outputs and job summary of a run over several charts: `charts` (a JSON list, one result
 * per chart), and a summary that opens with a table of every chart, then each chart's details.
 */
export async function writeSeveral(results: { path: string; report: RunReport; error?: string }[], dryRun: boolean): Promise<void> {
  core.setOutput('charts', JSON.stringify(results.map((r) => chartResult(r.report, r.path, r.error))))
  for (const name of ['updated', 'previous-app-version', 'app-version', 'chart-version', 'tag', 'chart-ref', 'chart-digest', 'pushed']) {
    core.setOutput(name, name === 'updated' || name === 'pushed' ? String(results.some((r) => r.report[name])) : '')
  }
  core.setOutput('signed', '')
  core.setOutput('pruned', String(results.reduce((n, r) => n + (r.report.prune?.deleted ?? 0), 0)))
  if (!process.env.GITHUB_STEP_SUMMARY) return
  const s = core.summary
  s.addHeading(`Helm chart sync: ${results.length} charts${dryRun ? ' (dry run)' : ''}`, 2)
  const cell = (text: string | undefined) => (text ? code(text) : '—')
  // Before → after when the run changed it; the value before alone when the run failed before deciding.
  const change = (before: string | undefined, after: string | undefined) =>
    before && after && after !== before ? `${cell(before)} → ${cell(after)}` : cell(after ?? before)
  s.addTable([
    ['Chart', 'Path', 'appVersion', 'Chart version', 'Tag', 'Pushed', 'Result'].map((data) => ({ data, header: true })),
    ...results.map(({ path, report: r, error }) => [
      r.chartName ? escape(r.chartName) : '—',
      code(path),
      change(r.previousAppVersion, r.appVersion),
      change(r.previousChartVersion, r.chartVersion),
      cell(r.tag),
      r.pushed ? 'yes' : 'no',
      error ? `failed: ${escape(error.split('\n')[0])}` : r.skipped ? escape(r.skipped) : r.updated ? 'updated' : 'up to date',
    ]),
  ])
  for (const { path, report, error } of results) {
    s.addHeading(`${report.chartName ? escape(report.chartName) : escape(path)}${report.chartName ? ` (${escape(path)})` : ''}`, 3)
    addReport(report, error, 4)
  }
  await s.write()
}

/** Adds one chart's report to the job summary, its sections at heading `level`. */
function addReport(report: RunReport, error: string | undefined, level: number): void {
  const s = core.summary
  if (report.skipped && !error) {
    s.addRaw(escape(report.skipped), true)
    return
  }
  if (error) {
    // The whole cause: a remote's rejection (GH006 …) or a registry's error body is on later lines.
    const [first, ...rest] = error.trim().split('\n')
    s.addRaw(`**Failed:** ${escape(first)}`, true)
    if (rest.length) s.addCodeBlock(escape(rest.join('\n')))
  }
  const rows = summaryRows(report)
  if (rows.length) {
    s.addTable([
      [
        { data: 'What', header: true },
        { data: 'Value', header: true },
      ],
      ...rows.map(([k, v]) => [k, v]),
    ])
  }
  addSteps(report, error, level)
  if (report.verify) addVerify(report.verify, level)
  if (report.notes.length) {
    s.addHeading('Notes', level)
    s.addList(report.notes.map(escape))
  }
  if (report.facts.length) {
    s.addHeading('Already in place', level)
    s.addList(report.facts.map(escape))
  }
  if (report.prune) addPrune(report.prune, report.dryRun, level)
  if (report.warnings.length) {
    s.addHeading('Warnings', level)
    s.addList(report.warnings.map(escape))
  }
}

/** The table of one chart's run: upstream, versions before and after, tag, chart, Release, pull request. */
function summaryRows(report: RunReport): [string, string][] {
  const rows: [string, string][] = []
  const change = (before: string, after?: string) => (after && after !== before ? `${code(before)} → ${code(after)}` : code(before))
  if (report.image) rows.push(['Upstream image', code(report.image)])
  if (report.upstream) {
    const u = report.upstream
    rows.push(['Newest allowed upstream version', u.selected ? code(u.selected) : '—'])
    rows.push(['Tags seen', `${u.total} (${u.semver} semver, ${u.allowed} allowed by ${escape(u.policy)})`])
  }
  if (report.previousAppVersion !== undefined) rows.push(['appVersion', change(report.previousAppVersion, report.appVersion)])
  if (report.previousChartVersion !== undefined) rows.push(['Chart version', change(report.previousChartVersion, report.chartVersion)])
  if (report.tag) rows.push(['Tag', code(report.tag)])
  if (report.commit) rows.push(['Commit', code(report.commit.slice(0, 12))])
  if (report.chartRef) rows.push(['Chart', code(report.chartRef)])
  if (report.chartDigest) rows.push(['Digest', code(report.chartDigest)])
  if (report.chartRef) rows.push(['Pushed by this run', report.pushed ? 'yes' : 'no'])
  if (signedBy(report).length)
    rows.push(['Signed by this run', `${signedBy(report).join(' and ')} (Sigstore bundles attached as OCI referrers)`])
  if (report.publicRead) rows.push(['Anonymous pull', escape(report.publicRead.detail)])
  if (report.releaseUrl) rows.push(['GitHub Release', `<a href="${escape(report.releaseUrl)}">${escape(report.releaseUrl)}</a>`])
  if (report.pullRequest) {
    const pr = report.pullRequest
    const link = pr.url ? `<a href="${escape(pr.url)}">#${pr.number}</a>` : 'none'
    const what = {
      opened: 'opened by this run',
      updated: 'updated by this run',
      unchanged: 'already up to date',
      held: 'closed without merging; waiting for a newer upstream version',
      left: 'its branch holds commits this action did not make; left as it is',
    }[pr.status]
    rows.push(['Pull request', `${link}: ${code(pr.appVersion)}, chart ${code(pr.version)} (${what})`])
  }
  return rows
}

/** The plan (dry run), or what was done and what was planned but not done. */
function addSteps(report: RunReport, error: string | undefined, level: number): void {
  const s = core.summary
  const list = (steps: Step[]) => steps.map((step) => escape(describeStep(step)))
  if (report.dryRun && (report.steps.length || report.mode === 'pipeline')) {
    s.addHeading('Plan (nothing was written)', level)
    s.addList(report.steps.length ? list(report.steps) : ['nothing: everything is up to date'])
    return
  }
  if (!report.steps.length && report.mode !== 'pipeline') return
  s.addHeading('Done by this run', level)
  s.addList(
    report.done.length ? list(report.done) : [report.steps.length || error ? 'nothing' : 'nothing: everything was already up to date'],
  )
  const notDone = report.steps.filter((step) => !report.done.includes(step))
  if (notDone.length) {
    s.addHeading(
      error ? 'Not done (the run failed; the next run picks up from here)' : 'Planned, not done by this run (see Already in place)',
      level,
    )
    s.addList(list(notDone))
  }
}

/** verify-command's result; on failure, the last lines it printed. */
function addVerify(v: VerifyResult, level: number): void {
  const s = core.summary
  s.addHeading(`Verification: ${v.passed ? 'passed' : 'failed'}`, level)
  s.addRaw(
    `<code>verify-command</code> ${escape(describeVerify(v))} on chart ${code(v.chartVersion)} (appVersion ${code(v.appVersion)}).`,
    true,
  )
  if (!v.passed && v.tail.length) {
    s.addRaw(`Its last ${v.tail.length} lines:`, true)
    s.addCodeBlock(escape(v.tail.join('\n')))
  }
}

/** The prune section: what was deleted and kept, and why a run stopped early. */
function addPrune(p: PruneReport, dryRun: boolean, level: number): void {
  const s = core.summary
  s.addHeading(`Prune: ${escape(p.package)}`, level)
  if (p.skipped) {
    s.addRaw(escape(p.skipped), true)
    return
  }
  s.addTable([
    [
      { data: dryRun ? 'Would delete' : 'Deleted', header: true },
      { data: 'Tagged kept', header: true },
      { data: 'Young kept', header: true },
      { data: 'Protected kept', header: true },
      { data: 'Left for a later run', header: true },
    ],
    [String(p.deleted), String(p.taggedKept), String(p.youngKept), String(p.protectedKept), String(p.leftForLater)],
  ])
  if (p.oldestDeleted) s.addRaw(`Oldest deleted: ${p.oldestDeleted}; newest deleted: ${p.newestDeleted}`, true)
  if (p.packageDeleted)
    s.addRaw(
      `The last tagged version went with the package itself (GitHub deletes a package's last tagged version only that way); it can ` +
        `be restored for 30 days.`,
      true,
    )
  if (p.lastVersionKept)
    s.addRaw(
      `Kept ${escape(p.lastVersionKept)}: it is the package's last version, which GitHub deletes only with the package (mode ` +
        `cleanup-all).`,
      true,
    )
  if (p.retained.length) {
    s.addRaw(
      `Kept ${p.retained.length} version${p.retained.length > 1 ? 's' : ''} that GitHub does not delete (public, more than 5,000 ` +
        `downloads; only GitHub Support can): ${p.retained.map(code).join(', ')}`,
      true,
    )
  }
  if (p.stoppedReason) s.addRaw(escape(p.stoppedReason), true)
}

function code(text: string): string {
  return `<code>${escape(text)}</code>`
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
