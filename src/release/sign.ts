import { readFile } from 'node:fs/promises'
import * as core from '@actions/core'
import { ActionError } from '../errors.js'
import type { Referrer } from '../oci/referrers.js'

/**
 * `sign`: keyless Sigstore signatures and SLSA build provenance for published chart versions.
 *
 * What is signed, and how it is stored, follows the verifiers users run:
 * - the **signature** is a DSSE envelope over an in-toto Statement v1 whose subject is the chart
 *   manifest's digest and whose predicate type is `https://sigstore.dev/cosign/sign/v1` (what
 *   `cosign sign` v3 writes, and `cosign verify` checks);
 * - the **provenance** is the same envelope with predicate type `https://slsa.dev/provenance/v1`
 *   and the predicate GitHub's own build provenance attestations carry (build type
 *   `https://actions.github.io/buildtypes/workflow/v1`), built from the job's OIDC token claims;
 * - each is a Sigstore bundle (v0.3, `application/vnd.dev.sigstore.bundle.v0.3+json`) attached to
 *   the chart manifest as an OCI referrer, annotated `dev.sigstore.bundle.content: dsse-envelope` and
 *   `dev.sigstore.bundle.predicateType`, as cosign and `actions/attest` do; the provenance is also
 *   recorded with GitHub's attestations API.
 *
 * Libraries: `@sigstore/sign` (Fulcio certificate, Rekor entry, RFC 3161 timestamp, bundle) with
 * endpoints the action reads from the environment. `@actions/attest` is not used: its Sigstore
 * endpoints are built in, so it cannot be pointed at another instance (a private one, or a test's).
 * `@sigstore/oci` is not used either: the chart registry client here already carries this action's
 * authentication, `plain-http` and error handling, and the referrers must also be *read* (for
 * idempotency and prune), which `@sigstore/oci` does not do.
 */

export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json'
export const SIGNATURE_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1'
export const PROVENANCE_PREDICATE_TYPE = 'https://slsa.dev/provenance/v1'
export const PREDICATE_ANNOTATION = 'dev.sigstore.bundle.predicateType'
export const GITHUB_BUILD_TYPE = 'https://actions.github.io/buildtypes/workflow/v1'
/** The issuer of GitHub Actions OIDC tokens: the certificate's issuer extension. */
export const ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com'

/** What a chart version gets: a signature, and a build provenance attestation. */
export type AttestationKind = 'signature' | 'provenance'
export const ATTESTATION_KINDS: readonly AttestationKind[] = ['signature', 'provenance']

export const PREDICATE_TYPES: Record<AttestationKind, string> = {
  signature: SIGNATURE_PREDICATE_TYPE,
  provenance: PROVENANCE_PREDICATE_TYPE,
}

/** Which of a version's kinds its referrers already hold (Sigstore bundles, by predicate type annotation). */
export function attestationsIn(referrers: readonly Referrer[]): AttestationKind[] {
  const types = new Set(
    referrers
      .filter((r) => r.artifactType === undefined || r.artifactType.startsWith('application/vnd.dev.sigstore.bundle'))
      .map((r) => r.annotations?.[PREDICATE_ANNOTATION]),
  )
  return ATTESTATION_KINDS.filter((k) => types.has(PREDICATE_TYPES[k]))
}

/** The public-good instance (Linux Foundation): Fulcio and Rekor, as `actions/attest` uses for public repositories. */
export const PUBLIC_GOOD = { fulcio: 'https://fulcio.sigstore.dev', rekor: 'https://rekor.sigstore.dev' }
/** GitHub's instance: Fulcio and a timestamp authority, no public log; `actions/attest` uses it for private repositories. */
export const GITHUB_INSTANCE = { fulcio: 'https://fulcio.githubapp.com', tsa: 'https://timestamp.githubapp.com' }

/** The Sigstore services a run signs with, and the trust root it checks its bundles against (`SIGSTORE_TRUSTED_ROOT`). */
export type SigstoreInstance = (
  | { name: string; fulcio: string; rekor?: string; tsa?: string }
  | { name: string; signingConfig: string; fulcio?: undefined; rekor?: undefined; tsa?: undefined }
) & { trustedRoot?: string }

