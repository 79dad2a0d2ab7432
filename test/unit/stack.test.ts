import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { sourceMappedStack } from '../../src/stack.js'

const DIST = new URL('../../dist', import.meta.url).pathname
const ROOT = new URL('../..', import.meta.url).pathname

/** 1-based line and column of the first `needle` in `text`. */
function position(text: string, needle: string): { line: number; column: number } {
  const at = text.indexOf(needle)
  if (at < 0) throw new Error(`'${needle}' not found`)
  const before = text.slice(0, at).split('\n')
  return { line: before.length, column: before[before.length - 1].length + 1 }
}

/** The committed bundle file that defines `needle`. */
function bundleFileWith(needle: string): string {
  const name = readdirSync(DIST).find((n) => n.endsWith('.js') && readFileSync(join(DIST, n), 'utf8').includes(needle))
  if (!name) throw new Error(`no bundle file defines '${needle}'`)
  return join(DIST, name)
}

/** Line of the first `needle` in a source file. */
function sourceLine(file: string, needle: string): number {
  return position(readFileSync(join(ROOT, file), 'utf8'), needle).line
}

/** Stack frames of the real, minified bundle (dist/) name the TypeScript sources. */
describe('sourceMappedStack', () => {
  it.each([
    ['selectVersion', 'function selectVersion(', 'src/versions.ts', 'export function selectVersion('],
    ['PackagesClient', 'class PackagesClient', 'src/github/packages.ts', 'export class PackagesClient'],
  ])('maps a frame in %s to its source line', (fn, needle, source, sourceNeedle) => {
    const file = bundleFileWith(needle)
    // The frame points at the name (a token the maps record), as V8 does for a call of it.
    const at = position(readFileSync(file, 'utf8'), needle)
    at.column += needle.indexOf(fn)
    const stack = [
      'Error: boom',
      `    at ${fn} (${pathToFileURL(file).href}:${at.line}:${at.column})`,
      `    at ${fn} (${file}:${at.line}:${at.column})`,
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
    ].join('\n')
    const mapped = sourceMappedStack(stack).split('\n')
    const line = sourceLine(source, sourceNeedle)
    for (const frame of mapped.slice(1, 3)) expect(frame).toMatch(new RegExp(`^    at ${fn} \\(${source}:${line}:\\d+\\)$`))
    expect(mapped[0]).toBe('Error: boom')
    expect(mapped[3]).toBe('    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)')
  })

  it('leaves frames of files without a source map as they are', () => {
    const stack = 'Error: x\n    at f (/nonexistent/file.js:1:2)\n    at g (file:///also/nowhere.js:3:4)'
    expect(sourceMappedStack(stack)).toBe(stack)
  })
})
