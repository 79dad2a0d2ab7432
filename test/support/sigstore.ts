import { createHash, generateKeyPairSync, randomBytes, sign as signData, verify as verifySignature, type KeyObject } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { fulcioHandler, initializeCA, initializeCTLog, initializeTLog, initializeTSA, rekorHandler, tsaHandler } from '@sigstore/mock'
import { HashAlgorithm, PublicKeyDetails, TrustedRoot } from '@sigstore/protobuf-specs'
import { bundleFromJSON } from '@sigstore/bundle'

type CA = Awaited<ReturnType<typeof initializeCA>>
type CTLog = Awaited<ReturnType<typeof initializeCTLog>>
type TLog = Awaited<ReturnType<typeof initializeTLog>>
type TSA = Awaited<ReturnType<typeof initializeTSA>>
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify'
import { expect } from 'vitest'
import { ACTIONS_ISSUER, type JobIdentity } from '../../src/release/sign.js'
import type { TestRegistry } from './registry.js'

/**
 * Sigstore on loopback, for the bundled action: Sigstore's own mock services (`@sigstore/mock`:
 * Fulcio, Rekor v1, a timestamp authority) mounted on one HTTP server, with the GitHub Actions OIDC
 * token service in front of them (what `ACTIONS_ID_TOKEN_REQUEST_URL` serves a job with
 * `id-token: write`).
 *
 * What the mocks leave out, done here as the real services do it:
 * - Fulcio checks the token: signature (our issuer's key), audience `sigstore`, expiry; and for
 *   GitHub Actions tokens the certificate's URI SAN is `https://github.com/` + `job_workflow_ref`
 *   (Fulcio's "OIDC Usage in Fulcio" doc, GitHub Actions issuer: SAN from `job_workflow_ref`).
 * - Rekor stores a `dsse` 0.0.1 entry canonicalized: the envelope and payload hashes and the
 *   signatures with their verifiers, not the proposed envelope (rekor `pkg/types/dsse/v0.0.1`,
 *   `Canonicalize`); `@sigstore/verify` checks the body against the bundle.
 * - Requests the services refused are counted; tests assert there were none or the expected ones.
 */

export { ACTIONS_ISSUER }

/**
 * The claims of a GitHub Actions OIDC token the tests give a job (GitHub docs, "About security
 * hardening with OpenID Connect"): those the provenance reads, and a few more a real token has.
 */
export interface JobClaims extends JobIdentity {
  repository_owner: string
  workflow: string
  repository_visibility: string
}

export function jobClaims(repository: string, sha = 'a'.repeat(40), workflow = 'release-chart.yml'): JobClaims {
  const ref = `${repository}/.github/workflows/${workflow}@refs/heads/main`
  return {
    repository,
    repository_id: '123456',
    repository_owner: repository.split('/')[0],
    repository_owner_id: '654321',
    workflow: 'Release chart',
    workflow_ref: ref,
    job_workflow_ref: ref,
    ref: 'refs/heads/main',
    sha,
    event_name: 'schedule',
    run_id: '4242',
    run_attempt: '1',
    runner_environment: 'github-hosted',
    repository_visibility: 'public',
  }
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url')
}

export interface SigstoreStandIn {
  url: string
  /** Environment for the action: the OIDC request variables and the Sigstore endpoints. */
  env(): Record<string, string>
  /** The trusted root (JSON) of the mock instance, for `@sigstore/verify`; and the file it is in. */
  trustedRoot: unknown
  trustedRootFile: string
  /** The certificate identity a job's signature carries: `https://github.com/<job_workflow_ref>`. */
  identityOf(claims: JobClaims): string
  /** Change the job the next tokens are for. */
  setJob(claims: JobClaims): void
  /** Requests per service path, and the refused ones with why. */
  readonly requests: Map<string, number>
  readonly refused: string[]
  /** Called before a service (`fulcio`, `rekor`, `tsa`) handles a request: fault tests kill the action here. */
  beforeService?: (service: string) => void
  /** Make a service answer 503 (`fulcio`, `rekor`, `tsa`) for the next `times` requests. */
  fail(service: 'fulcio' | 'rekor' | 'tsa', times: number): void
  /** Verifies a bundle (JSON) against the mock trust root: the statement's subject digest and the identity. */
  verify(bundleJson: unknown, expect: { identity: string; digest: string }): Promise<{ predicateType: string; predicate: unknown }>
  stop(): Promise<void>
}

