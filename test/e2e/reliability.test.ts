import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CHART_SOURCE, type TestRemote } from '../support/git.js'
import { startProxy, type Fault, type FaultProxy } from '../support/proxy.js'
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
  /** In front of the registry and its token service, for answers the registry itself never gives. */
  let proxy: FaultProxy
  const remotes: TestRemote[] = []
  beforeAll(async () => {
    registry = await startRegistry()
    proxy = await startProxy({ target: registry.host, token: registry.realm })
    await seedUpstream(registry)
  })
  afterAll(async () => {
    await proxy?.stop()
    await registry?.stop()
    for (const r of remotes) r.cleanup()
  })
  const setup = (chart: { version: string; appVersion: string; chartYaml?: string }) => scenario(registry.host, chart, { remotes })

  async function expectNothingWritten(r: ActionRun, s: { remote: TestRemote; chartRepo: string }, message: string | RegExp) {
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

  describe('7: an unparseable answer is a clear error naming the endpoint and status', () => {
    const TRUNCATED_TOKEN = '{"token":"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3Mi'
    it.each<[string, Omit<Fault, 'name'>, RegExp]>([
      [
        'tags/list: an HTML page with status 200',
        { path: /\/v2\/rocicorp\/zero\/tags\/list$/, onStatus: 200, do: { replaceBody: '<html><body><h1>502 Bad Gateway</h1></body></html>', contentType: 'text/html' } },
        /::error::127\.0\.0\.1:\d+\/rocicorp\/zero: GET 127\.0\.0\.1:\d+\/v2\/rocicorp\/zero\/tags\/list answered HTTP 200 with a body that is not JSON \(text\/html, 50 bytes, starting "<html>/,
      ],
      [
        'tags/list: truncated JSON',
        { path: /\/v2\/rocicorp\/zero\/tags\/list$/, onStatus: 200, do: { replaceBody: '{"name":"rocicorp/zero","tags":["0.1' } },
        /::error::.*tags\/list answered HTTP 200 with a body that is not JSON \(application\/json[^,]*, 36 bytes, starting/,
      ],
      [
        'the token endpoint: truncated JSON that holds part of a token',
        { to: 'token', onStatus: 200, do: { replaceBody: TRUNCATED_TOKEN, contentType: 'application/json' } },
        /::error::127\.0\.0\.1:\d+\/rocicorp\/zero: GET 127\.0\.0\.1:\d+\/token answered HTTP 200 with a body that is not JSON \(application\/json, 55 bytes\); the registry or a proxy in front of it is misbehaving/,
      ],
    ])('%s', async (_name, fault, message) => {
      proxy.reset()
      proxy.inject({ name: 'broken body', ...fault })
      const s = scenario(proxy.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes })
      const r = await s.run()
      expect(proxy.applied()).toEqual({ 'broken body': 1 })
      await expectNothingWritten(r, s, message)
      expect(r.log).not.toMatch(/SyntaxError|    at /)
      expect(r.log).not.toContain(TRUNCATED_TOKEN.slice(10))
    })
  })
})
