import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { createRemote, type TestRemote } from '../support/git.js'
import {
  GitHubApiDouble,
  HIGH_DOWNLOADS,
  HIGH_DOWNLOADS_PACKAGE,
  LAST_TAGGED,
  validateResponse,
  type ApiFault,
  type StoredVersion,
} from '../support/github-api.js'
import { REGISTRY_PASSWORD, REGISTRY_USER, startRegistry, type TestRegistry } from '../support/registry.js'
import { runAction, type ActionRun } from '../support/runner.js'
import { pattern } from '../support/pattern.js'

/**
 * Prune and cleanup-all through dist/index.js against the GitHub API double (validated against
 * @octokit/openapi) and, for the dependency scan, a real docker-registry.
 */

const DAY = 24 * 60 * 60 * 1000
const digest = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`
const daysAgo = (d: number) => new Date(Date.now() - d * DAY)

/** `old` untagged versions 30+ days old, `young` untagged 1 day old, `tagged` (old) tagged ones. */
function versions(counts: { old: number; young: number; tagged: number }, seed = 'v'): Omit<StoredVersion, 'id'>[] {
  const out: Omit<StoredVersion, 'id'>[] = []
  for (let i = 0; i < counts.old; i++) out.push({ digest: digest(`${seed}-old-${i}`), createdAt: daysAgo(30 + i / 100), tags: [] })
  for (let i = 0; i < counts.young; i++) out.push({ digest: digest(`${seed}-young-${i}`), createdAt: daysAgo(1 + i / 1000), tags: [] })
  for (let i = 0; i < counts.tagged; i++)
    out.push({ digest: digest(`${seed}-tagged-${i}`), createdAt: daysAgo(20 + i), tags: [`1.0.${i}`] })
  return out
}

function explain(run: ActionRun, api: GitHubApiDouble): string {
  return (
    `exit ${run.exitCode}; outputs ${JSON.stringify(run.outputs)}; api ${JSON.stringify(api.counts())}; violations ` +
    `${api.violations.slice(0, 5).join(' | ')}\n${run.log.split('\n').slice(-25).join('\n')}`
  )
}

describe('prune and cleanup-all', () => {
  let registry: TestRegistry
  let remote: TestRemote
  let api: GitHubApiDouble
  let n = 0
  beforeAll(async () => {
    registry = await startRegistry()
    remote = createRemote({ version: '2.0.0', appVersion: '1.9.0' })
  })
  afterAll(async () => {
    await registry?.stop()
    remote?.cleanup()
  })
  afterEach(async () => {
    // The double must never have answered anything GitHub's OpenAPI description does not allow.
    expect(api.violations).toEqual([])
    await api.stop()
  })

  /** A package `zero-cache-chart-N/zero-cache` owned by `owner` in a fresh API double. */
  async function setup(kind: 'User' | 'Organization', counts: { old: number; young: number; tagged: number }, options = {}) {
    api = await new GitHubApiDouble({ timeScale: 1000, ...options }).start()
    const owner = kind === 'User' ? 'octo-user' : 'acme'
    const repo = `zero-cache-chart-${++n}`
    const name = `${repo}/zero-cache`
    api.addPackage(owner, kind, name, versions(counts, repo))
    const run = (inputs: Record<string, string>) =>
      runAction({
        workspace: remote.checkout(),
        home: remote.home,
        context: { actor: REGISTRY_USER, token: REGISTRY_PASSWORD, apiUrl: api.url },
        env: { ZERO_CACHE_CHART_TIME_SCALE: '1000' },
        inputs: {
          'oci-repo': `oci://${registry.host}/${owner}/${repo}`,
          'plain-http': 'true',
          'github-packages': 'true',
          'github-token': 'ghs_double',
          ...inputs,
        },
      })
    const left = () => api.versions(owner, name)
    return { owner, name, run, left }
  }

  it.each(['Organization', 'User'] as const)(
    'prunes old untagged versions of an %s-owned package, keeping tagged and young ones',
    async (kind) => {
      const { run, left, owner } = await setup(kind, { old: 230, young: 15, tagged: 12 })
      const r = await run({ mode: 'prune' })
      expect(r.exitCode, explain(r, api)).toBe(0)
      expect(r.outputs.pruned).toBe('230')
      const rest = left()
      expect(rest).toHaveLength(27)
      expect(rest.filter((v) => v.tags.length)).toHaveLength(12)
      expect(rest.every((v) => v.tags.length || v.createdAt > daysAgo(7))).toBe(true)
      // The owner was looked up once, and only the owner's kind of path was used.
      expect(api.log.filter((l) => l.path === `/users/${owner}`)).toHaveLength(1)
      expect(api.log.filter((l) => l.path.startsWith(kind === 'User' ? '/orgs/' : `/users/${owner}/`))).toHaveLength(0)
      // Walked from the last page backwards, stopping at the cutoff: page 1 is not listed again.
      const pages = api.log.filter((l) => l.method === 'GET' && l.path.endsWith('/versions')).length
      expect(pages).toBe(3)
      expect(r.summary).toContain('Deleted')
      expect(r.summary).toMatch(/Oldest deleted: \d{4}-/)
    },
  )

  it('dry run sends zero DELETEs and reports what it would delete', async () => {
    const { run, left } = await setup('Organization', { old: 120, young: 3, tagged: 2 })
    const r = await run({ mode: 'prune', 'dry-run': 'true' })
    expect(r.exitCode, explain(r, api)).toBe(0)
    expect(r.outputs.pruned).toBe('120')
    expect(api.log.filter((l) => l.method === 'DELETE')).toHaveLength(0)
    expect(left()).toHaveLength(125)
    expect(r.summary).toContain('Would delete')
  })

  it('a dry run without a GitHub token (a laptop) skips prune with a notice; a real run refuses', async () => {
    const { run } = await setup('Organization', { old: 3, young: 0, tagged: 1 })
    const dry = await run({ mode: 'prune', 'dry-run': 'true', 'github-token': '' })
    expect(dry.exitCode, explain(dry, api)).toBe(0)
    expect(dry.log).toContain('::notice::prune skipped: github-token is empty')
    const real = await run({ mode: 'prune', 'github-token': '' })
    expect(real.exitCode, explain(real, api)).toBe(1)
    expect(real.log).toContain('::error::github-token is empty: prune needs a token with packages: write')
    expect(api.log).toHaveLength(0)
  })

  it.each([
    [{}, 'confirm is empty'],
    [{ confirm: 'zero-cache' }, "confirm 'zero-cache' does not match"],
  ])('cleanup-all is refused with %o and deletes nothing', async (extra, message) => {
    const { run, left, name } = await setup('Organization', { old: 5, young: 2, tagged: 2 })
    const r = await run({ mode: 'cleanup-all', ...extra })
    expect(r.exitCode, explain(r, api)).toBe(1)
    expect(r.log).toContain(message)
    expect(r.log).toContain(`set confirm to '${name}' to proceed`)
    expect(api.log).toHaveLength(0)
    expect(left()).toHaveLength(9)
  })

  it('cleanup-all, confirmed, deletes every version, tagged or not', async () => {
    const { run, left, name } = await setup('Organization', { old: 150, young: 20, tagged: 30 })
    const r = await run({ mode: 'cleanup-all', confirm: name })
    expect(r.exitCode, explain(r, api)).toBe(0)
    expect(r.outputs.pruned).toBe('200')
    expect(left()).toEqual([])
    expect(api.hasPackage('acme', name)).toBe(false)
    // GitHub refuses to delete the last *tagged* version alone (400); the untagged versions still go
    // one by one, and then the package itself, with that version.
    const deletes = api.log.filter((l) => l.method === 'DELETE')
    expect(deletes.filter((l) => l.status === 400)).toHaveLength(1)
    expect(deletes.filter((l) => l.status === 204)).toHaveLength(200)
    expect(deletes.at(-1)).toEqual({ method: 'DELETE', path: `/orgs/acme/packages/container/${encodeURIComponent(name)}`, status: 204 })
    expect(r.summary).toContain('The last tagged version went with the package itself')
  })

  it('cleanup-all of a package with no tagged version deletes version by version, not the package', async () => {
    const { run, left, name } = await setup('User', { old: 7, young: 3, tagged: 0 })
    const r = await run({ mode: 'cleanup-all', confirm: name })
    expect(r.exitCode, explain(r, api)).toBe(0)
    expect(r.outputs.pruned).toBe('10')
    expect(left()).toEqual([])
    expect(api.log.filter((l) => l.method === 'DELETE').map((l) => l.status)).toEqual(Array(10).fill(204))
  })

  it('prune deletes the last version when it is untagged: GitHub counts tagged versions only', async () => {
    const { run, left } = await setup('User', { old: 12, young: 0, tagged: 0 })
    const r = await run({ mode: 'prune' })
    expect(r.exitCode, explain(r, api)).toBe(0)
    expect(r.outputs.pruned).toBe('12')
    expect(left()).toEqual([])
    expect(api.log.filter((l) => l.method === 'DELETE' && !l.path.includes('/versions/'))).toEqual([])
    expect(api.log.filter((l) => l.status === 400)).toEqual([])
  })

  it('keeps versions GitHub will not delete (public, more than 5,000 downloads), with a notice, and stays green', async () => {
    // prune: an old untagged version pulled 12,000 times.
    const p = await setup('Organization', { old: 0, young: 0, tagged: 1 })
    const popular = { digest: digest('popular'), createdAt: daysAgo(90), tags: [], downloads: 12_000 }
    api.addPackage('acme', 'Organization', p.name, [...versions({ old: 6, young: 0, tagged: 1 }, 'pop'), popular])
    const r = await p.run({ mode: 'prune' })
    expect(r.exitCode, explain(r, api)).toBe(0)
    expect(r.outputs.pruned).toBe('6')
    expect(p.left().map((v) => v.digest)).toContain(popular.digest)
    expect(r.log).toMatch(
      pattern(
        '::notice::GitHub does not delete version ',
        /\d+/,
        ' of acme/zero-cache-chart-',
        /\d+/,
        '/zero-cache: it is public and has more than 5,000 downloads',
      ),
    )
    expect(r.summary).toContain('Kept 1 version that GitHub does not delete')
    expect(api.violations).toEqual([])
    await api.stop()

    // cleanup-all: the popular version is the last tagged one, so the package cannot go either.
    const c = await setup('Organization', { old: 4, young: 0, tagged: 0 })
    api.addPackage('acme', 'Organization', c.name, [...versions({ old: 4, young: 1, tagged: 0 }, 'c'), { ...popular, tags: ['1.0.0'] }])
    const r2 = await c.run({ mode: 'cleanup-all', confirm: c.name })
    expect(r2.exitCode, explain(r2, api)).toBe(0)
    expect(r2.outputs.pruned).toBe('5')
    expect(c.left().map((v) => v.digest)).toEqual([popular.digest])
    expect(api.log.filter((l) => l.status === 400)).toHaveLength(1)
    expect(r2.summary).toContain('Kept 1 version that GitHub does not delete')
  })

  it('cleanup-all keeps the package when GitHub refuses to delete it (a popular untagged version)', async () => {
    const { run, left, name } = await setup('User', { old: 0, young: 0, tagged: 0 })
    api.addPackage('octo-user', 'User', name, [
      { digest: digest('tagged'), createdAt: daysAgo(3), tags: ['2.0.0'] },
      { digest: digest('popular-untagged'), createdAt: daysAgo(60), tags: [], downloads: 9_000 },
    ])
    const r = await run({ mode: 'cleanup-all', confirm: name })
    expect(r.exitCode, explain(r, api)).toBe(0)
    expect(r.outputs.pruned).toBe('0')
    expect(left()).toHaveLength(2)
    // The tagged version is the last tagged one (400), the package holds a popular version (400).
    expect(api.log.filter((l) => l.method === 'DELETE').map((l) => l.status)).toEqual([400, 400, 400])
    expect(r.summary).toContain('Kept 2 versions that GitHub does not delete')
  })

  it('stops when the budget runs low, succeeds, and later runs finish the job', async () => {
    const { run, left } = await setup('User', { old: 300, young: 10, tagged: 5 }, { primaryLimit: 150 })
    const deleted: number[] = []
    for (let hour = 0; hour < 5 && left().length > 15; hour++) {
      api.resetBudget() // a new hour
      const r = await run({ mode: 'prune' })
      expect(r.exitCode, explain(r, api)).toBe(0)
      deleted.push(Number(r.outputs.pruned))
      if (hour === 0) {
        expect(r.log).toContain('Stopped to stay within the GitHub API budget')
        expect(r.summary).toContain('Left for a later run')
      }
    }
    expect(deleted.length).toBe(3)
    expect(deleted.reduce((a, b) => a + b, 0)).toBe(300)
    expect(deleted[0]).toBeGreaterThan(100) // most of each run's budget goes to deletes
    expect(api.counts().rateLimited).toBe(0)
    expect(left()).toHaveLength(15)
  })

  it('rides out secondary rate limits and transient 5xx without failing', async () => {
    const { run, left } = await setup('Organization', { old: 120, young: 0, tagged: 1 }, { secondaryPointsPerMinute: 10, failEvery: 29 })
    const r = await run({ mode: 'prune' })
    expect(r.exitCode, explain(r, api)).toBe(0)
    expect(r.outputs.pruned).toBe('120')
    expect(left()).toHaveLength(1)
    const c = api.counts()
    expect(c.rateLimited).toBeGreaterThan(0)
    expect(c.serverErrors).toBeGreaterThan(0)
    // A refusal pauses every request until its retry-after has passed (GitHub: do not keep
    // requesting while limited), so refusals stay few: about one per window, not a storm.
    expect(c.duringCooldown).toBe(0)
    expect(c.rateLimited).toBeLessThan(120)
    // DELETEs go one at a time, as GitHub asks of mutating requests.
    expect(c.maxDeletesInFlight).toBe(1)
    expect(r.log).not.toContain('giving up')
  })

  it('stops for later, green, when the secondary limit keeps refusing DELETEs', async () => {
    // 4 points a minute: GETs (1 point) pass, every DELETE (5 points) is refused.
    const { run, left } = await setup('Organization', { old: 30, young: 0, tagged: 1 }, { secondaryPointsPerMinute: 4 })
    const r = await run({ mode: 'prune' })
    expect(r.exitCode, explain(r, api)).toBe(0)
    expect(r.outputs.pruned).toBe('0')
    expect(left()).toHaveLength(31)
    const deletes = api.log.filter((l) => l.method === 'DELETE')
    expect(deletes).toHaveLength(5) // the first attempt and 4 retries, then it stops
    expect(api.counts().duringCooldown).toBe(0)
    expect(r.log).toMatch(
      pattern(
        '::warning::Stopped because could not delete version ',
        /\d+/,
        ' of acme/zero-cache-chart-',
        /\d+/,
        "/zero-cache: GitHub's secondary rate limit refused the request",
      ),
    )
    expect(r.summary).toContain('30 listed candidates')
  })

  it('never deletes what a tagged image index depends on', async () => {
    api = await new GitHubApiDouble({ timeScale: 1000 }).start()
    const repo = `zero-cache-chart-${++n}`
    const chartRepo = `acme/${repo}/zero-cache`
    // A real index in the registry, tagged 1.0.0, whose two children are untagged.
    await registry.seedTags(chartRepo, ['child-a'])
    const children: string[] = []
    for (const t of ['child-a']) {
      const res = await fetch(`http://${registry.host}/v2/${chartRepo}/manifests/${t}`, {
        method: 'HEAD',
        headers: { Authorization: `Bearer ${registry.adminToken(chartRepo)}`, Accept: 'application/vnd.oci.image.manifest.v1+json' },
      })
      children.push(res.headers.get('docker-content-digest')!)
    }
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: children.map((d) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d, size: 100 })),
    })
    const put = await fetch(`http://${registry.host}/v2/${chartRepo}/manifests/1.0.0`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${registry.adminToken(chartRepo)}`, 'Content-Type': 'application/vnd.oci.image.index.v1+json' },
      body: index,
    })
    expect(put.status).toBe(201)
    await registry.deleteTag(chartRepo, 'child-a').catch(() => undefined) // untag the child: only the index keeps it
    const indexDigest = put.headers.get('docker-content-digest')!
    api.addPackage('acme', 'Organization', `${repo}/zero-cache`, [
      { digest: indexDigest, createdAt: daysAgo(40), tags: ['1.0.0'] },
      ...children.map((d) => ({ digest: d, createdAt: daysAgo(41), tags: [] })),
      ...versions({ old: 10, young: 0, tagged: 0 }, repo),
    ])
    const r = await runAction({
      workspace: remote.checkout(),
      home: remote.home,
      context: { actor: REGISTRY_USER, token: REGISTRY_PASSWORD, apiUrl: api.url },
      env: { ZERO_CACHE_CHART_TIME_SCALE: '1000' },
      inputs: { mode: 'prune', 'oci-repo': `oci://${registry.host}/acme/${repo}`, 'plain-http': 'true', 'github-packages': 'true' },
    })
    expect(r.exitCode, explain(r, api)).toBe(0)
    expect(r.outputs.pruned).toBe('10')
    expect(
      api
        .versions('acme', `${repo}/zero-cache`)
        .map((v) => v.digest)
        .sort(),
    ).toEqual([indexDigest, ...children].sort())
    expect(r.summary).toContain('Protected kept')
  })

  it.each([
    [
      'a package that does not exist',
      'nope',
      /could not list the versions of package 'zero-cache-chart-\d+\/zero-cache' of owner 'nope': .*HTTP 404/,
    ],
  ])('%s fails with a message naming package, owner and permission', async (_name, owner, message) => {
    const s = await setup('Organization', { old: 1, young: 0, tagged: 0 })
    api.owners.set(owner, 'Organization')
    const r = await runAction({
      workspace: remote.checkout(),
      home: remote.home,
      context: { actor: REGISTRY_USER, token: REGISTRY_PASSWORD, apiUrl: api.url },
      inputs: {
        mode: 'prune',
        'oci-repo': `oci://${registry.host}/${owner}/${s.name.split('/')[0]}`,
        'plain-http': 'true',
        'github-packages': 'true',
      },
    })
    expect(r.exitCode, explain(r, api)).toBe(1)
    expect(r.log).toMatch(message)
    expect(r.log).toContain('packages: write')
  })

  const html =
    '<!DOCTYPE html><html><head><title>Unicorn!</title></head><body>We had issues producing the response to your request.</body></html>'
  it.each<[string, ApiFault[], RegExp]>([
    [
      'the version list: an HTML page with status 200',
      [{ method: 'GET', path: /\/versions$/, status: 200, body: html }],
      pattern(
        '::error::GET /orgs/acme/packages/container/zero-cache-chart-',
        /\d+%(25)?2F/,
        'zero-cache/versions?page=1 answered HTTP 200 with 130 bytes of text that is not JSON, ',
        'not a list of package versions (id, name, created_at)',
      ),
    ],
    [
      'the owner: truncated JSON',
      [
        {
          method: 'GET',
          path: /^\/users\/acme$/,
          status: 200,
          body: '{"login":"acme","ty',
          contentType: 'application/json; charset=utf-8',
        },
      ],
      /::error::GET \/users\/acme answered HTTP 200 with 19 bytes of text that is not JSON, not a user or organization with a 'type'/,
    ],
    [
      'the version list: a 502 HTML page on the first attempt and on each of the 3 retries',
      Array.from({ length: 4 }, () => ({ method: 'GET', path: /\/versions$/, status: 502, body: html })),
      pattern(
        "::error::could not list the versions of package 'zero-cache-chart-",
        /\d+/,
        "/zero-cache' of owner 'acme': an answer that is not GitHub's JSON (130 characters, " +
          'starting "<!DOCTYPE html><html><head><title>Unicor") (HTTP 502)',
      ),
    ],
  ])('an unparseable answer from GitHub fails clearly, naming endpoint and status: %s', async (_name, faults, message) => {
    const { run, left } = await setup('Organization', { old: 5, young: 0, tagged: 1 })
    for (const f of faults) api.inject(f)
    const r = await run({ mode: 'prune' })
    expect(r.exitCode, explain(r, api)).toBe(1)
    // One error annotation, naming the endpoint and status: the action's own words, not a bug's stack.
    const errors = r.log.split('\n').filter((l) => l.startsWith('::error::'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(message)
    expect(left()).toHaveLength(6)
  })

  it('is skipped with a notice for registries that are not GitHub Packages', async () => {
    api = await new GitHubApiDouble().start()
    const r = await runAction({
      workspace: remote.checkout(),
      home: remote.home,
      context: { apiUrl: api.url },
      inputs: { mode: 'prune', 'oci-repo': `oci://${registry.host}/acme/x`, 'plain-http': 'true' },
    })
    expect(r.exitCode, r.log).toBe(0)
    expect(r.log).toMatch(/::notice::prune skipped: oci:\/\/127\.0\.0\.1:\d+\/acme\/x is not on GitHub's container registry/)
    expect(api.log).toHaveLength(0)
  })
})

describe('the API double is checked against GitHub OpenAPI', () => {
  it('accepts a real-shaped package version list and rejects a malformed one', () => {
    const path = '/orgs/{org}/packages/{package_type}/{package_name}/versions'
    const good = [
      {
        id: 1,
        name: 'sha256:abc',
        url: 'u',
        package_html_url: 'p',
        created_at: '2026-01-01T00:00:00Z',
        updated_at: '2026-01-01T00:00:00Z',
        metadata: { package_type: 'container', container: { tags: [] } },
      },
    ]
    expect(validateResponse('GET', path, 200, good)).toEqual([])
    expect(validateResponse('GET', path, 200, [{ name: 'x' }]).join()).toMatch(/must have required property 'id'/)
    expect(validateResponse('GET', path, 200, [{ ...good[0], metadata: { package_type: 'tarball' } }]).join()).toMatch(
      /must be equal to one of the allowed values/,
    )
    expect(validateResponse('DELETE', `${path}/{package_version_id}`, 200, {}).join()).toMatch(/status 200 is not declared/)
    expect(validateResponse('GET', '/users/{username}', 200, { login: 'x' }).join()).toMatch(/must have required property/)
    // The undeclared answers allowed, by operation and exact message: GitHub's documented 400s.
    expect(validateResponse('DELETE', `${path}/{package_version_id}`, 400, { message: LAST_TAGGED, status: '400' })).toEqual([])
    expect(validateResponse('DELETE', `${path}/{package_version_id}`, 400, { message: HIGH_DOWNLOADS })).toEqual([])
    expect(
      validateResponse('DELETE', '/users/{username}/packages/{package_type}/{package_name}', 400, { message: HIGH_DOWNLOADS_PACKAGE }),
    ).toEqual([])
    expect(validateResponse('DELETE', `${path}/{package_version_id}`, 400, { message: 'Bad request' }).join()).toMatch(
      /status 400 is not declared/,
    )
    expect(validateResponse('DELETE', '/orgs/{org}/packages/{package_type}/{package_name}', 400, { message: LAST_TAGGED }).join()).toMatch(
      /status 400 is not declared/,
    )
    expect(validateResponse('DELETE', `${path}/{package_version_id}`, 400, { message: LAST_TAGGED, status: 400 }).join()).toMatch(
      /status must be string/,
    )
  })
})
