import { readFile, realpath } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { artifactHubImages, imageAtAppVersion, parseChart } from './chart-file.js'
import { ChartError } from '../errors.js'
import { parseImageReference, InvalidReferenceError, type RepositoryReference } from '../oci/reference.js'

/**
 * Which charts a run maintains: the `chart-path` input as a list of directories and globs, and
 * the upstream image each chart follows.
 */

/** One chart directory a run maintains. */
export interface ChartTarget {
  /** As the user would write it, relative to the workspace: `charts/zero-cache`. */
  path: string
  /** Absolute. */
  dir: string
}

/**
 * Expands `chart-path` entries (one per line or comma-separated) into chart directories: a plain
 * entry is taken as it is (a missing Chart.yaml is reported by that chart's run); a glob
 * (`charts/*`, `charts/{a,b}`) stands for every directory it matches that holds a Chart.yaml, in
 * name order. The same directory reached twice (listed twice, or through a symlink) is kept once.
 *
 * @returns the charts, and whether the list came from a glob or several entries (the several-chart
 *   mode: `{name}-{version}` tags, a result per chart).
 * @throws ChartError when a glob matches no chart.
 */
export async function expandChartPaths(workspace: string, entries: string[]): Promise<{ charts: ChartTarget[]; several: boolean }> {
  const charts: ChartTarget[] = []
  const seen = new Set<string>()
  // By real path: a symlinked chart directory (or a link loop under a glob) is one chart, once.
  const add = async (path: string) => {
    const dir = isAbsolute(path) ? path : resolve(workspace, path)
    const real = await realpath(dir).catch(() => dir)
    if (seen.has(real)) return
    seen.add(real)
    charts.push({ path: relative(workspace, dir) || '.', dir })
  }
  let globbed = false
  for (const entry of entries) {
    const pattern = entry.replace(/\/+$/, '')
    // Glob characters only: tinyglobby (and picomatch) load on this path alone, not on every run.
    const { glob, isDynamicPattern } = /[*?[\]{}()!]/.test(pattern)
      ? await import('tinyglobby')
      : { glob: undefined, isDynamicPattern: () => false }
    if (!glob || !isDynamicPattern(pattern)) {
      await add(pattern)
      continue
    }
    globbed = true
    const files = await glob(`${pattern}/Chart.yaml`, { cwd: workspace, onlyFiles: true, absolute: true, ignore: ['**/node_modules/**'] })
    if (files.length === 0) throw new ChartError(`chart-path '${entry}' matches no chart (no directory with a Chart.yaml)`)
    for (const file of files.sort()) await add(file.slice(0, -'/Chart.yaml'.length))
  }
  return { charts, several: globbed || charts.length > 1 }
}

/**
 * The upstream image a chart follows, from its Chart.yaml in the checkout: the
 * `artifacthub.io/images` entry whose tag equals `appVersion` (Artifact Hub's convention), as a
 * repository reference (the tag dropped). Undefined when the chart lists no such image.
 *
 * @throws ChartError for a Chart.yaml that cannot be read or parsed, or an image that is not a
 *   valid reference.
 */
export async function followedImage(chartDir: string): Promise<RepositoryReference | undefined> {
  const file = join(chartDir, 'Chart.yaml')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new ChartError(
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? `${file} not found: set chart-path to the chart directory (the one holding Chart.yaml)`
        : `cannot read ${file}: ${(error as Error).message}`,
    )
  }
  const chart = parseChart(text, file, { anyAppVersion: true })
  const entry = imageAtAppVersion(artifactHubImages(text, file), chart.appVersion)
  if (!entry) return undefined
  try {
    return parseImageReference(entry.repository)
  } catch (error) {
    if (error instanceof InvalidReferenceError)
      throw new ChartError(`${file}: artifacthub.io/images names '${entry.image}': ${error.message}`)
    throw error
  }
}

/**
 * The `name` of each chart's Chart.yaml in the checkout, in order.
 *
 * @param strict when true, a chart whose Chart.yaml cannot be read or parsed throws its ChartError;
 *   otherwise it is left out (its own run reports it).
 */
export async function chartNames(charts: ChartTarget[], strict = false): Promise<{ name: string; path: string }[]> {
  const names: { name: string; path: string }[] = []
  for (const chart of charts) {
    const file = join(chart.dir, 'Chart.yaml')
    try {
      names.push({ name: parseChart(await readFile(file, 'utf8'), file, { anyAppVersion: true }).name, path: chart.path })
    } catch (error) {
      if (!strict) continue
      throw error instanceof ChartError ? error : new ChartError(`cannot read ${file}: ${(error as Error).message}`)
    }
  }
  return names
}
