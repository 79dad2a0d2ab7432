import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { expandChartPaths, followedImage } from '../../src/chart/targets.js'
import { ChartError } from '../../src/errors.js'

function workspace(charts: Record<string, string>): string {
  const ws = mkdtempSync(join(tmpdir(), 'zcc-charts-'))
  for (const [dir, chartYaml] of Object.entries(charts)) {
    mkdirSync(join(ws, dir), { recursive: true })
    if (chartYaml) writeFileSync(join(ws, dir, 'Chart.yaml'), chartYaml)
  }
  return ws
}
const chart = (name: string, appVersion = '1.0.0', image?: string) =>
  `apiVersion: v2\nname: ${name}\nversion: 0.1.0\nappVersion: "${appVersion}"\n` +
  (image ? `annotations:\n  artifacthub.io/images: |\n    - name: ${name}\n      image: ${image}\n` : '')

describe('expandChartPaths', () => {
  const ws = workspace({ 'charts/b': chart('b'), 'charts/a': chart('a'), 'charts/notachart': '', 'other/c': chart('c') })
  it('a plain directory is one chart, as given', async () => {
    expect(await expandChartPaths(ws, ['charts/a'])).toEqual({ charts: [{ path: 'charts/a', dir: join(ws, 'charts/a') }], several: false })
  })
  it('a glob is every matching directory holding a Chart.yaml, in name order', async () => {
    const { charts, several } = await expandChartPaths(ws, ['charts/*'])
    expect(charts.map((c) => c.path)).toEqual(['charts/a', 'charts/b'])
    expect(several).toBe(true)
  })
  it('a list (and braces), duplicates dropped, trailing slashes ignored', async () => {
    const { charts, several } = await expandChartPaths(ws, ['other/c', 'charts/{a,b}', 'charts/a/'])
    expect(charts.map((c) => c.path)).toEqual(['other/c', 'charts/a', 'charts/b'])
    expect(several).toBe(true)
  })
  it('a glob that matches no chart is an error naming it', async () => {
    await expect(expandChartPaths(ws, ['nothing/*'])).rejects.toThrow(
      new ChartError("chart-path 'nothing/*' matches no chart (no directory with a Chart.yaml)"),
    )
  })
})

describe('followedImage', () => {
  it('is the artifacthub.io/images entry at appVersion, tag and digest dropped', async () => {
    const ws = workspace({
      x: chart('x', '0.26.1', `docker.io/rocicorp/zero:0.26.1@sha256:${'a'.repeat(64)}`),
      y: chart('y', '2.0.0', 'ghcr.io/acme/tool:1.0.0'),
      z: chart('z'),
    })
    expect(await followedImage(join(ws, 'x'))).toMatchObject({ registry: 'docker.io', repository: 'rocicorp/zero' })
    expect(await followedImage(join(ws, 'y'))).toBeUndefined() // listed, but not at appVersion
    expect(await followedImage(join(ws, 'z'))).toBeUndefined()
  })
  it('an image that is not a reference is an error naming the chart', async () => {
    const ws = workspace({ x: chart('x', '1.0.0', 'Not/A/Valid:1.0.0') })
    await expect(followedImage(join(ws, 'x'))).rejects.toThrow(/artifacthub\.io\/images names 'Not\/A\/Valid:1\.0\.0'/)
  })
})
