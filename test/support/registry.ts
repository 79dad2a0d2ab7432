import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { createHash, createPrivateKey, sign, randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createNetServer } from 'node:net'
import bcrypt from 'bcryptjs'

/**
 * A real OCI registry on loopback: Debian's `docker-registry` (distribution 2.8) with storage
 * deletes enabled and, by default, token authentication as Docker Hub and ghcr.io do it — a 401
 * challenge naming a token realm, served here by a small token service that signs JWTs (RS256 with
 * an x5c certificate chain that the registry verifies against its `rootcertbundle`).
 *
 * Access rules of the token service: anonymous callers get `pull` on every repository (a public
 * registry); callers with {@link REGISTRY_USER}/{@link REGISTRY_PASSWORD} get everything they ask;
 * {@link READONLY_USER}/{@link READONLY_PASSWORD} (a token without `packages: write`) get `pull` only.
 */

export const REGISTRY_USER = 'ci-user'
export const REGISTRY_PASSWORD = 'registry-secret-Pa55'
export const READONLY_USER = 'reader'
export const READONLY_PASSWORD = 'reader-secret-Pa55'

export interface TestRegistry {
  /** `127.0.0.1:<port>` */
  host: string
  /** The token service's URL (the realm of the registry's challenges); empty without auth. */
  realm: string
  /**
   * Digests of every manifest stored in a repository, tagged or not (read from the registry's
   * storage: distribution keeps one revision link per manifest ever put).
   */
  manifestRevisions(repository: string): string[]
  /** Requests the token service answered, by outcome. */
  tokenRequests: { anonymous: number; authenticated: number; refused: number }
  /** Pushes a tiny image and tags it with each of `tags` (one manifest PUT per tag); `labels` go into its configuration. */
  seedTags(repository: string, tags: readonly string[], labels?: Record<string, string>): Promise<void>
  /**
   * Pushes an image of its own under `tag`, dated: `created` in its configuration (image-spec), and
   * `annotated` as the manifest's `org.opencontainers.image.created`; either may be left out.
   */
  seedDatedImage(repository: string, tag: string, dates: { created?: string; annotated?: string }): Promise<void>
  /** Tags of a repository, as the registry lists them (all pages). */
  listTags(repository: string): Promise<string[]>
  /** The OCI image manifest a tag points to, and its digest. */
  manifest(
    repository: string,
    tag: string,
  ): Promise<{ digest: string; manifest: { annotations?: Record<string, string>; layers: { digest: string }[] } }>
  /** Deletes the manifest a tag points to (the tag disappears with it). */
  deleteTag(repository: string, tag: string): Promise<void>
  /** A GET of `/v2/<repository>/<path>` with full access (`manifests/…`, `blobs/…`): the raw response. */
  get(repository: string, path: string, accept?: string): Promise<Response>
  /** A bearer token with full access to `repository`, for test setup. */
  adminToken(repository: string): string
  stop(): Promise<void>
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url')
}

async function waitFor(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const res = await fetch(url)
      await res.arrayBuffer()
      return
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`registry at ${url} did not start: ${(error as Error).message}`, { cause: error })
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

