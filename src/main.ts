import * as core from '@actions/core'
import { readInputs } from './inputs.js'
import { runPipeline } from './pipeline.js'
import { newReport, writeOutputs, writeSummary, type RunReport } from './report.js'
import { closeRegistryConnections } from './upstream/registry.js'
import { ActionError } from './errors.js'
import { runPruneMode, runPruneStage } from './github/prune-mode.js'

/**
 * The action's entry point: read inputs → run the mode (observe → plan → apply) → report.
 * The only place that calls `core.setFailed`.
 */
export async function run(): Promise<void> {
  let report: RunReport = newReport(process.env['INPUT_MODE'] || 'pipeline', false)
  let failure: string | undefined
  try {
    const inputs = readInputs()
    report = newReport(inputs.mode, inputs.dryRun)
    if (inputs.dryRun) core.notice('dry run: nothing will be written (no commit, push, tag, registry write or API delete)')
    if (inputs.ociRepo.lowercased) core.info(`oci-repo lowercased to ${inputs.ociRepo.url} (OCI repository names are lowercase)`)
    switch (inputs.mode) {
      case 'pipeline':
        await runPipeline(inputs, report)
        break
      case 'prune':
      case 'cleanup-all':
        await runPruneMode(inputs, report)
        break
    }
    if (inputs.mode === 'pipeline') await runPruneStage(inputs, report)
  } catch (error) {
    failure = error instanceof ActionError ? error.message : `unexpected error: ${(error as Error)?.stack ?? String(error)}`
  } finally {
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
