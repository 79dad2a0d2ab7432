import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import type { TestRemote } from '../support/git.js'
import { NOISE_TAGS, releaseHistory, startRegistry, type TestRegistry } from '../support/registry.js'
import { startCountingProxy } from '../support/proxy.js'
import { explain, scenario, visibleLog } from '../support/scenario.js'

/**
 * Several charts in one step, end to end: a repository of three charts (zero-cache following
 * rocicorp/zero, `cache` following valkey, `plain` following nothing), the loopback registry,
 * real helm and a bare git remote. Each chart names its image in artifacthub.io/images.
 */

const history = releaseHistory()
const zeroTags = [...history.filter((h) => h.date <= '2026-06-06').map((h) => h.tag), ...NOISE_TAGS]

/** A small chart following `image` at `appVersion`; `broken` adds a template that fails helm lint. */
function chartFiles(dir: string, name: string, appVersion: string, image?: string, broken = false): Record<string, string> {
  return {
    [`${dir}/Chart.yaml`]:
      `# ${name}: a test chart\napiVersion: v2\nname: ${name}\nversion: 0.1.0\nappVersion: "${appVersion}"\n` +
      (image ? `annotations:\n  artifacthub.io/images: |\n    - name: ${name}\n      image: ${image}:${appVersion}\n` : ''),
    [`${dir}/values.yaml`]: 'replicas: 1\n',
    [`${dir}/templates/configmap.yaml`]:
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: "{{ .Values.replicas }}"\n',
    ...(broken ? { [`${dir}/templates/broken.yaml`]: 'value: {{ .Values.missing.field }}\n' } : {}),
  }
}

