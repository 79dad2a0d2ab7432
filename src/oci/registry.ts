import { createHash } from 'node:crypto'
import { Agent, RetryAgent, fetch, type Dispatcher } from 'undici'
import * as core from '@actions/core'
import { RegistryError } from '../errors.js'
import { formatReference, type RepositoryReference } from './reference.js'

/**
 * A small client for the OCI Distribution API (OCI distribution-spec v1.1, "Content discovery" and
 * "Pulling manifests"), with the token authentication flow of the Docker Registry v2 spec
 * ("Token Authentication Specification"): a 401 carries `WWW-Authenticate: Bearer realm=…,service=…,scope=…`;
 * the client fetches a token from the realm (with Basic credentials when it has them) and retries.
 *
 * Transport: undici with a RetryAgent, so 429 and 5xx answers to idempotent requests are retried
 * with exponential backoff and `Retry-After` honoured.
 */

/** `Basic <base64 user:password>` (RFC 7617). */
function basicAuthorization(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
}

/** Registry credentials (for ghcr.io: a user name and a GitHub token). */
export interface Credentials {
  username: string
  password: string
}

/** Options for {@link RegistryClient}. */
export interface RegistryClientOptions {
  /** Talk HTTP instead of HTTPS (local registries only). */
  plainHttp?: boolean
  /** Credentials for the token realm (Bearer) or the registry itself (Basic). */
  credentials?: Credentials
  /** The inputs the credentials come from, for errors (default `registry-username/registry-password`). */
  credentialsInput?: string
  /** Retries for 429/5xx and network errors (default 4). */
  maxRetries?: number
  /** First retry delay in ms (default 500; doubles each time, capped at 30 s). */
  minRetryDelayMs?: number
  /** Divides retry delays and timeouts (timeouts not below {@link MIN_TIMEOUT_MS}); 1 in real runs (see `Inputs.timeScale`). */
  timeScale?: number
}

/** Time to wait for a registry's response headers, and between body chunks, before the attempt counts as failed (retried). */
export const RESPONSE_TIMEOUT_MS = 30_000
/** The shortest a scaled timeout gets (tests scale time down; loopback under load still needs a moment). */
export const MIN_TIMEOUT_MS = 5_000

/** A manifest's identity, from a HEAD on `/v2/<name>/manifests/<reference>`. */
export interface ManifestDescriptor {
  /** `sha256:…` from the `Docker-Content-Digest` header. */
  digest?: string
  /** The `Content-Type` the registry reports. */
  mediaType?: string
  /** The manifest's size in bytes (`Content-Length`), when the registry reports it. */
  size?: number
}

/** The parts of an OCI image manifest or index that dependency checks read (image-spec v1.1). */
export interface OciManifest {
  mediaType?: string
  /** Index: the child manifests (a referrers index: each with the referrer's `artifactType` and annotations). */
  manifests?: { digest: string; mediaType?: string; size?: number; artifactType?: string; annotations?: Record<string, string> }[]
  /** Referrer: the manifest this one refers to (a signature's or attestation's subject). */
  subject?: { digest: string }
  /** Image manifest: the image's configuration blob. */
  config?: { digest: string; mediaType?: string }
  /** Image manifest: its layers. */
  layers?: { digest: string; mediaType?: string }[]
  annotations?: Record<string, string>
}

/** The annotation and label that name an image's source repository (image-spec, "Pre-Defined Annotation Keys"). */
export const SOURCE_ANNOTATION = 'org.opencontainers.image.source'

/** True for an image index or a Docker manifest list. */
export function isIndexMediaType(mediaType: string | undefined): boolean {
  return (
    mediaType === 'application/vnd.oci.image.index.v1+json' || mediaType === 'application/vnd.docker.distribution.manifest.list.v2+json'
  )
}

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE'

/** A blob of an artifact to push: its media type, bytes and descriptor annotations. */
export interface ArtifactBlob {
  mediaType: string
  data: Buffer
  annotations?: Record<string, string>
}

