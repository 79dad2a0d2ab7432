import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { useApiDouble, useRegistry } from '../support/fixtures.js'
import { validateRequest, validateResponse } from '../support/github-api.js'
import type { TestRemote } from '../support/git.js'
import { NOISE_TAGS, REGISTRY_PASSWORD, REGISTRY_USER, releaseHistory, type TestRegistry } from '../support/registry.js'
import { startProxy, type Fault, type FaultProxy } from '../support/proxy.js'
import type { ActionRun } from '../support/runner.js'
import { explain, linkRemote, REPOSITORY, scenario, visibleLog } from '../support/scenario.js'
import { jobClaims, referrersOf, startSigstore, type SigstoreStandIn } from '../support/sigstore.js'

/**
 * Issue 22, signed and attested charts. End to end: the bundled action signs with Sigstore's own
 * mock services (Fulcio, Rekor v1, a timestamp authority) on loopback behind a GitHub Actions OIDC
 * token stand-in, stores the bundles as OCI referrers in the loopback registry (docker-registry:
 * no referrers API, so the `sha256-<hex>` tag schema), and records the provenance with the GitHub
 * API double. Every bundle found is verified with `@sigstore/verify` against the mock trust root.
 */

const history = releaseHistory()
const tagsUntil = (date: string) => [...history.filter((h) => h.date <= date).map((h) => h.tag), ...NOISE_TAGS]
const SIGNATURE = 'https://sigstore.dev/cosign/sign/v1'
const PROVENANCE = 'https://slsa.dev/provenance/v1'
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json'
/** The empty blob `{}` (image-spec "Guidance for an Empty Descriptor"), in the registry once a bundle is attached. */
const EMPTY_DIGEST = `sha256:${createHash('sha256').update('{}').digest('hex')}`

