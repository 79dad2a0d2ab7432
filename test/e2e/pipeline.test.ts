import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRemote, type TestRemote } from '../support/git.js'
import { NOISE_TAGS, REGISTRY_PASSWORD, REGISTRY_USER, releaseHistory, startRegistry, type TestRegistry } from '../support/registry.js'
import { HELM3_DIR, HELM4_DIR, runAction, type ActionRun } from '../support/runner.js'

/**
 * The bundled action against real parts: docker-registry with token auth on loopback (upstream
 * images and charts), a bare git remote, and the real helm — once with Helm 4, once with Helm 3.
 */

// Async only: the registry's token service runs in this process, so a synchronous child would deadlock.
const exec = promisify(execFile)
const history = releaseHistory()
const allTags = [...history.map((h) => h.tag), ...NOISE_TAGS]
/** Tags as the upstream had them on `date` (inclusive). */
const tagsUntil = (date: string) => [...history.filter((h) => h.date <= date).map((h) => h.tag), ...NOISE_TAGS]

/** The log as a reader of the run sees it: `::add-mask::` commands are consumed by the runner. */
const visibleLog = (run: ActionRun) => run.log.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n')

function explain(run: ActionRun, remote?: TestRemote): string {
  const state = remote ? `\nremote log:\n${remote.log().join('\n')}\nremote tags: ${[...remote.tags().keys()].join(', ')}` : ''
  return `exit ${run.exitCode}\noutputs: ${JSON.stringify(run.outputs)}${state}\nlog tail:\n${run.log.split('\n').slice(-40).join('\n')}`
}

describe.each([
  ['Helm 4', HELM4_DIR],
  ['Helm 3', HELM3_DIR],
])('pipeline with %s', (_label, helmDir) => {
  let registry: TestRegistry
  let n = 0
  const remotes: TestRemote[] = []

  beforeAll(async () => {
    registry = await startRegistry()
    await registry.seedTags('rocicorp/zero', allTags)
  })
  afterAll(async () => {
    await registry?.stop()
    for (const r of remotes) r.cleanup()
  })

  /** A fresh git remote and chart namespace for one test. */
  function setup(chart: { version: string; appVersion: string }) {
    const remote = createRemote(chart)
    remotes.push(remote)
    const ns = `acme/charts-${++n}`
    const inputs = {
      image: `${registry.host}/rocicorp/zero`,
      'oci-repo': `oci://${registry.host}/${ns}`,
      'plain-http': 'true',
    }
    const context = { actor: REGISTRY_USER, token: REGISTRY_PASSWORD }
    const run = (extra: Record<string, string> = {}, workspace = remote.checkout()) =>
      runAction({ workspace, inputs: { ...inputs, ...extra }, helmDir, home: remote.home, context })
    return { remote, ns, chartRepo: `${ns}/zero-cache`, run }
  }

  it('updates appVersion, bumps the chart version, commits, tags and publishes', async () => {
    const { remote, chartRepo, run } = setup({ version: '1.4.2', appVersion: '0.26.1' })
    const before = remote.chartYaml()
    const r = await run()
    expect(r.exitCode, explain(r, remote)).toBe(0)
    expect(r.outputs).toMatchObject({
      updated: 'true',
      'previous-app-version': '0.26.1',
      'app-version': '1.9.0',
      'chart-version': '2.0.0',
      tag: 'v2.0.0',
      pushed: 'true',
      'chart-ref': expect.stringMatching(/^oci:\/\/127\.0\.0\.1:\d+\/acme\/charts-\d+\/zero-cache:2\.0\.0$/),
      'chart-digest': expect.stringMatching(/^sha256:[a-f0-9]{64}$/),
    })
    // Chart.yaml: only the two values changed, comments and quoting kept.
    const after = remote.chartYaml()
    expect(after).toBe(before.replace('version: 1.4.2', 'version: 2.0.0').replace('appVersion: "0.26.1"', 'appVersion: "1.9.0"'))
    const log = remote.log()
    expect(log).toHaveLength(2)
    expect(log[0]).toMatch(/ chore\(chart\): update appVersion to 1\.9\.0$/)
    expect(remote.tags().get('v2.0.0')).toBe(log[0].split(' ')[0])
    expect(await registry.listTags(chartRepo)).toEqual(['2.0.0'])
    expect(r.summary).toContain('1.9.0')
    expect(visibleLog(r)).not.toContain(REGISTRY_PASSWORD)

    // helm pull of the published chart renders.
    const pulled = mkdtempSync(join(tmpdir(), 'zcc-pull-'))
    await exec(join(helmDir, 'helm'), ['pull', r.outputs['chart-ref'].replace(/:2\.0\.0$/, ''), '--version', '2.0.0', '--plain-http', '-d', pulled], { env: { ...process.env, HOME: remote.home } })
    const { stdout: rendered } = await exec(join(helmDir, 'helm'), ['template', 'zc', join(pulled, 'zero-cache-2.0.0.tgz'), '--set', 'common.database.upstream.url.value=postgres://u@db/x'])
    expect(rendered).toContain('docker.io/rocicorp/zero:1.9.0')

    // A second run finds everything in place and writes nothing.
    const again = await run()
    expect(again.exitCode, explain(again, remote)).toBe(0)
    expect(again.outputs).toMatchObject({ updated: 'false', pushed: 'false', 'chart-version': '2.0.0', 'app-version': '1.9.0', tag: 'v2.0.0' })
    expect(again.outputs['chart-digest']).toBe(r.outputs['chart-digest'])
    expect(remote.log()).toHaveLength(2)
    expect(await registry.listTags(chartRepo)).toEqual(['2.0.0'])
  })
})
