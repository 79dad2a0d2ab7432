import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useRegistry } from '../support/fixtures.js'
import { freePort, NOISE_TAGS, REGISTRY_PASSWORD, REGISTRY_USER, releaseHistory } from '../support/registry.js'
import { HELM4_DIR } from '../support/runner.js'
import { startProxy, type FaultProxy } from '../support/proxy.js'
import { explain, scenario, visibleLog } from '../support/scenario.js'

/**
 * Issue 21, "any chart, any upstream": private upstream images, tag schemes, chart dependencies.
 * End to end: the bundled action, bare git remotes, loopback registries (token auth as Docker Hub
 * and ghcr.io do it, and htpasswd Basic auth), real helm.
 */

const tags = [
  ...releaseHistory()
    .filter((h) => h.date <= '2026-06-06')
    .map((h) => h.tag),
  ...NOISE_TAGS,
]

describe('issue 21: upstream credentials', () => {
  const HUB_USER = 'hub-user'
  const HUB_TOKEN = 'dckr_pat_upstream-only-secret'
  // A private upstream behind Basic auth with its own credentials, and one behind a token service
  // that gives anonymous callers nothing (a private Docker Hub or ghcr.io repository).
  const basic = useRegistry((r) => r.seedTags('rocicorp/zero', tags), { htpasswd: { username: HUB_USER, password: HUB_TOKEN } })
  const bearer = useRegistry((r) => r.seedTags('rocicorp/zero', tags), { anonymousPull: false })
  const charts = useRegistry()

  const setup = (upstreamHost: string) =>
    scenario(
      charts.registry.host,
      { version: '1.4.2', appVersion: '0.26.1' },
      { image: `${upstreamHost}/rocicorp/zero`, remotes: charts.remotes },
    )

  it('Basic auth: refused without or with wrong credentials, naming the inputs; with them released, never sent elsewhere', async () => {
    const s = setup(basic.registry.host)
    const anonymous = await s.run({})
    expect(anonymous.exitCode).toBe(1)
    expect(visibleLog(anonymous)).toMatch(
      /::error::could not list the tags of .*rocicorp\/zero: HTTP 401.*\(upstream-username\/upstream-password\)/,
    )
    // Failed before reading the chart, and still named in the charts output (issue 20).
    expect(JSON.parse(anonymous.outputs.charts)).toEqual([expect.objectContaining({ name: 'zero-cache', path: 'charts/zero-cache' })])
    const wrong = await s.run({ 'upstream-username': HUB_USER, 'upstream-password': 'not-the-token' })
    expect(wrong.exitCode).toBe(1)
    expect(visibleLog(wrong)).toContain(`refused the credentials of '${HUB_USER}' (upstream-username/upstream-password)`)
    expect(s.remote.log()).toHaveLength(1)

    const refusedBefore = charts.registry.tokenRequests.refused
    const r = await s.run({ 'upstream-username': HUB_USER, 'upstream-password': HUB_TOKEN })
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    expect(r.outputs).toMatchObject({ 'app-version': '1.6.1', pushed: 'true' })
    // The chart registry's token service never saw the upstream token (it would refuse it), and the log never shows it.
    expect(charts.registry.tokenRequests.refused).toBe(refusedBefore)
    // Masked first (the runner then hides it anywhere in the log), and never printed otherwise.
    expect(r.log).toContain(`::add-mask::${HUB_TOKEN}`)
    expect(r.log.replace(`::add-mask::${HUB_TOKEN}`, '')).not.toContain(HUB_TOKEN)
  })

  it('Bearer (a token service that gives anonymous callers nothing): the credentials get the pull token', async () => {
    const s = setup(bearer.registry.host)
    const anonymous = await s.run({})
    expect(anonymous.exitCode).toBe(1)
    expect(visibleLog(anonymous)).toContain('upstream-username/upstream-password')
    const before = bearer.registry.tokenRequests.authenticated
    const r = await s.run({ 'upstream-username': REGISTRY_USER, 'upstream-password': REGISTRY_PASSWORD })
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    expect(r.outputs).toMatchObject({ 'app-version': '1.6.1', pushed: 'true' })
    expect(bearer.registry.tokenRequests.authenticated).toBeGreaterThan(before)
  })

  it('a password without a user name (or the reverse) is refused at start, naming the input', async () => {
    const s = setup(basic.registry.host)
    const r = await s.run({ 'upstream-password': HUB_TOKEN })
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toContain("::error::input 'upstream-username': required with upstream-password")
    const reverse = await s.run({ 'upstream-username': HUB_USER })
    expect(visibleLog(reverse)).toContain("::error::input 'upstream-password': empty, but upstream-username is 'hub-user'")
  })
})

