import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { GitHubApiDouble, type StoredVersion } from '../support/github-api.js'
import type { TestRemote } from '../support/git.js'
import { NOISE_TAGS, REGISTRY_PASSWORD, REGISTRY_USER, releaseHistory, startRegistry, type TestRegistry } from '../support/registry.js'
import { runAction, type ActionRun } from '../support/runner.js'
import { explain, scenario, visibleLog, type Scenario } from '../support/scenario.js'

/**
 * The defects of issue 18 outside the GitHub API features: several charts (prune, names, branches,
 * symlinks), Chart.yaml forms (quoted annotations, CRLF, upper-case names, appVersion without the
 * tag's v), tags (length, an earlier format), credentials, the lint gate, dry runs in a shallow
 * clone. End to end: the bundled action, a bare git remote, the loopback registry (token auth),
 * real helm. Each test failed on the bundle before the fix.
 */

const history = releaseHistory()
const zeroTags = [...history.filter((h) => h.date <= '2026-06-06').map((h) => h.tag), ...NOISE_TAGS]
const DAY = 24 * 60 * 60 * 1000

/** A small chart in `dir`: Chart.yaml as given (or a plain one), values and one template. */
function smallChart(dir: string, chartYaml: string): Record<string, string> {
  return {
    [`${dir}/Chart.yaml`]: chartYaml,
    [`${dir}/values.yaml`]: 'replicas: 1\n',
    [`${dir}/templates/configmap.yaml`]:
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: "{{ .Values.replicas }}"\n',
  }
}

