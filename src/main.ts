import * as core from '@actions/core'
import { tmpdir } from 'node:os'
import { DEFAULT_IMAGE, readInputs, type Inputs } from './inputs.js'
import { runPipeline } from './pipeline.js'
import { newReport, writeOutputs, writeSeveral, writeSummary, type RunReport } from './report.js'
import { expandChartPaths, followedImage, type ChartTarget } from './charts.js'
import { parseImageReference } from './upstream/reference.js'
import { closeRegistryConnections } from './upstream/registry.js'
import { ActionError, InputError } from './errors.js'
import { runPruneMode, runPruneStage } from './github/prune-mode.js'
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
        failure = await runSeveral(inputs, charts, scratch)
        reported = true
      } else {
        const image = inputs.image ?? (await followedImage(charts[0].dir).catch(() => undefined)) ?? parseImageReference(DEFAULT_IMAGE)
        const one = { ...inputs, image, chartDir: charts[0].dir, chartPath: inputs.chartPath }
        await runPipeline(one, report, scratch)
        await runPruneStage(one, report)
      }
    } else {
      await runPruneMode(inputs, report)
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
async function runSeveral(inputs: Inputs, charts: ChartTarget[], scratch: Scratch): Promise<string | undefined> {
  if (inputs.image) {
    throw new InputError(
      'image',
      `applies to one chart; chart-path names ${charts.length}: each follows the image of its artifacthub.io/images annotation`,
    )
  }
  const tagFormat = inputs.tagFormatSet ? inputs.tagFormat : '{name}-{version}'
  if (!tagFormat.includes('{name}')) {
    throw new InputError(
      'tag-format',
      `'${tagFormat}' has no {name}: with several charts, each chart's tags must differ (e.g. {name}-{version})`,
    )
  }
  core.info(`${charts.length} charts: ${charts.map((c) => c.path).join(', ')}`)
  const results: { path: string; report: RunReport; error?: string }[] = []
  for (const chart of charts) {
    const report = newReport('pipeline', inputs.dryRun)
    const result: { path: string; report: RunReport; error?: string } = { path: chart.path, report }
    results.push(result)
    core.info(`\n━━ ${chart.path} ━━`)
    try {
      const image = await followedImage(chart.dir)
      if (!image) {
        report.skipped = 'skipped: its Chart.yaml lists no image at appVersion in artifacthub.io/images'
        core.notice(`${chart.path}: ${report.skipped}`)
        continue
      }
      const one = { ...inputs, image, chartDir: chart.dir, chartPath: chart.path, tagFormat }
      await runPipeline(one, report, scratch)
      await runPruneStage(one, report)
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
  return (
    `${failed.length} of ${charts.length} charts failed: ${failed.map((r) => `${r.report.chartName ?? r.path} (${r.path})`).join(', ')}; ` +
    `the others were released. The next run retries the failed ones`
  )
}
