import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parseAllDocuments } from 'yaml'
import { HELM3_DIR, HELM4_DIR, ROOT } from './runner.js'

const run = promisify(execFile)

/** The chart under test: the repository's, or `ZCC_CHART_DIR` (verify-command's `CHART_DIR`, a proposed update's worktree). */
export const CHART_DIR = process.env.ZCC_CHART_DIR || join(ROOT, 'charts/zero-cache')
export const HELMS = { 'Helm 4': join(HELM4_DIR, 'helm'), 'Helm 3': join(HELM3_DIR, 'helm') } as const

/** A rendered Kubernetes object, loosely typed: tests reach into it by path. */
export interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any
}

export interface RenderResult {
  ok: boolean
  objects: K8sObject[]
  stderr: string
}

export interface RenderOptions {
  /** Values files, relative to the chart directory or absolute. */
  files?: string[]
  /** `--set` pairs (helm infers types), and `--set-string` pairs (always strings, e.g. image tags). */
  set?: Record<string, string | number | boolean>
  setString?: Record<string, string>
  helm?: string
}

function valueArgs(options: RenderOptions): string[] {
  const args: string[] = []
  for (const f of options.files ?? []) args.push('--values', f.startsWith('/') ? f : join(CHART_DIR, f))
  for (const [k, v] of Object.entries(options.set ?? {})) args.push('--set', `${k}=${v}`)
  for (const [k, v] of Object.entries(options.setString ?? {})) args.push('--set-string', `${k}=${v}`)
  return args
}

/** `helm template` of the chart; parses every rendered document. Never throws on a render error. */
export async function render(options: RenderOptions = {}): Promise<RenderResult> {
  const helm = options.helm ?? HELMS['Helm 4']
  const args = ['template', 'zc', CHART_DIR, '--namespace', 'apps', ...valueArgs(options)]
  try {
    const { stdout, stderr } = await run(helm, args, { maxBuffer: 64 * 1024 * 1024 })
    const objects = parseAllDocuments(stdout)
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null && typeof o === 'object')
    return { ok: true, objects, stderr }
  } catch (e) {
    const err = e as { stderr?: string; message: string }
    return { ok: false, objects: [], stderr: err.stderr ?? err.message }
  }
}

/** `helm lint --strict` of the chart with the given values; returns the exit status and output. */
export async function lint(options: RenderOptions = {}): Promise<{ ok: boolean; output: string }> {
  const helm = options.helm ?? HELMS['Helm 4']
  try {
    const { stdout, stderr } = await run(helm, ['lint', '--strict', CHART_DIR, ...valueArgs(options)])
    return { ok: true, output: stdout + stderr }
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string }
    return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? err.message}` }
  }
}

/** The chart-testing scenarios: `ci/*-values.yaml` (must render) and `ci/invalid/*-values.yaml` (must fail). */
export function scenarios(): { valid: string[]; invalid: Array<{ file: string; expect: RegExp }> } {
  const valid = readdirSync(join(CHART_DIR, 'ci'))
    .filter((f) => f.endsWith('-values.yaml'))
    .sort()
    .map((f) => `ci/${f}`)
  const invalid = readdirSync(join(CHART_DIR, 'ci/invalid'))
    .filter((f) => f.endsWith('-values.yaml'))
    .sort()
    .map((f) => {
      const file = `ci/invalid/${f}`
      const first = readFileSync(join(CHART_DIR, file), 'utf8').split('\n')[0]
      const m = /^# expect-error: (.+)$/.exec(first)
      if (!m) throw new Error(`${file}: the first line must be "# expect-error: <regex>"`)
      return { file, expect: new RegExp(m[1]) }
    })
  return { valid, invalid }
}

/** Where kubernetes-models (and the prometheus-operator models) keep the class of an apiVersion/kind. */
function modelPath(apiVersion: string, kind: string): string {
  if (apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`
  return `kubernetes-models/${apiVersion}/${kind}`
}

/**
 * Validates one object against the Kubernetes OpenAPI schema of its kind (kubernetes-models'
 * generated validators). Throws with the schema errors, or when the kind is unknown.
 */
export async function validateObject(obj: K8sObject): Promise<void> {
  const mod = (await import(modelPath(obj.apiVersion, obj.kind))) as Record<string, new (data: unknown) => { validate(): void }>
  const Model = mod[obj.kind]
  if (!Model) throw new Error(`no model for ${obj.apiVersion} ${obj.kind}`)
  new Model(obj).validate()
}

/** Every pod template in the rendered objects (workloads and the test Pod), with its owner. */
export function podSpecs(objects: K8sObject[]): Array<{ owner: K8sObject; spec: K8sObject['spec']; metadata: K8sObject['metadata'] }> {
  const out = []
  for (const o of objects) {
    if (o.kind === 'Pod') out.push({ owner: o, spec: o.spec, metadata: o.metadata })
    else if (o.spec?.template?.spec) out.push({ owner: o, spec: o.spec.template.spec, metadata: o.spec.template.metadata })
  }
  return out
}

export function find(objects: K8sObject[], kind: string, nameSuffix = ''): K8sObject {
  const hit = objects.find((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix))
  if (!hit) throw new Error(`no ${kind} named *${nameSuffix} among: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`)
  return hit
}

/** The zero-cache container's env of a workload, as name → {value | valueFrom}. */
export function envOf(workload: K8sObject): Map<string, { value?: string; valueFrom?: K8sObject }> {
  const spec = workload.kind === 'Pod' ? workload.spec : workload.spec.template.spec
  const c = spec.containers.find((x: { name: string }) => x.name === 'zero-cache')
  const map = new Map()
  for (const e of c?.env ?? []) {
    if (map.has(e.name)) throw new Error(`${workload.metadata.name}: ${e.name} is set twice`)
    map.set(e.name, e)
  }
  return map
}