/**
 * The Sigstore instance to sign with, from the environment, named as Sigstore's clients name it:
 * `SIGSTORE_SIGNING_CONFIG` (a SigningConfig JSON file, as `cosign --signing-config` reads), else
 * `SIGSTORE_FULCIO_URL` / `SIGSTORE_REKOR_URL` / `SIGSTORE_TSA_URL` (a custom instance: Fulcio plus
 * at least one of the log or the timestamp authority), else GitHub's instance for a private
 * repository and the public-good instance otherwise (what `actions/attest` chooses). With
 * `SIGSTORE_TRUSTED_ROOT` (a trusted_root.json, as `cosign --trusted-root` reads), every bundle is
 * verified against it before it is attached.
 *
 * @throws ActionError for a custom instance with neither a log nor a timestamp authority, or a URL
 *   that is not HTTPS (plain HTTP only on loopback).
 */
export function sigstoreInstance(env: NodeJS.ProcessEnv, repositoryPrivate: boolean | undefined): SigstoreInstance {
  const services = servicesOf(env, repositoryPrivate)
  return env.SIGSTORE_TRUSTED_ROOT ? { ...services, trustedRoot: env.SIGSTORE_TRUSTED_ROOT } : services
}

function servicesOf(env: NodeJS.ProcessEnv, repositoryPrivate: boolean | undefined): SigstoreInstance {
  if (env.SIGSTORE_SIGNING_CONFIG)
    return { name: `the SigningConfig in ${env.SIGSTORE_SIGNING_CONFIG}`, signingConfig: env.SIGSTORE_SIGNING_CONFIG }
  const { SIGSTORE_FULCIO_URL: fulcio, SIGSTORE_REKOR_URL: rekor, SIGSTORE_TSA_URL: tsa } = env
  if (fulcio || rekor || tsa) {
    if (!rekor && !tsa) {
      throw new ActionError(
        'SIGSTORE_FULCIO_URL is set without SIGSTORE_REKOR_URL or SIGSTORE_TSA_URL: a signature needs a log entry or a timestamp',
      )
    }
    const instance = {
      name: 'the instance in SIGSTORE_*_URL',
      fulcio: fulcio || PUBLIC_GOOD.fulcio,
      rekor: rekor || undefined,
      tsa: tsa || undefined,
    }
    for (const u of [instance.fulcio, instance.rekor, instance.tsa]) if (u) checkServiceUrl(u)
    return instance
  }
  return repositoryPrivate
    ? { name: "GitHub's Sigstore instance", ...GITHUB_INSTANCE }
    : { name: 'the public-good Sigstore instance', ...PUBLIC_GOOD }
}

function checkServiceUrl(url: string): void {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new ActionError(`Sigstore service URL '${url}' is not a URL`)
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) {
    throw new ActionError(`Sigstore service URL '${url}' must be https:// (plain http only on loopback): the identity token goes there`)
  }
}

/** The claims of the job's OIDC token the provenance is built from (GitHub docs, "OpenID Connect", token claims). */
export interface JobIdentity {
  repository: string
  repository_id: string
  repository_owner_id: string
  workflow_ref: string
  job_workflow_ref: string
  ref: string
  sha: string
  event_name: string
  run_id: string
  run_attempt: string
  runner_environment: string
}

/**
 * Reads a JWT's claims (no check: the token is this job's own, fresh from the token service).
 *
 * @throws ActionError for a token that is not a JWT.
 */
export function claimsOf(token: string): JobIdentity {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as JobIdentity
  } catch {
    throw new ActionError('the OIDC token is not a JWT')
  }
}

/**
 * The SLSA v1 provenance predicate of a chart version built by this job, in the shape GitHub's
 * build provenance attestations have (build type `https://actions.github.io/buildtypes/workflow/v1`:
 * the workflow as external parameters, the event and ids as internal ones, the source commit as the
 * resolved dependency, the job's workflow as the builder, the run attempt as the invocation).
 *
 * @param serverUrl `GITHUB_SERVER_URL` (`https://github.com`).
 */
