import * as core from '@actions/core'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ActionError } from '../errors.js'

/**
 * `verify-command`: the user's test of a proposed update, run before anything is written. The
 * command is a bash script run as a workflow's `run:` step runs one (`bash --noprofile --norc -eo
 * pipefail <file>`), in the worktree of the proposed commit, with the update's coordinates in its
 * environment and none of the action's secrets. Its output is streamed to the log; the last
 * {@link TAIL_LINES} lines are kept for the job summary and the pull request.
 */

/** Lines of the command's output kept for the job summary and the pull request body. */
export const TAIL_LINES = 50

/** The commit status context of the verification in pull-request mode. */
export const VERIFY_CONTEXT = 'zero-cache-chart/verify'

/** What the command is told about the update (its environment). */
export interface VerifyTarget {
  /** The chart directory in the worktree, absolute. */
  chartDir: string
  chartName: string
  chartVersion: string
  appVersion: string
  previousAppVersion: string
  /** The upstream image at the new tag, e.g. `docker.io/rocicorp/zero:1.9.0`. */
  image: string
  /** The packaged chart (`.tgz`), absolute. */
  chartPackage: string
}

/** How a verification ended. */
export interface VerifyResult {
  passed: boolean
  /** The exit code; undefined when the command was stopped (timeout) or could not start. */
  exitCode?: number
  timedOut: boolean
  /** Wall time, milliseconds. */
  durationMs: number
  /** The last {@link TAIL_LINES} lines of stdout and stderr, interleaved as printed. */
  tail: string[]
  /** The chart version and appVersion verified. */
  chartVersion: string
  appVersion: string
}

/** The verification of one update failed: nothing was written (push mode). */
export class VerifyError extends ActionError {
  constructor(
    message: string,
    readonly result: VerifyResult,
  ) {
    super(message)
    this.name = 'VerifyError'
  }
}

/**
 * Environment variables the command never inherits: the action's inputs (`INPUT_GITHUB-TOKEN`,
 * `INPUT_REGISTRY-PASSWORD`, …), the runner's tokens for the action (`ACTIONS_RUNTIME_TOKEN`,
 * `ACTIONS_ID_TOKEN_REQUEST_TOKEN`/`_URL`: OIDC), and helm's registry login of this run.
 */
const WITHHELD = /^(INPUT_.*|ACTIONS_RUNTIME_TOKEN|ACTIONS_ID_TOKEN_REQUEST_(TOKEN|URL)|HELM_REGISTRY_CONFIG|HELM_REPOSITORY_CONFIG)$/i

/** The command's environment: the step's, less {@link WITHHELD}, plus the update's coordinates. */
export function verifyEnv(base: NodeJS.ProcessEnv, t: VerifyTarget): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(base)) if (!WITHHELD.test(k)) env[k] = v
  return {
    ...env,
    CHART_DIR: t.chartDir,
    CHART_NAME: t.chartName,
    CHART_VERSION: t.chartVersion,
    APP_VERSION: t.appVersion,
    PREVIOUS_APP_VERSION: t.previousAppVersion,
    IMAGE: t.image,
    CHART_PACKAGE: t.chartPackage,
  }
}

/** Processes still running, stopped if the action exits first (a cancelled job, a signal). */
const running = new Set<number>()
process.once('exit', () => {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
})

/**
 * Runs `command` for `target` in `cwd` (the worktree's root), in a log group, streaming its output.
 * Stopped after `timeoutMinutes` (SIGTERM to its process group, SIGKILL 10 s later).
 *
 * @param scratchDir where the script file is written.
 * @returns the result; never throws for the command's own failure (see {@link VerifyResult}).
 */