/** Starts a registry (with token auth unless `auth: false`). Stop it with `stop()`. */
export async function startRegistry(
  options: {
    auth?: boolean
    /** Basic auth for every request, pulls included, with these credentials (default REGISTRY_USER/REGISTRY_PASSWORD). */
    htpasswd?: boolean | { username: string; password: string }
    /** Token auth only: whether anonymous callers get `pull` (default true: a public registry). */
    anonymousPull?: boolean
  } = {},
): Promise<TestRegistry> {
  // htpasswd: Basic authentication for every request, pulls included (distribution's `auth.htpasswd`,
  // bcrypt entries only): a registry that nobody reads anonymously, as a private ghcr.io package is.
  const htpasswd = options.htpasswd ?? false
  const basicUser = typeof htpasswd === 'object' ? htpasswd : { username: REGISTRY_USER, password: REGISTRY_PASSWORD }
  const anonymousPull = options.anonymousPull ?? true
  const auth = !htpasswd && (options.auth ?? true)
  const dir = mkdtempSync(join(tmpdir(), 'zcc-registry-'))
  const port = await freePort()
  const host = `127.0.0.1:${port}`
  const service = 'zcc-test-registry'
  const issuer = 'zcc-test-token-issuer'
  const tokenRequests = { anonymous: 0, authenticated: 0, refused: 0 }
  let tokenServer: Server | undefined
  let realm = ''
  let keyPem = ''
  let certDer = ''

  if (auth) {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=zcc-token-signer',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    )
    keyPem = readFileSync(join(dir, 'key.pem'), 'utf8')
    certDer = readFileSync(join(dir, 'cert.pem'), 'utf8').replace(/-----[^-]+-----|\s/g, '')
    const tokenPort = await freePort()
    realm = `http://127.0.0.1:${tokenPort}/token`
    // Docker's token protocol: GET with Basic credentials ("Token Authentication Specification"),
    // and the OAuth2 form POST with a password or refresh_token grant ("OAuth2 Token") that Helm 3 uses.
    const refreshToken = `refresh-${randomUUID()}`
    tokenServer = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        const url = new URL(req.url ?? '/', realm)
        const form = req.method === 'POST' ? new URLSearchParams(body) : undefined
        let user: string | undefined
        let password: string | undefined
        const header = req.headers.authorization ?? ''
        if (header.startsWith('Basic ')) {
          const [u, ...rest] = Buffer.from(header.slice(6), 'base64').toString().split(':')
          user = u
          password = rest.join(':')
        } else if (form?.get('grant_type') === 'password') {
          user = form.get('username') ?? ''
          password = form.get('password') ?? ''
        }
        const refreshOk = form?.get('grant_type') === 'refresh_token' && form.get('refresh_token') === refreshToken
        const readonly = user === READONLY_USER && password === READONLY_PASSWORD
        const refused =
          (user !== undefined && !readonly && !(user === REGISTRY_USER && password === REGISTRY_PASSWORD)) ||
          (form?.get('grant_type') === 'refresh_token' && !refreshOk)
        if (refused) {
          tokenRequests.refused++
          res.writeHead(401, { 'Content-Type': 'application/json' })
          res.end(JSON.stringify({ details: 'incorrect username or password' }))
          return
        }
        const authenticated = user !== undefined || refreshOk
        if (authenticated) tokenRequests.authenticated++
        else tokenRequests.anonymous++
        const scopes = form ? (form.get('scope') ?? '').split(' ').filter(Boolean) : url.searchParams.getAll('scope')
        const access = scopes.flatMap((scope) => {
          const [type, ...middle] = scope.split(':')
          const actions = middle.pop() ?? ''
          const name = middle.join(':')
          const wanted = actions.split(',').filter(Boolean)
          const granted = authenticated && !readonly ? wanted : authenticated || anonymousPull ? wanted.filter((a) => a === 'pull') : []
          return type === 'repository' && granted.length ? [{ type, name, actions: granted }] : []
        })
        const token = makeToken(access, authenticated ? (user ?? REGISTRY_USER) : '')
        const offline = url.searchParams.get('offline_token') === 'true' || form?.get('access_type') === 'offline'
        res.writeHead(200, { 'Content-Type': 'application/json' })
        res.end(
          JSON.stringify({
            token,
            access_token: token,
            expires_in: 300,
            ...(authenticated && offline && !readonly ? { refresh_token: refreshToken } : {}),
          }),
        )
      })
    })
    await new Promise<void>((r) => tokenServer!.listen(tokenPort, '127.0.0.1', r))
  }

  function makeToken(access: unknown[], subject: string): string {
    const now = Math.floor(Date.now() / 1000)
    const header = { alg: 'RS256', typ: 'JWT', x5c: [certDer] }
    const claims = { iss: issuer, sub: subject, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access }
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
    return `${input}.${b64url(sign('sha256', Buffer.from(input), createPrivateKey(keyPem)))}`
  }

  const config = [
    'version: 0.1',
    'log: {level: error, accesslog: {disabled: true}}',
    'storage:',
    `  filesystem: {rootdirectory: ${join(dir, 'data')}}`,
    '  delete: {enabled: true}',
    'http:',
    `  addr: ${host}`,
    ...(auth
      ? [
          'auth:',
          '  token:',
          `    realm: ${realm}`,
          `    service: ${service}`,
          `    issuer: ${issuer}`,
          `    rootcertbundle: ${join(dir, 'cert.pem')}`,
        ]
      : []),
    ...(htpasswd ? ['auth:', '  htpasswd:', '    realm: zcc-basic-realm', `    path: ${join(dir, 'htpasswd')}`] : []),
  ].join('\n')
  if (htpasswd) writeFileSync(join(dir, 'htpasswd'), `${basicUser.username}:${bcrypt.hashSync(basicUser.password, 10)}\n`)
  writeFileSync(join(dir, 'config.yml'), config)
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d) => (stderr += d))
  child.on('exit', (code) => {
    if (code && code !== 0 && code !== 143) process.stderr.write(`docker-registry exited ${code}: ${stderr}\n`)
  })
  await waitFor(`http://${host}/v2/`)

  const adminToken = (repository: string) =>
    auth ? makeToken([{ type: 'repository', name: repository, actions: ['pull', 'push', 'delete'] }], REGISTRY_USER) : ''
  const basic = `Basic ${Buffer.from(`${basicUser.username}:${basicUser.password}`).toString('base64')}`
  const headers = (repository: string, extra: Record<string, string> = {}) => ({
    ...(auth ? { Authorization: `Bearer ${adminToken(repository)}` } : htpasswd ? { Authorization: basic } : {}),
    ...extra,
  })

  async function pushBlob(repository: string, content: Buffer): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`
    const start = await fetch(`http://${host}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers: headers(repository) })
    if (start.status !== 202) throw new Error(`blob upload start: ${start.status} ${await start.text()}`)
    const location = new URL(start.headers.get('location')!, `http://${host}`)
    location.searchParams.set('digest', digest)
    const put = await fetch(location, {
      method: 'PUT',
      headers: headers(repository, { 'Content-Type': 'application/octet-stream' }),
      body: content,
    })
    if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${await put.text()}`)
    return digest
  }

  return {
    host,
    realm,
    manifestRevisions(repository) {
      const revisions = join(dir, 'data/docker/registry/v2/repositories', repository, '_manifests/revisions/sha256')
      return existsSync(revisions) ? readdirSync(revisions).map((hex) => `sha256:${hex}`) : []
    },
    tokenRequests,
    adminToken,
    async seedTags(repository, tags, labels) {
      const configBlob = Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          ...(labels ? { config: { Labels: labels } } : {}),
          rootfs: { type: 'layers', diff_ids: [] },
        }),
      )
      const layer = Buffer.from(`layer of ${repository}`)
      const configDigest = await pushBlob(repository, configBlob)
      const layerDigest = await pushBlob(repository, layer)
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configBlob.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
      })
      const queue = [...tags]
      const worker = async () => {
        for (let tag = queue.shift(); tag !== undefined; tag = queue.shift()) {
          const res = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
            method: 'PUT',
            headers: headers(repository, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }),
            body: manifest,
          })
          if (res.status !== 201) throw new Error(`tag ${tag}: ${res.status} ${await res.text()}`)
        }
      }
      await Promise.all(Array.from({ length: 8 }, worker))
    },
    async seedDatedImage(repository, tag, dates) {
      const configBlob = Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          ...(dates.created ? { created: dates.created } : {}),
          rootfs: { type: 'layers', diff_ids: [] },
        }),
      )
      const layer = Buffer.from(`layer of ${repository}:${tag}`)
      const configDigest = await pushBlob(repository, configBlob)
      const layerDigest = await pushBlob(repository, layer)
      const res = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
        method: 'PUT',
        headers: headers(repository, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }),
        body: JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configBlob.length },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
          ...(dates.annotated ? { annotations: { 'org.opencontainers.image.created': dates.annotated } } : {}),
        }),
      })
      if (res.status !== 201) throw new Error(`tag ${tag}: ${res.status} ${await res.text()}`)
    },
    async listTags(repository) {
      const res = await fetch(`http://${host}/v2/${repository}/tags/list`, { headers: headers(repository) })
      if (res.status === 404) return []
      if (res.status !== 200) throw new Error(`list ${repository}: ${res.status} ${await res.text()}`)
      return ((await res.json()) as { tags: string[] | null }).tags ?? []
    },
    async manifest(repository, tag) {
      const res = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
        headers: headers(repository, { Accept: 'application/vnd.oci.image.manifest.v1+json' }),
      })
      if (res.status !== 200) throw new Error(`manifest ${repository}:${tag}: ${res.status} ${await res.text()}`)
      return {
        digest: res.headers.get('docker-content-digest') ?? '',
        manifest: (await res.json()) as { annotations?: Record<string, string>; layers: { digest: string }[] },
      }
    },
    get(repository, path, accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json') {
      return fetch(`http://${host}/v2/${repository}/${path}`, { headers: headers(repository, { Accept: accept }) })
    },
    async deleteTag(repository, tag) {
      const head = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
        method: 'HEAD',
        headers: headers(repository, { Accept: 'application/vnd.oci.image.manifest.v1+json' }),
      })
      const digest = head.headers.get('docker-content-digest')
      if (!digest) throw new Error(`no digest for ${repository}:${tag} (${head.status})`)
      const res = await fetch(`http://${host}/v2/${repository}/manifests/${digest}`, { method: 'DELETE', headers: headers(repository) })
      if (res.status !== 202) throw new Error(`delete ${repository}@${digest}: ${res.status}`)
    },
    async stop() {
      child.kill('SIGTERM')
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)))
      await new Promise((r) => (tokenServer ? tokenServer.close(() => r(undefined)) : r(undefined)))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The rocicorp/zero versions in test/fixtures, oldest first, as tags. */
export function releaseHistory(): { date: string; tag: string }[] {
  const text = readFileSync(new URL('../fixtures/rocicorp-zero-release-history.txt', import.meta.url), 'utf8')
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [date, tag] = l.split(/\s+/)
      return { date, tag }
    })
}

/** Tags that real upstream repositories carry next to versions and that selection must ignore. */
export const NOISE_TAGS = ['latest', 'canary', 'sha-3f9c2e1', 'sha-a1b2c3d4', '1.9', '1', '2025-11-20', 'nightly', '01.2.3', '1.2.3.4']
