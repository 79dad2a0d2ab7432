import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import * as core from '@actions/core'
import { getExecOutput, type ExecOutput } from '@actions/exec'
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
  const env = options.env ? ({ ...process.env, ...options.env } as Record<string, string>) : undefined
  const result =
    options.stdin === undefined
      ? await getExecOutput(await toolPath(command), args, { cwd: options.cwd, env, ignoreReturnCode: true, silent: !options.stream })
      : await runWithInput(await toolPath(command), args, options.stdin, { cwd: options.cwd, env, stream: options.stream })
  if (result.exitCode !== 0 && !options.allowFailure) {
    throw new CommandError(line, result.exitCode, result.stderr || result.stdout)
  }
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr }
}

/**
 * Runs `file` with `input` on its standard input and collects its output.
 *
 * Not `@actions/exec`'s `input` option: it writes the input with no `'error'` listener on the stdin stream, so a
 * command that exits without reading it (`helm registry login --password-stdin` refusing a flag, say) breaks the
 * pipe, and Node turns the EPIPE into an uncaught exception that kills the action with a stack trace instead of
 * the command's own error. Here a failed write of the input is ignored: the exit code and stderr say what went
 * wrong. Errors: rejects only when the command cannot be started (ENOENT, EACCES).
 */
function runWithInput(
  file: string,
  args: string[],
  input: string,
  options: { cwd?: string; env?: Record<string, string>; stream?: boolean },
): Promise<ExecOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: 'pipe', windowsHide: true })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => {
      stdout.push(chunk)
      if (options.stream) process.stdout.write(chunk)
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr.push(chunk)
      if (options.stream) process.stdout.write(chunk)
    })
    child.stdin.on('error', () => undefined)
    child.on('error', reject)
    child.on('close', (code, signal) =>
      resolve({
        exitCode: code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      }),
    )
    child.stdin.end(input)
  })
}