export async function runVerify(
  command: string,
  target: VerifyTarget,
  options: { cwd: string; scratchDir: string; timeoutMinutes: number },
): Promise<VerifyResult> {
  const script = join(options.scratchDir, 'verify-command.sh')
  writeFileSync(script, `${command}\n`, { mode: 0o700 })
  const started = Date.now()
  const tail: string[] = []
  let partial = ''
  const keep = (chunk: string) => {
    const lines = (partial + chunk).split('\n')
    partial = lines.pop() ?? ''
    tail.push(...lines)
    if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES)
  }
  const title = `Verify: ${target.chartName} ${target.chartVersion} (appVersion ${target.appVersion})`
  return core.group(title, async () => {
    core.info(`$ ${command.split('\n').join('\n  ')}`)
    const outcome = await new Promise<{ exitCode?: number; timedOut: boolean }>((resolve) => {
      const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
        cwd: options.cwd,
        env: verifyEnv(process.env, target),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      })
      if (child.pid) running.add(child.pid)
      let timedOut = false
      const stop = (signal: NodeJS.Signals) => {
        try {
          if (child.pid) process.kill(-child.pid, signal)
        } catch {
          // already gone
        }
      }
      const limit = options.timeoutMinutes * 60_000
      const timer = setTimeout(() => {
        timedOut = true
        stop('SIGTERM')
        setTimeout(() => stop('SIGKILL'), 10_000).unref()
      }, limit)
      const out = (chunk: Buffer) => {
        process.stdout.write(chunk)
        keep(chunk.toString('utf8'))
      }
      child.stdout.on('data', out)
      child.stderr.on('data', out)
      child.on('error', (error) => {
        keep(`${error.message}\n`)
        clearTimeout(timer)
        resolve({ timedOut })
      })
      child.on('close', (code) => {
        clearTimeout(timer)
        if (child.pid) running.delete(child.pid)
        resolve({ exitCode: code ?? undefined, timedOut })
      })
    })
    if (partial) keep('\n')
    const result: VerifyResult = {
      passed: outcome.exitCode === 0 && !outcome.timedOut,
      exitCode: outcome.exitCode,
      timedOut: outcome.timedOut,
      durationMs: Date.now() - started,
      tail,
      chartVersion: target.chartVersion,
      appVersion: target.appVersion,
    }
    core.info(`verify-command ${describeVerify(result)}`)
    return result
  })
}

/** "passed in 12.3 s", "failed (exit code 1) after 4.0 s", "timed out after 30 min". */
export function describeVerify(r: VerifyResult): string {
  const took = r.durationMs >= 60_000 ? `${(r.durationMs / 60_000).toFixed(1)} min` : `${(r.durationMs / 1000).toFixed(1)} s`
  if (r.passed) return `passed in ${took}`
  if (r.timedOut) return `timed out after ${took}`
  return r.exitCode === undefined ? `could not run (${took})` : `failed (exit code ${r.exitCode}) after ${took}`
}

/**
 * The pull request body's verification section (Markdown, between markers so a later run can keep
 * it when it does not verify the same commit again).
 */
export function verifySection(r: VerifyResult): string {
  const lines = [
    VERIFY_START,
    `### Verification: ${r.passed ? 'passed' : 'failed'}`,
    '',
    `\`verify-command\` ${describeVerify(r)} on chart \`${r.chartVersion}\` (appVersion \`${r.appVersion}\`).`,
  ]
  if (!r.passed && r.tail.length) {
    lines.push(
      '',
      `<details><summary>Last ${r.tail.length} lines</summary>`,
      '',
      '```',
      ...r.tail.map((l) => l.replace(/```/g, "'''")),
      '```',
      '</details>',
    )
  }
  lines.push(VERIFY_END)
  return lines.join('\n')
}

const VERIFY_START = '<!-- zero-cache-chart:verify -->'
const VERIFY_END = '<!-- /zero-cache-chart:verify -->'

/** The verification section of a pull request body, when it has one. */
export function verifySectionOf(body: string): string | undefined {
  const start = body.indexOf(VERIFY_START)
  const end = body.indexOf(VERIFY_END)
  return start >= 0 && end > start ? body.slice(start, end + VERIFY_END.length) : undefined
}
