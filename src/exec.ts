import * as core from '@actions/core'
import { getExecOutput } from '@actions/exec'
import { CommandError } from './errors.js'

/** Options for {@link runCommand}. */
export interface CommandOptions {
  /** Working directory; defaults to the process's. */
  cwd?: string
  /** Bytes for the command's standard input: the only way a secret may reach a command. */
  stdin?: string
  /** Extra environment variables, merged over `process.env`. */
  env?: Record<string, string>
  /** Return a failed result instead of throwing. */
  allowFailure?: boolean
  /** Print the command's output to the log as it runs (default: only on failure, via the error). */
  stream?: boolean
}

/** What a command printed and how it exited. */
export interface CommandResult {
  exitCode: number
  stdout: string
  stderr: string
}

/**
 * Runs an external command through `@actions/exec`, capturing its output.
 *
 * The command line is logged at debug level. Arguments must never contain secrets (pass them with
 * `stdin`). Throws {@link CommandError} with the command's stderr when it exits non-zero, unless
 * `allowFailure` is set.
 */
export async function runCommand(command: string, args: string[], options: CommandOptions = {}): Promise<CommandResult> {
  const line = [command, ...args].join(' ')
  core.debug(`$ ${line}`)
  const result = await getExecOutput(command, args, {
    cwd: options.cwd,
    input: options.stdin === undefined ? undefined : Buffer.from(options.stdin),
    env: options.env ? ({ ...process.env, ...options.env } as Record<string, string>) : undefined,
    ignoreReturnCode: true,
    silent: !options.stream,
  })
  if (result.exitCode !== 0 && !options.allowFailure) {
    throw new CommandError(line, result.exitCode, result.stderr || result.stdout)
  }
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr }
}