/** A small chart following `image` at `appVersion` (its Artifact Hub entry too). */
function smallChart(dir: string, name: string, appVersion: string, image: string): Record<string, string> {
  return {
    [`${dir}/Chart.yaml`]:
      `apiVersion: v2\nname: ${name}\nversion: 1.0.0\nappVersion: "${appVersion}" # the image tag\n` +
      `annotations:\n  artifacthub.io/images: |\n    - name: ${name}\n      image: ${image}:${appVersion}\n`,
    [`${dir}/values.yaml`]: 'replicas: 1\n',
    [`${dir}/templates/configmap.yaml`]:
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  tag: "{{ .Chart.AppVersion }}"\n',
  }
}

describe('issue 21: tag-pattern', () => {
  const parts = useRegistry((r) =>
    r.seedTags('library/postgres', ['16.3-alpine', '16.4-alpine', '16.4', '16.10', '17.0-alpine', '16.4-bookworm', 'latest', 'alpine']),
  )

  /** A repository holding `charts/pg`, following library/postgres at `appVersion`. */
  const pgChart = (appVersion: string) => {
    const s = scenario(parts.registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
    const image = `${parts.registry.host}/library/postgres`
    s.remote.pushFiles(smallChart('charts/pg', 'pg', appVersion, image), 'feat: pg chart')
    return { s, image }
  }

  it('-alpine tags: the newest allowed is taken as listed, two-part versions compared as X.Y.0, the chart bumped', async () => {
    const { s, image } = pgChart('16.3-alpine')
    const r = await s.run({ image, 'chart-path': 'charts/pg', 'tag-pattern': '^(?<version>\\d+\\.\\d+)-alpine$', 'version-range': '<17' })
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    expect(r.outputs).toMatchObject({ 'previous-app-version': '16.3-alpine', 'app-version': '16.4-alpine', 'chart-version': '1.0.1' })
    const chart = s.remote.git(['show', 'main:charts/pg/Chart.yaml'], s.remote.dir)
    expect(chart).toContain('appVersion: "16.4-alpine" # the image tag')
    expect(chart).toContain(`image: ${image}:16.4-alpine`)
    expect(await parts.registry.listTags(`${s.ns}/pg`)).toEqual(['1.0.1'])
    expect(visibleLog(r)).toContain("8 tags, 3 matching tag-pattern '^(?<version>\\d+\\.\\d+)-alpine$', 2 allowed")
  })

  it('plain two-part tags, and a pattern without its group refused at start naming the input', async () => {
    const { s, image } = pgChart('16.4')
    const bad = await s.run({ image, 'chart-path': 'charts/pg', 'tag-pattern': '^\\d+\\.\\d+$' })
    expect(bad.exitCode).toBe(1)
    expect(visibleLog(bad)).toContain("::error::input 'tag-pattern': '^\\d+\\.\\d+$' has no named group 'version'")
    const r = await s.run({ image, 'chart-path': 'charts/pg', 'tag-pattern': '^(?<version>\\d+\\.\\d+)$' })
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    // 16.10 is newer than 16.4 (as 16.10.0 > 16.4.0), though it sorts lower as text.
    expect(r.outputs).toMatchObject({ 'app-version': '16.10', 'chart-version': '1.0.1' })
  })

  it('an appVersion the pattern does not match is a clear error, nothing written', async () => {
    const { s, image } = pgChart('16.3-bookworm')
    const r = await s.run({ image, 'chart-path': 'charts/pg', 'tag-pattern': '^(?<version>\\d+\\.\\d+)-alpine$' })
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toContain("appVersion '16.3-bookworm' does not match tag-pattern")
    expect(s.remote.log()).toHaveLength(2)
  })
})

describe('issue 21: chart dependencies (file://, oci://, an HTTP chart repository)', () => {
  const parts = useRegistry((r) => r.seedTags('rocicorp/zero', tags))
  const helm = join(HELM4_DIR, 'helm')
  const work = mkdtempSync(join(tmpdir(), 'zcc-deps-'))
  const registryConfig = ['--registry-config', join(work, 'registry.json')]
  let repoServer: Server
  let repoUrl = ''
  afterAll(() => {
    repoServer?.close()
    rmSync(work, { recursive: true, force: true })
  })
  /** helm, asynchronously: the registry's token service answers from this process, so a blocking call would wait forever. */
  const sh = (args: string[], input?: string) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(helm, args, { cwd: work })
      let out = ''
      let err = ''
      child.stdout.on('data', (d) => (out += d))
      child.stderr.on('data', (d) => (err += d))
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`helm ${args.join(' ')}: ${err}`))))
      child.stdin.end(input ?? '')
    })
  const library = async (name: string, version: string) => {
    await sh(['create', name])
    writeFileSync(join(work, name, 'Chart.yaml'), `apiVersion: v2\nname: ${name}\nversion: ${version}\ntype: application\n`)
    return (await sh(['package', name, '--destination', join(work, 'out')])).trim().split(' ').pop()!
  }

  /** Publishes `lib` 0.2.0 to the chart registry (oci://) and serves `web` 1.1.0 from an HTTP chart repository. */
  beforeAll(async () => {
    const { registry } = parts
    await sh(
      ['registry', 'login', registry.host, '--username', REGISTRY_USER, '--password-stdin', '--plain-http', ...registryConfig],
      REGISTRY_PASSWORD,
    )
    await sh(['push', await library('lib', '0.2.0'), `oci://${registry.host}/deps`, '--plain-http', ...registryConfig])
    await library('web', '1.1.0')
    const port = await freePort()
    repoUrl = `http://127.0.0.1:${port}`
    mkdirSync(join(work, 'repo'))
    renameSync(join(work, 'out', 'web-1.1.0.tgz'), join(work, 'repo', 'web-1.1.0.tgz'))
    await sh(['repo', 'index', join(work, 'repo'), '--url', repoUrl])
    repoServer = createServer((req, res) => {
      const file = join(work, 'repo', (req.url ?? '/').split('?')[0])
      if (!existsSync(file)) return res.writeHead(404).end()
      res.writeHead(200).end(readFileSync(file))
    })
    await new Promise<void>((r) => repoServer.listen(port, '127.0.0.1', r))
  })

  /** The app chart (following rocicorp/zero) with its three dependencies; `common` is a chart of the same repository. */
  const appChart = (registryHost: string) => ({
    'charts/common/Chart.yaml': 'apiVersion: v2\nname: common\nversion: 0.1.0\ntype: library\n',
    'charts/common/templates/_helpers.tpl': '{{- define "common.name" -}}common{{- end -}}\n',
    ...Object.fromEntries(
      Object.entries(smallChart('charts/app', 'app', '1.5.0', `${registryHost}/rocicorp/zero`)).map(([f, t]) => [
        f,
        f.endsWith('Chart.yaml')
          ? t.replace(
              'annotations:',
              `dependencies:\n  - name: common\n    version: 0.1.0\n    repository: file://../common\n` +
                `  - name: lib\n    version: "~0.2.0"\n    repository: oci://${registryHost}/deps\n` +
                `  - name: web\n    version: ">=1.0.0"\n    repository: ${repoUrl}\nannotations:`,
            )
          : t,
      ]),
    ),
  })

  /** The files of the published chart, read with helm pull as a user would. */
  const published = async (ns: string, version: string) => {
    const dest = mkdtempSync(join(work, 'pull-'))
    await sh([
      'pull',
      `oci://${parts.registry.host}/${ns}/app`,
      '--version',
      version,
      '--plain-http',
      '--destination',
      dest,
      ...registryConfig,
    ])
    return execFileSync('tar', ['tzf', join(dest, `app-${version}.tgz`)], { encoding: 'utf8' }).split('\n')
  }

  it('without Chart.lock: resolved with helm dependency update, linted and packaged with them, only Chart.yaml committed', async () => {
    const s = scenario(parts.registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
    s.remote.pushFiles(appChart(parts.registry.host), 'feat: app chart with dependencies')
    const r = await s.run({ image: `${parts.registry.host}/rocicorp/zero`, 'chart-path': 'charts/app' })
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    expect(r.outputs).toMatchObject({ 'app-version': '1.6.1', 'chart-version': '1.0.1', pushed: 'true' })
    expect(r.log).toContain('no Chart.lock: helm dependency update resolved the dependencies; 3 dependencies')
    // helm package unpacks each dependency into charts/<name>/ in the archive.
    const files = await published(s.ns, '1.0.1')
    expect(files).toEqual(
      expect.arrayContaining(['app/charts/common/Chart.yaml', 'app/charts/lib/Chart.yaml', 'app/charts/web/Chart.yaml']),
    )
    expect(s.remote.git(['show', '--name-only', '--format=', 'main'], s.remote.dir).trim()).toBe('charts/app/Chart.yaml')
  })

  it('with Chart.lock: helm dependency build fetches what it names; a stale lock is resolved again, said in the log', async () => {
    const s = scenario(parts.registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
    const files = appChart(parts.registry.host)
    // The lock a maintainer commits (helm dependency update, as they would run it).
    const dir = mkdtempSync(join(work, 'lock-'))
    for (const [f, t] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, f)), { recursive: true })
      writeFileSync(join(dir, f), t)
    }
    await sh([
      'dependency',
      'update',
      join(dir, 'charts/app'),
      '--plain-http',
      ...registryConfig,
      '--repository-config',
      join(dir, 'repos.yaml'),
    ])
    s.remote.pushFiles(
      { ...files, 'charts/app/Chart.lock': readFileSync(join(dir, 'charts/app/Chart.lock'), 'utf8') },
      'feat: app chart, locked',
    )
    const r = await s.run({ image: `${parts.registry.host}/rocicorp/zero`, 'chart-path': 'charts/app' })
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    expect(r.log).toContain('helm dependency build (from Chart.lock); 3 dependencies')
    expect(await published(s.ns, '1.0.1')).toEqual(expect.arrayContaining(['app/charts/web/Chart.yaml']))

    // A dependency range changed without updating the lock: resolved again, and said so.
    const chart = s.remote.git(['show', 'main:charts/app/Chart.yaml'], s.remote.dir).replace('version: 1.0.1', 'version: 1.1.0')
    s.remote.pushFiles({ 'charts/app/Chart.yaml': chart.replace('"~0.2.0"', '">=0.2.0"') }, 'chore: widen lib')
    const stale = await s.run({ image: `${parts.registry.host}/rocicorp/zero`, 'chart-path': 'charts/app' })
    expect(stale.exitCode, explain(stale, s.remote)).toBe(0)
    expect(stale.log).toContain('Chart.lock is out of date with Chart.yaml: helm dependency update resolved the dependencies again')
    expect(await parts.registry.listTags(`${s.ns}/app`)).toEqual(expect.arrayContaining(['1.0.1', '1.1.0']))
  })
})