describe('issue 22: sign and attest published chart versions', () => {
  const parts = useRegistry(async (registry) => {
    await Promise.all([
      ...['2026-06-06', '2026-08-14'].map((d) => registry.seedTags(`rocicorp/zero-${d}`, tagsUntil(d))),
      registry.seedTags('library/valkey', ['8.0.1', '8.1.0']),
    ])
  })
  const apis = useApiDouble()
  let sigstore: SigstoreStandIn
  const claims = jobClaims(REPOSITORY)
  beforeAll(async () => {
    sigstore = await startSigstore(claims)
  })
  afterAll(async () => {
    await sigstore.stop()
  })

  afterEach(() => {
    sigstore.beforeService = undefined
    sigstore.setJob(claims)
  })

  let child: ChildProcess | undefined
  const kill = () => {
    try {
      process.kill(-child!.pid!, 'SIGKILL')
    } catch {
      // already gone
    }
  }

  async function setup(version = '1.4.2', appVersion = '0.26.1') {
    const api = await apis.start()
    const s = scenario(parts.registry.host, { version, appVersion }, { remotes: parts.remotes })
    linkRemote(api, s.remote)
    const run = (date: string, extra: Record<string, string> = {}, env: Record<string, string> = {}) =>
      s.run(
        { image: `${parts.registry.host}/rocicorp/zero-${date}`, 'github-token': 'ghs_double', sign: 'true', ...extra },
        {
          context: { actor: REGISTRY_USER, token: REGISTRY_PASSWORD, apiUrl: apis.api.url },
          env: { ZERO_CACHE_CHART_TIME_SCALE: '1000', GITHUB_SERVER_URL: 'https://github.com', ...sigstore.env(), ...env },
          onSpawn: (c) => {
            child = c
          },
        },
      )
    const digestOf = async (tag: string) => (await parts.registry.manifest(s.chartRepo, tag)).digest
    return { ...s, run, digestOf, referrers: async (tag: string) => referrersOf(parts.registry, s.chartRepo, await digestOf(tag)) }
  }
  const ok = (r: ActionRun, remote: TestRemote) => expect(r.exitCode, explain(r, remote)).toBe(0)

  it('signs and attests the version it publishes, verifiably; a re-run adds nothing', async () => {
    const c = await setup()
    const r = await c.run('2026-06-06')
    ok(r, c.remote)
    const digest = await c.digestOf('2.0.0')
    const found = await c.referrers('2.0.0')
    expect(found.map((f) => f.predicateType).sort()).toEqual([SIGNATURE, PROVENANCE].sort())
    for (const f of found) {
      expect(f.artifactType).toBe(BUNDLE)
      const v = await sigstore.verify(f.bundle, { identity: sigstore.identityOf(claims), digest })
      expect(v.predicateType).toBe(f.predicateType)
    }
    expect(visibleLog(r)).not.toContain(sigstore.env().ACTIONS_ID_TOKEN_REQUEST_TOKEN)
    const recorded = apis.api.attestations.get(REPOSITORY) ?? []
    expect(recorded.map((a) => a.predicateType)).toEqual([PROVENANCE])
    expect(recorded[0].digests).toEqual([digest])
    expect(r.outputs.signed).toBe('signature,provenance')
    expect(visibleLog(r)).toContain('the provenance bundle verifies against')
    expect(r.summary).toContain('Signed by this run')
    const again = await c.run('2026-06-06')
    ok(again, c.remote)
    expect(again.outputs.signed).toBe('')
    expect(await c.referrers('2.0.0')).toHaveLength(2)
    expect(apis.api.attestations.get(REPOSITORY)).toHaveLength(1)
    expect(sigstore.refused).toEqual([])
  })

  it('a dry run says what it would sign and signs nothing', async () => {
    const c = await setup()
    const before = sigstore.requests.get('/fulcio/api/v2/signingCert') ?? 0
    const r = await c.run('2026-06-06', { 'dry-run': 'true' })
    ok(r, c.remote)
    expect(visibleLog(r)).toMatch(/would: sign .*zero-cache:2\.0\.0 with Sigstore: a signature and a SLSA provenance attestation/)
    expect(r.summary).toContain('with Sigstore')
    expect(sigstore.requests.get('/fulcio/api/v2/signingCert') ?? 0).toBe(before)
    expect(await parts.registry.listTags(c.chartRepo)).toEqual([])
  })

  it('sign turned on later: the published version gets both bundles on the next run, once', async () => {
    const c = await setup()
    ok(await c.run('2026-06-06', { sign: 'false' }), c.remote)
    expect(await c.referrers('2.0.0')).toEqual([])
    const dry = await c.run('2026-06-06', { 'dry-run': 'true' })
    ok(dry, c.remote)
    expect(visibleLog(dry)).toMatch(/would: sign .*zero-cache:2\.0\.0/)
    const r = await c.run('2026-06-06')
    ok(r, c.remote)
    const digest = await c.digestOf('2.0.0')
    const found = await c.referrers('2.0.0')
    expect(found).toHaveLength(2)
    for (const f of found) await sigstore.verify(f.bundle, { identity: sigstore.identityOf(claims), digest })
    const idle = await c.run('2026-06-06')
    ok(idle, c.remote)
    expect(idle.summary).toContain('is signed and has its build provenance attestation')
    expect(await c.referrers('2.0.0')).toHaveLength(2)
  })

  it.each([
    ['the first certificate request (after the push)', 1, 2],
    ['the second certificate request (the signature attached)', 2, 1],
  ])('a run killed at %s is completed by the next run: one signature, one provenance', async (_, at, newOnRerun) => {
    const c = await setup()
    let seen = 0
    sigstore.beforeService = (service) => {
      if (service === 'fulcio' && ++seen === at) kill()
    }
    const killed = await c.run('2026-06-06')
    expect(killed.exitCode, explain(killed, c.remote)).not.toBe(0)
    sigstore.beforeService = undefined
    expect(c.remote.tags().has('v2.0.0')).toBe(true)
    expect(await c.referrers('2.0.0')).toHaveLength(at - 1)
    const before = sigstore.requests.get('/fulcio/api/v2/signingCert') ?? 0
    const r = await c.run('2026-06-06')
    ok(r, c.remote)
    expect((sigstore.requests.get('/fulcio/api/v2/signingCert') ?? 0) - before).toBe(newOnRerun)
    const found = await c.referrers('2.0.0')
    expect(found.map((f) => f.predicateType).sort()).toEqual([SIGNATURE, PROVENANCE].sort())
    expect(apis.api.attestations.get(REPOSITORY)).toHaveLength(1)
  })

  it('Fulcio down after the signature: the step fails naming the instance, reports the signature; the next run adds the rest', async () => {
    const c = await setup()
    let seen = 0
    sigstore.beforeService = (service) => {
      if (service === 'fulcio' && ++seen === 2) sigstore.fail('fulcio', 10)
    }
    const r = await c.run('2026-06-06')
    sigstore.beforeService = undefined
    sigstore.fail('fulcio', 0)
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toMatch(/::error::sign: the instance in SIGSTORE_\*_URL did not sign the provenance statement: .*503/)
    expect(r.outputs.signed).toBe('signature')
    expect(r.outputs.pushed).toBe('true')
    expect((await c.referrers('2.0.0')).map((f) => f.predicateType)).toEqual([SIGNATURE])
    const next = await c.run('2026-06-06')
    ok(next, c.remote)
    expect(next.outputs.signed).toBe('provenance')
    expect(await c.referrers('2.0.0')).toHaveLength(2)
  })

  it('a run killed after GitHub recorded the provenance attaches that bundle next time, not a second one', async () => {
    const c = await setup()
    apis.api.afterAttestation = kill
    const killed = await c.run('2026-06-06')
    expect(killed.exitCode).not.toBe(0)
    apis.api.afterAttestation = undefined
    const found = await c.referrers('2.0.0')
    expect(found.map((f) => f.predicateType)).toEqual([SIGNATURE])
    const before = sigstore.requests.get('/fulcio/api/v2/signingCert') ?? 0
    const r = await c.run('2026-06-06')
    ok(r, c.remote)
    expect(sigstore.requests.get('/fulcio/api/v2/signingCert') ?? 0).toBe(before)
    const recorded = apis.api.attestations.get(REPOSITORY)!
    expect(recorded).toHaveLength(1)
    const provenance = (await c.referrers('2.0.0')).find((f) => f.predicateType === PROVENANCE)!
    expect(provenance.bundle).toEqual(recorded[0].bundle)
  })

  it('the provenance names this workflow, its commit and run; a tampered chart or another identity fails verification', async () => {
    const c = await setup()
    const job = { ...jobClaims(REPOSITORY, 'c'.repeat(40), 'nightly.yml'), run_id: '777', run_attempt: '2' }
    sigstore.setJob(job)
    ok(await c.run('2026-06-06'), c.remote)
    const digest = await c.digestOf('2.0.0')
    const found = await c.referrers('2.0.0')
    const provenance = found.find((f) => f.predicateType === PROVENANCE)!
    const v = await sigstore.verify(provenance.bundle, { identity: sigstore.identityOf(job), digest })
    expect(v.predicate).toMatchObject({
      buildDefinition: {
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
        externalParameters: {
          workflow: { ref: 'refs/heads/main', repository: `https://github.com/${REPOSITORY}`, path: '.github/workflows/nightly.yml' },
        },
        resolvedDependencies: [{ uri: `git+https://github.com/${REPOSITORY}@refs/heads/main`, digest: { gitCommit: 'c'.repeat(40) } }],
      },
      runDetails: {
        builder: { id: `https://github.com/${REPOSITORY}/.github/workflows/nightly.yml@refs/heads/main` },
        metadata: { invocationId: `https://github.com/${REPOSITORY}/actions/runs/777/attempts/2` },
      },
    })
    // Another workflow's identity: refused.
    await expect(sigstore.verify(provenance.bundle, { identity: sigstore.identityOf(claims), digest })).rejects.toThrow()
    // A tampered chart: other bytes under the tag, so another digest, which no bundle names.
    const tampered = `sha256:${'e'.repeat(64)}`
    for (const f of found)
      await expect(sigstore.verify(f.bundle, { identity: sigstore.identityOf(job), digest: tampered })).rejects.toThrow(/subject/)
    // A bundle whose statement was altered after signing: the signature no longer verifies.
    const forged = structuredClone(provenance.bundle) as { dsseEnvelope: { payload: string } }
    const statement = JSON.parse(Buffer.from(forged.dsseEnvelope.payload, 'base64').toString()) as {
      subject: { digest: { sha256: string } }[]
    }
    statement.subject[0].digest.sha256 = 'e'.repeat(64)
    forged.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64')
    await expect(sigstore.verify(forged, { identity: sigstore.identityOf(job), digest: tampered })).rejects.toThrow()
  })

  it('without id-token: write the run fails before writing anything, saying which permission; a dry run warns', async () => {
    const c = await setup()
    const dry = await c.run('2026-06-06', { 'dry-run': 'true' }, { ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: '' })
    expect(dry.exitCode).toBe(0)
    expect(visibleLog(dry)).toContain('::warning::a real run would stop here: sign: true needs an OIDC token')
    const r = await c.run('2026-06-06', {}, { ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: '' })
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toMatch(
      /::error::sign: true needs an OIDC token: give the job `permissions: id-token: write`.*Nothing was written/,
    )
    expect(c.remote.tags().size).toBe(0)
    expect(await parts.registry.listTags(c.chartRepo)).toEqual([])
  })

  it('with SIGSTORE_TRUSTED_ROOT, a bundle that does not verify against it is never attached or recorded', async () => {
    const c = await setup()
    const other = await startSigstore(claims)
    try {
      const r = await c.run('2026-06-06', {}, { SIGSTORE_TRUSTED_ROOT: other.trustedRootFile })
      expect(r.exitCode).toBe(1)
      expect(visibleLog(r)).toMatch(
        /::error::sign: the signature bundle from .* does not verify against SIGSTORE_TRUSTED_ROOT .*Nothing was attached/,
      )
      expect(await c.referrers('2.0.0')).toEqual([])
      expect(apis.api.attestations.get(REPOSITORY) ?? []).toEqual([])
      // With the instance's own root, the next run signs.
      ok(await c.run('2026-06-06'), c.remote)
      expect(await c.referrers('2.0.0')).toHaveLength(2)
    } finally {
      await other.stop()
    }
  })

  it('a SigningConfig file (SIGSTORE_SIGNING_CONFIG) chooses the instance, as cosign --signing-config reads it', async () => {
    const c = await setup()
    const service = (url: string) => ({ url, majorApiVersion: 1, validFor: { start: '2020-01-01T00:00:00Z' }, operator: 'sigstore.mock' })
    const dir = mkdtempSync(join(tmpdir(), 'zcc-signing-config-'))
    const file = join(dir, 'signing_config.json')
    writeFileSync(
      file,
      JSON.stringify({
        mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
        caUrls: [service(`${sigstore.url}/fulcio`)],
        oidcUrls: [],
        rekorTlogUrls: [service(`${sigstore.url}/rekor`)],
        rekorTlogConfig: { selector: 'ANY' },
        tsaUrls: [service(`${sigstore.url}/tsa/api/v1/timestamp`)],
        tsaConfig: { selector: 'ANY' },
      }),
    )
    const before = sigstore.requests.get('/tsa/api/v1/timestamp') ?? 0
    const r = await c.run(
      '2026-06-06',
      {},
      { SIGSTORE_FULCIO_URL: '', SIGSTORE_REKOR_URL: '', SIGSTORE_TSA_URL: '', SIGSTORE_SIGNING_CONFIG: file },
    )
    ok(r, c.remote)
    expect(visibleLog(r)).toContain(`signing with the SigningConfig in ${file}`)
    expect((sigstore.requests.get('/tsa/api/v1/timestamp') ?? 0) - before).toBe(2)
    const digest = await c.digestOf('2.0.0')
    for (const f of await c.referrers('2.0.0')) await sigstore.verify(f.bundle, { identity: sigstore.identityOf(claims), digest })
    rmSync(dir, { recursive: true, force: true })
  })

  it('several charts: each published chart gets its own bundles, and the charts output says what each run signed', async () => {
    const c = await setup()
    const zeroYaml = c.remote
      .chartYaml()
      .replace('image: docker.io/rocicorp/zero:0.26.1', `image: ${parts.registry.host}/rocicorp/zero-2026-06-06:0.26.1`)
    c.remote.pushFiles(
      {
        'charts/zero-cache/Chart.yaml': zeroYaml,
        'charts/cache/Chart.yaml':
          'apiVersion: v2\nname: cache\nversion: 0.1.0\nappVersion: "8.0.1"\nannotations:\n  artifacthub.io/images: |\n' +
          `    - name: valkey\n      image: ${parts.registry.host}/library/valkey:8.0.1\n`,
        'charts/cache/values.yaml': 'replicas: 1\n',
      },
      'feat: a second chart',
    )
    const r = await c.run('2026-06-06', { image: '', 'chart-path': 'charts/*' })
    ok(r, c.remote)
    const charts = JSON.parse(r.outputs.charts) as { name: string; 'chart-version': string; signed: string }[]
    expect(charts.map((x) => [x.name, x.signed]).sort()).toEqual([
      ['cache', 'signature,provenance'],
      ['zero-cache', 'signature,provenance'],
    ])
    for (const chart of charts) {
      const repository = `${c.ns}/${chart.name}`
      const digest = (await parts.registry.manifest(repository, chart['chart-version'])).digest
      const found = await referrersOf(parts.registry, repository, digest)
      expect(found.map((f) => f.predicateType).sort()).toEqual([SIGNATURE, PROVENANCE].sort())
      for (const f of found) await sigstore.verify(f.bundle, { identity: sigstore.identityOf(claims), digest })
    }
    const again = await c.run('2026-06-06', { image: '', 'chart-path': 'charts/*' })
    ok(again, c.remote)
    expect((JSON.parse(again.outputs.charts) as { signed: string }[]).map((x) => x.signed)).toEqual(['', ''])
  })

  it('a referrers tag holding something else is never overwritten: nothing is signed, the error names the tag', async () => {
    const c = await setup()
    ok(await c.run('2026-06-06', { sign: 'false' }), c.remote)
    const digest = await c.digestOf('2.0.0')
    const tag = digest.replace(':', '-')
    // Someone else's image under the referrers tag's name.
    await parts.registry.seedTags(c.chartRepo, [tag])
    const foreign = (await parts.registry.manifest(c.chartRepo, tag)).digest
    const before = sigstore.requests.get('/fulcio/api/v2/signingCert') ?? 0
    const r = await c.run('2026-06-06')
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toMatch(
      new RegExp(`::error::.*tag ${tag} of .* holds a application/vnd\\.oci\\.image\\.manifest\\.v1\\+json, not the referrers index`),
    )
    expect((await parts.registry.manifest(c.chartRepo, tag)).digest).toBe(foreign)
    expect(sigstore.requests.get('/fulcio/api/v2/signingCert') ?? 0).toBe(before)
  })

  it('each published version gets its own bundles as the chart moves on', async () => {
    const c = await setup()
    ok(await c.run('2026-06-06'), c.remote)
    ok(await c.run('2026-08-14'), c.remote)
    const tags = await parts.registry.listTags(c.chartRepo)
    const versions = tags.filter((t) => /^\d+\.\d+\.\d+$/.test(t)).sort()
    expect(versions.length).toBe(2)
    for (const v of versions) {
      const digest = await c.digestOf(v)
      const found = await c.referrers(v)
      expect(found.map((f) => f.predicateType).sort()).toEqual([SIGNATURE, PROVENANCE].sort())
      for (const f of found) await sigstore.verify(f.bundle, { identity: sigstore.identityOf(claims), digest })
    }
    expect(apis.api.attestations.get(REPOSITORY)).toHaveLength(2)
  })
})