/** The descriptor of a blob (image-spec "Descriptors"). */
function blobDescriptor(b: ArtifactBlob): { mediaType: string; digest: string; size: number; annotations?: Record<string, string> } {
  return {
    mediaType: b.mediaType,
    digest: sha256Digest(b.data),
    size: b.data.length,
    ...(b.annotations ? { annotations: b.annotations } : {}),
  }
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'

/**
 * The bytes of an artifact's image manifest (image-spec v1.1 "Guidelines for Artifact Usage"): its
 * blobs' descriptors, and, for a referrer, its `subject`; `annotations` when given.
 */
export function artifactManifest(artifact: {
  artifactType?: string
  config: ArtifactBlob
  layers: ArtifactBlob[]
  subject?: { mediaType: string; digest: string; size: number }
  annotations?: Record<string, string>
}): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      ...(artifact.artifactType ? { artifactType: artifact.artifactType } : {}),
      config: blobDescriptor(artifact.config),
      layers: artifact.layers.map(blobDescriptor),
      ...(artifact.subject ? { subject: artifact.subject } : {}),
      ...(artifact.annotations ? { annotations: artifact.annotations } : {}),
    }),
  )
}

/** `sha256:<hex>` of bytes (image-spec "Digests"). */
export function sha256Digest(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`
}

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ')

/** Tags per page requested from `tags/list`; Docker Hub defaults to 100 when `n` is absent. */
export const TAGS_PAGE_SIZE = 1000
const MAX_PAGES = 1000
const USER_AGENT = 'zero-cache-chart-action'

let sharedDispatchers = new Map<string, Dispatcher>()

function dispatcherFor(maxRetries: number, minTimeout: number, timeScale: number): Dispatcher {
  const key = `${maxRetries}/${minTimeout}/${timeScale}`
  let dispatcher = sharedDispatchers.get(key)
  if (!dispatcher) {
    const timeout = Math.max(RESPONSE_TIMEOUT_MS / timeScale, MIN_TIMEOUT_MS)
    dispatcher = new RetryAgent(new Agent({ connectTimeout: Math.min(15_000, timeout), headersTimeout: timeout, bodyTimeout: timeout }), {
      maxRetries,
      minTimeout: minTimeout / timeScale,
      maxTimeout: 30_000 / timeScale,
      timeoutFactor: 2,
      retryAfter: true,
      // POST and DELETE only ever open and cancel an upload session (checkPush): safe to repeat.
      methods: ['GET', 'HEAD', 'POST', 'DELETE'],
      statusCodes: [429, 500, 502, 503, 504],
      // undici's defaults plus its timeouts: a registry that stalls once is asked again.
      errorCodes: [
        'ECONNRESET',
        'ECONNREFUSED',
        'ENOTFOUND',
        'ENETDOWN',
        'ENETUNREACH',
        'EHOSTDOWN',
        'EHOSTUNREACH',
        'EPIPE',
        'UND_ERR_SOCKET',
        'UND_ERR_CONNECT_TIMEOUT',
        'UND_ERR_HEADERS_TIMEOUT',
        'UND_ERR_BODY_TIMEOUT',
      ],
    })
    sharedDispatchers.set(key, dispatcher)
  }
  return dispatcher
}

/** Closes pooled connections so the process can exit promptly. */
export async function closeRegistryConnections(): Promise<void> {
  const all = [...sharedDispatchers.values()]
  sharedDispatchers = new Map()
  await Promise.all(all.map((d) => d.close().catch(() => undefined)))
}

/** A parsed `WWW-Authenticate` challenge (RFC 7235 §4.1). */
export interface Challenge {
  scheme: string
  params: Record<string, string>
}

/** Parses a `WWW-Authenticate` header value with one challenge: `Bearer realm="…",service="…"`. */
export function parseChallenge(header: string): Challenge | undefined {
  const match = /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s*(.*)$/s.exec(header)
  if (!match) return undefined
  const params: Record<string, string> = {}
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy
  const rest = match[2]
  re.lastIndex = 0
  let m: RegExpExecArray | null
  while (re.lastIndex < rest.length && (m = re.exec(rest))) {
    params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]
  }
  return { scheme: match[1].toLowerCase(), params }
}

/** Extracts the `rel="next"` target of an RFC 8288 `Link` header, or undefined. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*(.*)$/s.exec(part)
    if (m && /(?:^|;)\s*rel\s*=\s*"?(?:[^";]*\s)?next(?:\s[^";]*)?"?\s*(?:;|$)/i.test(m[2])) return m[1]
  }
  return undefined
}

/**
 * Reads one repository of an OCI registry. One instance per repository; it caches the bearer
 * token it obtained, so a run pays the challenge round trip once.
 */
export class RegistryClient {
  private authorization?: string
  /** {@link imageSource} answers by reference: the pull request's body and the chart's changes ask for the same tag. */
  private readonly sources = new Map<string, Promise<string | undefined>>()
  private readonly base: string
  private readonly dispatcher: Dispatcher

  constructor(
    readonly ref: RepositoryReference,
    private readonly options: RegistryClientOptions = {},
  ) {
    this.base = `${options.plainHttp ? 'http' : 'https'}://${ref.apiHost}`
    this.dispatcher = dispatcherFor(options.maxRetries ?? 4, options.minRetryDelayMs ?? 500, options.timeScale ?? 1)
  }

  /** Which inputs the client's credentials come from, for errors. */
  private get credentialsInput(): string {
    return this.options.credentialsInput ?? 'registry-username/registry-password'
  }

  private get name(): string {
    return formatReference(this.ref)
  }

  /**
   * Lists every tag of the repository: `GET /v2/<name>/tags/list?n=1000`, following `Link: <…>; rel="next"`
   * (distribution-spec "Listing Tags"). Registries that reject `n` (400) are asked again without it.
   *
   * @returns the tags in the registry's order.
   * @throws RegistryError naming the repository for 401/403/404 and for 429/5xx that outlive the retries.
   */
  async listTags(): Promise<string[]> {
    const tags: string[] = []
    const seen = new Set<string>()
    let url = `${this.base}/v2/${this.ref.repository}/tags/list?n=${TAGS_PAGE_SIZE}`
    let triedWithoutN = false
    for (let page = 0; page < MAX_PAGES; page++) {
      if (seen.has(url)) break
      seen.add(url)
      const res = await this.request('GET', url, { Accept: 'application/json' })
      if (res.status === 400 && page === 0 && !triedWithoutN) {
        await res.body?.cancel()
        triedWithoutN = true
        seen.clear()
        url = `${this.base}/v2/${this.ref.repository}/tags/list`
        page--
        continue
      }
      if (res.status !== 200) throw await this.statusError(res, 'list the tags of')
      const body = await this.readJson<{ tags?: unknown }>(res, url)
      if (typeof body !== 'object' || body === null || (body.tags !== null && body.tags !== undefined && !Array.isArray(body.tags))) {
        throw new RegistryError(
          `${this.name}: GET ${new URL(url).pathname} answered HTTP 200 without a 'tags' array; the registry or a proxy in front of it ` +
            `is misbehaving`,
          200,
        )
      }
      for (const tag of (body.tags as unknown[] | null | undefined) ?? []) if (typeof tag === 'string') tags.push(tag)
      const next = nextLink(res.headers.get('link'))
      if (!next) return tags
      url = new URL(next, url).toString()
      if (new URL(url).host !== new URL(this.base).host) {
        throw new RegistryError(`${this.name}: tags/list pointed to another host (${new URL(url).host}); refusing to follow`)
      }
    }
    return tags
  }

  /**
   * Asks whether a manifest exists: `HEAD /v2/<name>/manifests/<reference>` (distribution-spec
   * "Checking if content exists in the registry").
   *
   * @param reference a tag or a digest.
   * @returns the digest and media type, or undefined for 404.
   * @throws RegistryError for 401/403 and for errors that outlive the retries.
   */
  async headManifest(reference: string): Promise<ManifestDescriptor | undefined> {
    const res = await this.request('HEAD', `${this.base}/v2/${this.ref.repository}/manifests/${reference}`, {
      Accept: MANIFEST_ACCEPT,
    })
    if (res.status === 404) return undefined
    if (res.status !== 200) throw await this.statusError(res, `look up '${reference}' in`)
    const length = Number(res.headers.get('content-length') ?? NaN)
    return {
      digest: res.headers.get('docker-content-digest') ?? undefined,
      mediaType: res.headers.get('content-type') ?? undefined,
      ...(Number.isInteger(length) && length > 0 ? { size: length } : {}),
    }
  }

  /**
   * Fetches a manifest: `GET /v2/<name>/manifests/<reference>` (distribution-spec "Pulling manifests").
   *
   * @returns the parsed JSON and its media type, or undefined for 404.
   * @throws RegistryError for other failures.
   */
  async getManifest(reference: string): Promise<{ mediaType?: string; manifest: OciManifest } | undefined> {
    const res = await this.request('GET', `${this.base}/v2/${this.ref.repository}/manifests/${reference}`, { Accept: MANIFEST_ACCEPT })
    if (res.status === 404) return undefined
    if (res.status !== 200) throw await this.statusError(res, `read manifest '${reference}' of`)
    const url = `${this.base}/v2/${this.ref.repository}/manifests/${reference}`
    const manifest = await this.readJson<OciManifest>(res, url)
    if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
      throw new RegistryError(`${this.name}: GET ${new URL(url).pathname} answered HTTP 200 with JSON that is not a manifest`, 200)
    }
    return { mediaType: res.headers.get('content-type') ?? manifest.mediaType, manifest }
  }

  /**
   * The repository an image says it is built from: `org.opencontainers.image.source`, read from the
   * manifest's (or index's) annotations, else from the labels of the image configuration
   * (`GET /v2/<name>/blobs/<config digest>`; image-spec "Image Configuration", `config.Labels`). For
   * an index, the first child manifest that is not an attestation (platform `unknown/unknown`) is
   * read. Two to four requests; only an update's pull request asks.
   *
   * @returns the URL, or undefined when the image names none or cannot be read (never throws: the
   *   link is a courtesy of the pull request's text, not a reason to fail the run).
   */
  imageSource(reference: string): Promise<string | undefined> {
    let source = this.sources.get(reference)
    if (!source) {
      source = this.readImageSource(reference)
      this.sources.set(reference, source)
    }
    return source
  }

  /**
   * When an image was built: `org.opencontainers.image.created` from the manifest's (or index's)
   * annotations, else the `created` of its image configuration (image-spec "Image Configuration";
   * for an index, of its first child that is not an attestation). One to three requests: the
   * manifest, a child manifest, the configuration blob. For the cooldown (`min-release-age`),
   * asked only for the newest candidates.
   *
   * @returns the date, or undefined when the image gives none (or it cannot be read: never throws).
   */
  async imageCreated(reference: string): Promise<Date | undefined> {
    const date = (value: unknown) => {
      const d = typeof value === 'string' ? new Date(value) : undefined
      return d && !Number.isNaN(d.getTime()) && d.getTime() > 0 ? d : undefined
    }
    return this.readImage(reference, 'when it was built', {
      fromAnnotations: (annotations) => date(annotations?.['org.opencontainers.image.created']),
      fromConfig: (config) => date(config.created),
    })
  }

  /** Reads what {@link imageSource} returns, once per reference. */
  private readImageSource(reference: string): Promise<string | undefined> {
    const nonEmpty = (value: unknown) => (typeof value === 'string' && value ? value : undefined)
    return this.readImage(reference, 'the source', {
      fromAnnotations: (annotations) => nonEmpty(annotations?.[SOURCE_ANNOTATION]),
      fromConfig: (config) => nonEmpty(config.config?.Labels?.[SOURCE_ANNOTATION]),
    })
  }

  /**
   * A fact about an image, from the first place that has it: the manifest's (or index's)
   * annotations; for an index, its first child that is not an attestation (platform
   * `unknown/unknown`); else the image configuration (`GET /v2/<name>/blobs/<config digest>`).
   * One to three requests. Never throws: a fact that cannot be read is undefined (logged at debug).
   */
  private async readImage<T>(
    reference: string,
    what: string,
    read: {
      fromAnnotations: (annotations: Record<string, string> | undefined) => T | undefined
      fromConfig: (config: { created?: unknown; config?: { Labels?: Record<string, string> } }) => T | undefined
    },
  ): Promise<T | undefined> {
    try {
      let found = await this.getManifest(reference)
      for (let depth = 0; found && depth < 2; depth++) {
        const { manifest, mediaType } = found
        const annotated = read.fromAnnotations(manifest.annotations)
        if (annotated !== undefined) return annotated
        if (isIndexMediaType(mediaType)) {
          const children = (manifest.manifests ?? []) as { digest: string; platform?: { os?: string } }[]
          const child = children.find((m) => m.platform?.os !== 'unknown')
          found = child ? await this.getManifest(child.digest) : undefined
          continue
        }
        if (!manifest.config?.digest) return undefined
        const url = `${this.base}/v2/${this.ref.repository}/blobs/${manifest.config.digest}`
        const res = await this.request('GET', url, {})
        if (res.status !== 200) {
          await res.body?.cancel()
          return undefined
        }
        const config = await this.readJson<{ created?: unknown; config?: { Labels?: Record<string, string> } }>(res, url)
        return config ? read.fromConfig(config) : undefined
      }
    } catch (error) {
      core.debug(`${this.name}: could not read ${what} of ${reference}: ${(error as Error).message}`)
    }
    return undefined
  }

  /**
   * Pushes a small OCI artifact (an image manifest, image-spec v1.1) under `tag`: each blob that the
   * repository lacks (`HEAD /v2/<name>/blobs/<digest>`) is uploaded in one piece (`POST
   * /v2/<name>/blobs/uploads/`, then `PUT <location>?digest=…`; distribution-spec "Pushing a blob
   * monolithically"), then the manifest (`PUT /v2/<name>/manifests/<tag>`). Used for Artifact Hub's
   * repository metadata (tag `artifacthub.io`).
   *
   * @returns the manifest's digest.
   * @throws RegistryError when the registry refuses a step.
   */
  async pushArtifact(tag: string, artifact: { artifactType?: string; config: ArtifactBlob; layers: ArtifactBlob[] }): Promise<string> {
    await this.uploadBlobs([artifact.config, ...artifact.layers])
    return (await this.pushManifest(tag, artifactManifest(artifact), OCI_MANIFEST)).digest
  }

  /**
   * Uploads each blob the repository lacks (`HEAD /v2/<name>/blobs/<digest>`) in one piece (`POST
   * /v2/<name>/blobs/uploads/`, then `PUT <location>?digest=…`; distribution-spec "Pushing a blob
   * monolithically"). The upload location must be on the registry's own host.
   *
   * @throws RegistryError when the registry refuses a step.
   */
  async uploadBlobs(blobs: readonly ArtifactBlob[]): Promise<void> {
    for (const blob of blobs) {
      const digest = sha256Digest(blob.data)
      const head = await this.request('HEAD', `${this.base}/v2/${this.ref.repository}/blobs/${digest}`, {})
      if (head.status === 200) continue
      const start = await this.request('POST', `${this.base}/v2/${this.ref.repository}/blobs/uploads/`, {})
      await start.body?.cancel().catch(() => undefined)
      const location = start.headers.get('location')
      if (start.status !== 202 || !location) throw await this.statusError(start, 'start a blob upload to')
      const put = new URL(location, `${this.base}/v2/`)
      if (put.host !== new URL(this.base).host)
        throw new RegistryError(`${this.name}: the upload location is on another host (${put.host})`)
      put.searchParams.set('digest', digest)
      const done = await this.request('PUT', put.toString(), { 'Content-Type': 'application/octet-stream' }, blob.data)
      if (done.status !== 201) throw await this.statusError(done, `upload blob ${digest} to`)
      await done.body?.cancel().catch(() => undefined)
    }
  }

  /**
   * Pushes a manifest or index: `PUT /v2/<name>/manifests/<reference>` (distribution-spec "Pushing
   * Manifests"; its blobs must be in the repository first).
   *
   * @param reference a tag, or the manifest's own digest (a referrer is pushed by digest).
   * @returns its digest, and `subject`: the `OCI-Subject` header, which a registry with the referrers
   *   API sends for a manifest with a `subject` ("Pushing Manifests with Subject").
   * @throws RegistryError when the registry refuses it.
   */
  async pushManifest(reference: string, body: Buffer, mediaType: string): Promise<{ digest: string; subject?: string }> {
    const res = await this.request(
      'PUT',
      `${this.base}/v2/${this.ref.repository}/manifests/${reference}`,
      { 'Content-Type': mediaType },
      body,
    )
    if (res.status !== 201) throw await this.statusError(res, `push manifest '${reference}' to`)
    await res.body?.cancel().catch(() => undefined)
    return { digest: res.headers.get('docker-content-digest') ?? sha256Digest(body), subject: res.headers.get('oci-subject') ?? undefined }
  }

  /**
   * The referrers of a manifest from the referrers API: `GET /v2/<name>/referrers/<digest>`
   * (distribution-spec "Listing Referrers"; an image index whose descriptors carry each referrer's
   * `artifactType` and annotations). The first page only: a chart version has a handful.
   *
   * @returns the descriptors, or undefined when the registry has no referrers API (404).
   * @throws RegistryError for other failures.
   */
  async referrers(digest: string): Promise<NonNullable<OciManifest['manifests']> | undefined> {
    const url = `${this.base}/v2/${this.ref.repository}/referrers/${digest}`
    const res = await this.request('GET', url, { Accept: 'application/vnd.oci.image.index.v1+json' })
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined)
      return undefined
    }
    if (res.status !== 200) throw await this.statusError(res, `list the referrers of ${digest} in`)
    const index = await this.readJson<OciManifest>(res, url)
    return Array.isArray(index?.manifests) ? index.manifests : []
  }

  /**
   * Proves that the client's credentials may push to this repository, leaving nothing behind: opens a
   * blob upload session (`POST /v2/<name>/blobs/uploads/`, distribution-spec "Pushing blobs", 202
   * with a `Location`) and cancels it (`DELETE <location>`, "Canceling an upload"; an upload session
   * is not content, and registries expire abandoned ones anyway).
   *
   * @throws RegistryError naming the repository and the credentials when the registry refuses (401,
   *   403, 404 …) or cannot be reached.
   */
  async checkPush(): Promise<void> {
    const url = `${this.base}/v2/${this.ref.repository}/blobs/uploads/`
    const res = await this.request('POST', url, {})
    await res.body?.cancel().catch(() => undefined)
    if (res.status !== 202) {
      const who = this.options.credentials ? `'${this.options.credentials.username}'` : 'anonymous callers (no registry-password)'
      const hint =
        res.status === 401 || res.status === 403
          ? '; check registry-username/registry-password (for ghcr.io: packages: write, and for an existing package, ' +
            'Write access for this repository under its "Manage Actions access")'
          : ''
      throw new RegistryError(
        `${this.name}: the registry does not let ${who} push (POST /v2/${this.ref.repository}/blobs/uploads/ answered HTTP ` +
          `${res.status})${hint}`,
        res.status,
      )
    }
    const location = res.headers.get('location')
    if (!location) return
    const cancel = new URL(location, url)
    // Credentials go only to the registry itself, never to a host an answer names.
    if (cancel.host !== new URL(url).host) return
    // Best effort with the token in hand: a registry that wants another scope to cancel (docker
    // distribution asks for `delete`) expires the session by itself; no new token is worth fetching.
    const del = await this.send('DELETE', cancel.toString(), {}).catch(() => undefined)
    await del?.body?.cancel().catch(() => undefined)
  }

  private async request(method: Method, url: string, headers: Record<string, string>, body?: Buffer) {
    let res = await this.send(method, url, headers, body)
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '')
      await res.body?.cancel()
      if (challenge && (await this.authenticate(challenge))) res = await this.send(method, url, headers, body)
    }
    return res
  }

  private async send(method: Method, url: string, headers: Record<string, string>, body?: Buffer) {
    try {
      return await fetch(url, {
        method,
        body,
        headers: {
          'User-Agent': USER_AGENT,
          ...headers,
          ...(this.authorization ? { Authorization: this.authorization } : {}),
        },
        dispatcher: this.dispatcher,
        redirect: 'follow',
      })
    } catch (error) {
      throw this.transportError(error, url)
    }
  }

  /** Obtains credentials for a challenge; false when there is nothing more to try. */
  private async authenticate(challenge: Challenge): Promise<boolean> {
    const creds = this.options.credentials
    if (challenge.scheme === 'basic') {
      if (!creds || this.authorization?.startsWith('Basic ')) return false
      this.authorization = basicAuthorization(creds)
      return true
    }
    if (challenge.scheme !== 'bearer' || !challenge.params.realm) return false
    if (this.authorization?.startsWith('Bearer ') && !challenge.params.error) return false
    const token = await this.fetchToken(this.realmOf(challenge), creds)
    core.setSecret(token)
    this.authorization = `Bearer ${token}`
    return true
  }

  /**
   * The token realm of a Bearer challenge, with its `service` and `scope` ("Token Authentication
   * Specification"). Plain HTTP is for a local registry: its own host may serve the realm over
   * HTTP, but a realm on another host gets the credentials only over HTTPS.
   *
   * @throws RegistryError for a realm the credentials must not go to.
   */
  private realmOf(challenge: Challenge): URL {
    const realm = new URL(challenge.params.realm)
    const sameHost = realm.hostname === new URL(this.base).hostname
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && this.options.plainHttp && sameHost)) {
      throw new RegistryError(
        `${this.name}: the token realm ${realm.origin} is not HTTPS${sameHost ? '' : ` and not on the registry's host`}; refusing to ` +
          `send credentials (plain-http allows an HTTP realm only on the registry's own host)`,
      )
    }
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service)
    realm.searchParams.set('scope', challenge.params.scope ?? `repository:${this.ref.repository}:pull`)
    return realm
  }

  /**
   * A token from the realm (`GET`, with Basic credentials when the client has them).
   *
   * @throws RegistryError when the token service refuses (401/403, naming whose credentials), fails,
   *   or answers without a token; its body is never quoted (it may hold part of a token).
   */
  private async fetchToken(realm: URL, creds: Credentials | undefined): Promise<string> {
    const headers: Record<string, string> = { Accept: 'application/json' }
    if (creds) headers.Authorization = basicAuthorization(creds)
    const previous = this.authorization
    this.authorization = undefined
    const res = await this.send('GET', realm.toString(), headers).finally(() => {
      this.authorization = previous
    })
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel()
      throw new RegistryError(
        `${this.name}: the token service ${realm.host} refused ` +
          `${creds ? `the credentials of '${creds.username}'` : 'an anonymous token'} (HTTP ${res.status})` +
          (creds ? `; check ${this.credentialsInput}` : `; the repository may be private: set ${this.credentialsInput}`),
        res.status,
      )
    }
    if (res.status !== 200) throw await this.statusError(res, 'get a token for')
    const body = await this.readJson<{ token?: unknown; access_token?: unknown }>(res, realm.toString(), { secret: true })
    const token = typeof body === 'object' && body !== null ? (body.token ?? body.access_token) : undefined
    if (typeof token !== 'string' || !token) {
      throw new RegistryError(
        `${this.name}: the token service ${realm.host} answered HTTP 200 without a token (GET ${realm.pathname})`,
        200,
      )
    }
    return token
  }

  /**
   * Reads a JSON answer. A body that cannot be read or parsed (an HTML error page behind a proxy,
   * a truncated body) becomes a RegistryError naming the endpoint and the status, quoting the
   * start of the body unless it may hold a secret.
   */
  private async readJson<T>(res: Awaited<ReturnType<typeof fetch>>, url: string, options: { secret?: boolean } = {}): Promise<T> {
    const endpoint = `GET ${new URL(url).host}${new URL(url).pathname}`
    let text: string
    try {
      text = await res.text()
    } catch (error) {
      throw this.transportError(error, url, `reading the answer of ${endpoint} (HTTP ${res.status})`)
    }
    try {
      return JSON.parse(text) as T
    } catch {
      const type = res.headers.get('content-type') ?? 'no content type'
      const start = options.secret ? '' : `, starting ${JSON.stringify(text.slice(0, 60).replace(/\s+/g, ' '))}`
      throw new RegistryError(
        `${this.name}: ${endpoint} answered HTTP ${res.status} with a body that is not JSON (${type}, ${Buffer.byteLength(text)} ` +
          `bytes${start}); ` +
          'the registry or a proxy in front of it is misbehaving; the next run will try again',
        res.status,
      )
    }
  }

  private async statusError(res: Awaited<ReturnType<typeof fetch>>, action: string): Promise<RegistryError> {
    let detail = ''
    try {
      const text = await res.text()
      const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] }
      detail = (parsed.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ')
    } catch {
      // not JSON (or HEAD without body): the status says enough
    }
    const suffix = detail ? ` (${detail})` : ''
    const what = `could not ${action} ${this.name}: HTTP ${res.status}${suffix}`
    switch (res.status) {
      case 401:
        return new RegistryError(
          this.options.credentials
            ? `${what}. The registry refused the credentials of '${this.options.credentials.username}' (${this.credentialsInput})`
            : `${what}. The repository may not exist, or it is private and needs credentials that can read it (${this.credentialsInput})`,
          401,
        )
      case 403: {
        const creds = this.options.credentials
        const who = creds ? `The credentials of '${creds.username}' (${this.credentialsInput})` : 'Anonymous callers'
        return new RegistryError(`${what}. ${who} lack permission for this repository`, 403)
      }
      case 404:
        return new RegistryError(
          `${what}. No such repository: check the name (Docker Hub images without a namespace are 'library/<name>')`,
          404,
        )
      case 429:
        return new RegistryError(`${what}. The registry is rate limiting this runner; the next run will try again`, 429)
      default:
        return new RegistryError(res.status >= 500 ? `${what}. The registry failed; the next run will try again` : what, res.status)
    }
  }

  private transportError(error: unknown, url: string, during?: string): RegistryError {
    const cause = (error as { cause?: { statusCode?: number; code?: string; message?: string } }).cause
    const host = new URL(url).host
    if (cause?.statusCode) {
      return new RegistryError(
        `${this.name}: ${host} kept answering HTTP ${cause.statusCode} after retries; the next run will try again`,
        cause.statusCode,
      )
    }
    const reason = cause?.code ?? cause?.message ?? (error as Error).message
    const hint =
      !this.options.plainHttp && /ECONNRESET|EPROTO|ERR_SSL/.test(String(reason))
        ? ' (is it a plain-HTTP registry? then set plain-http: true)'
        : ''
    return new RegistryError(
      during
        ? `${this.name}: ${host} broke off ${during}: ${reason}; the next run will try again`
        : `${this.name}: cannot reach ${host}: ${reason}${hint}`,
    )
  }
}