/** Starts the stand-in on 127.0.0.1 (a free port). */
export async function startSigstore(initial: JobClaims): Promise<SigstoreStandIn> {
  const issuerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const requestToken = randomBytes(16).toString('hex')
  let job = initial
  const requests = new Map<string, number>()
  const refused: string[] = []
  const failures = new Map<string, number>()
  const server: Server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const ctLog: CTLog = await initializeCTLog(keyPair())
  const ca: CA = await initializeCA(keyPair(), ctLog)
  const tlog: TLog = await initializeTLog(`${url}/rekor`, keyPair())
  // RFC 3161 genTime in whole seconds: @sigstore/core does not parse fractional GeneralizedTime. The
  // mock reads this Date on each request; it is set to the current second before each one.
  const tsaClock = new Date(Math.floor(Date.now() / 1000) * 1000)
  const tsa: TSA = await initializeTSA(keyPair(), tsaClock)
  const fulcio = fulcioHandler(ca, { subjectClaim: 'zcc_san' })
  const rekor = rekorHandler(tlog)
  const timestamp = tsaHandler(tsa)

  const issueToken = (audience: string): string => {
    const now = Math.floor(Date.now() / 1000)
    const header = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT' }))
    const payload = b64url(
      JSON.stringify({
        ...job,
        iss: ACTIONS_ISSUER,
        aud: audience,
        sub: `repo:${job.repository}:ref:${job.ref}`,
        iat: now,
        nbf: now,
        exp: now + 300,
      }),
    )
    const sig = signData('sha256', Buffer.from(`${header}.${payload}`), { key: issuerKey.privateKey, dsaEncoding: 'ieee-p1363' })
    return `${header}.${payload}.${b64url(sig)}`
  }

  /** Fulcio's token checks; the token the mock sees carries the SAN as a claim of ours (`zcc_san`). */
  const checkToken = (token: string): Record<string, unknown> => {
    const [h, p, s] = token.split('.')
    if (!h || !p || !s) throw new Error('the identity token is not a JWT')
    const ok = verifySignature(
      'sha256',
      Buffer.from(`${h}.${p}`),
      { key: issuerKey.publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(s, 'base64url'),
    )
    if (!ok) throw new Error('the identity token signature does not verify')
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
    if (claims.aud !== 'sigstore') throw new Error(`the identity token audience is ${String(claims.aud)}, not sigstore`)
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) throw new Error('the identity token has expired')
    if (claims.iss !== ACTIONS_ISSUER) throw new Error(`unknown issuer ${String(claims.iss)}`)
    return claims
  }

  const readBody = async (req: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    return Buffer.concat(chunks).toString()
  }

  const answer = (res: ServerResponse, status: number, body: string | ArrayBufferView, type = 'application/json') => {
    res.writeHead(status, { 'Content-Type': type })
    res.end(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength))
  }

  const services: Record<
    string,
    (body: string) => Promise<{ statusCode: number; response: string | ArrayBufferView; contentType?: string }>
  > = {
    [`/fulcio${fulcio.path}`]: async (body) => {
      const request = JSON.parse(body) as { credentials: { oidcIdentityToken: string } }
      const claims = checkToken(request.credentials.oidcIdentityToken)
      // The mock reads claims without checking them: give it the SAN Fulcio derives for Actions tokens.
      const san = `https://github.com/${String(claims.job_workflow_ref)}`
      const { aud: _aud, ...rest } = claims
      const forMock = `${b64url('{"alg":"none"}')}.${b64url(JSON.stringify({ ...rest, zcc_san: san }))}.`
      request.credentials.oidcIdentityToken = forMock
      return fulcio.fn(JSON.stringify(request))
    },
    [`/rekor${rekor.path}`]: async (body) => rekor.fn(JSON.stringify(canonicalDsse(JSON.parse(body)))),
    [`/tsa${timestamp.path}`]: async (body) => {
      tsaClock.setTime(Math.floor(Date.now() / 1000) * 1000)
      return timestamp.fn(body)
    },
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const path = new URL(req.url ?? '/', url).pathname
      requests.set(path, (requests.get(path) ?? 0) + 1)
      if (path === '/oidc/token') {
        if (req.headers.authorization !== `Bearer ${requestToken}`) {
          refused.push(`oidc: wrong request token`)
          return answer(res, 401, '{"message":"Bad credentials"}')
        }
        const audience = new URL(req.url ?? '/', url).searchParams.get('audience') ?? ''
        return answer(res, 200, JSON.stringify({ count: 1, value: issueToken(audience) }))
      }
      const service = services[path]
      if (!service || req.method !== 'POST') return answer(res, 404, '{"message":"not found"}')
      const name = path.split('/')[1]
      standIn.beforeService?.(name)
      const left = failures.get(name) ?? 0
      if (left > 0) {
        failures.set(name, left - 1)
        return answer(res, 503, '{"message":"unavailable"}')
      }
      try {
        const result = await service(await readBody(req))
        if (result.statusCode >= 400) refused.push(`${name}: ${String(result.response)}`)
        answer(res, result.statusCode, result.response, result.contentType)
      } catch (error) {
        refused.push(`${name}: ${(error as Error).message}`)
        answer(res, 400, JSON.stringify({ message: (error as Error).message }))
      }
    })()
  })

  const trustedRoot = TrustedRoot.toJSON(trustedRootOf(ca, ctLog, tlog, tsa, url))
  const trustMaterial = toTrustMaterial(TrustedRoot.fromJSON(trustedRoot))
  const trustedRootFile = join(mkdtempSync(join(tmpdir(), 'zcc-sigstore-')), 'trusted_root.json')
  writeFileSync(trustedRootFile, JSON.stringify(trustedRoot))

  const standIn: SigstoreStandIn = {
    url,
    trustedRoot,
    trustedRootFile,
    requests,
    refused,
    env: () => ({
      ACTIONS_ID_TOKEN_REQUEST_URL: `${url}/oidc/token?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken,
      SIGSTORE_FULCIO_URL: `${url}/fulcio`,
      SIGSTORE_REKOR_URL: `${url}/rekor`,
      SIGSTORE_TSA_URL: `${url}/tsa/api/v1/timestamp`,
      // The action checks each bundle against the instance's root before it attaches it.
      SIGSTORE_TRUSTED_ROOT: trustedRootFile,
    }),
    identityOf: (claims) => `https://github.com/${claims.job_workflow_ref}`,
    setJob: (claims) => {
      job = claims
    },
    fail: (service, times) => {
      failures.set(service, times)
    },
    async verify(bundleJson, expect) {
      const bundle = bundleFromJSON(bundleJson)
      const verifier = new Verifier(trustMaterial, { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 })
      const entity = toSignedEntity(bundle)
      verifier.verify(entity, { subjectAlternativeName: expect.identity, extensions: { issuer: ACTIONS_ISSUER } })
      if (bundle.content.$case !== 'dsseEnvelope') throw new Error('not a DSSE bundle')
      const statement = JSON.parse(Buffer.from(bundle.content.dsseEnvelope.payload).toString()) as {
        predicateType: string
        predicate: unknown
        subject: { digest: { sha256: string } }[]
      }
      const want = expect.digest.replace(/^sha256:/, '')
      if (!statement.subject.some((s) => s.digest.sha256 === want)) {
        throw new Error(`the statement's subject is not ${expect.digest}`)
      }
      return { predicateType: statement.predicateType, predicate: statement.predicate }
    },
    stop: () => new Promise<void>((r) => server.close(() => r())),
  }
  return standIn
}

/**
 * Rekor's canonical body of a `dsse` 0.0.1 entry: `{envelopeHash, payloadHash, signatures}` from the
 * proposed `{proposedContent: {envelope, verifiers}}`.
 */
function canonicalDsse(entry: { kind?: string; apiVersion?: string; spec?: Record<string, unknown> }): unknown {
  if (entry.kind !== 'dsse') return entry
  const content = (entry.spec as { proposedContent: { envelope: string; verifiers: string[] } }).proposedContent
  const envelope = JSON.parse(content.envelope) as { payload: string; signatures: { sig: string }[] }
  const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex')
  return {
    apiVersion: entry.apiVersion,
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(content.envelope) },
      payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(envelope.payload, 'base64')) },
      signatures: envelope.signatures.map((s, i) => ({ signature: s.sig, verifier: content.verifiers[i] ?? content.verifiers[0] })),
    },
  }
}

