import { describe, expect, it } from 'vitest'
import { useRegistry } from '../support/fixtures.js'
import { NOISE_TAGS, REGISTRY_PASSWORD, REGISTRY_USER, releaseHistory } from '../support/registry.js'
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

  it('-alpine tags: the newest allowed is taken as listed, two-part versions compared as X.Y.0, the chart bumped', async () => {
    const s = scenario(parts.registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
    const image = `${parts.registry.host}/library/postgres`
    s.remote.pushFiles(smallChart('charts/pg', 'pg', '16.3-alpine', image), 'feat: pg chart')
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
    const s = scenario(parts.registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
    const image = `${parts.registry.host}/library/postgres`
    s.remote.pushFiles(smallChart('charts/pg', 'pg', '16.4', image), 'feat: pg chart')
    const bad = await s.run({ image, 'chart-path': 'charts/pg', 'tag-pattern': '^\\d+\\.\\d+$' })
    expect(bad.exitCode).toBe(1)
    expect(visibleLog(bad)).toContain("::error::input 'tag-pattern': '^\\d+\\.\\d+$' has no named group 'version'")
    const r = await s.run({ image, 'chart-path': 'charts/pg', 'tag-pattern': '^(?<version>\\d+\\.\\d+)$' })
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    // 16.10 is newer than 16.4 (as 16.10.0 > 16.4.0), though it sorts lower as text.
    expect(r.outputs).toMatchObject({ 'app-version': '16.10', 'chart-version': '1.0.1' })
  })

  it('an appVersion the pattern does not match is a clear error, nothing written', async () => {
    const s = scenario(parts.registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
    const image = `${parts.registry.host}/library/postgres`
    s.remote.pushFiles(smallChart('charts/pg', 'pg', '16.3-bookworm', image), 'feat: pg chart')
    const r = await s.run({ image, 'chart-path': 'charts/pg', 'tag-pattern': '^(?<version>\\d+\\.\\d+)-alpine$' })
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toContain("appVersion '16.3-bookworm' does not match tag-pattern")
    expect(s.remote.log()).toHaveLength(2)
  })
})
