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

function stringField(doc: Document.Parsed, text: string, key: string, file: string, required: boolean): string | undefined {
  const node = doc.get(key, true)
  if (node === undefined || node === null) {
    if (required) throw new ChartError(`${file} has no '${key}'`)
    return undefined
  }
  if (!isScalar(node) || node.value === null || typeof node.value === 'object') {
    throw new ChartError(`${file}: '${key}' must be a string`)
  }
  const value = String(node.value)
  if (value !== value.trim()) {
    const form = blockHeader(node, text) !== undefined ? ` (written as ${describeForm(node, text)}, whose value ends in a line break)` : ''
    throw new ChartError(
      `${file}: '${key}' is ${JSON.stringify(value)}, with white space around the version${form}; write it as a plain or quoted scalar, ` +
        `e.g. ${key}: "${value.trim()}"`,
    )
  }
  return value
}

/** The header of a block scalar (`>-`, `|`, `>2+` …, comment dropped), or undefined for other scalars. */
function blockHeader(node: Scalar, text: string): string | undefined {
  if (node.type !== Scalar.BLOCK_FOLDED && node.type !== Scalar.BLOCK_LITERAL) return undefined
  const [start, end] = node.range as Range
  const line = text.slice(start, end).split(/\r?\n/, 1)[0]
  return line.replace(/\s+#.*$/, '').trim()
}

/** "a folded block scalar ('>-')" and the like, for messages. */
function describeForm(node: Scalar, text: string): string {
  const header = blockHeader(node, text)
  if (header === undefined)
    return node.type === Scalar.QUOTE_DOUBLE
      ? 'a double-quoted scalar'
      : node.type === Scalar.QUOTE_SINGLE
        ? 'a single-quoted scalar'
        : 'a plain scalar'
  return `${node.type === Scalar.BLOCK_FOLDED ? 'a folded' : 'a literal'} block scalar ('${header}')`
}

/**
 * Parses Chart.yaml text.
 *
 * @throws ChartError when the YAML is invalid, `name`, `version` or `appVersion` is missing, or
 *   `version`/`appVersion` is not SemVer 2 (a leading `v` is allowed in `appVersion`, as image tags often carry it).
 */
export function parseChart(text: string, file = 'Chart.yaml'): ChartMetadata {
  const doc = load(text, file)
  const name = stringField(doc, text, 'name', file, true)!
  const version = stringField(doc, text, 'version', file, true)!
  const appVersion = stringField(doc, text, 'appVersion', file, false)
  if (!semver.valid(version) || version.startsWith('v') || version.startsWith('=')) {
    throw new ChartError(`${file}: version '${version}' is not a semantic version (Helm requires SemVer 2, e.g. 1.4.2)`)
  }
  if (appVersion === undefined) {
    throw new ChartError(`${file} has no 'appVersion': set it to the upstream image tag the chart deploys (e.g. appVersion: "0.25.1")`)
  }
  if (!semver.valid(appVersion.replace(/^v/, '')) || /^[=v]{2}|^=/.test(appVersion)) {
    throw new ChartError(
      `${file}: appVersion '${appVersion}' is not a semantic version, so it cannot be compared with upstream tags; set it to the image ` +
        `tag the chart deploys (e.g. 0.25.1)`,
    )
  }
  return { name, version, appVersion }
}

type Range = [number, number, number]

/**
 * Renders a string as YAML in the style the old scalar used, falling back to double quotes when a
 * plain scalar would not read back as the same string.
 */
function render(value: string, style: Scalar.Type | undefined): string {
  if (style === Scalar.QUOTE_SINGLE) return `'${value.replace(/'/g, "''")}'`
  if (style === Scalar.PLAIN || style === undefined) {
    const back = parseDocument(`k: ${value}`).get('k')
    if (back === value) return value
  }
  return JSON.stringify(value)
}

/**
 * The new source text of a block scalar (`>-` or `|-`) holding one line: the header and the
 * line's indentation stay, only the line's content changes. Undefined when the scalar holds more
 * than one non-empty line (a version never does).
 */
function renderBlock(source: string, value: string): string | undefined {
  const lines = source.split(/(?<=\n)/)
  const content = lines.map((line, i) => ({ line, i })).filter(({ line, i }) => i > 0 && line.trim() !== '')
  if (content.length !== 1) return undefined
  const { line, i } = content[0]
  const indent = /^[ ]*/.exec(line)![0]
  const eol = /\r?\n$/.exec(line)?.[0] ?? ''
  lines[i] = `${indent}${value}${eol}`
  return lines.join('')
}

/**
 * Returns Chart.yaml text with `version` and `appVersion` replaced, every other byte unchanged.
 * Each value keeps its form: plain, single- or double-quoted, or a one-line block scalar with
 * strip chomping (`>-`, `|-`), whose header and indentation stay.
 *
 * @throws ChartError when the text does not parse or lacks a field (see {@link parseChart}), or
 *   when a value is in a form that cannot be edited in place (a multi-line block scalar); the
 *   message names the form and says how to write it instead.
 */
export function setChartVersions(text: string, update: { version: string; appVersion: string }, file = 'Chart.yaml'): string {
  const doc = load(text, file)
  const edits: { range: Range; text: string }[] = []
  const forms: string[] = []
  for (const [key, value] of [
    ['version', update.version],
    ['appVersion', update.appVersion],
  ] as const) {
    const node = doc.get(key, true)
    if (!isScalar(node) || !node.range) throw new ChartError(`${file} has no scalar '${key}' to update`)
    const range = node.range as Range
    forms.push(`${key} as ${describeForm(node, text)}`)
    if (blockHeader(node, text) !== undefined) {
      const block = renderBlock(text.slice(range[0], range[1]), value)
      if (block === undefined) {
        throw new ChartError(
          `${file}: '${key}' is written as ${describeForm(node, text)} over several lines, which cannot be edited in place; write it on ` +
            `one line, e.g. ${key}: "${String(node.value).trim()}"`,
        )
      }
      edits.push({ range, text: block })
    } else {
      edits.push({ range, text: render(value, node.type) })
    }
  }
  edits.sort((a, b) => b.range[0] - a.range[0])
  let out = text
  for (const edit of edits) out = out.slice(0, edit.range[0]) + edit.text + out.slice(edit.range[1])
  // The edit, not the user's file, is at fault if this fails: say so, and the file stays as it was.
  let check: ChartMetadata | undefined
  try {
    check = parseChart(out, file)
  } catch {
    check = undefined
  }
  if (check?.version !== update.version || check?.appVersion !== update.appVersion) {
    throw new ChartError(
      `${file}: setting version ${update.version} and appVersion ${update.appVersion} in place (${forms.join(', ')}) would not read ` +
        `back as written, so Chart.yaml was left unchanged; write both as plain or quoted scalars`,
    )
  }
  return out
}
