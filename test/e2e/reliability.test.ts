import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CHART_SOURCE, type TestRemote } from '../support/git.js'
import { startRegistry, type TestRegistry } from '../support/registry.js'
import type { ActionRun } from '../support/runner.js'
import { explain, scenario, seedUpstream } from '../support/scenario.js'

/**
 * One end-to-end test per defect of issue 9 (each failed before its fix), through dist/index.js
 * against docker-registry, a bare git remote and Helm 4.
 */

const chartYaml = readFileSync(join(CHART_SOURCE, 'Chart.yaml'), 'utf8')

describe('reliability defects', () => {
  let registry: TestRegistry
  const remotes: TestRemote[] = []
  beforeAll(async () => {
    registry = await startRegistry()
    await seedUpstream(registry)
  })
  afterAll(async () => {
    await registry?.stop()
    for (const r of remotes) r.cleanup()
  })
  const setup = (chart: { version: string; appVersion: string; chartYaml?: string }) => scenario(registry.host, chart, { remotes })

  async function expectNothingWritten(r: ActionRun, s: ReturnType<typeof setup>, message: string | RegExp) {
    expect(r.exitCode, explain(r, s.remote)).toBe(1)
    expect(r.log).toMatch(typeof message === 'string' ? new RegExp(`::error::${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) : message)
    expect(r.log).not.toContain('unexpected error')
    expect(s.remote.log()).toHaveLength(1)
    expect([...s.remote.tags().keys()]).toEqual([])
    expect(await registry.listTags(s.chartRepo)).toEqual([])
  }

  describe('5: inputs that passed validation and broke later are refused up front', () => {
    it.each([
      [{ 'tag-format': 'release' }, "input 'tag-format': 'release' has no {version}"],
      [{ 'max-age-days': '1e9' }, "input 'max-age-days': '1e9' is not a number of days from 0 to 3650"],
    ])('%o', async (inputs, message) => {
      const s = setup({ version: '1.4.2', appVersion: '0.26.1' })
      await expectNothingWritten(await s.run(inputs), s, message)
    })
  })

  it('6: a workspace reached through a symlink', async () => {
    const s = setup({ version: '1.4.2', appVersion: '0.26.1' })
    const link = join(mkdtempSync(join(tmpdir(), 'zcc-link-')), 'workspace')
    symlinkSync(s.remote.checkout(), link)
    const r = await s.run({}, { workspace: link })
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    expect(r.outputs).toMatchObject({ updated: 'true', 'chart-version': '2.0.0', pushed: 'true' })
  })

  describe('8: appVersion written as a block scalar', () => {
    it('>- is edited in place, header and indentation kept', async () => {
      const text = chartYaml.replace(/^version:.*$/m, 'version: 1.4.2').replace(/^appVersion:.*$/m, 'appVersion: >-\n  0.26.1')
      const s = setup({ version: '1.4.2', appVersion: '0.26.1', chartYaml: text })
      const r = await s.run()
      expect(r.exitCode, explain(r, s.remote)).toBe(0)
      expect(r.outputs).toMatchObject({ 'app-version': '1.9.0', 'chart-version': '2.0.0', pushed: 'true' })
      expect(s.remote.chartYaml() + '\n').toBe(text.replace('version: 1.4.2', 'version: 2.0.0').replace('appVersion: >-\n  0.26.1', 'appVersion: >-\n  1.9.0'))
    })

    it('> (clip chomping, a line break in the value) is refused, naming the form', async () => {
      const text = chartYaml.replace(/^version:.*$/m, 'version: 1.4.2').replace(/^appVersion:.*$/m, 'appVersion: >\n  0.26.1')
      const s = setup({ version: '1.4.2', appVersion: '0.26.1', chartYaml: text })
      await expectNothingWritten(await s.run(), s, /::error::charts\/zero-cache\/Chart\.yaml: 'appVersion' is "0\.26\.1\\n", with white space around the version \(written as a folded block scalar \('>'\)/)
    })
  })
})
