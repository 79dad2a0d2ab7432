import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useApiDouble, useRegistry } from '../support/fixtures.js'
import type { TestRemote } from '../support/git.js'
import { NOISE_TAGS, REGISTRY_PASSWORD, REGISTRY_USER, releaseHistory, type TestRegistry } from '../support/registry.js'
import type { ActionRun } from '../support/runner.js'
import { explain, linkRemote, REPOSITORY, scenario, visibleLog } from '../support/scenario.js'
import { jobClaims, startSigstore, type SigstoreStandIn } from '../support/sigstore.js'

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

interface FoundReferrer {
  digest: string
  artifactType?: string
  predicateType?: string
  bundle: unknown
}

/** The referrers of `digest` as a verifier finds them on a registry without the referrers API: the `sha256-<hex>` index. */
export async function referrersOf(registry: TestRegistry, repository: string, digest: string): Promise<FoundReferrer[]> {
  const res = await registry.get(repository, `manifests/${digest.replace(':', '-')}`)
  if (res.status === 404) return []
  expect(res.status).toBe(200)
  const index = (await res.json()) as {
    mediaType: string
    manifests: { digest: string; artifactType?: string; annotations?: Record<string, string> }[]
  }
  expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json')
  const out: FoundReferrer[] = []
  for (const d of index.manifests) {
    const m = (await (await registry.get(repository, `manifests/${d.digest}`)).json()) as {
      artifactType: string
      subject: { digest: string }
      layers: { digest: string; mediaType: string }[]
      annotations: Record<string, string>
    }
    expect(m.subject.digest).toBe(digest)
    expect(m.layers).toHaveLength(1)
    const bundle = (await (await registry.get(repository, `blobs/${m.layers[0].digest}`, '*/*')).json()) as unknown
    out.push({ digest: d.digest, artifactType: m.artifactType, predicateType: m.annotations['dev.sigstore.bundle.predicateType'], bundle })
  }
  return out
}

describe('issue 22: sign and attest published chart versions', () => {
  const parts = useRegistry(async (registry) => {
    await Promise.all(['2026-06-06', '2026-08-14'].map((d) => registry.seedTags(`rocicorp/zero-${d}`, tagsUntil(d))))
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
    const again = await c.run('2026-06-06')
    ok(again, c.remote)
    expect(await c.referrers('2.0.0')).toHaveLength(2)
    expect(apis.api.attestations.get(REPOSITORY)).toHaveLength(1)
    expect(sigstore.refused).toEqual([])
  })
})
