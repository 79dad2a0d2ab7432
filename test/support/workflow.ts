import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { data, Evaluator, Lexer, Parser } from '@actions/expressions'
import { parse } from 'yaml'
import { ROOT } from './runner.js'

/**
 * The repository's workflows, read and evaluated the way GitHub does for the parts the tests check:
 * `if:` conditions and `with:` values, with GitHub's own expression evaluator
 * (`@actions/expressions`, the library behind the Actions language services). Contexts hold what
 * GitHub documents for each event ("Contexts reference"): `inputs` is empty on `schedule`, and holds
 * every input with its default filled in on `workflow_dispatch` (booleans as booleans).
 */

export const WORKFLOWS_DIR = join(ROOT, '.github/workflows')

export interface WorkflowStep {
  name?: string
  uses?: string
  run?: string
  if?: string | boolean
  with?: Record<string, string | number | boolean>
  env?: Record<string, string>
}

export interface WorkflowJob {
  'runs-on': string
  if?: string | boolean
  permissions?: Record<string, string> | string
  'timeout-minutes'?: number
  strategy?: { matrix?: Record<string, unknown[]> }
  steps: WorkflowStep[]
}

export interface Workflow {
  name: string
  on: Record<string, unknown>
  permissions?: Record<string, string> | string
  concurrency?: { group: string; 'cancel-in-progress': boolean | string }
  jobs: Record<string, WorkflowJob>
}

/** A workflow file: its text and its parsed form. */
export function readWorkflow(file: string): { text: string; workflow: Workflow } {
  const text = readFileSync(join(WORKFLOWS_DIR, file), 'utf8')
  return { text, workflow: parse(text) as Workflow }
}

/** An event to evaluate a workflow for, and the repository it runs in. */
export interface WorkflowEvent {
  name: 'schedule' | 'workflow_dispatch' | 'push' | 'pull_request' | 'release'
  /** `workflow_dispatch` inputs as the user gave them (the rest take their defaults). */
  inputs?: Record<string, string | boolean>
  ref?: string
  baseRef?: string
  /** The payload's extra fields (`release`, `pull_request` …). */
  payload?: Record<string, unknown>
}

const CONTEXTS = ['github', 'inputs', 'env', 'vars', 'secrets', 'job', 'runner', 'matrix', 'strategy', 'steps', 'needs']

/** Status functions of step and job conditions: a run in which nothing has failed yet. */
const STATUS: Record<string, boolean> = { success: true, always: true, failure: false, cancelled: false }
const statusFunctions = new Map(
  Object.entries(STATUS).map(([name, value]) => [name, { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(value) }]),
)

/** The expression contexts for `event` on `workflow`. */
export function contexts(workflow: Workflow, event: WorkflowEvent, matrix: Record<string, unknown> = {}): data.Dictionary {
  const declared = ((workflow.on.workflow_dispatch as { inputs?: Record<string, { default?: unknown; type?: string }> } | null)?.inputs ??
    {}) as Record<string, { default?: unknown; type?: string }>
  const inputs: Record<string, unknown> = {}
  if (event.name === 'workflow_dispatch') {
    for (const [name, spec] of Object.entries(declared)) {
      const given = event.inputs?.[name]
      const value = given ?? spec.default ?? (spec.type === 'boolean' ? false : '')
      inputs[name] = spec.type === 'boolean' ? value === true || value === 'true' : String(value)
    }
  }
  const ref = event.ref ?? (event.name === 'pull_request' ? 'refs/pull/7/merge' : 'refs/heads/main')
  const plain = {
    github: {
      event_name: event.name,
      event: {
        ...(event.name === 'workflow_dispatch' ? { inputs } : {}),
        repository: { full_name: 'acme/zero-cache-chart', default_branch: 'main' },
        ...event.payload,
      },
      ref,
      ref_name: ref.replace(/^refs\/(heads|tags)\//, '').replace(/^refs\/pull\/(\d+)\/merge$/, '$1/merge'),
      base_ref: event.baseRef ?? '',
      head_ref: event.name === 'pull_request' ? 'feature' : '',
      repository: 'acme/zero-cache-chart',
      repository_owner: 'acme',
      server_url: 'https://github.com',
      api_url: 'https://api.github.com',
      token: '***',
      actor: 'octocat',
    },
    inputs,
    env: {},
    vars: {},
    secrets: {},
    job: {},
    runner: { os: 'Linux', temp: '/home/runner/work/_temp' },
    matrix,
    strategy: {},
    steps: {},
    needs: {},
  }
  return JSON.parse(JSON.stringify(plain), data.reviver) as data.Dictionary
}

/** Evaluates one expression (without `${{ }}`). */
export function evaluate(expression: string, context: data.Dictionary): data.ExpressionData {
  const lexed = new Lexer(expression).lex()
  const parsed = new Parser(lexed.tokens, CONTEXTS, [...statusFunctions.values()]).parse()
  return new Evaluator(parsed, context, statusFunctions).evaluate()
}

/** A `with:`/`env:` value as GitHub renders it: `${{ }}` parts evaluated and coerced to strings. */
export function render(value: string | number | boolean, context: data.Dictionary): string {
  if (typeof value !== 'string') return String(value)
  return value.replace(/\$\{\{(.*?)\}\}/gs, (_, expression: string) => evaluate(expression.trim(), context).coerceString())
}

/** An `if:` condition: `${{ }}` optional; absent means `success()`. */
export function condition(value: string | boolean | undefined, context: data.Dictionary): boolean {
  if (value === undefined) return true
  if (typeof value === 'boolean') return value
  const expression = value.trim().replace(/^\$\{\{(.*)\}\}$/s, '$1')
  return truthy(evaluate(expression, context))
}

/** GitHub's truthiness ("Expressions", "Operators"): false, 0, '' and null are falsy; arrays and objects are truthy. */
function truthy(value: data.ExpressionData): boolean {
  switch (value.kind) {
    case data.Kind.Null:
      return false
    case data.Kind.Boolean:
      return (value as data.BooleanData).value
    case data.Kind.Number: {
      const n = value.number()
      return n !== 0 && !Number.isNaN(n)
    }
    case data.Kind.String:
      return value.coerceString() !== ''
    default:
      return true
  }
}

/** A step that would run, with its `with:` inputs rendered. */
export interface RenderedStep {
  job: string
  name?: string
  uses?: string
  with: Record<string, string>
}

/** The steps of every job that would run for `event`, in order, with `with:` rendered (first matrix combination). */
export function stepsFor(workflow: Workflow, event: WorkflowEvent): RenderedStep[] {
  const out: RenderedStep[] = []
  for (const [id, job] of Object.entries(workflow.jobs)) {
    const matrix = Object.fromEntries(Object.entries(job.strategy?.matrix ?? {}).map(([k, v]) => [k, v[0]]))
    const context = contexts(workflow, event, matrix)
    if (!condition(job.if, context)) continue
    for (const step of job.steps) {
      if (!condition(step.if, context)) continue
      out.push({
        job: id,
        name: step.name,
        uses: step.uses,
        with: Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, render(v, context)])),
      })
    }
  }
  return out
}