/**
 * The package as GitHub lists it (`GET /orgs/{org}/packages/container/{name}/versions`) after
 * signing, built from what the registry holds: every manifest ever pushed is a version named by its
 * digest, with the tags that point to it. A referrers index is a version tagged `sha256-<hex>`; the
 * bundles it lists are untagged versions; an index replaced by a newer one stays as an untagged
 * version (observed on ghcr.io: dataaxiom/ghcr-cleanup-action#13, attestation indexes "tagged as
 * `sha256-<digest>`" with untagged children; #104, Sigstore bundle manifests
 * `application/vnd.dev.sigstore.bundle.v0.3+json` listed and deleted as untagged versions;
 * teslamate-org/teslamate#5622, `sha256-*` referrer tags left behind once their image is gone).
 */
async function packageListing(registry: TestRegistry, repository: string, createdAt: Date) {
  const tagsOf = new Map<string, string[]>()
  for (const tag of await registry.listTags(repository)) {
    const res = await registry.get(repository, `manifests/${tag}`)
    const digest = res.headers.get('docker-content-digest')!
    await res.body?.cancel()
    tagsOf.set(digest, [...(tagsOf.get(digest) ?? []), tag])
  }
  return registry.manifestRevisions(repository).map((digest) => ({ digest, createdAt, tags: tagsOf.get(digest) ?? [] }))
}