describe('several charts in one step', () => {
  let registry: TestRegistry
  const remotes: TestRemote[] = []
  beforeAll(async () => {
    registry = await startRegistry()
    await Promise.all([
      registry.seedTags('rocicorp/zero', zeroTags),
      registry.seedTags('library/valkey', ['7.2.0', '7.2.4', '8.0.1', 'latest']),
    ])
  })
  afterAll(async () => {
    await registry?.stop()
    for (const r of remotes) r.cleanup()
  })

  it('each chart releases on its own; one that fails lint fails the step by name, and the run after the fix releases it', async () => {
    const s = scenario(registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes })
    const zeroYaml = s.remote.chartYaml().replace('image: docker.io/rocicorp/zero:0.26.1', `image: ${registry.host}/rocicorp/zero:0.26.1`)
    s.remote.pushFiles(
      {
        'charts/zero-cache/Chart.yaml': zeroYaml,
        ...chartFiles('charts/cache', 'cache', '7.2.0', `${registry.host}/library/valkey`, true),
        ...chartFiles('charts/plain', 'plain', '1.0.0'),
      },
      'feat: three charts',
    )
    const commits = s.remote.log().length
    // No image input: each chart follows its own annotation.
    const run = () => s.run({ image: '', 'chart-path': 'charts/*' })

    const first = await run()
    expect(first.exitCode, explain(first, s.remote)).toBe(1)
    expect(visibleLog(first)).toContain('::error::1 of 3 charts failed: cache (charts/cache); the others were released')
    expect(visibleLog(first)).toMatch(/::notice::charts\/plain: skipped: its Chart.yaml lists no image/)
    // zero-cache: its own commit, tag {name}-{version} and chart version.
    expect(s.remote.log()).toHaveLength(commits + 1)
    expect(s.remote.log()[0]).toMatch(/ chore\(chart\): update zero-cache appVersion to 1\.6\.1$/) // the default names the chart (issue 18)
    expect([...s.remote.tags().keys()]).toEqual(['zero-cache-2.0.0'])
    expect(await registry.listTags(`${s.ns}/zero-cache`)).toEqual(['2.0.0'])
    expect(await registry.listTags(`${s.ns}/cache`)).toEqual([])
    const results = JSON.parse(first.outputs.charts) as Record<string, unknown>[]
    expect(results.map((r) => [r.path, r.name, r.updated, r.pushed])).toEqual([
      ['charts/cache', 'cache', false, false],
      ['charts/plain', 'plain', false, false], // named though skipped (issue 20)
      ['charts/zero-cache', 'zero-cache', true, true],
    ])
    expect(results[0].error).toMatch(/helm lint/)
    expect(results[1].skipped).toMatch(/lists no image/)
    expect(results[2]).toMatchObject({ 'app-version': '1.6.1', 'chart-version': '2.0.0', tag: 'zero-cache-2.0.0' })
    expect(first.outputs).toMatchObject({ updated: 'true', pushed: 'true', 'chart-version': '' })
    expect(first.summary).toContain('Helm chart sync: 3 charts')
    expect(first.summary).toContain('failed: ')
    expect(first.summary).toContain('<td>cache</td><td><code>charts/cache</code></td><td><code>7.2.0</code></td>')
    expect(first.summary).toContain('<h3>plain (charts/plain)</h3>\nskipped: its Chart.yaml lists no image')

    // The fix: the broken template goes; the next run releases cache (valkey 7.2.0 → 8.0.1: major) and leaves zero-cache alone.
    s.remote.pushFiles({ 'charts/cache/templates/broken.yaml': null }, 'fix(cache): drop the broken template')
    const second = await run()
    expect(second.exitCode, explain(second, s.remote)).toBe(0)
    expect(s.remote.log()).toHaveLength(commits + 3)
    expect(s.remote.log()[0]).toMatch(/ chore\(chart\): update cache appVersion to 8\.0\.1$/)
    expect([...s.remote.tags().keys()].sort()).toEqual(['cache-1.0.0', 'zero-cache-2.0.0'])
    expect(await registry.listTags(`${s.ns}/cache`)).toEqual(['1.0.0'])
    const cache = parse(s.remote.git(['show', 'main:charts/cache/Chart.yaml'], s.remote.dir)) as { annotations: Record<string, string> }
    expect(cache.annotations['artifacthub.io/images']).toContain(`image: ${registry.host}/library/valkey:8.0.1`)
    const again = JSON.parse(second.outputs.charts) as Record<string, unknown>[]
    expect(again.map((r) => [r.name, r.updated])).toEqual([
      ['cache', true],
      ['plain', false],
      ['zero-cache', false],
    ])
  })

  it('refuses an image input or a tag format without {name} with several charts, and runs nothing', async () => {
    const s = scenario(registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes })
    s.remote.pushFiles(chartFiles('charts/cache', 'cache', '7.2.0', `${registry.host}/library/valkey`), 'feat: two charts')
    const withImage = await s.run({ image: `${registry.host}/rocicorp/zero`, 'chart-path': 'charts/*' })
    expect(withImage.exitCode).toBe(1)
    expect(visibleLog(withImage)).toContain("input 'image': applies to one chart; chart-path names 2")
    const sameTags = await s.run({ image: '', 'chart-path': 'charts/zero-cache\ncharts/cache', 'tag-format': 'v{version}' })
    expect(sameTags.exitCode).toBe(1)
    expect(visibleLog(sameTags)).toContain("input 'tag-format': 'v{version}' has no {name}")
    const withValues = await s.run({ image: '', 'chart-path': 'charts/*', 'values-images': 'sidecar.image.tag=acme/sidecar' })
    expect(withValues.exitCode).toBe(1)
    expect(visibleLog(withValues)).toContain("input 'values-images': applies to one chart's values.yaml; chart-path names 2")
    expect([...s.remote.tags().keys()]).toEqual([])
  })

  it('artifacthub-repo: the artifacthub-repo.yml of a chart goes to its artifacthub.io tag, again only when it changes', async () => {
    const s = scenario(registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes })
    const metadata =
      'repositoryID: 3a4c1c52-5b6e-4bd8-9c53-4a3b0e4c7d10\nowners:\n  - name: Maintainer\n    email: maintainer@example.com\n'
    s.remote.pushFiles({ 'charts/zero-cache/artifacthub-repo.yml': metadata }, 'chore: Artifact Hub repository metadata')
    const run = () => s.run({ image: `${registry.host}/rocicorp/zero`, 'artifacthub-repo': 'true' })
    const first = await run()
    expect(first.exitCode, explain(first, s.remote)).toBe(0)
    const pushed = (await registry.manifest(`${s.ns}/zero-cache`, 'artifacthub.io')) as unknown as {
      manifest: { config: { mediaType: string; size: number }; layers: { mediaType: string; digest: string }[] }
    }
    expect(pushed.manifest.config).toMatchObject({ mediaType: 'application/vnd.cncf.artifacthub.config.v1+yaml', size: 0 })
    expect(pushed.manifest.layers).toEqual([
      expect.objectContaining({
        mediaType: 'application/vnd.cncf.artifacthub.repository-metadata.layer.v1.yaml',
        digest: `sha256:${createHash('sha256').update(metadata).digest('hex')}`,
      }),
    ])
    expect((await registry.listTags(`${s.ns}/zero-cache`)).sort()).toEqual(['2.0.0', 'artifacthub.io'])

    const idle = await run()
    expect(idle.exitCode, explain(idle, s.remote)).toBe(0)
    expect(visibleLog(idle)).not.toContain('Artifact Hub repository metadata')
    expect(idle.summary).toContain('holds charts/zero-cache/artifacthub-repo.yml as it is')

    s.remote.pushFiles({ 'charts/zero-cache/artifacthub-repo.yml': metadata.replace('Maintainer', 'Another') }, 'chore: new owner')
    const changed = await run()
    expect(changed.exitCode, explain(changed, s.remote)).toBe(0)
    expect(visibleLog(changed)).toContain('pushed charts/zero-cache/artifacthub-repo.yml to')
  })

  it('charts that follow one upstream repository share one listing of its tags', async () => {
    const proxy = await startCountingProxy(registry.host)
    try {
      const s = scenario(registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes })
      const zeroYaml = s.remote.chartYaml().replace('image: docker.io/rocicorp/zero:0.26.1', `image: ${proxy.host}/rocicorp/zero:0.26.1`)
      s.remote.pushFiles(
        { 'charts/zero-cache/Chart.yaml': zeroYaml, ...chartFiles('charts/zero-two', 'zero-two', '0.26.1', `${proxy.host}/rocicorp/zero`) },
        'feat: two charts following rocicorp/zero',
      )
      const listings = () => proxy.requests.filter((r) => r === 'GET /v2/rocicorp/zero/tags/list').length
      const one = await s.run({ image: `${proxy.host}/rocicorp/zero`, 'dry-run': 'true' })
      expect(one.exitCode, explain(one, s.remote)).toBe(0)
      const perListing = listings()
      expect(perListing).toBeGreaterThan(0)
      proxy.reset()
      const both = await s.run({ image: '', 'chart-path': 'charts/*', 'dry-run': 'true' })
      expect(both.exitCode, explain(both, s.remote)).toBe(0)
      expect(JSON.parse(both.outputs.charts).map((r: { name: string; updated: boolean }) => [r.name, r.updated])).toEqual([
        ['zero-cache', true],
        ['zero-two', true],
      ])
      expect(listings(), "the second chart reuses the first one's listing").toBe(perListing)
    } finally {
      await proxy.stop()
    }
  })
})
