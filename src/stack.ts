import { readFileSync } from 'node:fs'
import { SourceMap, type SourceMapPayload } from 'node:module'
import { dirname, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Stack traces that name the TypeScript sources, for the rare report of an unexpected error.
 *
 * The bundle ships source maps (dist/*.js.map). Turning on Node's own source-map support
 * (`process.setSourceMapsEnabled(true)`) would make every run read and parse them (about 2 MB of
 * JSON, some 20 ms on a runner) while nearly every run throws nothing; so the maps are read only
 * here, when a stack is about to be shown, with Node's own decoder (`node:module` `SourceMap`,
 * Source Map Revision 3).
 */

/** Maps per bundle file (null: the file has no readable map). */
const maps = new Map<string, SourceMap | null>()

function mapFor(file: string): SourceMap | null {
  let map = maps.get(file)
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as SourceMapPayload)
    } catch {
      map = null
    }
    maps.set(file, map)
  }
  return map
}

/**
 * A map's source as a path from the action's root (the directory above dist/):
 * `../src/pipeline.ts` (relative to the map) or `webpack://zero-cache-chart/./src/pipeline.ts` →
 * `src/pipeline.ts`.
 */
function sourceName(source: string, bundleFile: string): string {
  if (source.startsWith('webpack://')) return source.replace(/^webpack:\/\/[^/]*\/(?:\.\/)?/, '')
  const dir = dirname(bundleFile)
  return relative(dirname(dir), resolve(dir, source))
}

/**
 * Rewrites each frame of `stack` that points into a bundle file with a source map
 * (`…/dist/574.index.js:1:2345`, as a path or a `file:` URL) to the original position
 * (`src/pipeline.ts:210:11`); other frames (Node's own, files without maps) stay as they are.
 * Never throws: a map that cannot be read leaves the frame unchanged.
 */
export function sourceMappedStack(stack: string): string {
  return stack.replace(/((?:file:\/\/)?\/[^\s():]+\.js):(\d+):(\d+)/g, (frame: string, location: string, line: string, column: string) => {
    let file: string
    try {
      file = location.startsWith('file:') ? fileURLToPath(location) : location
    } catch {
      return frame
    }
    const map = mapFor(file)
    if (!map) return frame
    const entry = map.findEntry(Number(line) - 1, Number(column) - 1) as Partial<{
      originalSource: string
      originalLine: number
      originalColumn: number
    }>
    if (!entry.originalSource || entry.originalLine === undefined || entry.originalColumn === undefined) return frame
    return `${sourceName(entry.originalSource, file)}:${entry.originalLine + 1}:${entry.originalColumn + 1}`
  })
}

/**
 * The last resort for an error nobody caught (a bug): one `::error::` workflow command holding the
 * message and the stack mapped to src/ (its newlines escaped, so it is one line of the log), and
 * exit code 1. Never prints bundle source. Used for `uncaughtException`, `unhandledRejection` and
 * an error escaping `run()`.
 */
export function failUnexpected(error: unknown): void {
  let text: string
  try {
    text = error instanceof Error && error.stack ? sourceMappedStack(error.stack) : String(error)
  } catch {
    text = String(error)
  }
  const escaped = `unexpected error: ${text}`.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
  process.stdout.write(`::error::${escaped}\n`)
  process.exitCode = 1
}
