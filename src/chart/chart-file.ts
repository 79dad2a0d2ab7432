import { readFile } from 'node:fs/promises'
import { isScalar, parseDocument, Scalar, type Document } from 'yaml'
import semver from 'semver'
import { ChartError } from '../errors.js'
import { parseTagWithPattern } from '../versions.js'

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
  return parseChart(text, file, { anyAppVersion: true })
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
  // A scalar's value (objects and null were refused above): a string, number or boolean.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
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

/** How {@link parseChart} checks `appVersion`. */
export interface AppVersionRule {
  /** `tag-pattern`: appVersion is a tag this pattern matches, with a version in its `version` group. */
  tagPattern?: RegExp
  /** Any string: for readers that only need the name or `version` (prune, chart names, the image entry). */
  anyAppVersion?: boolean
}

/**
 * Parses Chart.yaml text.
 *
 * @throws ChartError when the YAML is invalid, `name`, `version` or `appVersion` is missing, or
 *   `version`/`appVersion` is not SemVer 2 (a leading `v` is allowed in `appVersion`, as image tags often carry it).
 */
export function parseChart(text: string, file = 'Chart.yaml', options: AppVersionRule = {}): ChartMetadata {
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
  if (options.anyAppVersion) return { name, version, appVersion }
  if (options.tagPattern) {
    if (!parseTagWithPattern(appVersion, options.tagPattern)) {
      throw new ChartError(
        `${file}: appVersion '${appVersion}' does not match tag-pattern '${options.tagPattern.source}' with a version in its ` +
          `'version' group, so it cannot be compared with upstream tags; set it to the image tag the chart deploys`,
      )
    }
    return { name, version, appVersion }
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
    const range = node.range
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
    check = parseChart(out, file, { anyAppVersion: true })
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

/** The Artifact Hub annotation that lists a chart's images (artifacthub.io "Helm annotations"). */
export const IMAGES_ANNOTATION = 'artifacthub.io/images'
/** The Artifact Hub annotation that holds the changes of this chart version. */
export const CHANGES_ANNOTATION = 'artifacthub.io/changes'

/** One entry of `artifacthub.io/images`. */
export interface ArtifactHubImage {
  name?: string
  /** An image reference, e.g. `docker.io/rocicorp/zero:0.26.1`. */
  image: string
}

/** The string value of `annotations.<key>`, and its node, or undefined when absent. */
function annotation(doc: Document.Parsed, key: string): { node: Scalar; value: string } | undefined {
  const node = doc.getIn(['annotations', key], true)
  if (!isScalar(node) || typeof node.value !== 'string') return undefined
  return { node, value: node.value }
}

/**
 * The images a chart lists in `annotations: artifacthub.io/images` (a YAML list in a string:
 * `- name: …\n  image: repo:tag`), or an empty list when it has none.
 *
 * @throws ChartError when the annotation is there but is not such a list.
 */
export function artifactHubImages(text: string, file = 'Chart.yaml'): ArtifactHubImage[] {
  const found = annotation(load(text, file), IMAGES_ANNOTATION)
  if (!found) return []
  const list = parseDocument(found.value).toJS() as unknown
  if (
    !Array.isArray(list) ||
    !list.every((e) => typeof e === 'object' && e !== null && typeof (e as ArtifactHubImage).image === 'string')
  ) {
    throw new ChartError(`${file}: annotations.${IMAGES_ANNOTATION} must be a YAML list of entries with an 'image' (Artifact Hub's format)`)
  }
  return (list as ArtifactHubImage[]).map((e) => ({ name: typeof e.name === 'string' ? e.name : undefined, image: e.image }))
}

/**
 * The entry of `images` whose tag is `appVersion` (Artifact Hub's convention for the image a chart
 * deploys; a pinned `@sha256:` digest after the tag is allowed), with its repository (the reference
 * without tag and digest); undefined when none is.
 */
export function imageAtAppVersion(images: ArtifactHubImage[], appVersion: string): (ArtifactHubImage & { repository: string }) | undefined {
  for (const entry of images) {
    const tagged = entry.image.split('@')[0]
    if (tagged.endsWith(`:${appVersion}`)) return { ...entry, repository: tagged.slice(0, -`:${appVersion}`.length) }
  }
  return undefined
}

/** True for a block scalar (`|`, `>` and their chomping and indentation forms). */
function isBlock(node: Scalar): boolean {
  return node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED
}

/** The text before an annotation's key on its line (its indentation). */
function pairIndent(doc: Document.Parsed, text: string, key: string): string {
  const pair = (doc.get('annotations', true) as { items: { key: Scalar; value: Scalar }[] }).items.find(
    (p) => isScalar(p.key) && p.key.value === key,
  )!
  const keyStart = (pair.key.range as Range)[0]
  return text.slice(text.lastIndexOf('\n', keyStart - 1) + 1, keyStart)
}

/**
 * The span a flow (quoted or plain) annotation value is re-written over: from just after the
 * key's colon to the end of the value's last line, line break included.
 */
function valueSpan(doc: Document.Parsed, text: string, key: string, node: Scalar): [number, number] {
  const pair = (doc.get('annotations', true) as { items: { key: Scalar; value: Scalar }[] }).items.find(
    (p) => isScalar(p.key) && p.key.value === key,
  )!
  const colon = text.indexOf(':', (pair.key.range as Range)[1]) + 1
  const valueEnd = (node.range as Range)[1]
  const lineEnd = text.indexOf('\n', valueEnd)
  return [colon, lineEnd < 0 ? text.length : lineEnd + 1]
}

/**
 * `value` as a literal block scalar replacing `at` (see {@link valueSpan}): ` |` (`|-` when the
 * value has no final line break), a comment that followed the value (`after`, the rest of its
 * line) kept on the header line, then
 * each line at `indent`, ending in `eol`.
 */
function literalBlock(value: string, after: string, indent: string, eol: string): string {
  const comment = /^[ \t]+#[^\r\n]*/.exec(after)?.[0] ?? ''
  const lines = value.replace(/\n$/, '').split('\n')
  return ` |${value.endsWith('\n') ? '' : '-'}${comment}${eol}${lines.map((l) => (l ? `${indent}${l}` : '')).join(eol)}${eol}`
}

/** This release's entry of `artifacthub.io/changes`. */
export interface ArtifactHubChange {
  description: string
  /** A link shown with the change (the upstream release notes). */
  link?: { name: string; url: string }
}

/**
 * Keeps a chart's Artifact Hub annotations in step with an `appVersion` change, editing only the
 * annotations' own text (every other byte, comment and quote stays):
 * - in `artifacthub.io/images`, each image whose tag is `from` gets the tag `to` (a digest pinned
 *   after it, `@sha256:…`, would describe the old image, so it is dropped);
 * - `artifacthub.io/changes` is replaced with this release's one entry (`kind: changed`), as
 *   Artifact Hub shows the changes of each version; it is added after `artifacthub.io/images` when
 *   the chart lists images but no changes.
 * A chart without these annotations is returned unchanged.
 *
 * An annotation written as a quoted or plain scalar is re-written as a literal block (`|`) holding
 * the same value, so every valid form can be edited; the file's line ending (LF or CRLF) is kept.
 *
 * @returns the new text, and what was changed (for the log).
 * @throws ChartError when the result would not parse (the file is left as it was).
 */
export function setArtifactHubAnnotations(
  text: string,
  update: { from: string; to: string; change: ArtifactHubChange },
  file = 'Chart.yaml',
): { text: string; changed: string[] } {
  const doc = load(text, file)
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  const edits: { at: [number, number]; text: string }[] = []
  const changed: string[] = []
  const images = annotation(doc, IMAGES_ANNOTATION)
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const re = new RegExp(
    `(image["']?:[ \\t]*["']?[^\\s"'#]+?):${escape(update.from)}(?:@sha256:[0-9a-f]{64})?` +
      `(?=["']?(?:[ \\t]*(?:#[^\\r\\n]*)?\\r?$|[ \\t]*[,}\\]]))`,
    'gm',
  )
  /** Where the images annotation's text ends (the changes annotation goes after it). */
  let imagesEnd = 0
  if (images) {
    const retag = (source: string) => source.replace(re, (_m, head: string) => `${head}:${update.to}`)
    if (isBlock(images.node)) {
      const [start, end] = images.node.range as Range
      imagesEnd = end
      const source = text.slice(start, end)
      if (retag(source) !== source) edits.push({ at: [start, end], text: retag(source) })
    } else {
      // A quoted or plain scalar: re-written as a literal block (same value, the tag changed), so
      // the changes annotation can follow it on a line of its own.
      const at = valueSpan(doc, text, IMAGES_ANNOTATION, images.node)
      imagesEnd = at[1]
      edits.push({
        at,
        text: literalBlock(
          retag(images.value),
          text.slice((images.node.range as Range)[1], at[1]),
          pairIndent(doc, text, IMAGES_ANNOTATION) + '  ',
          eol,
        ),
      })
    }
    if (retag(images.value) !== images.value) changed.push(`${IMAGES_ANNOTATION}: tag ${update.from} → ${update.to}`)
  }
  const changes = annotation(doc, CHANGES_ANNOTATION)
  if (changes || images) {
    const anchor = (changes ?? images)!
    // The indentation of the annotation's content lines: from a block's first line, else the key's plus two.
    const [start, end] = anchor.node.range as Range
    const firstLine = isBlock(anchor.node) ? (text.slice(start, end).split('\n')[1] ?? '') : ''
    const indent = /^[ ]*/.exec(firstLine)![0] || `${pairIndent(doc, text, changes ? CHANGES_ANNOTATION : IMAGES_ANNOTATION)}  ` || '    '
    const entry = [
      '- kind: changed',
      `  description: ${JSON.stringify(update.change.description)}`,
      ...(update.change.link
        ? ['  links:', `    - name: ${JSON.stringify(update.change.link.name)}`, `      url: ${JSON.stringify(update.change.link.url)}`]
        : []),
    ]
    const block = `|${eol}${entry.map((l) => `${indent}${l}`).join(eol)}${eol}`
    if (changes && isBlock(changes.node)) {
      edits.push({ at: [start, end], text: block })
    } else if (changes) {
      const at = valueSpan(doc, text, CHANGES_ANNOTATION, changes.node)
      edits.push({ at, text: literalBlock(`${entry.join('\n')}\n`, text.slice((changes.node.range as Range)[1], at[1]), indent, eol) })
    } else {
      // Add the key after the images block, at the images key's own indentation.
      edits.push({ at: [imagesEnd, imagesEnd], text: `${pairIndent(doc, text, IMAGES_ANNOTATION)}${CHANGES_ANNOTATION}: ${block}` })
    }
    changed.push(`${CHANGES_ANNOTATION}: ${update.change.description}`)
  }
  edits.sort((a, b) => b.at[0] - a.at[0])
  let out = text
  for (const e of edits) out = out.slice(0, e.at[0]) + e.text + out.slice(e.at[1])
  load(out, file)
  return { text: out, changed }
}

/**
 * The string at a dotted `path` of a values file (`metrics.collector.image.tag`), or undefined when
 * the path does not lead to a scalar.
 *
 * @throws ChartError when the YAML is invalid.
 */
export function valueAt(text: string, path: string, file = 'values.yaml'): string | undefined {
  const node = load(text, file).getIn(path.split('.'), true)
  if (!isScalar(node)) return undefined
  const { value } = node
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined
}

/**
 * Returns the values file with the scalar at `path` set to `value`, every other byte unchanged:
 * comments, order and the value's quoting stay (a plain `1.2.0` stays plain, `"1.2.0"` stays
 * double-quoted), as `appVersion` is edited in Chart.yaml.
 *
 * @throws ChartError when the path does not lead to a one-line scalar, or the result would not
 *   read back as written (the file is left as it was).
 */
export function setValueAt(text: string, path: string, value: string, file = 'values.yaml'): string {
  const node = load(text, file).getIn(path.split('.'), true)
  if (!isScalar(node) || !node.range) throw new ChartError(`${file} has no scalar at ${path} to update (values-images)`)
  const [start, end] = node.range
  const replacement = blockHeader(node, text) !== undefined ? renderBlock(text.slice(start, end), value) : render(value, node.type)
  if (replacement === undefined) throw new ChartError(`${file}: ${path} is a block scalar over several lines; write it on one line`)
  const out = text.slice(0, start) + replacement + text.slice(end)
  if (valueAt(out, path, file) !== value) {
    throw new ChartError(`${file}: setting ${path} to ${value} in place would not read back as written, so it was left unchanged`)
  }
  return out
}

/**
 * Retags one image of the `artifacthub.io/images` annotation: the entry `image: <repository>:<from>`
 * (with or without Docker Hub's `docker.io/` prefix) becomes `<repository>:<to>`; nothing else
 * changes. Used for the images `values-images` follows.
 *
 * @returns the new text (the same text when no entry matches).
 */
export function retagArtifactHubImage(text: string, repository: string, from: string, to: string): string {
  const bare = repository.replace(/^docker\.io\//, '').replace(/^library\//, '')
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const names = [...new Set([repository, bare, `docker.io/${bare}`, `docker.io/library/${bare}`])].map(escape).join('|')
  const re = new RegExp(`(image["']?:[ \\t]*["']?)(${names}):${escape(from)}(?=["']?(?:[ \\t]*(?:#[^\\r\\n]*)?\\r?$|[ \\t]*[,}\\]]))`, 'gm')
  return text.replace(re, (_m, head: string, name: string) => `${head}${name}:${to}`)
}
