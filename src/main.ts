import * as core from '@actions/core'
import { tmpdir } from 'node:os'
import { basename } from 'node:path'
import { DEFAULT_COMMIT_MESSAGE_SEVERAL, readInputs, type Inputs } from './inputs.js'
import { runRelease } from './release/run.js'
import { newActionRuntime, type ActionRuntime } from './release/runtime.js'
import { newReport, writeOutputs, writeSeveral, writeSummary, type RunReport } from './report.js'
import { chartNames, expandChartPaths, followedImage, type ChartTarget } from './chart/targets.js'
import { closeRegistryConnections } from './oci/registry.js'
import { ActionError, ChartError, InputError } from './errors.js'
import { resolvePackage, runPruneMode, runPruneStage } from './github/prune.js'
import { Scratch } from './scratch.js'
import { sourceMappedStack } from './stack.js'

/**
 * Events whose checkout is code nobody has merged (a pull request's merge commit, a merge queue's
 * candidate): a run started by one may plan (dry run) but never write.
 */
const REVIEW_EVENTS = /^(pull_request|pull_request_target|pull_request_review|pull_request_review_comment|merge_group)$/

/** Refuses a writing run from a pull request event, with one clear error. */
function refuseUnmergedWrites(inputs: Inputs): void {
  if (inputs.dryRun || !REVIEW_EVENTS.test(inputs.eventName)) return
  throw new ActionError(
    `this run was started by a ${inputs.eventName} event, and the action does not write from one: it would commit, tag, publish or ` +
      `delete for code nobody has merged. ` +
      `Set dry-run: true on ${inputs.eventName} to show the plan as a check, and run the release from push, schedule or workflow_dispatch`,
  )
}

/**
 * The action's entry point: read inputs → run the mode (observe → plan → apply) → report.
 * The only place that calls `core.setFailed`. The run's scratch directories (which hold registry
 * credentials while helm needs them) are removed on every way out: return, error, SIGINT/SIGTERM.
 */
