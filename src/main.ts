import * as core from '@actions/core'
import { tmpdir } from 'node:os'
import { readInputs, type Inputs } from './inputs.js'
import { runPipeline } from './pipeline.js'
import { newReport, writeOutputs, writeSummary, type RunReport } from './report.js'
import { closeRegistryConnections } from './upstream/registry.js'
import { ActionError } from './errors.js'
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
    report = newReport(inputs.mode, inputs.dryRun)
    refuseUnmergedWrites(inputs)
    if (inputs.dryRun) core.notice('dry run: nothing will be written (no commit, push, tag, registry write or API delete)')
    if (inputs.ociRepo.lowercased) core.info(`oci-repo lowercased to ${inputs.ociRepo.url} (OCI repository names are lowercase)`)
    switch (inputs.mode) {
      case 'pipeline':
        await runPipeline(inputs, report, scratch)
        break
      case 'prune':
      case 'cleanup-all':
        await runPruneMode(inputs, report)
        break
    }
    if (inputs.mode === 'pipeline') await runPruneStage(inputs, report)
  } catch (error) {
    failure =
      error instanceof ActionError
        ? error.message
        : `unexpected error: ${(error as Error)?.stack ? sourceMappedStack((error as Error).stack!) : String(error)}`
  } finally {
    scratch.removeAll()
    await closeRegistryConnections()
  }
  writeOutputs(report)
  try {
    await writeSummary(report, failure)
  } catch (error) {
    core.warning(`could not write the job summary: ${(error as Error).message}`)
  }
  if (failure) core.setFailed(failure)
}