describe('issue 22: a run killed at any registry write of the sign step is completed by the next one', () => {
  const parts = useRegistry(async (registry) => {
    await registry.seedTags('rocicorp/zero-2026-06-06', tagsUntil('2026-06-06'))
  })
  const apis = useApiDouble()
  let sigstore: SigstoreStandIn
  const claims = jobClaims(REPOSITORY)
  const proxies: FaultProxy[] = []
  beforeAll(async () => {
    sigstore = await startSigstore(claims)
  })
  afterAll(async () => {
    await sigstore.stop()
    for (const p of proxies) await p.stop()
  })

  it.each<[string, Omit<Fault, 'name' | 'do'>, number]>([
    // Helm 4 puts the chart's manifest by digest first: the second PUT by digest is the signature's.
    [
      'the signature manifest, before the referrers index lists it',
      { method: 'PUT', path: /\/manifests\/sha256:/, onStatus: 201, skip: 1 },
      0,
    ],
    ['the referrers index listing the signature', { method: 'PUT', path: /\/manifests\/sha256-/, onStatus: 201 }, 1],
    ['the referrers index listing both', { method: 'PUT', path: /\/manifests\/sha256-/, onStatus: 201, skip: 1 }, 2],
  ])('after %s', async (_, match, listed) => {
    const api = await apis.start()
    const proxy = await startProxy({ target: parts.registry.host, token: parts.registry.realm })
    proxies.push(proxy)
    const s = scenario(proxy.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
    linkRemote(api, s.remote)
    let pid = 0
    const run = () =>
      s.run(
        { image: `${parts.registry.host}/rocicorp/zero-2026-06-06`, 'github-token': 'ghs_double', sign: 'true' },
        {
          context: { actor: REGISTRY_USER, token: REGISTRY_PASSWORD, apiUrl: api.url },
          env: { ZERO_CACHE_CHART_TIME_SCALE: '1000', ...sigstore.env() },
          onSpawn: (c) => {
            pid = c.pid!
          },
        },
      )
    proxy.inject({ name: 'kill', ...match, do: { then: () => void process.kill(-pid, 'SIGKILL') } })
    const killed = await run()
    expect(proxy.applied()).toEqual({ kill: 1 })
    expect(killed.exitCode).toBe(137)
    const digest = (await parts.registry.manifest(s.chartRepo, '2.0.0')).digest
    expect(await referrersOf(parts.registry, s.chartRepo, digest)).toHaveLength(listed)
    const r = await run()
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    const found = await referrersOf(parts.registry, s.chartRepo, digest)
    expect(found.map((f) => f.predicateType).sort()).toEqual([SIGNATURE, PROVENANCE].sort())
    for (const f of found) await sigstore.verify(f.bundle, { identity: sigstore.identityOf(claims), digest })
    expect(api.attestations.get(REPOSITORY) ?? []).toHaveLength(1)
    expect(r.outputs.signed).toBe(['signature,provenance', 'provenance', ''][listed])
    // And once more: nothing to add.
    const idle = await run()
    expect(idle.outputs.signed).toBe('')
    expect(await referrersOf(parts.registry, s.chartRepo, digest)).toHaveLength(2)
  })
})

describe('issue 22: prune keeps what signs live versions and prunes orphans', () => {
  const parts = useRegistry(async (registry) => {
    await Promise.all(['2026-06-06', '2026-08-14'].map((d) => registry.seedTags(`rocicorp/zero-${d}`, tagsUntil(d))))
  })
  const apis = useApiDouble()
  let sigstore: SigstoreStandIn
  beforeAll(async () => {
    sigstore = await startSigstore(jobClaims(REPOSITORY))
  })
  afterAll(async () => {
    await sigstore.stop()
  })

  it('keeps the bundles of live versions however old, deletes those of a deleted version once old, and cleanup-all takes all', async () => {
    const api = await apis.start()
    const s = scenario(parts.registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
    linkRemote(api, s.remote)
    const options = {
      context: { actor: REGISTRY_USER, token: REGISTRY_PASSWORD, apiUrl: api.url },
      env: { ZERO_CACHE_CHART_TIME_SCALE: '1000', ...sigstore.env() },
    }
    const release = (date: string) =>
      s.run({ image: `${parts.registry.host}/rocicorp/zero-${date}`, 'github-token': 'ghs_double', sign: 'true' }, options)
    expect((await release('2026-06-06')).exitCode).toBe(0)
    expect((await release('2026-08-14')).exitCode).toBe(0)
    const versions = (await parts.registry.listTags(s.chartRepo)).filter((t) => /^\d+\.\d+\.\d+$/.test(t)).sort()
    expect(versions).toHaveLength(2)
    const [old, current] = versions
    const oldDigest = (await parts.registry.manifest(s.chartRepo, old)).digest
    const oldReferrers = await referrersOf(parts.registry, s.chartRepo, oldDigest)
    const currentDigest = (await parts.registry.manifest(s.chartRepo, current)).digest
    const currentReferrers = await referrersOf(parts.registry, s.chartRepo, currentDigest)
    // Referrers a registry with the referrers API keeps without a referrers tag: untagged manifests
    // whose subject is the current version (kept) or the old one (an orphan once it is deleted).
    const viaApi = async (subject: string, note: string) => {
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/vnd.example.note',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY_DIGEST, size: 2 },
        layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY_DIGEST, size: 2 }],
        subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject, size: 100 },
        annotations: { note },
      })
      const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`
      const put = await fetch(`http://${parts.registry.host}/v2/${s.chartRepo}/manifests/${digest}`, {
        method: 'PUT',
        headers: {
          Authorization: `Bearer ${parts.registry.adminToken(s.chartRepo)}`,
          'Content-Type': 'application/vnd.oci.image.manifest.v1+json',
        },
        body: manifest,
      })
      expect(put.status).toBe(201)
      return digest
    }
    const keptByApi = await viaApi(currentDigest, 'of the current version')
    const orphanByApi = await viaApi(oldDigest, 'of the old version')
    // The old chart version is deleted (as a user deletes a package version): its referrers stay behind.
    await parts.registry.deleteTag(s.chartRepo, old)
    const pkg = `${s.ns.split('/')[1]}/zero-cache`
    const listing = (await packageListing(parts.registry, s.chartRepo, new Date(Date.now() - 40 * 86_400_000))).filter(
      (v) => v.digest !== oldDigest,
    )
    api.addPackage('acme', 'Organization', pkg, listing)
    const oldIndex = listing.find((v) => v.tags.includes(oldDigest.replace(':', '-')))!
    expect(oldIndex).toBeDefined()
    const prune = (mode: string, extra: Record<string, string> = {}) =>
      s.run({ mode, 'github-packages': 'true', 'github-token': 'ghs_double', 'max-age-days': '30', ...extra }, options)
    const r = await prune('prune')
    expect(r.exitCode, explain(r)).toBe(0)
    const left = new Set(api.versions('acme', pkg).map((v) => v.digest))
    // Live: the current chart, its referrers index and both bundles, though all are 40 days old.
    for (const d of [currentDigest, keptByApi, ...currentReferrers.map((f) => f.digest)]) expect(left.has(d), d).toBe(true)
    expect(listing.some((v) => v.tags.includes(currentDigest.replace(':', '-')) && left.has(v.digest))).toBe(true)
    // Orphans: the deleted version's referrers index and its bundles.
    for (const d of [oldIndex.digest, orphanByApi, ...oldReferrers.map((f) => f.digest)]) expect(left.has(d), d).toBe(false)
    expect(visibleLog(r)).toMatch(/an orphan/)
    // cleanup-all empties the package: chart versions, referrers indexes and bundles alike.
    const all = await prune('cleanup-all', { confirm: pkg })
    expect(all.exitCode, explain(all)).toBe(0)
    expect(api.hasPackage('acme', pkg) ? api.versions('acme', pkg) : []).toEqual([])
  })
})

