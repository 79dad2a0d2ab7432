import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { useApiDouble, useRegistry } from '../support/fixtures.js'
import type { TestRemote } from '../support/git.js'
import { NOISE_TAGS, REGISTRY_PASSWORD, REGISTRY_USER, releaseHistory } from '../support/registry.js'
import type { ActionRun } from '../support/runner.js'
import { explain, linkRemote, REPOSITORY, scenario, visibleLog } from '../support/scenario.js'

/**
 * github-release and dispatch-workflow end to end: the bundled action, a bare git remote, the
 * loopback registry, real helm (Helm 4: reproducible archives), and the GitHub API double
 * (releases, release assets, workflow dispatch; every answer checked against GitHub's OpenAPI
 * description).
 */

const INPUTS = ['chart', 'version', 'tag', 'digest']
const history = releaseHistory()
const tagsUntil = (date: string) => [...history.filter((h) => h.date <= date).map((h) => h.tag), ...NOISE_TAGS]
const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`

describe('github-release and dispatch-workflow', () => {
  const parts = useRegistry(async (registry) => {
    await Promise.all(['2026-06-06', '2026-08-14'].map((d) => registry.seedTags(`rocicorp/zero-${d}`, tagsUntil(d))))
  })
  const apis = useApiDouble()

  async function setup(workflowInputs = INPUTS) {
    await apis.start()
    const s = scenario(parts.registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
    linkRemote(apis.api, s.remote)
    apis.api.addWorkflow(REPOSITORY, 'deploy.yml', workflowInputs)
    const run = (date: string, extra: Record<string, string> = {}) =>
      s.run(
        { image: `${parts.registry.host}/rocicorp/zero-${date}`, 'github-token': 'ghs_double', ...extra },
        { context: { actor: REGISTRY_USER, token: REGISTRY_PASSWORD, apiUrl: apis.api.url } },
      )
    /** The chart's archive as the registry holds it: the manifest's one layer. */
    const layerDigest = async (version: string) => (await parts.registry.manifest(s.chartRepo, version)).manifest.layers[0].digest
    return { ...s, run, layerDigest, releases: () => apis.api.releases.get(REPOSITORY)! }
  }
  const ok = (r: ActionRun, remote: TestRemote) => expect(r.exitCode, explain(r, remote)).toBe(0)

  it('each release gets a Release with notes and the pushed chart attached, and one dispatch', async () => {
    const c = await setup()
    const on = { 'github-release': 'true', 'dispatch-workflow': 'deploy.yml' }
    const first = await c.run('2026-06-06', on)
    ok(first, c.remote)
    expect(c.releases()).toHaveLength(1)
    const [r1] = c.releases()
    expect(r1).toMatchObject({ tag: 'v2.0.0', name: 'zero-cache 2.0.0', prerelease: false })
    // The first tag names the upstream change too (issue 20): the run knows what it changed.
    expect(r1.body).toContain('`appVersion` `0.26.1` → `1.6.1`')
    expect(r1.body).toContain(`helm install zero-cache oci://${parts.registry.host}/${c.ns}/zero-cache --version 2.0.0`)
    expect(r1.body).toContain(`Manifest digest: \`${first.outputs['chart-digest']}\``)
    expect(r1.body).toContain('- chore(chart): update appVersion to 1.6.1')
    expect(r1.body).toContain('- feat: zero-cache chart')
    expect(r1.assets.map((a) => a.name)).toEqual(['zero-cache-2.0.0.tgz'])
    // The attached file is byte for byte the chart in the parts.registry.
    expect(sha256(r1.assets[0].data)).toBe(await c.layerDigest('2.0.0'))
    expect(apis.api.dispatches).toEqual([
      {
        workflow: 'deploy.yml',
        ref: 'main',
        inputs: { chart: 'zero-cache', version: '2.0.0', tag: 'v2.0.0', digest: first.outputs['chart-digest'] },
      },
    ])
    expect(first.outputs['release-url']).toBe(`https://github.com/${REPOSITORY}/releases/tag/v2.0.0`)
    expect(first.summary).toContain('GitHub Release')

    // Nothing new: no Release write, no dispatch.
    const writes = apis.api.log.filter((l) => l.method !== 'GET').length
    const idle = await c.run('2026-06-06', on)
    ok(idle, c.remote)
    expect(apis.api.log.filter((l) => l.method !== 'GET').length).toBe(writes)
    expect(apis.api.dispatches).toHaveLength(1)
    expect(idle.outputs['release-url']).toBe(`https://github.com/${REPOSITORY}/releases/tag/v2.0.0`)

    // The next release's notes start at the previous tag.
    const next = await c.run('2026-08-14', on)
    ok(next, c.remote)
    expect(c.releases()).toHaveLength(2)
    const r2 = c.releases()[1]
    expect(r2.tag).toBe('v2.0.1')
    expect(r2.body).toContain('`appVersion` `1.6.1` → `1.9.0`')
    expect(r2.body).toContain('### Changes to `charts/zero-cache` since v2.0.0')
    expect(r2.body).toContain('- chore(chart): update appVersion to 1.9.0')
    expect(r2.body).not.toContain('feat: zero-cache chart')
    expect(apis.api.dispatches.map((d) => d.inputs.tag)).toEqual(['v2.0.0', 'v2.0.1'])
  })

  it('a Release left half-made is completed: notes filled, the chart packaged again at the tag and attached', async () => {
    const c = await setup()
    ok(await c.run('2026-06-06'), c.remote) // released without github-release: tag v2.0.0 and chart 2.0.0
    apis.api.addRelease(REPOSITORY, { tag: 'v2.0.0' }) // a run that died after creating the Release
    const r = await c.run('2026-06-06', { 'github-release': 'true', 'dispatch-workflow': 'deploy.yml' })
    ok(r, c.remote)
    expect(c.releases()).toHaveLength(1)
    const [release] = c.releases()
    expect(release.body).toContain('helm install zero-cache')
    expect(release.assets.map((a) => a.name)).toEqual(['zero-cache-2.0.0.tgz'])
    // Packaged again from the tag's commit, it is the same archive as the one published (Helm 4).
    expect(sha256(release.assets[0].data)).toBe(await c.layerDigest('2.0.0'))
    expect(visibleLog(r)).toContain('packaged zero-cache-2.0.0.tgz at')
    // Issue 18, item 2: a released version without the record of its dispatch is dispatched, once.
    expect(
      apis.api.dispatches.map((d) => d.inputs.tag),
      'no record of a dispatch for v2.0.0: one now',
    ).toEqual(['v2.0.0'])
    expect(r.outputs.pushed).toBe('false')
    ok(await c.run('2026-06-06', { 'github-release': 'true', 'dispatch-workflow': 'deploy.yml' }), c.remote)
    expect(apis.api.dispatches, 'recorded: not again').toHaveLength(1)
  })

  it('a Release missing after a crash between tag and Release is created by the next run', async () => {
    const c = await setup()
    ok(await c.run('2026-06-06'), c.remote)
    const r = await c.run('2026-06-06', { 'github-release': 'true' })
    ok(r, c.remote)
    expect(c.releases().map((x) => x.tag)).toEqual(['v2.0.0'])
    expect(c.releases()[0].assets).toHaveLength(1)
  })

  it('a dry run names the Release and the dispatch it would make, and writes nothing', async () => {
    const c = await setup()
    const r = await c.run('2026-06-06', { 'github-release': 'true', 'dispatch-workflow': 'deploy.yml', 'dry-run': 'true' })
    ok(r, c.remote)
    expect(visibleLog(r)).toContain(
      'would: create the GitHub Release of v2.0.0 as a draft, add the notes and zero-cache-2.0.0.tgz, then publish it',
    )
    expect(visibleLog(r)).toContain('would: start workflow deploy.yml on main (workflow_dispatch) for v2.0.0')
    expect(c.releases()).toEqual([])
    expect(apis.api.dispatches).toEqual([])
  })

  it('a workflow that does not declare the inputs: the error says which, after the release is complete', async () => {
    const c = await setup(['chart', 'version'])
    const r = await c.run('2026-06-06', { 'github-release': 'true', 'dispatch-workflow': 'deploy.yml' })
    expect(r.exitCode, explain(r, c.remote)).toBe(1)
    expect(visibleLog(r)).toContain('Unexpected inputs provided: ["tag","digest"]')
    expect(visibleLog(r)).toContain('on.workflow_dispatch trigger with the inputs chart, version, tag, digest')
    expect(c.releases()[0].assets).toHaveLength(1)
    expect([...c.remote.tags().keys()]).toEqual(['v2.0.0'])
  })
})