export function provenancePredicate(claims: JobIdentity, serverUrl: string): Record<string, unknown> {
  const [workflowPath] = claims.workflow_ref.replace(`${claims.repository}/`, '').split('@')
  return {
    buildDefinition: {
      buildType: GITHUB_BUILD_TYPE,
      externalParameters: {
        workflow: { ref: claims.ref, repository: `${serverUrl}/${claims.repository}`, path: workflowPath },
      },
      internalParameters: {
        github: {
          event_name: claims.event_name,
          repository_id: claims.repository_id,
          repository_owner_id: claims.repository_owner_id,
          runner_environment: claims.runner_environment,
        },
      },
      resolvedDependencies: [{ uri: `git+${serverUrl}/${claims.repository}@${claims.ref}`, digest: { gitCommit: claims.sha } }],
    },
    runDetails: {
      builder: { id: `${serverUrl}/${claims.job_workflow_ref}` },
      metadata: { invocationId: `${serverUrl}/${claims.repository}/actions/runs/${claims.run_id}/attempts/${claims.run_attempt}` },
    },
  }
}

/** An in-toto Statement v1 about one OCI artifact (in-toto attestation framework, "Statement"). */
export function statementOf(subject: { name: string; digest: string }, predicateType: string, predicate: unknown): Buffer {
  const [algorithm, hex] = subject.digest.split(':')
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: subject.name, digest: { [algorithm]: hex } }],
      predicateType,
      predicate,
    }),
  )
}

/** A signed bundle and what it attests. */
export interface SignedBundle {
  kind: AttestationKind
  /** The bundle as JSON (protobuf-specs `Bundle` v0.3). */
  json: Record<string, unknown>
}

/**
 * Signs statements keylessly: a Fulcio certificate for an ephemeral key, bound to the job's OIDC
 * identity (`core.getIDToken('sigstore')`, a fresh token per certificate), then the instance's
 * Rekor entry (`dsse`) and/or RFC 3161 timestamp. `@sigstore/sign` does the protocol.
 */
export class SigstoreSigner {
  private builder?: Promise<{ create: (a: { data: Buffer; type: string }) => Promise<unknown> }>
  private claims?: JobIdentity
  private verifier?: import('@sigstore/verify').Verifier

  constructor(readonly instance: SigstoreInstance) {}

  /** The job's OIDC token for audience `sigstore` (masked). @throws ActionError naming the missing permission. */
  async token(): Promise<string> {
    if (!process.env.ACTIONS_ID_TOKEN_REQUEST_URL || !process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
      throw new ActionError(
        'sign: true needs an OIDC token: give the job `permissions: id-token: write` (ACTIONS_ID_TOKEN_REQUEST_URL is not set). ' +
          'Runs from forks\u2019 pull requests never get one',
      )
    }
    let token: string
    try {
      token = await core.getIDToken('sigstore')
    } catch (error) {
      throw new ActionError(`sign: could not get the job's OIDC token for audience sigstore: ${(error as Error).message}`)
    }
    // core.getIDToken masks the token itself.
    this.claims ??= claimsOf(token)
    return token
  }

  /** The claims of the job's token (fetching one when none was yet). */
  async identity(): Promise<JobIdentity> {
    if (!this.claims) await this.token()
    return this.claims!
  }

  /**
   * Signs one in-toto statement as a DSSE bundle.
   *
   * @throws ActionError naming the instance when a service refuses or cannot be reached.
   */
  async sign(kind: AttestationKind, statement: Buffer): Promise<SignedBundle> {
    const sigstore = await import('@sigstore/sign')
    const { bundleToJSON } = await import('@sigstore/bundle')
    this.builder ??= this.makeBuilder(sigstore)
    try {
      const bundle = await (await this.builder).create({ data: statement, type: 'application/vnd.in-toto+json' })
      return { kind, json: bundleToJSON(bundle as Parameters<typeof bundleToJSON>[0]) as unknown as Record<string, unknown> }
    } catch (error) {
      if (error instanceof ActionError) throw error
      const cause = (error as { cause?: Error }).cause
      throw new ActionError(
        `sign: ${this.instance.name} did not sign the ${kind} statement: ${(error as Error).message}${cause ? ` (${cause.message})` : ''}`,
      )
    }
  }