describe('issue 21: min-release-age', () => {
  const DAY = 86_400_000
  const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString()
  // 1.5.0 (30 days, in its configuration), 1.6.0 (5 days, annotated), 1.6.1 (2 hours), 1.6.2 (no date).
  const parts = useRegistry(async (r) => {
    await r.seedDatedImage('acme/app', '1.5.0', { created: ago(30) })
    await r.seedDatedImage('acme/app', '1.6.0', { annotated: ago(5), created: ago(0) })
    await r.seedDatedImage('acme/app', '1.6.1', { created: ago(2 / 24) })
    await r.seedTags('acme/app', ['latest', '1.4.0', '1.3.0'])
  })
  let proxy: FaultProxy
  beforeAll(async () => {
    proxy = await startProxy({ target: parts.registry.host, token: parts.registry.realm })
  })
  afterAll(() => proxy?.stop())

  const setup = () => {
    const s = scenario(parts.registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
    s.remote.pushFiles(smallChart('charts/app', 'app', '1.5.0', `${proxy.host}/acme/app`), 'feat: app chart')
    return (extra: Record<string, string>) =>
      s.run({ image: `${proxy.host}/acme/app`, 'chart-path': 'charts/app', ...extra }).then((r) => ({ r, s }))
  }
  /** The upstream manifests the run read (GET), by tag. */
  const manifestsRead = () =>
    proxy.exchanges.filter((e) => e.method === 'GET' && /\/v2\/acme\/app\/manifests\//.test(e.path)).map((e) => e.path.split('/').pop())

  it('takes the newest version old enough; a younger one waits (the summary says until when); only the newest are dated', async () => {
    const run = setup()
    proxy.reset()
    const { r, s } = await run({ 'min-release-age': '3d' })
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    expect(r.outputs).toMatchObject({ 'app-version': '1.6.0', 'chart-version': '1.0.1' })
    expect(r.summary).toMatch(/1\.6\.1 waits for min-release-age 3d: a candidate from \d{4}-\d\d-\d\dT/)
    // The two newest were dated (1.6.0 by its annotation: one request); never 1.5.0 or the older tags.
    // (1.6.0's manifest is read once more for its source label, the changes entry's link.)
    expect([...new Set(manifestsRead())].sort()).toEqual(['1.6.0', '1.6.1'])
    const again = await run({ 'min-release-age': '1h' })
    expect(again.r.exitCode).toBe(0)
  })

  it('an undated version is held back with a notice naming it, or taken with min-release-age-undated: take', async () => {
    await parts.registry.seedDatedImage('acme/app', '1.7.0', {})
    try {
      const run = setup()
      const { r, s } = await run({ 'min-release-age': '1h' })
      expect(r.exitCode, explain(r, s.remote)).toBe(0)
      expect(visibleLog(r)).toContain('::notice::1.7.0 is held back: its image gives no build date')
      expect(r.outputs['app-version']).toBe('1.6.1')
      const taken = await setup()({ 'min-release-age': '1h', 'min-release-age-undated': 'take' })
      expect(taken.r.outputs['app-version']).toBe('1.7.0')
      const dry = await setup()({ 'min-release-age': '30d', 'dry-run': 'true' })
      expect(dry.r.exitCode).toBe(0)
      expect(dry.r.outputs.updated).toBe('false')
      expect(dry.r.summary).toContain('1.6.0 waits for min-release-age 30d')
    } finally {
      await parts.registry.deleteTag('acme/app', '1.7.0')
    }
  })
})

describe('issue 21: values-images, a second image in values.yaml', () => {
  const parts = useRegistry(async (r) => {
    await r.seedTags('acme/app', ['1.5.0', 'latest'])
    await r.seedTags('acme/sidecar', ['1.2.0', '1.3.0', '2.0.0-rc.1', 'latest'])
  })
  const setup = () => {
    const s = scenario(parts.registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
    const host = parts.registry.host
    const chart = smallChart('charts/app', 'app', '1.5.0', `${host}/acme/app`)
    chart['charts/app/Chart.yaml'] += `    - name: sidecar\n      image: ${host}/acme/sidecar:1.2.0\n`
    chart['charts/app/values.yaml'] =
      `# the app's values\nreplicas: 1\nsidecar:\n  image:\n    repository: ${host}/acme/sidecar\n` +
      '    tag: "1.2.0" # kept by values-images\n'
    s.remote.pushFiles(chart, 'feat: app chart with a sidecar')
    const run = (extra: Record<string, string> = {}) =>
      s.run({ image: `${host}/acme/app`, 'chart-path': 'charts/app', 'values-images': `sidecar.image.tag=${host}/acme/sidecar`, ...extra })
    return { s, run, host }
  }

  it('a newer sidecar alone: values.yaml edited in place, its Artifact Hub entry too, the chart patched, appVersion kept', async () => {
    const { s, run, host } = setup()
    const dry = await run({ 'dry-run': 'true' })
    expect(dry.exitCode, explain(dry, s.remote)).toBe(0)
    expect(dry.log).toContain(
      `would: update Chart.yaml: version 1.0.0 → 1.0.1 (patch); values.yaml sidecar.image.tag: ${host}/acme/sidecar 1.2.0 → 1.3.0`,
    )
    expect(s.remote.log()).toHaveLength(2)

    const r = await run()
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    expect(r.outputs).toMatchObject({ 'app-version': '1.5.0', 'chart-version': '1.0.1', pushed: 'true' })
    const show = (file: string) => s.remote.git(['show', `main:charts/app/${file}`], s.remote.dir)
    expect(show('values.yaml') + '\n').toBe(
      // (the helper trims the last line break)
      `# the app's values\nreplicas: 1\nsidecar:\n  image:\n    repository: ${host}/acme/sidecar\n` +
        '    tag: "1.3.0" # kept by values-images\n',
    )
    expect(show('Chart.yaml')).toContain(`image: ${host}/acme/sidecar:1.3.0`)
    expect(show('Chart.yaml')).toContain(`image: ${host}/acme/app:1.5.0`)
    expect(show('Chart.yaml')).toMatch(/^appVersion: "1\.5\.0"/m)
    const message = s.remote.git(['log', '-1', '--format=%B', 'main'], s.remote.dir)
    expect(message).toContain('chore(chart): update sidecar to 1.3.0 (app)')
    expect(message).toContain(`- ${host}/acme/sidecar: 1.2.0 → 1.3.0 (values.yaml sidecar.image.tag)`)
    expect(s.remote.git(['show', '--name-only', '--format=', 'main'], s.remote.dir).trim().split('\n').sort()).toEqual([
      'charts/app/Chart.yaml',
      'charts/app/values.yaml',
    ])
    expect(await parts.registry.listTags(`${s.ns}/app`)).toEqual(['1.0.1'])
    // Up to date: nothing more.
    const idle = await run()
    expect(idle.exitCode, explain(idle, s.remote)).toBe(0)
    expect(idle.outputs.updated).toBe('false')
    expect(s.remote.log()).toHaveLength(3)
  })

  it('with an appVersion update: one commit, one bump, both changes in its message', async () => {
    const { s, run, host } = setup()
    await parts.registry.seedTags('acme/app', ['1.6.0'])
    const r = await run()
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    expect(r.outputs).toMatchObject({ 'app-version': '1.6.0', 'chart-version': '1.0.1' })
    const message = s.remote.git(['log', '-1', '--format=%B', 'main'], s.remote.dir)
    expect(message).toMatch(/^chore\(chart\): update appVersion to 1\.6\.0\n\n/)
    expect(message).toContain(`- ${host}/acme/sidecar: 1.2.0 → 1.3.0 (values.yaml sidecar.image.tag)`)
    const chart = s.remote.git(['show', 'main:charts/app/Chart.yaml'], s.remote.dir)
    expect(chart).toContain(`image: ${host}/acme/app:1.6.0`)
    expect(chart).toContain(`image: ${host}/acme/sidecar:1.3.0`)
    expect(s.remote.log()).toHaveLength(3)
  })

  it('a bad line is refused at start, naming the input', async () => {
    const { run } = setup()
    const r = await run({ 'values-images': 'not a path' })
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toContain("::error::input 'values-images': 'not a path' is not <path in values.yaml>=<image>")
  })
})
