import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { useApiDouble, useRegistry } from '../support/fixtures.js'
import type { TestRemote } from '../support/git.js'
import { NOISE_TAGS, REGISTRY_PASSWORD, REGISTRY_USER, releaseHistory, type TestRegistry } from '../support/registry.js'
import type { ActionRun } from '../support/runner.js'
import { explain, linkRemote, REPOSITORY, scenario, visibleLog } from '../support/scenario.js'

/**
 * Issue 20, "publish only what works": GitHub Releases made as drafts and published once complete
 * (immutable releases), the first tag's notes, the last-resort error handler. End to end: the
 * bundled action, a bare git remote, the loopback registry, real helm, and the GitHub API double.
 */

const history = releaseHistory()
const tagsUntil = (date: string) => [...history.filter((h) => h.date <= date).map((h) => h.tag), ...NOISE_TAGS]
/** Octokit's retry plugin retries a 5xx three times: four answers make a failure final. */
const FINAL_5XX = 4
const SERVER_ERROR = JSON.stringify({ message: 'Server Error' })

describe('issue 20: GitHub Releases that survive immutability and a crash', () => {
  const parts = useRegistry(async (registry) => {
    await Promise.all(['2026-06-06', '2026-08-14'].map((d) => registry.seedTags(`rocicorp/zero-${d}`, tagsUntil(d))))
  })
  const apis = useApiDouble()

  async function setup(immutable: boolean) {
    const api = await apis.start()
    const s = scenario(parts.registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
    linkRemote(api, s.remote)
    apis.api.setImmutableReleases(REPOSITORY, immutable)
    const run = (date: string, extra: Record<string, string> = {}) =>
      s.run(
        { image: `${parts.registry.host}/rocicorp/zero-${date}`, 'github-token': 'ghs_double', 'github-release': 'true', ...extra },
        { context: { actor: REGISTRY_USER, token: REGISTRY_PASSWORD, apiUrl: apis.api.url }, env: { ZERO_CACHE_CHART_TIME_SCALE: '1000' } },
      )
    return { ...s, run, releases: () => apis.api.releases.get(REPOSITORY)! }
  }
  const ok = (r: ActionRun, remote: TestRemote) => expect(r.exitCode, explain(r, remote)).toBe(0)
  /** The Release is whole: one of the tag, published, its notes, the chart attached. */
  const whole = (releases: ReturnType<Awaited<ReturnType<typeof setup>>['releases']>, tag: string, asset: string) => {
    expect(releases.filter((r) => r.tag === tag)).toHaveLength(1)
    const r = releases.find((x) => x.tag === tag)!
    expect(r.draft).toBe(false)
    expect(r.body).toContain('helm install zero-cache')
    expect(r.assets.map((a) => a.name)).toEqual([asset])
  }

  it.each([false, true])('immutable releases %s: a Release is a draft until its chart is attached, then published', async (immutable) => {
    const c = await setup(immutable)
    const r = await c.run('2026-06-06')
    ok(r, c.remote)
    whole(c.releases(), 'v2.0.0', 'zero-cache-2.0.0.tgz')
    // The order GitHub advises for immutable releases: create a draft, attach, publish.
    const writes = apis.api.log
      .filter((l) => l.method !== 'GET' && /releases/.test(l.path))
      .map((l) => `${l.method} ${l.path.replace(/\d+/g, 'N')}`)
    expect(writes).toEqual([
      `POST /repos/${REPOSITORY}/releases`,
      `POST /repos/${REPOSITORY}/releases/N/assets`,
      `PATCH /repos/${REPOSITORY}/releases/N`,
    ])
    expect(r.outputs['release-url']).toBe(`https://github.com/${REPOSITORY}/releases/tag/v2.0.0`)
    // The first release tag names the upstream change too (no previous tag: the run knows it).
    expect(c.releases()[0].body).toContain('`appVersion` `0.26.1` → `1.6.1`')
    const idle = await c.run('2026-06-06')
    ok(idle, c.remote)
    expect(apis.api.log.filter((l) => l.method !== 'GET').length).toBe(writes.length)
  })

  it.each([
    ['after the draft', { method: 'POST', path: /\/releases\/\d+\/assets$/ }],
    ['after the asset, before publishing', { method: 'PATCH', path: /\/releases\/\d+$/ }],
  ])('a run that fails %s leaves a draft the next run completes: one Release, immutable on', async (_, where) => {
    const c = await setup(true)
    for (let i = 0; i < FINAL_5XX; i++) apis.api.inject({ ...where, status: 500, body: SERVER_ERROR, contentType: 'application/json' })
    const first = await c.run('2026-06-06')
    expect(first.exitCode, explain(first, c.remote)).toBe(1)
    expect(c.releases()).toHaveLength(1)
    expect(c.releases()[0].draft).toBe(true)
    // The draft is not found by tag, only by listing: the next run finds it and completes it.
    const second = await c.run('2026-06-06')
    ok(second, c.remote)
    whole(c.releases(), 'v2.0.0', 'zero-cache-2.0.0.tgz')
    expect(visibleLog(second)).toMatch(/complete the draft GitHub Release of v2\.0\.0/)
    const third = await c.run('2026-06-06')
    ok(third, c.remote)
    expect(c.releases()).toHaveLength(1)
  })

  it('a published immutable Release without the chart (an older run) is reported, not failed on every run', async () => {
    const c = await setup(true)
    ok(await c.run('2026-06-06', { 'github-release': 'false' }), c.remote)
    apis.api.addRelease(REPOSITORY, { tag: 'v2.0.0', body: 'made by hand' })
    const r = await c.run('2026-06-06')
    ok(r, c.remote)
    expect(visibleLog(r)).toMatch(/::warning::the GitHub Release of v2\.0\.0 .* is published and immutable without zero-cache-2\.0\.0\.tgz/)
    expect(c.releases()[0].assets).toEqual([])
    // Not immutable: the chart is attached.
    apis.api.setImmutableReleases(REPOSITORY, false)
    ok(await c.run('2026-06-06'), c.remote)
    expect(c.releases()[0].assets.map((a) => a.name)).toEqual(['zero-cache-2.0.0.tgz'])
  })

  it('the first tag of a version a person committed names the change from the parent commit', async () => {
    const c = await setup(false)
    const edited = c.remote
      .chartYaml()
      .replace('appVersion: "0.26.1"', 'appVersion: "0.26.2"')
      .replace(/^version: 1\.4\.2$/m, 'version: 1.4.3')
    c.remote.pushFiles({ 'charts/zero-cache/Chart.yaml': edited }, 'chore: appVersion 0.26.2')
    // A range that allows nothing newer: the run releases the committed version as it is.
    const r = await c.run('2026-06-06', { 'version-range': '<=0.26.1' })
    ok(r, c.remote)
    expect(c.releases()[0].tag).toBe('v1.4.3')
    expect(c.releases()[0].body).toContain('`appVersion` `0.26.1` → `0.26.2`')
  })
})

describe('issue 20: an error that escapes the run', () => {
  const parts = useRegistry(async (registry) => {
    await registry.seedTags('rocicorp/zero', tagsUntil('2026-06-06'))
  })

  it('is one ::error:: line with the stack mapped to src/, never a line of the minified bundle', async () => {
    const s = scenario(parts.registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
    // GITHUB_OUTPUT in a directory that does not exist: writing the outputs throws after the run.
    const r = await s.run({ 'dry-run': 'true' }, { env: { GITHUB_OUTPUT: '/nonexistent/zcc/output' } })
    expect(r.exitCode).toBe(1)
    const errors = r.log.split('\n').filter((l) => l.startsWith('::error::'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^::error::unexpected error: Error: Missing file at path.*%0A.*src\/[\w/-]+\.ts:\d+:\d+/)
    // No line of the bundle's source: every log line is short.
    expect(Math.max(...r.log.split('\n').map((l) => l.length))).toBeLessThan(4000)
    expect(r.log).not.toMatch(/dist\/index\.js:1\b/)
  })
})

describe('issue 20: check-public, an anonymous read of the published chart', () => {
  // The upstream image on a public registry; the chart registry needs credentials for every
  // request, pulls included (htpasswd): a private package, as ghcr.io makes a chart's first push.
  const pub = useRegistry((registry) => registry.seedTags('rocicorp/zero', tagsUntil('2026-06-06')))
  const priv = useRegistry(undefined, { htpasswd: true })
  const apis = useApiDouble()

  /** An event payload as the runner writes it to GITHUB_EVENT_PATH. */
  const payload = (isPrivate: boolean) => {
    const file = join(mkdtempSync(join(tmpdir(), 'zcc-event-')), 'event.json')
    writeFileSync(
      file,
      JSON.stringify({ repository: { full_name: REPOSITORY, private: isPrivate, owner: { login: 'acme', type: 'User' } } }),
    )
    return file
  }
  /** The chart on `chartRegistry`, treated as GitHub's (github-packages: true: the package link, and prune through the API double). */
  const setup = async (chartRegistry: TestRegistry) => {
    const api = await apis.start()
    const s = scenario(
      chartRegistry.host,
      { version: '1.4.2', appVersion: '0.26.1' },
      { image: `${pub.registry.host}/rocicorp/zero`, remotes: pub.remotes },
    )
    // The package as GitHub lists it (prune reads it); a user's, so its settings are under /users/.
    api.addPackage('acme', 'User', `${s.ns.split('/').slice(1).join('/')}/zero-cache`, [])
    const run = (extra: Record<string, string>, isPrivate = false) =>
      s.run(
        { 'github-packages': 'true', 'github-token': 'ghs_double', ...extra },
        {
          context: { actor: REGISTRY_USER, token: REGISTRY_PASSWORD, apiUrl: api.url },
          env: { GITHUB_EVENT_PATH: payload(isPrivate), ZERO_CACHE_CHART_TIME_SCALE: '1000' },
        },
      )
    return { ...s, run }
  }

  it('auto, public repository: a chart nobody can pull is a warning saying where to change its visibility, on every run', async () => {
    const s = await setup(priv.registry)
    const r = await s.run({})
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    expect(r.outputs.pushed).toBe('true')
    const pkg = encodeURIComponent(`${s.ns.split('/').slice(1).join('/')}/zero-cache`)
    const warning = visibleLog(r)
      .split('\n')
      .find((l) => l.startsWith('::warning::') && l.includes('cannot be pulled anonymously'))
      // The runner decodes a workflow command's %25 to %.
      ?.replace(/%25/g, '%')
    expect(warning).toContain(`oci://${priv.registry.host}/${s.ns}/zero-cache:2.0.0 cannot be pulled anonymously (HTTP 401)`)
    expect(warning).toContain(`https://github.com/users/acme/packages/container/${pkg}/settings`)
    expect(warning).toContain('"Change visibility"')
    expect(warning).toContain('"Manage Actions access"')
    expect(r.summary).toContain('Anonymous pull')
    // The next run (nothing to release) checks again: the package is still private.
    const idle = await s.run({})
    expect(idle.exitCode, explain(idle, s.remote)).toBe(0)
    expect(visibleLog(idle)).toContain('cannot be pulled anonymously')
  })

  it('true fails the step once the release is complete; false and a private repository (auto) do not check', async () => {
    const s = await setup(priv.registry)
    const strict = await s.run({ 'check-public': 'true' })
    expect(strict.exitCode).toBe(1)
    expect(visibleLog(strict)).toMatch(/::error::.*cannot be pulled anonymously.*The release itself is complete/)
    expect([...s.remote.tags().keys()]).toEqual(['v2.0.0'])
    for (const [extra, isPrivate] of [
      [{ 'check-public': 'false' }, false],
      [{}, true],
    ] as const) {
      const r = await s.run(extra, isPrivate)
      expect(r.exitCode, explain(r, s.remote)).toBe(0)
      expect(r.log).not.toContain('anonymously')
    }
  })

  it('a chart anyone can pull passes, with the token registry’s anonymous token flow', async () => {
    const s = await setup(pub.registry)
    const r = await s.run({ 'check-public': 'true' })
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    expect(r.log).toContain(`oci://${pub.registry.host}/${s.ns}/zero-cache:2.0.0 can be pulled anonymously`)
    expect(pub.registry.tokenRequests.anonymous).toBeGreaterThan(0)
  })
})
