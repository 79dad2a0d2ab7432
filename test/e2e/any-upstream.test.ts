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

  it('Basic auth: refused without or with wrong credentials, naming the inputs; with them, released, and never sent elsewhere', async () => {
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
