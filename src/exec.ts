import * as core from '@actions/core'
import { getExecOutput } from '@actions/exec'
import { which } from '@actions/io'
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

/** Tools found on PATH, by name: each is looked up once per run (`@actions/io` `which`). */
const toolPaths = new Map<string, Promise<string>>()

/**
 * The absolute path of `command` on PATH, looked up once: `@actions/exec` searches PATH for a bare
 * name on every call (a stat per PATH entry), but only checks a path it is given.
 */
function toolPath(command: string): Promise<string> {
  let path = toolPaths.get(command)
  if (!path) {
    path = which(command, false).then((found) => found || command)
    toolPaths.set(command, path)
  }
  return path
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
  const result = await getExecOutput(await toolPath(command), args, {
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
