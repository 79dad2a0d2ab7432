import * as core from '@actions/core'
import type { Inputs } from '../inputs.js'
import type { RunReport } from '../report.js'

/** Prune stage of the pipeline. Placeholder until the GitHub Packages pruning lands (issue 3). */
export async function runPruneStage(inputs: Inputs, report: RunReport): Promise<void> {
  void report
  core.info(`prune: not available yet for ${inputs.ociRepo.url}`)
}

/** Modes `prune` and `cleanup-all`. */
export async function runPruneMode(inputs: Inputs, report: RunReport): Promise<void> {
  void report
  throw new Error(`mode ${inputs.mode} is not available yet`)
}