describe('the attestations endpoints of the API double are checked against GitHub OpenAPI', () => {
  const path = '/repos/{owner}/{repo}/attestations'
  it('accepts GitHub-shaped requests and answers, and rejects malformed ones', () => {
    const bundle = { mediaType: BUNDLE, verificationMaterial: {}, dsseEnvelope: {} }
    expect(validateRequest('POST', path, { bundle })).toEqual([])
    expect(validateRequest('POST', path, {}).join()).toMatch(/must have required property 'bundle'/)
    expect(validateRequest('POST', path, { bundle: 'not an object' }).join()).toMatch(/must be object/)
    expect(validateResponse('POST', path, 201, { id: 7 })).toEqual([])
    expect(validateResponse('POST', path, 201, { id: 'seven' }).join()).toMatch(/must be integer/)
    expect(
      validateResponse('GET', `${path}/{subject_digest}`, 200, { attestations: [{ bundle, repository_id: 1, bundle_url: 'x' }] }),
    ).toEqual([])
    expect(validateResponse('GET', `${path}/{subject_digest}`, 200, { attestations: [{ repository_id: 'one' }] }).join()).toMatch(
      /must be integer/,
    )
    expect(validateResponse('GET', `${path}/{subject_digest}`, 404, { message: 'Not Found' }).join()).toMatch(/status 404 is not declared/)
  })
})