/** The mock instance's trust root, in the shape of Sigstore's `trusted_root.json` (protobuf-specs TrustedRoot). */
function trustedRootOf(ca: CA, ctLog: CTLog, tlog: TLog, tsa: TSA, url: string): TrustedRoot {
  const start = new Date(Date.now() - 60_000)
  const der = (key: Buffer | KeyObject) => (Buffer.isBuffer(key) ? key : key.export({ format: 'der', type: 'spki' }))
  const raw = (v: ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: `${url}/fulcio`,
        certChain: { certificates: [{ rawBytes: raw(ca.rootCertificate) }] },
        validFor: { start },
        operator: 'sigstore.mock',
      },
    ],
    tlogs: [
      {
        baseUrl: `${url}/rekor`,
        hashAlgorithm: HashAlgorithm.SHA2_256,
        publicKey: { rawBytes: der(tlog.publicKey), keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256, validFor: { start } },
        logId: { keyId: createHash('sha256').update(der(tlog.publicKey)).digest() },
        checkpointKeyId: undefined,
        operator: 'sigstore.mock',
      },
    ],
    ctlogs: [
      {
        baseUrl: `${url}/ct`,
        hashAlgorithm: HashAlgorithm.SHA2_256,
        publicKey: { rawBytes: der(ctLog.publicKey), keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256, validFor: { start } },
        logId: { keyId: raw(ctLog.logID) },
        checkpointKeyId: undefined,
        operator: 'sigstore.mock',
      },
    ],
    timestampAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'tsa' },
        uri: `${url}/tsa`,
        certChain: { certificates: [{ rawBytes: raw(tsa.intCertificate) }, { rawBytes: raw(tsa.rootCertificate) }] },
        validFor: { start },
        operator: 'sigstore.mock',
      },
    ],
  }
}

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