describe('issue 18: defects found by trying the features as a user would', () => {
  let registry: TestRegistry
  const remotes: TestRemote[] = []
  let api: GitHubApiDouble | undefined

  beforeAll(async () => {
    registry = await startRegistry()
    await Promise.all([registry.seedTags('rocicorp/zero', zeroTags), registry.seedTags('acme/vapp', ['v1.2.3', 'v1.2.4', 'latest'])])
  })
  afterAll(async () => {
    await registry?.stop()
    for (const r of remotes) r.cleanup()
  })
  afterEach(async () => {
    if (!api) return
    expect(api.violations).toEqual([])
    await api.stop()
    api = undefined
  })

  const setup = () => scenario(registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes })
  const image = () => `${registry.host}/rocicorp/zero`
  const ok = (r: ActionRun, s: Scenario) => expect(r.exitCode, explain(r, s.remote)).toBe(0)
  /** Commits whatever `change` does to a fresh clone of main, as a maintainer, and pushes it. */
  const pushTree = (s: Scenario, change: (dir: string) => void, message: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'zcc-tree-'))
    s.remote.git(['clone', '--quiet', s.remote.url, dir])
    change(dir)
    s.remote.git(['add', '-A'], dir)
    s.remote.git(['-c', 'user.name=Maintainer', '-c', 'user.email=maintainer@example.com', 'commit', '--quiet', '-m', message], dir)
    s.remote.git(['push', '--quiet', 'origin', 'HEAD:refs/heads/main'], dir)
  }
  const demoYaml = (extra = '', appVersion = '"1.6.0"', name = 'demo') =>
    `apiVersion: v2\nname: ${name}\nversion: 0.1.0\nappVersion: ${appVersion}\n${extra}`

  it('item 3: mode prune and cleanup-all run for every chart of a glob or a list; cleanup-all needs each package confirmed', async () => {
    api = await new GitHubApiDouble({ timeScale: 1000 }).start()
    const s = setup()
    s.remote.pushFiles(smallChart('charts/cache', demoYaml('', '"1.6.0"', 'cache')), 'feat: a second chart')
    const repo = s.ns.split('/')[1]
    const old = (seed: string, n: number): Omit<StoredVersion, 'id'>[] =>
      Array.from({ length: n }, (_, i) => ({
        digest: `sha256:${seed.padEnd(60, '0')}${String(i).padStart(4, '0')}`,
        createdAt: new Date(Date.now() - (30 + i) * DAY),
        tags: [],
      }))
    api.addPackage('acme', 'Organization', `${repo}/zero-cache`, [
      ...old('a', 3),
      { digest: `sha256:${'c'.repeat(64)}`, createdAt: new Date(), tags: ['1.4.2'] },
    ])
    api.addPackage('acme', 'Organization', `${repo}/cache`, [
      ...old('b', 2),
      { digest: `sha256:${'d'.repeat(64)}`, createdAt: new Date(), tags: ['0.1.0'] },
    ])
    const run = (inputs: Record<string, string>) =>
      s.run(
        { 'github-packages': 'true', 'github-token': 'ghs_double', image: '', ...inputs },
        { context: { actor: REGISTRY_USER, token: REGISTRY_PASSWORD, apiUrl: api!.url }, env: { ZERO_CACHE_CHART_TIME_SCALE: '1000' } },
      )

    const pruned = await run({ mode: 'prune', 'chart-path': 'charts/*' })
    ok(pruned, s)
    expect(pruned.outputs.pruned).toBe('5')
    expect(api.versions('acme', `${repo}/zero-cache`)).toHaveLength(1)
    expect(api.versions('acme', `${repo}/cache`)).toHaveLength(1)
    const listed = await run({ mode: 'prune', 'chart-path': 'charts/zero-cache\ncharts/cache' })
    ok(listed, s)
    expect((JSON.parse(listed.outputs.charts) as { name: string }[]).map((c) => c.name)).toEqual(['zero-cache', 'cache'])

    const one = await run({ mode: 'cleanup-all', 'chart-path': 'charts/*', confirm: `${repo}/zero-cache` })
    expect(one.exitCode).toBe(1)
    expect(visibleLog(one)).toContain(`confirm must name each of them, one per line (missing: ${repo}/cache)`)
    expect(visibleLog(one)).toContain(`2 packages: ${repo}/cache, ${repo}/zero-cache`)
    expect(api.hasPackage('acme', `${repo}/zero-cache`) && api.hasPackage('acme', `${repo}/cache`)).toBe(true)

    const both = await run({ mode: 'cleanup-all', 'chart-path': 'charts/*', confirm: `${repo}/zero-cache\n${repo}/cache` })
    ok(both, s)
    expect([api.hasPackage('acme', `${repo}/zero-cache`), api.hasPackage('acme', `${repo}/cache`)]).toEqual([false, false])
  })

  it('item 4: two charts with the same name are refused before any write, naming both directories', async () => {
    const s = setup()
    s.remote.pushFiles(
      { ...smallChart('charts/a', demoYaml()), ...smallChart('charts/b', demoYaml('', '"1.5.0"')) },
      'feat: two charts named demo',
    )
    const commits = s.remote.log().length
    const r = await s.run({ image: '', 'chart-path': 'charts/a\ncharts/b' })
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toContain("charts/a and charts/b are both named 'demo'")
    expect(s.remote.log()).toHaveLength(commits)
    expect(s.remote.tags().size).toBe(0)
  })

  it('item 6: several charts in pull-request mode with a branch without {name} are refused at start', async () => {
    const s = setup()
    s.remote.pushFiles(smallChart('charts/cache', demoYaml('', '"1.6.0"', 'cache')), 'feat: a second chart')
    const r = await s.run({
      image: '',
      'chart-path': 'charts/*',
      'commit-mode': 'pull-request',
      'pull-request-branch': 'chart-update/all',
      'github-token': 'ghs_x',
    })
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toContain("input 'pull-request-branch': 'chart-update/all' has no {name}")
    expect(s.remote.git(['for-each-ref', '--format=%(refname)', 'refs/heads'], s.remote.dir).trim()).toBe('refs/heads/main')
  })

  it.each([
    ['double-quoted', (img: string) => `"- name: demo\\n  image: ${img}:1.6.0\\n"`],
    ['single-quoted flow', (img: string) => `'[{"name": "demo", "image": "${img}:1.6.0"}]'`],
  ])('item 7: an artifacthub.io/images annotation written %s is edited, and the chart released', async (_form, value) => {
    const s = setup()
    s.remote.pushFiles(smallChart('charts/demo', demoYaml(`annotations:\n  artifacthub.io/images: ${value(image())}\n`)), 'feat: demo')
    const r = await s.run({ image: '', 'chart-path': 'charts/demo' })
    ok(r, s)
    const chart = parse(s.remote.git(['show', 'main:charts/demo/Chart.yaml'], s.remote.dir)) as {
      appVersion: string
      annotations: Record<string, string>
    }
    expect(chart.appVersion).toBe('1.6.1')
    expect(chart.annotations['artifacthub.io/images']).toContain(`${image()}:1.6.1`)
    expect(chart.annotations['artifacthub.io/changes']).toContain('kind: changed')
    expect(await registry.listTags(`${s.ns}/demo`)).toEqual(['0.1.1'])
  })

  it('item 8: an upper-case chart name is refused before any write', async () => {
    const s = setup()
    s.remote.pushFiles(smallChart('charts/demo', demoYaml('', '"1.6.0"', 'Demo')), 'feat: Demo')
    const commits = s.remote.log().length
    const r = await s.run({ image: image(), 'chart-path': 'charts/demo' })
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toContain("chart name 'Demo' cannot be an OCI repository name")
    expect(s.remote.log()).toHaveLength(commits)
    expect(s.remote.tags().size).toBe(0)
  })

  it('item 9: the workflow token is not sent to a registry that is not GitHub’s, dry runs included', async () => {
    const s = setup()
    const before = { ...registry.tokenRequests }
    // The inputs as a user leaves them: registry-username and registry-password at their defaults.
    const { 'registry-username': _user, 'registry-password': _password, ...defaults } = s.inputs
    const context = { actor: REGISTRY_USER, token: 'ghs_workflow-token-for-github-only' }
    const run = (extra: Record<string, string> = {}) =>
      runAction({ workspace: s.remote.checkout(), home: s.remote.home, inputs: { ...defaults, ...extra }, context })
    const dry = await run({ 'dry-run': 'true' })
    ok(dry, s)
    expect(registry.tokenRequests.refused - before.refused, 'no credentials were offered to the token service').toBe(0)
    expect(registry.tokenRequests.authenticated - before.authenticated).toBe(0)
    const real = await run()
    expect(real.exitCode).toBe(1)
    expect(visibleLog(real)).toContain('anonymous callers (no registry-password)')
    expect(registry.tokenRequests.refused - before.refused).toBe(0)
    expect(s.remote.log()).toHaveLength(1)
  })

  it('item 9: an HTTP token realm on another host than the registry’s gets no credentials', async () => {
    const s = setup()
    // The registry as localhost; its token realm is http://127.0.0.1:…: another host, not HTTPS.
    const port = registry.host.split(':')[1]
    const before = { ...registry.tokenRequests }
    const r = await s.run({ 'oci-repo': `oci://localhost:${port}/${s.ns}`, 'dry-run': 'true' })
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toContain("is not HTTPS and not on the registry's host; refusing to send credentials")
    expect(registry.tokenRequests.authenticated - before.authenticated).toBe(0)
  })

  it('item 14: in a depth-1 clone, a dry run plans the tag at the commit that set the version, as the real run tags it', async () => {
    const s = scenario(registry.host, { version: '1.4.2', appVersion: '1.6.1' }, { remotes })
    const setter = s.remote.log()[0].split(' ')[0]
    s.remote.pushChange('README.md', '# charts, later\n', 'docs: readme')
    const dry = await s.run({ 'dry-run': 'true' })
    ok(dry, s)
    expect(visibleLog(dry)).toContain(`would: create tag v1.4.2 at ${setter.slice(0, 12)} and push it`)
    ok(await s.run(), s)
    expect(s.remote.tags().get('v1.4.2')).toBe(setter)
  })

  it('item 15: a CRLF Chart.yaml keeps CRLF throughout, the added changes annotation included', async () => {
    const s = setup()
    const crlf = demoYaml(`annotations:\n  artifacthub.io/images: |\n    - name: demo\n      image: ${image()}:1.6.0\n`).replace(
      /\n/g,
      '\r\n',
    )
    s.remote.pushFiles(smallChart('charts/demo', crlf), 'feat: demo')
    ok(await s.run({ image: '', 'chart-path': 'charts/demo' }), s)
    const text = s.remote.git(['cat-file', 'blob', 'main:charts/demo/Chart.yaml'], s.remote.dir)
    expect(text).toContain('artifacthub.io/changes: |\r\n    - kind: changed\r\n')
    expect(text).not.toMatch(/[^\r]\n/)
  })

  it('item 16: a chart reached through a symlink is one chart, run once', async () => {
    const s = setup()
    pushTree(
      s,
      (dir) => {
        for (const [file, content] of Object.entries(
          smallChart(
            'charts/demo',
            demoYaml(`annotations:\n  artifacthub.io/images: |\n    - name: demo\n      image: ${image()}:1.6.0\n`),
          ),
        )) {
          mkdirSync(dirname(join(dir, file)), { recursive: true })
          writeFileSync(join(dir, file), content)
        }
        symlinkSync('demo', join(dir, 'charts/alias'))
        symlinkSync('.', join(dir, 'charts/loop'))
      },
      'feat: demo, and a link to it',
    )
    const r = await s.run({ image: '', 'chart-path': 'charts/[ad]*\ncharts/loop/demo' })
    ok(r, s)
    // The glob lists charts/alias first: that path stands for the one chart.
    expect((JSON.parse(r.outputs.charts) as { path: string }[]).map((c) => c.path)).toEqual(['charts/alias'])
    expect(s.remote.log().filter((l) => l.includes('update demo appVersion'))).toHaveLength(1)
  })

  it('item 17: a tag-format that renders a tag part over 255 bytes is refused before any write', async () => {
    const s = setup()
    const r = await s.run({ 'tag-format': `v{version}-${'x'.repeat(260)}` })
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toContain('which is not a valid git tag name')
    expect(s.remote.log()).toHaveLength(1)
    expect(await registry.listTags(s.chartRepo).catch(() => [])).toEqual([])
  })

  it('item 18: a chart keeping appVersion without the tag’s v gets the new version the same way, and the summary says so', async () => {
    const s = setup()
    s.remote.pushFiles(smallChart('charts/demo', demoYaml('', '"1.2.3"')), 'feat: demo')
    const r = await s.run({ image: `${registry.host}/acme/vapp`, 'chart-path': 'charts/demo' })
    ok(r, s)
    const chart = parse(s.remote.git(['show', 'main:charts/demo/Chart.yaml'], s.remote.dir)) as { appVersion: string }
    expect(chart.appVersion).toBe('1.2.4')
    expect(r.outputs['app-version']).toBe('1.2.4')
    expect(r.summary).toContain('appVersion is written 1.2.4, without the leading v of the image tag v1.2.4')
  })

  it('item 19: the default lint gate is chart-testing’s (a CRD-only chart passes); lint: strict refuses its warning', async () => {
    const s = setup()
    const crd =
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n' +
      '  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n' +
      '  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]\n'
    s.remote.pushFiles(
      {
        'charts/crds/Chart.yaml': demoYaml('dependencies:\n  - name: sub\n    version: 0.1.0\n', '"1.6.0"', 'crds'),
        'charts/crds/crds/widgets.yaml': crd,
        'charts/crds/charts/sub/Chart.yaml': 'apiVersion: v2\nname: sub\nversion: 0.1.0\n',
        'charts/crds/charts/sub/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sub\n',
      },
      'feat: a CRD chart',
    )
    const strict = await s.run({ image: image(), 'chart-path': 'charts/crds', lint: 'strict' })
    expect(strict.exitCode).toBe(1)
    expect(visibleLog(strict)).toContain('[WARNING] templates/: directory does not exist')
    expect(s.remote.tags().size).toBe(0)
    const r = await s.run({ image: image(), 'chart-path': 'charts/crds' })
    ok(r, s)
    expect(await registry.listTags(`${s.ns}/crds`)).toEqual(['0.1.1'])
  })

  it('decided: an artifacthub-repo.yml that is not a YAML mapping is refused, naming the file, and not pushed', async () => {
    const s = setup()
    s.remote.pushFiles({ 'charts/zero-cache/artifacthub-repo.yml': 'repositoryID: [unclosed\n' }, 'chore: metadata')
    const r = await s.run({ 'artifacthub-repo': 'true' })
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toContain('charts/zero-cache/artifacthub-repo.yml is not valid YAML')
    expect(await registry.listTags(s.chartRepo).catch(() => [])).not.toContain('artifacthub.io')
  })

  it('decided: a single chart with no image input and no artifacthub.io/images entry does not follow rocicorp/zero', async () => {
    const s = setup()
    s.remote.pushFiles(smallChart('charts/demo', demoYaml()), 'feat: demo')
    const r = await s.run({ image: '', 'chart-path': 'charts/demo' })
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toContain("input 'image': not set, and charts/demo/Chart.yaml lists no image")
  })
})