  /**
   * Verifies a bundle against `SIGSTORE_TRUSTED_ROOT` before anything is attached: the signature,
   * the certificate chain, the log entry or timestamp, the certificate's identity (this job's
   * workflow, issuer `https://token.actions.githubusercontent.com`) and the statement's subject.
   * Does nothing without a trust root (the public-good and GitHub instances' roots are distributed
   * by TUF, which this action does not fetch).
   *
   * @throws ActionError when the bundle does not verify: nothing is attached.
   */
  async check(bundle: SignedBundle, subjectDigest: string, serverUrl: string): Promise<void> {
    if (!this.instance.trustedRoot) return
    const verify = await import('@sigstore/verify')
    const { bundleFromJSON } = await import('@sigstore/bundle')
    const { TrustedRoot } = await import('@sigstore/protobuf-specs')
    const claims = await this.identity()
    try {
      this.verifier ??= new verify.Verifier(
        verify.toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(await readFile(this.instance.trustedRoot, 'utf8')))),
        { tlogThreshold: this.instance.rekor || 'signingConfig' in this.instance ? 1 : 0, timestampThreshold: 1 },
      )
      const parsed = bundleFromJSON(bundle.json)
      this.verifier.verify(verify.toSignedEntity(parsed), {
        subjectAlternativeName: `${serverUrl}/${claims.job_workflow_ref}`,
        extensions: { issuer: ACTIONS_ISSUER },
      })
      const payload = parsed.content.$case === 'dsseEnvelope' ? parsed.content.dsseEnvelope.payload : Buffer.alloc(0)
      const statement = JSON.parse(Buffer.from(payload).toString()) as { subject?: { digest?: Record<string, string> }[] }
      const [algorithm, hex] = subjectDigest.split(':')
      if (!statement.subject?.some((s) => s.digest?.[algorithm] === hex)) throw new Error(`its statement is not about ${subjectDigest}`)
    } catch (error) {
      throw new ActionError(
        `sign: the ${bundle.kind} bundle from ${this.instance.name} does not verify against SIGSTORE_TRUSTED_ROOT ` +
          `(${this.instance.trustedRoot}): ${(error as Error).message}. Nothing was attached`,
      )
    }
    core.info(`the ${bundle.kind} bundle verifies against ${this.instance.trustedRoot}`)
  }

  private async makeBuilder(sigstore: typeof import('@sigstore/sign')) {
    const identityProvider = { getToken: () => this.token() }
    const fetchOptions = { timeout: 30_000, retry: { retries: 3, minTimeout: 500 } }
    const { instance } = this
    if ('signingConfig' in instance && instance.signingConfig) {
      const { SigningConfig } = await import('@sigstore/protobuf-specs')
      let json: unknown
      try {
        json = JSON.parse(await readFile(instance.signingConfig, 'utf8'))
      } catch (error) {
        throw new ActionError(`SIGSTORE_SIGNING_CONFIG: cannot read ${instance.signingConfig}: ${(error as Error).message}`)
      }
      return sigstore.bundleBuilderFromSigningConfig({
        signingConfig: SigningConfig.fromJSON(json),
        identityProvider,
        bundleType: 'dsseEnvelope',
        fetchOptions,
      })
    }
    const witnesses = [
      ...(instance.rekor ? [new sigstore.RekorWitness({ rekorBaseURL: instance.rekor, entryType: 'dsse', ...fetchOptions })] : []),
      ...(instance.tsa ? [new sigstore.TSAWitness({ tsaBaseURL: instance.tsa, ...fetchOptions })] : []),
    ]
    const signer = new sigstore.FulcioSigner({ fulcioBaseURL: instance.fulcio!, identityProvider, ...fetchOptions })
    return new sigstore.DSSEBundleBuilder({ signer, witnesses })
  }
}
