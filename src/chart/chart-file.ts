import { readFile } from 'node:fs/promises'
import { isScalar, parseDocument, Scalar, type Document } from 'yaml'
import semver from 'semver'
import { ChartError } from '../errors.js'

/**
 * Chart.yaml (Helm chart API v2, "The Chart.yaml File") read and edited with the `yaml` Document
 * API. Edits replace only the bytes of the scalar that changes, so comments, key order, quoting
 * and blank lines survive exactly.
 */

/** The fields of Chart.yaml the action reads. */
export interface ChartMetadata {
  /** `name`: the chart's name; the OCI repository's last path component. */
  name: string
  /** `version`: the chart's own SemVer 2 version. */
  version: string
  /** `appVersion`: the version of the app the chart deploys (the upstream image tag). */
  appVersion: string
}

/** Reads and validates `<chartDir>/Chart.yaml`. @throws ChartError for a missing file, invalid YAML or invalid fields. */
export async function readChart(chartDir: string): Promise<ChartMetadata> {
  const file = `${chartDir}/Chart.yaml`
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new ChartError(
      code === 'ENOENT'
        ? `${file} not found: set chart-path to the chart directory (the one holding Chart.yaml)`
        : `cannot read ${file}: ${(error as Error).message}`,
    )
  }
  return parseChart(text, file)
}

function load(text: string, file: string): Document.Parsed {
  const doc = parseDocument(text, { keepSourceTokens: false })
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    const where = e.linePos ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : ''
    throw new ChartError(`${file} is not valid YAML${where}: ${e.message.split('\n')[0]}`)
  }
  if (!doc.contents || !('items' in doc.contents) || doc.contents.constructor.name !== 'YAMLMap') {
    throw new ChartError(`${file} must be a YAML mapping (apiVersion, name, version, …)`)
  }
  return doc
}

function stringField(doc: Document.Parsed, key: string, file: string, required: boolean): string | undefined {
  const node = doc.get(key, true)
  if (node === undefined || node === null) {
    if (required) throw new ChartError(`${file} has no '${key}'`)
    return undefined
  }
  if (!isScalar(node) || node.value === null || typeof node.value === 'object') {
    throw new ChartError(`${file}: '${key}' must be a string`)
  }
  return String(node.value)
}

/**
 * Parses Chart.yaml text.
 *
 * @throws ChartError when the YAML is invalid, `name`, `version` or `appVersion` is missing, or
 *   `version`/`appVersion` is not SemVer 2 (a leading `v` is allowed in `appVersion`, as image tags often carry it).
 */
export function parseChart(text: string, file = 'Chart.yaml'): ChartMetadata {
  const doc = load(text, file)
  const name = stringField(doc, 'name', file, true)!
  const version = stringField(doc, 'version', file, true)!
  const appVersion = stringField(doc, 'appVersion', file, false)
  if (!semver.valid(version) || version.startsWith('v') || version.startsWith('=')) {
    throw new ChartError(`${file}: version '${version}' is not a semantic version (Helm requires SemVer 2, e.g. 1.4.2)`)
  }
  if (appVersion === undefined) {
    throw new ChartError(`${file} has no 'appVersion': set it to the upstream image tag the chart deploys (e.g. appVersion: "0.25.1")`)
  }
  if (!semver.valid(appVersion.replace(/^v/, '')) || /^[=v]{2}|^=/.test(appVersion)) {
    throw new ChartError(
      `${file}: appVersion '${appVersion}' is not a semantic version, so it cannot be compared with upstream tags; set it to the image tag the chart deploys (e.g. 0.25.1)`,
    )
  }
  return { name, version, appVersion }
}

type Range = [number, number, number]

/** Renders a string as YAML in the style the old scalar used, falling back to double quotes when a plain scalar would not read back as the same string. */
function render(value: string, style: Scalar.Type | undefined): string {
  if (style === Scalar.QUOTE_SINGLE) return `'${value.replace(/'/g, "''")}'`
  if (style === Scalar.PLAIN || style === undefined) {
    const back = parseDocument(`k: ${value}`).get('k')
    if (back === value) return value
  }
  return JSON.stringify(value)
}

/**
 * Returns Chart.yaml text with `version` and `appVersion` replaced, every other byte unchanged.
 * Each value keeps its quoting style (plain, single, double).
 *
 * @throws ChartError when the text does not parse or lacks a field (see {@link parseChart}).
 */
export function setChartVersions(text: string, update: { version: string; appVersion: string }, file = 'Chart.yaml'): string {
  const doc = load(text, file)
  const edits: { range: Range; text: string }[] = []
  for (const [key, value] of [
    ['version', update.version],
    ['appVersion', update.appVersion],
  ] as const) {
    const node = doc.get(key, true)
    if (!isScalar(node) || !node.range) throw new ChartError(`${file} has no scalar '${key}' to update`)
    edits.push({ range: node.range as Range, text: render(value, node.type) })
  }
  edits.sort((a, b) => b.range[0] - a.range[0])
  let out = text
  for (const edit of edits) out = out.slice(0, edit.range[0]) + edit.text + out.slice(edit.range[1])
  const check = parseChart(out, file)
  if (check.version !== update.version || check.appVersion !== update.appVersion) {
    throw new ChartError(`${file}: editing version/appVersion did not round-trip (got ${check.version}/${check.appVersion})`)
  }
  return out
}
