/**
 * Typed errors. Every error carries a message a user can act on; `run()` catches them once and
 * hands the message to `core.setFailed`.
 */

/** Base class: an error whose message is meant for the user as it stands. */
export class ActionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = new.target.name
  }
}

/** An input (action.yml `inputs`) has a value we cannot use. The message names the input. */
export class InputError extends ActionError {
  constructor(
    readonly input: string,
    detail: string,
  ) {
    super(`input '${input}': ${detail}`)
  }
}

/** Chart.yaml is missing, unparsable, or holds a value we cannot work with. */
export class ChartError extends ActionError {}

/** A registry answered with an error status, or could not be reached. */
export class RegistryError extends ActionError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message)
  }
}

/** An external command (git, helm) exited non-zero. `stderr` is its error output (no secrets: we never pass any in argv). */
export class CommandError extends ActionError {
  constructor(
    readonly command: string,
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    const tail = stderr.trim().split('\n').slice(-15).join('\n')
    super(`\`${command}\` exited with code ${exitCode}${tail ? `:\n${tail}` : ''}`)
  }
}

/** The GitHub REST API refused or failed a request. */
export class GitHubApiError extends ActionError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message)
  }
}
