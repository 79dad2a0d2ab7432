import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { constants as osConstants, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { parse } from 'yaml'
import { gitEnv } from './git.js'

/**
 * The bundled action, run as GitHub runs it. `ZCC_DIST` points the suites at another bundle (for
 * measuring an older build against today's tests, e.g. the fault suite's before/after table).
 */
export const DIST = resolve(process.env.ZCC_DIST || new URL('../../dist/index.js', import.meta.url).pathname)
export const ROOT = resolve(new URL('../..', import.meta.url).pathname)
export const HELM4_DIR = join(ROOT, '.tools/helm4')
export const HELM3_DIR = join(ROOT, '.tools/helm3')

interface ActionYaml {
  inputs: Record<string, { default?: string }>
  outputs: Record<string, unknown>
}

/**
 * action.yml, parsed: the one beside the bundle under test (`<dist>/../action.yml`, so an older
 * release runs with its own inputs' defaults), else this repository's.
 */
export const actionYaml = parse(
  readFileSync(
    existsSync(join(dirname(DIST), '..', 'action.yml')) ? join(dirname(DIST), '..', 'action.yml') : join(ROOT, 'action.yml'),
    'utf8',
  ),
) as ActionYaml

/** What a run of the action left behind. */
export interface ActionRun {
  exitCode: number
  stdout: string
  stderr: string
  /** Step outputs, parsed from the GITHUB_OUTPUT file. */
  outputs: Record<string, string>
  /** The job summary (GITHUB_STEP_SUMMARY). */
  summary: string
  /** stdout + stderr, for assertions and failure messages. */
  log: string
}

/** GitHub's context values used by action.yml defaults (`${{ github.* }}`). */
export interface RunContext {
  actor?: string
  token?: string
  apiUrl?: string
}

/**
 * Runs `node dist/index.js` the way a runner does: every input of action.yml set as `INPUT_<NAME>`
 * (the default, with `${{ github.* }}` expressions evaluated from `context`, unless `inputs`
 * overrides it), and `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, `GITHUB_WORKSPACE`, `RUNNER_TEMP`,
 * `GITHUB_REF` set. `helmDir` goes first on PATH.
 */
export async function runAction(options: {
  workspace: string
  inputs: Record<string, string>
  helmDir?: string
  home: string
  context?: RunContext
  env?: Record<string, string>
  /** Directories put first on PATH, before helm (e.g. a wrapper that injects faults). */
  pathPrepend?: string[]
  /** Called once the action's process has started: fault tests kill its process group by this pid. */
  onSpawn?: (child: ChildProcess) => void
  /** `RUNNER_TEMP`; a fresh directory when not given. */
  runnerTemp?: string
  /** The bundle to run (default {@link DIST}); the benchmark runs an older one beside it. */
  dist?: string
}): Promise<ActionRun> {
  const tmp = mkdtempSync(join(tmpdir(), 'zcc-runner-'))
  const outputFile = join(tmp, 'output')
  const summaryFile = join(tmp, 'summary.md')
  writeFileSync(outputFile, '')
  writeFileSync(summaryFile, '')
  const ctx = { actor: 'ci-user', token: 'ghs_test-token-not-real', apiUrl: 'http://127.0.0.1:9/api', ...options.context }
  const env: NodeJS.ProcessEnv = {
    ...gitEnv(options.home),
    PATH: [...(options.pathPrepend ?? []), options.helmDir ?? HELM4_DIR, process.env.PATH].join(':'),
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_WORKSPACE: options.workspace,
    RUNNER_TEMP: options.runnerTemp ?? join(tmp, 'runner-temp'),
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_REPOSITORY: 'acme/zero-cache-chart',
    GITHUB_ACTOR: ctx.actor,
    GITHUB_API_URL: ctx.apiUrl,
    ...options.env,
  }
  for (const key of Object.keys(env)) if (key.startsWith('INPUT_')) delete env[key]
  for (const [name, spec] of Object.entries(actionYaml.inputs)) {
    const value = options.inputs[name] ?? evaluate(spec.default ?? '', ctx)
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
  }
  for (const name of Object.keys(options.inputs)) {
    if (!(name in actionYaml.inputs) && !process.env.ZCC_DIST)
      throw new Error(`test passes input '${name}', which action.yml does not declare`)
  }
  mkdirSync(env.RUNNER_TEMP!, { recursive: true })
  // Its own process group, as a runner's step has: a fault test can kill the action with every
  // child it started (git, helm), as a dying runner would.
  const child = spawn(process.execPath, [options.dist ?? DIST], {
    cwd: options.workspace,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  options.onSpawn?.(child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => {
    stdout += d
    if (process.env.ZCC_TEST_STREAM) process.stderr.write(d)
  })
  child.stderr.on('data', (d) => (stderr += d))
  const exitCode: number = await new Promise((r) =>
    child.on('close', (code, signal) => r(code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : -1))),
  )
  const run = {
    exitCode,
    stdout,
    stderr,
    outputs: parseOutputs(readFileSync(outputFile, 'utf8')),
    summary: readFileSync(summaryFile, 'utf8'),
    log: `${stdout}\n${stderr}`,
  }
  rmSync(tmp, { recursive: true, force: true })
  if (process.env.ZCC_CAPTURE_DIR) await capture(process.env.ZCC_CAPTURE_DIR, run)
  return run
}

/**
 * With `ZCC_CAPTURE_DIR` set, appends each run's exit code, outputs and job summary to a file per
 * test, so that two bundles can be compared on the same suites (a refactor keeps them byte for byte).
 */
async function capture(dir: string, run: ActionRun): Promise<void> {
  const { expect } = await import('vitest')
  const name = (expect.getState().currentTestName ?? 'unknown').replace(/[^\w.-]+/g, '_').slice(0, 180)
  mkdirSync(dir, { recursive: true })
  appendFileSync(join(dir, `${name}.jsonl`), `${JSON.stringify({ exitCode: run.exitCode, outputs: run.outputs, summary: run.summary })}\n`)
}

function evaluate(value: string, ctx: Required<RunContext>): string {
  return value.replace(/\$\{\{\s*github\.(\w+)\s*\}\}/g, (_, key: string) => {
    if (key === 'actor') return ctx.actor
    if (key === 'token') return ctx.token
    if (key === 'api_url') return ctx.apiUrl
    throw new Error(`action.yml default uses github.${key}, which the test runner does not provide`)
  })
}

/** Parses the GITHUB_OUTPUT file format (`name<<DELIMITER\nvalue\nDELIMITER`). */
export function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i])
    if (heredoc) {
      const [, name, delim] = heredoc
      const value: string[] = []
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i])
      out[name] = value.join('\n')
    } else if (lines[i].includes('=')) {
      const at = lines[i].indexOf('=')
      out[lines[i].slice(0, at)] = lines[i].slice(at + 1)
    }
  }
  return out
}
