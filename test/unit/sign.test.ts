import { describe, expect, it } from 'vitest'
import { referrersTag } from '../../src/oci/referrers.js'
import {
  attestationsIn,
  claimsOf,
  GITHUB_INSTANCE,
  PROVENANCE_PREDICATE_TYPE,
  provenancePredicate,
  PUBLIC_GOOD,
  SIGNATURE_PREDICATE_TYPE,
  sigstoreInstance,
  statementOf,
  type JobIdentity,
} from '../../src/release/sign.js'

/** sign's pure parts: which Sigstore, what a statement says, which bundles a version has. */

describe('sigstoreInstance', () => {
  it('public repositories sign with the public-good instance, private ones with GitHub’s (as actions/attest)', () => {
    expect(sigstoreInstance({}, false)).toMatchObject({ ...PUBLIC_GOOD, name: 'the public-good Sigstore instance' })
    expect(sigstoreInstance({}, undefined)).toMatchObject(PUBLIC_GOOD)
    expect(sigstoreInstance({}, true)).toMatchObject({ ...GITHUB_INSTANCE, name: "GitHub's Sigstore instance" })
    expect(sigstoreInstance({}, true)).not.toHaveProperty('rekor')
  })

  it('the environment chooses another instance: a SigningConfig first, else the service URLs', () => {
    expect(sigstoreInstance({ SIGSTORE_SIGNING_CONFIG: '/tmp/sc.json', SIGSTORE_FULCIO_URL: 'https://f.example' }, true)).toMatchObject({
      signingConfig: '/tmp/sc.json',
    })
    expect(
      sigstoreInstance({ SIGSTORE_FULCIO_URL: 'https://f.example', SIGSTORE_TSA_URL: 'https://t.example/api/v1/timestamp' }, false),
    ).toEqual({
      name: 'the instance in SIGSTORE_*_URL',
      fulcio: 'https://f.example',
      rekor: undefined,
      tsa: 'https://t.example/api/v1/timestamp',
    })
    expect(sigstoreInstance({ SIGSTORE_REKOR_URL: 'https://r.example' }, false)).toMatchObject({ fulcio: PUBLIC_GOOD.fulcio })
    expect(sigstoreInstance({ SIGSTORE_TRUSTED_ROOT: '/tmp/root.json' }, false)).toMatchObject({
      ...PUBLIC_GOOD,
      trustedRoot: '/tmp/root.json',
    })
  })

  it('refuses an instance that cannot make a usable bundle, and plain HTTP off loopback', () => {
    expect(() => sigstoreInstance({ SIGSTORE_FULCIO_URL: 'https://f.example' }, false)).toThrow(/needs a log entry or a timestamp/)
    expect(() => sigstoreInstance({ SIGSTORE_FULCIO_URL: 'http://f.example', SIGSTORE_REKOR_URL: 'https://r.example' }, false)).toThrow(
      /must be https/,
    )
    expect(() => sigstoreInstance({ SIGSTORE_REKOR_URL: 'not a url' }, false)).toThrow(/is not a URL/)
    expect(
      sigstoreInstance({ SIGSTORE_FULCIO_URL: 'http://127.0.0.1:8080', SIGSTORE_REKOR_URL: 'http://localhost:3000' }, false),
    ).toMatchObject({
      fulcio: 'http://127.0.0.1:8080',
    })
  })
})

describe('statements', () => {
  const claims: JobIdentity = {
    repository: 'acme/charts',
    repository_id: '1',
    repository_owner_id: '2',
    workflow_ref: 'acme/charts/.github/workflows/release.yml@refs/heads/main',
    job_workflow_ref: 'acme/shared/.github/workflows/reusable.yml@refs/tags/v1',
    ref: 'refs/heads/main',
    sha: 'f'.repeat(40),
    event_name: 'schedule',
    run_id: '99',
    run_attempt: '3',
    runner_environment: 'github-hosted',
  }

  it('an in-toto Statement v1 about the chart digest', () => {
    const digest = `sha256:${'a'.repeat(64)}`
    expect(JSON.parse(statementOf({ name: 'ghcr.io/acme/charts/zero-cache', digest }, SIGNATURE_PREDICATE_TYPE, {}).toString())).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'ghcr.io/acme/charts/zero-cache', digest: { sha256: 'a'.repeat(64) } }],
      predicateType: SIGNATURE_PREDICATE_TYPE,
      predicate: {},
    })
  })

  it('the provenance names the caller workflow as external parameters and the job’s (reusable) workflow as the builder', () => {
    const p = provenancePredicate(claims, 'https://github.com') as {
      buildDefinition: { externalParameters: { workflow: unknown }; resolvedDependencies: unknown[] }
      runDetails: { builder: { id: string }; metadata: { invocationId: string } }
    }
    expect(p.buildDefinition.externalParameters.workflow).toEqual({
      ref: 'refs/heads/main',
      repository: 'https://github.com/acme/charts',
      path: '.github/workflows/release.yml',
    })
    expect(p.buildDefinition.resolvedDependencies).toEqual([
      { uri: 'git+https://github.com/acme/charts@refs/heads/main', digest: { gitCommit: 'f'.repeat(40) } },
    ])
    expect(p.runDetails.builder.id).toBe('https://github.com/acme/shared/.github/workflows/reusable.yml@refs/tags/v1')
    expect(p.runDetails.metadata.invocationId).toBe('https://github.com/acme/charts/actions/runs/99/attempts/3')
  })

  it('reads the claims of a JWT, and refuses what is not one', () => {
    const token = `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`
    expect(claimsOf(token)).toEqual(claims)
    expect(() => claimsOf('not-a-jwt')).toThrow(/not a JWT/)
  })
})

describe('which bundles a version has', () => {
  const bundle = (predicateType?: string, artifactType = 'application/vnd.dev.sigstore.bundle.v0.3+json') => ({
    digest: `sha256:${'b'.repeat(64)}`,
    artifactType,
    annotations: (predicateType ? { 'dev.sigstore.bundle.predicateType': predicateType } : {}) as Record<string, string>,
  })
  it('by the predicate type annotation of Sigstore bundles; other artifacts do not count', () => {
    expect(attestationsIn([])).toEqual([])
    expect(attestationsIn([bundle(SIGNATURE_PREDICATE_TYPE)])).toEqual(['signature'])
    expect(attestationsIn([bundle(PROVENANCE_PREDICATE_TYPE), bundle(SIGNATURE_PREDICATE_TYPE)])).toEqual(['signature', 'provenance'])
    expect(attestationsIn([bundle(SIGNATURE_PREDICATE_TYPE, 'application/spdx+json')])).toEqual([])
    expect(attestationsIn([bundle('https://spdx.dev/Document')])).toEqual([])
  })

  it('the referrers tag of a digest', () => {
    expect(referrersTag(`sha256:${'c'.repeat(64)}`)).toBe(`sha256-${'c'.repeat(64)}`)
    expect(() => referrersTag('latest')).toThrow(/not a digest/)
  })
})