export async function run(): Promise<void> {
  let report: RunReport = newReport(process.env['INPUT_MODE'] || 'pipeline', false)
  let failure: string | undefined
  let chartPath: string | undefined
  /** Set once a several-chart run has written its own outputs and summary. */
  let reported = false
  const scratch = new Scratch(process.env.RUNNER_TEMP || tmpdir())
  const onSignal = (signal: NodeJS.Signals) => {
    scratch.removeAll()
    process.exit(signal === 'SIGINT' ? 130 : 143)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  process.once('exit', () => scratch.removeAll())
  try {
    const inputs = readInputs()
    chartPath = inputs.chartPath
    report = newReport(inputs.mode, inputs.dryRun)
    refuseUnmergedWrites(inputs)
    if (inputs.dryRun) core.notice('dry run: nothing will be written (no commit, push, tag, registry write or API delete)')
    if (inputs.ociRepo.lowercased) core.info(`oci-repo lowercased to ${inputs.ociRepo.url} (OCI repository names are lowercase)`)
    if (inputs.mode === 'pipeline') {
      const { charts, several } = await expandChartPaths(inputs.workspace, inputs.chartPaths)
      if (several) {
        failure = await runSeveral(inputs, charts, newActionRuntime(scratch))
        reported = true
      } else {
        // One chart is the several-chart release with n = 1: the same per-chart release, its own report layout.
        // Named in the charts output even when the run fails before it reads the chart (an upstream error).
        report.chartName = (await chartNames([charts[0]]))[0]?.name ?? basename(charts[0].dir)
        await releaseChart(newActionRuntime(scratch), inputs, charts[0], report, false)
      }
    } else {
      const { charts, several } = await expandChartPaths(inputs.workspace, inputs.chartPaths)
      if (several) {
        failure = await runPruneSeveral(inputs, charts)
        reported = true
      } else await runPruneMode(inputs, report)
    }
  } catch (error) {
    failure = failureOf(error)
  } finally {
    scratch.removeAll()
    await closeRegistryConnections()
  }
  if (reported) {
    if (failure) core.setFailed(failure)
    return
  }
  writeOutputs(report, chartPath)
  try {
    await writeSummary(report, failure)
  } catch (error) {
    core.warning(`could not write the job summary: ${(error as Error).message}`)
  }
  if (failure) core.setFailed(failure)
}

/** A message for a chart's failure: the ActionError's own words, or the mapped stack of a bug. */
function failureOf(error: unknown): string {
  return error instanceof ActionError
    ? error.message
    : `unexpected error: ${(error as Error)?.stack ? sourceMappedStack((error as Error).stack!) : String(error)}`
}

/**
 * Several charts in one step (a glob or a list in chart-path): each chart is released on its own,
 * in name order (its own commit, tag, chart version and prune), following the image its
 * artifacthub.io/images annotation lists at appVersion; a chart that lists none is skipped with a
 * notice. One chart's failure does not stop the others. Writes the `charts` output and one
 * combined job summary.
 *
 * @returns the step's failure message naming every chart that failed, or undefined.
 * @throws InputError for inputs that cannot apply to several charts (nothing is run).
 */
async function runSeveral(inputs: Inputs, charts: ChartTarget[], runtime: ActionRuntime): Promise<string | undefined> {
  if (inputs.image) {
    throw new InputError(
      'image',
      `applies to one chart; chart-path names ${charts.length}: each follows the image of its artifacthub.io/images annotation`,
    )
  }
  if (inputs.valuesImages.length) {
    throw new InputError(
      'values-images',
      `applies to one chart's values.yaml; chart-path names ${charts.length}: release the chart with values-images from a step of its own`,
    )
  }
  const tagFormat = inputs.tagFormatSet ? inputs.tagFormat : '{name}-{version}'
  if (!tagFormat.includes('{name}')) {
    throw new InputError(
      'tag-format',
      `'${tagFormat}' has no {name}: with several charts, each chart's tags must differ (e.g. {name}-{version})`,
    )
  }
  if (inputs.commitMode === 'pull-request' && !inputs.pullRequestBranch.includes('{name}')) {
    throw new InputError(
      'pull-request-branch',
      `'${inputs.pullRequestBranch}' has no {name}: with several charts, each chart's proposal needs a branch of its own ` +
        `(e.g. chart-update/{name})`,
    )
  }
  await refuseSharedNames(charts)
  const commitMessage = inputs.commitMessageSet ? inputs.commitMessage : DEFAULT_COMMIT_MESSAGE_SEVERAL
  core.info(`${charts.length} charts: ${charts.map((c) => c.path).join(', ')}`)
  const failed = await eachChart(inputs, charts, (chart, report) =>
    releaseChart(runtime, { ...inputs, chartPath: chart.path, tagFormat, commitMessage }, chart, report, true),
  )
  return failed && `${failed}; the others were released. The next run retries the failed ones`
}

/**
 * One chart's release and prune, following the `image` input or the image its
 * `artifacthub.io/images` annotation lists at appVersion. Without either, one of several charts is
 * skipped with a notice; a single chart is an error (it must not silently follow some default).
 *
 * @throws InputError for a single chart with no image to follow; the release's errors.
 */
async function releaseChart(
  runtime: ActionRuntime,
  inputs: Inputs,
  chart: ChartTarget,
  report: RunReport,
  several: boolean,
): Promise<void> {
  const image = inputs.image ?? (await followedImage(chart.dir))
  if (!image && several) {
    report.skipped = 'skipped: its Chart.yaml lists no image at appVersion in artifacthub.io/images'
    core.notice(`${chart.path}: ${report.skipped}`)
    return
  }
  if (!image) {
    throw new InputError(
      'image',
      `not set, and ${chart.path}/Chart.yaml lists no image at its appVersion in artifacthub.io/images: set image to the ` +
        `upstream image the chart deploys (e.g. rocicorp/zero), or add the annotation`,
    )
  }
  const one = { ...inputs, image, chartDir: chart.dir }
  await runRelease(runtime, one, report)
  await runPruneStage(one, report)
}

/**
 * Runs `work` for each chart in turn, each with its own report; one chart's failure does not stop
 * the others. Writes the `charts` output and the combined job summary.
 *
 * @returns "N of M charts failed: name (path), …", or undefined when none failed.
 */
async function eachChart(
  inputs: Inputs,
  charts: ChartTarget[],
  work: (chart: ChartTarget, report: RunReport) => Promise<void>,
): Promise<string | undefined> {
  const results: { path: string; report: RunReport; error?: string }[] = []
  for (const chart of charts) {
    const result: { path: string; report: RunReport; error?: string } = { path: chart.path, report: newReport(inputs.mode, inputs.dryRun) }
    // Every entry of the charts output is named, a skipped or failed chart too: Chart.yaml's name
    // when it can be read, else the directory's.
    result.report.chartName = (await chartNames([chart]))[0]?.name ?? basename(chart.dir)
    results.push(result)
    core.info(`\n━━ ${chart.path} ━━`)
    try {
      await work(chart, result.report)
    } catch (error) {
      result.error = failureOf(error)
      core.error(`${chart.path}: ${result.error}`)
    }
  }
  try {
    await writeSeveral(results, inputs.dryRun)
  } catch (error) {
    core.warning(`could not write the job summary: ${(error as Error).message}`)
  }
  const failed = results.filter((r) => r.error)
  if (!failed.length) return undefined
  const names = failed.map((r) => `${r.report.chartName ?? r.path} (${r.path})`)
  return `${failed.length} of ${charts.length} charts failed: ${names.join(', ')}`
}

/**
 * Refuses several charts that share a `name` (they would publish into one OCI repository and
 * interleave their versions), naming the directories, before anything is written. Charts whose
 * Chart.yaml cannot be read are left to their own run's error.
 */
async function refuseSharedNames(charts: ChartTarget[]): Promise<void> {
  const byName = new Map<string, string[]>()
  for (const { name, path } of await chartNames(charts)) byName.set(name, [...(byName.get(name) ?? []), path])
  const shared = [...byName].filter(([, paths]) => paths.length > 1)
  if (!shared.length) return
  throw new ChartError(
    `${shared.map(([name, paths]) => `${paths.join(' and ')} are both named '${name}'`).join('; ')}: charts of one step publish to ` +
      `<oci-repo>/<name>, so their versions would mix in one repository. Rename one, or release them from separate steps with ` +
      `different oci-repo. Nothing was written`,
  )
}

/**
 * Modes prune and cleanup-all over several charts: each chart's package, in turn; one chart's
 * failure does not stop the others. cleanup-all runs only when `confirm` names every package (one
 * per line), and otherwise refuses, listing them, with nothing deleted.
 *
 * @returns the step's failure message naming every chart that failed, or undefined.
 */
async function runPruneSeveral(inputs: Inputs, charts: ChartTarget[]): Promise<string | undefined> {
  if (inputs.mode === 'cleanup-all') {
    const named = await chartNames(charts, true)
    const confirmed = new Set(
      inputs.confirm
        .split(/[\n,]/)
        .map((c) => c.trim())
        .filter(Boolean),
    )
    const packages = named.map((c) => packageOf(inputs, c.name))
    const missing = packages.filter((p) => !confirmed.has(p))
    if (missing.length) {
      throw new InputError(
        'confirm',
        `cleanup-all deletes every version of ${packages.length} packages: ${packages.join(', ')}; confirm must name each of them, one ` +
          `per line (missing: ${missing.join(', ')}). Nothing was deleted`,
      )
    }
  }
  return eachChart(inputs, charts, async (chart, report) => {
    // confirm was checked against every package above: each chart's own check sees its own name.
    const confirm = inputs.mode === 'cleanup-all' ? packageOf(inputs, (await chartNames([chart], true))[0].name) : inputs.confirm
    await runPruneMode({ ...inputs, chartDir: chart.dir, chartPath: chart.path, confirm }, report)
  })
}

/** The package name cleanup-all's confirm must give for a chart: the last part of its GitHub Packages name. */
function packageOf(inputs: Inputs, chartName: string): string {
  const target = resolvePackage(inputs, chartName)
  return 'skip' in target ? chartName : target.name
}
