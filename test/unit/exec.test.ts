import { describe, expect, it } from 'vitest'
import { runCommand } from '../../src/exec.js'
import { CommandError } from '../../src/errors.js'

// A command that exits without reading its standard input breaks the pipe: the write of the input then fails
// with EPIPE on the stdin stream. Node raises an unhandled stream 'error' as an uncaught exception, which would
// kill the action with a stack trace instead of the command's own error (seen with `helm registry login
// --password-stdin` failing fast). 1 MiB is far beyond a pipe's buffer (64 KiB on Linux), so the write is still
// pending when the command exits and the EPIPE is certain, not a race.
const LARGE_INPUT = 'x'.repeat(1 << 20)

describe('runCommand with standard input', () => {
  it('reports the exit code and stderr of a command that exits without reading its input', async () => {
    const r = await runCommand('sh', ['-c', 'echo "Error: refused early" >&2; exit 3'], { stdin: LARGE_INPUT, allowFailure: true })
    expect(r.exitCode).toBe(3)
    expect(r.stderr).toContain('Error: refused early')
  })

  it('throws a CommandError carrying the stderr, not EPIPE', async () => {
    const err = await runCommand('sh', ['-c', 'echo "Error: refused early" >&2; exit 4'], { stdin: LARGE_INPUT }).catch((e) => e)
    expect(err).toBeInstanceOf(CommandError)
    expect(String(err.message)).toContain('Error: refused early')
    expect(String(err.message)).not.toContain('EPIPE')
  })

  it('passes the input to a command that reads it', async () => {
    const r = await runCommand('sh', ['-c', 'wc -c'], { stdin: LARGE_INPUT })
    expect(r.stdout.trim()).toBe(String(LARGE_INPUT.length))
  })

  it('passes the input to a command that exits early and succeeds', async () => {
    const r = await runCommand('sh', ['-c', 'exit 0'], { stdin: LARGE_INPUT })
    expect(r.exitCode).toBe(0)
  })
})
