import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { freePort } from './registry.js'

/**
 * A stateful test double of the GitHub REST API — the only fake in the test suite, because GitHub
 * cannot be reached from here. It serves the endpoints prune uses:
 *
 *   GET    /users/{username}
 *   GET    /{orgs|users}/{owner}/packages/container/{package_name}/versions   (per_page ≤ 100, page, Link)
 *   DELETE /{orgs|users}/{owner}/packages/container/{package_name}/versions/{id}
 *   DELETE /{orgs|users}/{owner}/packages/container/{package_name}
 *
 * and the ones pull-request mode uses (see {@link GitHubApiDouble.linkRepository}):
 *
 *   GET    /repos/{owner}/{repo}/pulls            (head, base, state, sort=created, direction, per_page)
 *   POST   /repos/{owner}/{repo}/pulls            (201; 422 when the head branch is missing or already has an open one)
 *   PATCH  /repos/{owner}/{repo}/pulls/{pull_number}
 *   POST   /repos/{owner}/{repo}/issues/{issue_number}/labels
 *   POST   /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers
 *
 * the Release endpoints (`github-release`) and workflow dispatch (`dispatch-workflow`):
 *
 *   GET    /repos/{owner}/{repo}/releases/tags/{tag}
 *   POST   /repos/{owner}/{repo}/releases                      (422 already_exists for a tag that has one)
 *   PATCH  /repos/{owner}/{repo}/releases/{release_id}
 *   POST   /repos/{owner}/{repo}/releases/{release_id}/assets?name=   (the `upload_url` host; 422 already_exists)
 *   POST   /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches   (204; 404; 422 for undeclared inputs)
 *
 * It keeps versions newest first as GitHub does, paginates with `Link` (`next`, `last`, `prev`,
 * `first`), answers with `x-ratelimit-*` headers, enforces a primary budget (403 "API rate limit
 * exceeded", remaining 0) and a secondary limit in points per minute (GET 1, DELETE 5; 403 "You have
 * exceeded a secondary rate limit" with `retry-after`), can inject transient 5xx, and adds latency.
 * Time can be scaled (a "minute" of `60_000 / timeScale` ms) so benchmarks run in seconds.
 *
 * Every response it sends is validated against GitHub's official OpenAPI description
 * (`@octokit/openapi`, api.github.com, dereferenced): the status must be declared for the operation
 * (5xx excepted, which GitHub may send anywhere; they are checked against `basic-error`) and the body
 * must match the declared schema. Failures are collected in `violations`; tests assert it is empty.
 *
 * Answers of GitHub that are outside the description are allowed here by operation and exact
 * message, each with its source (../shared/FACTS.md, "GitHub Packages API"); the DELETE operations
 * declare only 204/401/403/404:
 * - {@link LAST_TAGGED}: deleting the only tagged version of a container package, 400. The rule
 *   counts tagged versions only: an untagged version deletes even when it is the last version.
 *   Seen in kairos-io/kairos#4723, posit-dev/positron#15764 (GHCR "refuses to delete a package's
 *   last tagged version"), NVIDIA's and ghcrctl's cleanup scripts matching this exact text.
 * - {@link HIGH_DOWNLOADS}: deleting a version of a public package downloaded more than 5,000 times,
 *   400 (chizkiyahu/delete-untagged-ghcr-action#40 quotes the whole body; GitHub docs, "Deleting and
 *   restoring a package": such versions cannot be deleted).
 * - {@link HIGH_DOWNLOADS_PACKAGE}: deleting a public package one of whose versions has more than
 *   5,000 downloads (sigstore/cosign#3984 quotes the message; the status is not quoted there, 400 is
 *   assumed from the version-level answer).
 * Other package types answer "You cannot delete the last version of a package…"
 * (actions/delete-package-versions#231, SmartsquareGmbH/delete-old-packages#33); this double serves
 * container packages only, so it never sends that wording.
 *
 * Faults outside GitHub's behaviour (a broken body, an HTML error page) are injected with
 * {@link GitHubApiDouble.inject}; they are sent as given and not validated.
 */

const require = createRequire(import.meta.url)
const spec = require('@octokit/openapi/generated/api.github.com.deref.json') as OpenApi
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

interface OpenApi {
  paths: Record<
    string,
    Record<string, { operationId: string; responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >
}

/** GitHub's `basic-error` schema, as the spec declares it for the packages endpoints' 403. */
const BASIC_ERROR =
  spec.paths['/orgs/{org}/packages/{package_type}/{package_name}/versions'].get.responses['403'].content!['application/json'].schema

/** GitHub's message when asked to delete a container package's only tagged version (sources above). */
export const LAST_TAGGED = 'You cannot delete the last tagged version of a package. You must delete the package instead.'
/** GitHub's message for a version of a public package with more than 5,000 downloads (sources above). */
export const HIGH_DOWNLOADS =
  'Publicly visible package versions with more than 5000 downloads cannot be deleted. Contact GitHub support for further assistance.'
/** GitHub's message for a public package one of whose versions has more than 5,000 downloads (sources above). */
export const HIGH_DOWNLOADS_PACKAGE =
  'Publicly visible packages with a version with more than 5000 downloads cannot be deleted. contact GitHub support for further assistance'

/** The documented undeclared answers, by operation: status 400 with exactly these messages. */
const UNDECLARED_400: Record<string, string[]> = {
  'packages/delete-package-version-for-org': [LAST_TAGGED, HIGH_DOWNLOADS],
  'packages/delete-package-version-for-user': [LAST_TAGGED, HIGH_DOWNLOADS],
  'packages/delete-package-for-org': [HIGH_DOWNLOADS_PACKAGE],
  'packages/delete-package-for-user': [HIGH_DOWNLOADS_PACKAGE],
}

/**
 * Other documented or observed answers the description leaves out, by operation. Workflow dispatch
 * declares only 200 and 204, but GitHub answers 422 "Unexpected inputs provided: [...]" for inputs
 * the workflow does not declare (benc-uk/workflow-dispatch#80, peter-evans/slash-command-dispatch#115),
 * 422 "No ref found for: <ref>" for a missing branch (benc-uk/workflow-dispatch#50, day8/re-frame2#9287),
 * and 404 "Not Found" for a workflow file the ref does not have (octokit/octokit.js#2286).
 */
const UNDECLARED: Record<string, { status: number; message: RegExp }[]> = {
  'actions/create-workflow-dispatch': [
    { status: 422, message: /^Unexpected inputs provided: \[.*\]$/ },
    { status: 422, message: /^No ref found for: / },
    { status: 404, message: /^Not Found$/ },
  ],
}

const ajv = addFormats(new Ajv({ strict: false, allErrors: true }))
const validators = new Map<string, ValidateFunction>()

/** Validates a response against the OpenAPI operation `method path` (path as templated in the spec). Returns problems. */
export function validateResponse(method: string, pathTemplate: string, status: number, body: unknown): string[] {
  const op = spec.paths[pathTemplate]?.[method.toLowerCase()]
  if (!op) return [`${method} ${pathTemplate} is not in GitHub's OpenAPI description`]
  let response = op.responses[String(status)]
  // GitHub may answer any endpoint with a rate-limit 403/429 or a 5xx; those bodies are basic-error.
  if (!response && (status >= 500 || status === 403 || status === 429))
    response = { content: { 'application/json': { schema: BASIC_ERROR } } }
  if (!response && status === 400 && UNDECLARED_400[op.operationId]?.includes((body as { message?: string })?.message ?? '')) {
    response = { content: { 'application/json': { schema: BASIC_ERROR } } }
  }
  const undeclared = UNDECLARED[op.operationId]?.find(
    (u) => u.status === status && u.message.test((body as { message?: string })?.message ?? ''),
  )
  if (!response && undeclared) response = { content: { 'application/json': { schema: BASIC_ERROR } } }
  if (!response) return [`${op.operationId}: status ${status} is not declared (declared: ${Object.keys(op.responses).join(', ')})`]
  const schema = response.content?.['application/json']?.schema
  if (!schema) return body === undefined ? [] : [`${op.operationId} ${status}: declares no body, but one was sent`]
  const key = `${method} ${pathTemplate} ${status}`
  let validate = validators.get(key)
  if (!validate) {
    validate = ajv.compile(schema)
    validators.set(key, validate)
  }
  if (validate(body)) return []
  return (validate.errors ?? []).slice(0, 5).map((e) => `${op.operationId} ${status}: ${e.instancePath || '(root)'} ${e.message}`)
}

/** Validates a request body against the OpenAPI operation's `requestBody` JSON schema. Returns problems. */
export function validateRequest(method: string, pathTemplate: string, body: unknown): string[] {
  const op = spec.paths[pathTemplate]?.[method.toLowerCase()] as
    { operationId: string; requestBody?: { content?: Record<string, { schema?: Schema }> } } | undefined
  if (!op) return [`${method} ${pathTemplate} is not in GitHub's OpenAPI description`]
  const schema = op.requestBody?.content?.['application/json']?.schema
  if (!schema) return []
  const key = `request ${method} ${pathTemplate}`
  let validate = validators.get(key)
  if (!validate) {
    validate = ajv.compile(schema)
    validators.set(key, validate)
  }
  if (validate(body)) return []
  return (validate.errors ?? []).slice(0, 5).map((e) => `${op.operationId}: ${e.instancePath || '(root)'} ${e.message}`)
}

/** A package version as the double stores it. */
export interface StoredVersion {
  id: number
  digest: string
  createdAt: Date
  tags: string[]
  /** Downloads of this version; GitHub refuses to delete a public version above 5,000. */
  downloads?: number
}

/** A pull request as the double stores it. */
export interface StoredPullRequest {
  number: number
  title: string
  body: string
  head: string
  base: string
  state: 'open' | 'closed'
  mergedAt: string | null
  closedAt: string | null
  createdAt: string
  updatedAt: string
  labels: string[]
  reviewers: string[]
  teamReviewers: string[]
  /** Issue comments on the pull request, oldest first. */
  comments?: { id: number; body: string; createdAt: string }[]
  /** Reviews submitted (a submitted review removes its author from the requested reviewers). */
  reviews?: { id: number; login: string; state: 'APPROVED' | 'COMMENTED' | 'CHANGES_REQUESTED' }[]
}

/** A Release as the double stores it. */
export interface StoredRelease {
  id: number
  tag: string
  name: string
  body: string
  prerelease: boolean
  /** A draft Release: listed to those with push access, not found by tag (GitHub docs, "Get a release by tag name"). */
  draft?: boolean
  createdAt: string
  /** When a draft was published (else `createdAt` for a Release created published). */
  publishedAt?: string
  assets: { id: number; name: string; contentType: string; data: Buffer }[]
}

/** A commit status as the double stores it ("Commit statuses"). */
export interface StoredStatus {
  id: number
  sha: string
  state: 'error' | 'failure' | 'pending' | 'success'
  context: string
  description: string | null
  targetUrl: string | null
  createdAt: string
}

/** GitHub's 403 when workflows may not open pull requests in the repository (danielroe/uppt#11 quotes the body). */
export const ACTIONS_MAY_NOT_CREATE_PULL_REQUESTS = 'GitHub Actions is not permitted to create or approve pull requests.'

type Schema = {
  type?: string | string[]
  format?: string
  enum?: unknown[]
  nullable?: boolean
  required?: string[]
  properties?: Record<string, Schema>
  anyOf?: Schema[]
  oneOf?: Schema[]
  allOf?: Schema[]
}

/**
 * The smallest value of `schema` with every required property: for the boilerplate parts of GitHub's
 * objects (a repository has 73 required fields, all URLs and flags) that nothing here reads. Every
 * field a test or the action reads is set by hand over it, and the whole answer is validated.
 */
function fill(schema: Schema): unknown {
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((s) => fill(s) as object))
  const choice = schema.anyOf?.[0] ?? schema.oneOf?.[0]
  if (choice) return fill(choice)
  if (schema.nullable) return null
  const type = Array.isArray(schema.type) ? (schema.type.includes('null') ? 'null' : schema.type[0]) : schema.type
  if (schema.enum) return schema.enum[0]
  switch (type) {
    case 'null':
      return null
    case 'string':
      return schema.format === 'date-time' ? '2026-01-01T00:00:00Z' : schema.format?.startsWith('uri') ? 'https://api.github.com/' : 'x'
    case 'integer':
    case 'number':
      return 1
    case 'boolean':
      return false
    case 'array':
      return []
    default:
      return Object.fromEntries((schema.required ?? []).map((k) => [k, fill(schema.properties?.[k] ?? {})]))
  }
}

const RELEASE_SCHEMA = spec.paths['/repos/{owner}/{repo}/releases'].post.responses['201'].content!['application/json'].schema as Schema
const PULL_SCHEMA = spec.paths['/repos/{owner}/{repo}/pulls'].post.responses['201'].content!['application/json'].schema as Schema
const COMMENT_SCHEMA = spec.paths['/repos/{owner}/{repo}/issues/{issue_number}/comments'].post.responses['201'].content!['application/json']
  .schema as Schema
const REVIEW_SCHEMA = (
  spec.paths['/repos/{owner}/{repo}/pulls/{pull_number}/reviews'].get.responses['200'].content!['application/json'].schema as Schema & {
    items: Schema
  }
).items
const STATUS_SCHEMA = spec.paths['/repos/{owner}/{repo}/statuses/{sha}'].post.responses['201'].content!['application/json'].schema as Schema
/** A `repository` of GitHub's JSON, boilerplate filled (see {@link fill}). */
const REPOSITORY_FILL = fill(PULL_SCHEMA.properties!.head.properties!.repo) as Record<string, unknown>

/** A fault outside GitHub's behaviour: the next matching request gets this raw answer. */
export interface ApiFault {
  method?: string
  path: RegExp
  status: number
  body: string
  contentType?: string
  /** Matching requests to let through first. */
  skip?: number
}

export interface ApiDoubleOptions {
  /** Primary budget per "hour" (`x-ratelimit-limit`); reset with `resetBudget()`. Default 5000. */
  primaryLimit?: number
  /** Secondary limit, points per minute (GitHub: 900 for REST). Default 900. */
  secondaryPointsPerMinute?: number
  /** Divides time: a minute lasts 60_000 / timeScale ms, and `retry-after` is given in scaled seconds. */
  timeScale?: number
  /** Added to every response, ms. */
  latencyMs?: number
  /** Return 502 for request numbers n where failEvery divides n. */
  failEvery?: number
}

export class GitHubApiDouble {
  readonly owners = new Map<string, 'User' | 'Organization'>()
  private readonly packages = new Map<string, StoredVersion[]>()
  private readonly visibility = new Map<string, 'public' | 'private'>()
  private readonly faults: (ApiFault & { seen: number })[] = []
  readonly violations: string[] = []
  /** Every request: method, path, status. */
  readonly log: { method: string; path: string; status: number }[] = []
  private remaining: number
  private readonly points: { at: number; cost: number }[] = []
  /** When the newest secondary-limit refusal's `retry-after` ends (ms since epoch). */
  private cooldownUntil = 0
  /** Requests that arrived while a secondary-limit `retry-after` was still running. */
  private duringCooldown = 0
  /** DELETEs being handled now, and the most ever at once. */
  private deletesInFlight = 0
  private maxDeletesInFlight = 0
  private server?: Server
  private nextId = 1_000_000
  url = ''
  /** Pull requests by repository (`owner/repo`), in creation order. */
  readonly pulls = new Map<string, StoredPullRequest[]>()
  /** Repositories that pull requests may be opened in: the tip of a branch, or undefined when it has none. */
  private readonly repositories = new Map<string, (branch: string) => string | undefined>()
  /** Answer pull request creation with GitHub's 403 for repositories that do not let workflows open them. */
  refuseWorkflowPullRequests = false
  private nextPullNumber = 1
  /** Releases by repository. */
  readonly releases = new Map<string, StoredRelease[]>()
  /** Workflows that accept `workflow_dispatch`, by `owner/repo/file`: their declared inputs. */
  private readonly workflows = new Map<string, string[]>()
  /** Every dispatch accepted: workflow file, ref, inputs. */
  readonly dispatches: { workflow: string; ref: string; inputs: Record<string, string> }[] = []
  /** Commit statuses by repository, oldest first. */
  readonly statuses = new Map<string, StoredStatus[]>()
  /** Called once an attestation is stored and answered: fault tests kill the action here. */
  afterAttestation?: () => void
  /** Artifact attestations by repository, oldest first: the bundle, its predicate type and subject digests. */
  readonly attestations = new Map<string, { id: number; bundle: Record<string, unknown>; predicateType: string; digests: string[] }[]>()
  private readonly tagCommits = new Map<string, (tag: string) => string | undefined>()

  constructor(private readonly options: ApiDoubleOptions = {}) {
    this.remaining = options.primaryLimit ?? 5000
  }

  get primaryLimit(): number {
    return this.options.primaryLimit ?? 5000
  }

  /** A new hour: the primary budget is full again. */
  resetBudget(): void {
    this.remaining = this.primaryLimit
  }

  /** Counts by outcome. */
  counts() {
    const deletes = this.log.filter((r) => r.method === 'DELETE' && r.status === 204).length
    const rateLimited = this.log.filter((r) => r.status === 403 || r.status === 429).length
    const serverErrors = this.log.filter((r) => r.status >= 500).length
    return {
      requests: this.log.length,
      deletes,
      rateLimited,
      serverErrors,
      duringCooldown: this.duringCooldown,
      maxDeletesInFlight: this.maxDeletesInFlight,
    }
  }

  /** Injects a raw answer for the next matching request (sent as given, not validated). */
  inject(fault: ApiFault): void {
    this.faults.push({ ...fault, seen: 0 })
  }

  /** Forgets the injected answers not used yet. */
  clearFaults(): void {
    this.faults.length = 0
  }

  /** True when the package still exists (a package DELETE removes it). */
  hasPackage(owner: string, name: string): boolean {
    return this.packages.has(`${owner}/${name}`)
  }

  /**
   * Makes `owner/repo` a repository of the double, whose branches are read through `tip` (the test's
   * git remote): GitHub refuses a pull request whose head branch does not exist, and reports the
   * head's commit.
   */
  linkRepository(repository: string, tip: (branch: string) => string | undefined, tagCommit?: (tag: string) => string | undefined): void {
    this.repositories.set(repository, tip)
    if (tagCommit) this.tagCommits.set(repository, tagCommit)
    if (!this.pulls.has(repository)) this.pulls.set(repository, [])
    if (!this.releases.has(repository)) this.releases.set(repository, [])
  }

  /** Repositories with immutable releases turned on (a repository or organization setting). */
  readonly immutableReleases = new Set<string>()

  /**
   * Turns immutable releases on for `repository`: once a Release is published its assets cannot
   * be added and its tag cannot change; its title and notes can (../shared/FACTS.md, "GitHub
   * immutable releases").
   */
  setImmutableReleases(repository: string, on = true): void {
    if (on) this.immutableReleases.add(repository)
    else this.immutableReleases.delete(repository)
  }

  /** A Release made outside the action (by hand, or by a run that crashed half-way). */
  addRelease(repository: string, release: { tag: string; body?: string; draft?: boolean }): StoredRelease {
    const r: StoredRelease = {
      id: this.nextId++,
      tag: release.tag,
      name: release.tag,
      body: release.body ?? '',
      prerelease: false,
      draft: release.draft ?? false,
      createdAt: new Date().toISOString(),
      assets: [],
    }
    this.releases.get(repository)!.push(r)
    return r
  }

  /** A workflow file of `repository` with an `on.workflow_dispatch` trigger declaring `inputs`. */
  addWorkflow(repository: string, file: string, inputs: string[]): void {
    this.workflows.set(`${repository}/${file}`, inputs)
  }

  /** Merges pull request `number` as GitHub's merge button does (the test moves the base branch itself). */
  mergePullRequest(repository: string, number: number): void {
    const pr = this.pulls.get(repository)?.find((p) => p.number === number)
    if (!pr || pr.state !== 'open') throw new Error(`no open pull request #${number} in ${repository}`)
    pr.state = 'closed'
    pr.mergedAt = pr.closedAt = pr.updatedAt = new Date().toISOString()
  }

  /** Closes pull request `number` without merging it. */
  closePullRequest(repository: string, number: number): void {
    const pr = this.pulls.get(repository)?.find((p) => p.number === number)
    if (!pr || pr.state !== 'open') throw new Error(`no open pull request #${number} in ${repository}`)
    pr.state = 'closed'
    pr.closedAt = pr.updatedAt = new Date().toISOString()
  }

  /** Adds a package with versions; `versions` in any order (stored newest first). Packages are public unless said otherwise. */
  addPackage(
    owner: string,
    type: 'User' | 'Organization',
    name: string,
    versions: Omit<StoredVersion, 'id'>[],
    visibility: 'public' | 'private' = 'public',
  ): void {
    this.owners.set(owner, type)
    this.visibility.set(`${owner}/${name}`, visibility)
    const stored = versions.map((v) => ({ ...v, id: this.nextId++ }))
    stored.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id - a.id)
    this.packages.set(`${owner}/${name}`, stored)
  }

  /** The versions left in a package, newest first. */
  versions(owner: string, name: string): StoredVersion[] {
    return [...(this.packages.get(`${owner}/${name}`) ?? [])]
  }

  async start(): Promise<this> {
    const port = await freePort()
    this.url = `http://127.0.0.1:${port}`
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: Error) => {
        this.violations.push(`the double failed on ${req.method} ${req.url}: ${error.stack}`)
        if (!res.headersSent) res.writeHead(500)
        res.end()
      })
    })
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r))
    return this
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()))
  }

  private send(
    req: IncomingMessage,
    res: ServerResponse,
    template: string,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    const path = (req.url ?? '').split('?')[0]
    this.log.push({ method: req.method ?? '', path, status })
    for (const problem of validateResponse(req.method ?? 'GET', template, status, body))
      this.violations.push(`${req.method} ${req.url}: ${problem}`)
    const reset = Math.floor(Date.now() / 1000) + 3600
    res.writeHead(status, {
      'x-ratelimit-limit': String(this.primaryLimit),
      'x-ratelimit-remaining': String(Math.max(this.remaining, 0)),
      'x-ratelimit-reset': String(reset),
      'x-ratelimit-used': String(this.primaryLimit - Math.max(this.remaining, 0)),
      'x-ratelimit-resource': 'core',
      'x-github-api-version-selected': '2022-11-28',
      ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
      ...headers,
    })
    res.end(body === undefined ? undefined : JSON.stringify(body))
  }

  private versionJson(owner: string, ownerKind: string, name: string, v: StoredVersion) {
    const enc = encodeURIComponent(name)
    return {
      id: v.id,
      name: v.digest,
      url: `https://api.github.com/${ownerKind}/${owner}/packages/container/${enc}/versions/${v.id}`,
      package_html_url: `https://github.com/${ownerKind}/${owner}/packages/container/package/${enc}`,
      html_url: `https://github.com/${ownerKind}/${owner}/packages/container/${enc}/${v.id}`,
      created_at: v.createdAt.toISOString(),
      updated_at: v.createdAt.toISOString(),
      metadata: { package_type: 'container', container: { tags: v.tags } },
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrived = Date.now()
    if (arrived < this.cooldownUntil) this.duringCooldown++
    if (req.method !== 'DELETE') return this.answer(req, res)
    this.maxDeletesInFlight = Math.max(this.maxDeletesInFlight, ++this.deletesInFlight)
    try {
      await this.answer(req, res)
    } finally {
      this.deletesInFlight--
    }
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks)
    const text = raw.toString('utf8')
    if (this.options.latencyMs) await new Promise((r) => setTimeout(r, this.options.latencyMs))
    const url = new URL(req.url ?? '/', this.url)
    const method = req.method ?? 'GET'
    const user = /^\/users\/([^/]+)$/.exec(url.pathname)
    const list = /^\/(orgs|users)\/([^/]+)\/packages\/container\/([^/]+)\/versions$/.exec(url.pathname)
    const del = /^\/(orgs|users)\/([^/]+)\/packages\/container\/([^/]+)\/versions\/(\d+)$/.exec(url.pathname)
    const pkg = /^\/(orgs|users)\/([^/]+)\/packages\/container\/([^/]+)$/.exec(url.pathname)
    const repoRoute = repoRouteOf(method, url.pathname)
    const template = repoRoute
      ? repoRoute.template
      : user
        ? '/users/{username}'
        : list
          ? `/${list[1]}/{${list[1] === 'orgs' ? 'org' : 'username'}}/packages/{package_type}/{package_name}/versions`
          : del
            ? `/${del[1]}/{${del[1] === 'orgs' ? 'org' : 'username'}}/packages/{package_type}/{package_name}/versions/{package_version_id}`
            : pkg
              ? `/${pkg[1]}/{${pkg[1] === 'orgs' ? 'org' : 'username'}}/packages/{package_type}/{package_name}`
              : ''
    const wrongMethod = repoRoute ? !repoRoute.allowed : user || list ? method !== 'GET' : (del || pkg) && method !== 'DELETE'
    if (!template || wrongMethod) {
      this.log.push({ method, path: url.pathname, status: 404 })
      this.violations.push(`${method} ${url.pathname}: not an endpoint the double serves`)
      res.writeHead(404).end()
      return
    }
    const fault = this.faults.find((f) => (!f.method || f.method === method) && f.path.test(url.pathname) && f.seen++ >= (f.skip ?? 0))
    if (fault) {
      this.faults.splice(this.faults.indexOf(fault), 1)
      this.log.push({ method, path: url.pathname, status: fault.status })
      res.writeHead(fault.status, { 'content-type': fault.contentType ?? 'text/html; charset=utf-8' })
      res.end(fault.body)
      return
    }
    const authorized = /^(token|bearer) \S+/i.test(req.headers.authorization ?? '')
    if (!authorized)
      return this.send(req, res, template, 401, { message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest' })

    // Primary budget: every request costs one, including the ones that fail.
    if (this.remaining <= 0) {
      return this.send(req, res, template, 403, {
        message: 'API rate limit exceeded for installation ID 4242.',
        documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
      })
    }
    this.remaining--
    // Secondary limit: points per (scaled) minute.
    const minute = 60_000 / (this.options.timeScale ?? 1)
    const now = Date.now()
    while (this.points.length && this.points[0].at <= now - minute) this.points.shift()
    const cost = method === 'GET' ? 1 : 5
    const used = this.points.reduce((sum, p) => sum + p.cost, 0)
    if (used + cost > (this.options.secondaryPointsPerMinute ?? 900)) {
      this.cooldownUntil = Math.max(this.cooldownUntil, now + minute)
      return this.send(
        req,
        res,
        template,
        403,
        {
          message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
          documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
        },
        { 'retry-after': '60' },
      )
    }
    this.points.push({ at: now, cost })
    if (this.options.failEvery && this.log.length % this.options.failEvery === this.options.failEvery - 1) {
      return this.send(req, res, template, 502, { message: 'Server Error' })
    }

    if (repoRoute) return this.answerRepository(req, res, repoRoute, url, text, raw)
    if (user) {
      const login = decodeURIComponent(user[1])
      const type = this.owners.get(login)
      if (!type)
        return this.send(req, res, template, 404, {
          message: 'Not Found',
          documentation_url: 'https://docs.github.com/rest/users/users#get-a-user',
        })
      return this.send(req, res, template, 200, userJson(login, type))
    }
    const [, kind, owner, encName] = (list ?? del ?? pkg)!
    const name = decodeURIComponent(encName)
    const versions = this.packages.get(`${owner}/${name}`)
    const typeMatches = this.owners.get(owner) === (kind === 'orgs' ? 'Organization' : 'User')
    if (!versions || !typeMatches) {
      return this.send(req, res, template, 404, {
        message: 'Package not found.',
        documentation_url: 'https://docs.github.com/rest/packages/packages',
      })
    }
    if (list) {
      const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page') ?? '30'), 1), 100)
      const page = Math.max(Number(url.searchParams.get('page') ?? '1'), 1)
      const pages = Math.max(Math.ceil(versions.length / perPage), 1)
      const slice = versions.slice((page - 1) * perPage, page * perPage)
      const link = (p: number, rel: string) => {
        const u = new URL(`https://api.github.com${url.pathname}`)
        u.searchParams.set('per_page', String(perPage))
        u.searchParams.set('page', String(p))
        return `<${u}>; rel="${rel}"`
      }
      const links = [
        ...(page > 1 ? [link(page - 1, 'prev')] : []),
        ...(page < pages ? [link(page + 1, 'next'), link(pages, 'last')] : []),
        ...(page > 1 ? [link(1, 'first')] : []),
      ]
      return this.send(
        req,
        res,
        template,
        200,
        slice.map((v) => this.versionJson(owner, kind, name, v)),
        links.length ? { link: links.join(', ') } : {},
      )
    }
    const isPublic = this.visibility.get(`${owner}/${name}`) !== 'private'
    const refuse = (message: string, anchor: string) =>
      // GitHub's newer error bodies carry the status as a string (chizkiyahu/delete-untagged-ghcr-action#40).
      this.send(req, res, template, 400, {
        message,
        documentation_url: `https://docs.github.com/rest/packages/packages#${anchor}`,
        status: '400',
      })
    if (pkg) {
      if (isPublic && versions.some((v) => (v.downloads ?? 0) > 5000))
        return refuse(HIGH_DOWNLOADS_PACKAGE, `delete-a-package-for-${kind === 'orgs' ? 'an-organization' : 'a-user'}`)
      this.packages.delete(`${owner}/${name}`)
      return this.send(req, res, template, 204, undefined)
    }
    const id = Number(del![4])
    const at = versions.findIndex((v) => v.id === id)
    if (at < 0)
      return this.send(req, res, template, 404, {
        message: 'Package version not found.',
        documentation_url: 'https://docs.github.com/rest/packages/packages',
      })
    const anchor = `delete-package-version-for-${kind === 'orgs' ? 'an-organization' : 'a-user'}`
    if (isPublic && (versions[at].downloads ?? 0) > 5000) return refuse(HIGH_DOWNLOADS, anchor)
    // Only tagged versions count: the last untagged version deletes like any other.
    if (versions[at].tags.length > 0 && versions.filter((v) => v.tags.length > 0).length === 1) return refuse(LAST_TAGGED, anchor)
    versions.splice(at, 1)
    return this.send(req, res, template, 204, undefined)
  }
  private pullJson(repository: string, pr: StoredPullRequest, tip: (branch: string) => string | undefined) {
    const [owner, name] = repository.split('/')
    const api = `https://api.github.com/repos/${repository}`
    const html = `https://github.com/${repository}/pull/${pr.number}`
    const repo = { ...REPOSITORY_FILL, name, full_name: repository, owner: { ...(REPOSITORY_FILL.owner as object), login: owner } }
    const user = { ...(fill(PULL_SCHEMA.properties!.user) as object), login: 'github-actions[bot]', type: 'Bot' }
    const ref = (branch: string) => ({ label: `${owner}:${branch}`, ref: branch, sha: tip(branch) ?? '0'.repeat(40), user, repo })
    const link = (href: string) => ({ href })
    return {
      url: `${api}/pulls/${pr.number}`,
      id: 7_000_000 + pr.number,
      node_id: `PR_${pr.number}`,
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      issue_url: `${api}/issues/${pr.number}`,
      commits_url: `${api}/pulls/${pr.number}/commits`,
      review_comments_url: `${api}/pulls/${pr.number}/comments`,
      review_comment_url: `${api}/pulls/comments{/number}`,
      comments_url: `${api}/issues/${pr.number}/comments`,
      statuses_url: `${api}/statuses/${tip(pr.head) ?? '0'.repeat(40)}`,
      number: pr.number,
      state: pr.state,
      locked: false,
      title: pr.title,
      user,
      body: pr.body,
      // pull-request(-simple) declares a label's description a string; the labels endpoint allows null.
      labels: pr.labels.map((l, i) => ({
        id: 100 + i,
        node_id: `LA_${i}`,
        url: `${api}/labels/${encodeURIComponent(l)}`,
        name: l,
        description: '',
        color: 'ededed',
        default: false,
      })),
      milestone: null,
      active_lock_reason: null,
      created_at: pr.createdAt,
      updated_at: pr.updatedAt,
      closed_at: pr.closedAt,
      merged_at: pr.mergedAt,
      merge_commit_sha: null,
      assignee: null,
      assignees: [],
      requested_reviewers: pr.reviewers.map((login) => ({ ...user, login, type: 'User' })),
      requested_teams: [],
      head: ref(pr.head),
      base: ref(pr.base),
      _links: {
        self: link(`${api}/pulls/${pr.number}`),
        html: link(html),
        issue: link(`${api}/issues/${pr.number}`),
        comments: link(`${api}/issues/${pr.number}/comments`),
        review_comments: link(`${api}/pulls/${pr.number}/comments`),
        review_comment: link(`${api}/pulls/comments{/number}`),
        commits: link(`${api}/pulls/${pr.number}/commits`),
        statuses: link(`${api}/statuses/${tip(pr.head) ?? '0'.repeat(40)}`),
      },
      author_association: 'NONE',
      auto_merge: null,
      draft: false,
    }
  }

  /** The full `pull-request` (create, update): the list's fields plus the counts and merge state. */
  private fullPullJson(repository: string, pr: StoredPullRequest, tip: (branch: string) => string | undefined) {
    return {
      ...this.pullJson(repository, pr, tip),
      merged: pr.mergedAt !== null,
      mergeable: null,
      rebaseable: null,
      mergeable_state: 'unknown',
      merged_by: null,
      comments: 0,
      review_comments: 0,
      maintainer_can_modify: true,
      commits: 1,
      additions: 2,
      deletions: 2,
      changed_files: 1,
    }
  }

  private releaseJson(repository: string, r: StoredRelease) {
    const api = `https://api.github.com/repos/${repository}`
    const author = { ...(fill(RELEASE_SCHEMA.properties!.author) as object), login: 'github-actions[bot]', type: 'Bot' }
    return {
      ...(fill(RELEASE_SCHEMA) as object),
      url: `${api}/releases/${r.id}`,
      // A draft's page is not at its tag (it does not hold the tag yet): GitHub links it as
      // releases/tag/untagged-<20 hex>, even with a tag_name (esphome/workflows#170, grafana/plugin-workflows#2).
      html_url: r.draft
        ? `https://github.com/${repository}/releases/tag/untagged-${r.id.toString(16).padStart(20, '0')}`
        : `https://github.com/${repository}/releases/tag/${encodeURIComponent(r.tag)}`,
      assets_url: `${api}/releases/${r.id}/assets`,
      // On github.com this is https://uploads.github.com/…; clients must use it as given.
      upload_url: `${this.url}/repos/${repository}/releases/${r.id}/assets{?name,label}`,
      tarball_url: `${api}/tarball/${r.tag}`,
      zipball_url: `${api}/zipball/${r.tag}`,
      id: r.id,
      node_id: `RE_${r.id}`,
      tag_name: r.tag,
      target_commitish: 'main',
      name: r.name,
      body: r.body,
      draft: r.draft ?? false,
      prerelease: r.prerelease,
      // Set on Releases published while the repository's immutable releases setting is on.
      immutable: !r.draft && this.immutableReleases.has(repository),
      created_at: r.createdAt,
      published_at: r.draft ? null : (r.publishedAt ?? r.createdAt),
      author,
      assets: r.assets.map((a) => this.assetJson(repository, r, a)),
    }
  }

  private assetJson(repository: string, r: StoredRelease, a: StoredRelease['assets'][number]) {
    const items = RELEASE_SCHEMA.properties!.assets as Schema & { items: Schema }
    return {
      ...(fill(items.items) as object),
      url: `https://api.github.com/repos/${repository}/releases/assets/${a.id}`,
      browser_download_url: `https://github.com/${repository}/releases/download/${encodeURIComponent(r.tag)}/${encodeURIComponent(a.name)}`,
      id: a.id,
      node_id: `RA_${a.id}`,
      name: a.name,
      label: null,
      state: 'uploaded',
      content_type: a.contentType,
      size: a.data.length,
      digest: `sha256:${createHash('sha256').update(a.data).digest('hex')}`,
      download_count: 0,
      created_at: r.createdAt,
      updated_at: r.createdAt,
      uploader: null,
    }
  }

  private answerRepository(req: IncomingMessage, res: ServerResponse, route: RepoRoute, url: URL, text: string, raw: Buffer): void {
    const { template } = route
    const repository = `${route.owner}/${route.repo}`
    const tip = this.repositories.get(repository)
    const pulls = this.pulls.get(repository)
    const notFound = { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/pulls/pulls', status: '404' }
    if (!tip || !pulls) {
      // Undeclared for pulls/list and pulls/update; GitHub answers 404, not 403, for a repository the token cannot see
      // (GitHub REST docs, "Troubleshooting": "404 error for an existing repository").
      if (route.kind === 'list' || route.kind === 'update' || route.kind === 'create') {
        this.log.push({ method: req.method ?? '', path: url.pathname, status: 404 })
        res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(notFound))
        return
      }
      return this.send(req, res, template, 404, notFound)
    }
    let input: Record<string, unknown>
    try {
      // An asset upload's body is the file itself, not JSON.
      input = text && route.kind !== 'asset' ? (JSON.parse(text) as Record<string, unknown>) : {}
    } catch {
      return this.send(req, res, template, 400, { message: 'Problems parsing JSON', documentation_url: 'https://docs.github.com/rest' })
    }
    const now = new Date().toISOString()
    const invalid = (errors: object[], anchor: string) =>
      this.send(req, res, template, 422, {
        message: 'Validation Failed',
        errors,
        documentation_url: `https://docs.github.com/rest/pulls/pulls#${anchor}`,
        status: '422',
      })
    if (route.kind === 'comments' || route.kind === 'comment-create' || route.kind === 'reviews') {
      return this.answerConversation(req, res, route, input, repository, pulls)
    }
    if (route.kind === 'statuses' || route.kind === 'status-create') return this.answerStatuses(req, res, route, input, repository)
    if (route.kind === 'attestation-create' || route.kind === 'attestations') {
      return this.answerAttestations(req, res, route, url, input, repository)
    }
    if (route.kind.startsWith('release') || route.kind === 'asset' || route.kind === 'dispatch') {
      return this.answerReleaseOrDispatch(req, res, route, url, input, raw, repository, tip)
    }
    switch (route.kind) {
      case 'list': {
        const head = url.searchParams.get('head')
        const base = url.searchParams.get('base')
        const state = url.searchParams.get('state') ?? 'open'
        const perPage = Math.min(Number(url.searchParams.get('per_page') ?? '30'), 100)
        let found = pulls.filter(
          (p) => (state === 'all' || p.state === state) && (!head || `${route.owner}:${p.head}` === head) && (!base || p.base === base),
        )
        // sort=created (the default), direction desc by default for created.
        found = [...found].sort((a, b) => b.number - a.number)
        if (url.searchParams.get('direction') === 'asc') found.reverse()
        return this.send(
          req,
          res,
          template,
          200,
          found.slice(0, perPage).map((p) => this.pullJson(repository, p, tip)),
        )
      }
      case 'create': {
        const head = String(input.head ?? '').replace(new RegExp(`^${route.owner}:`), '')
        const base = String(input.base ?? '')
        if (this.refuseWorkflowPullRequests) {
          return this.send(req, res, template, 403, {
            message: ACTIONS_MAY_NOT_CREATE_PULL_REQUESTS,
            documentation_url: 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request',
            status: '403',
          })
        }
        // gm3dmo/the-power#175 and stackitcloud/cloud-provider-stackit#10 quote these two 422 bodies.
        if (!tip(head)) return invalid([{ resource: 'PullRequest', field: 'head', code: 'invalid' }], 'create-a-pull-request')
        if (!tip(base)) return invalid([{ resource: 'PullRequest', field: 'base', code: 'invalid' }], 'create-a-pull-request')
        if (pulls.some((p) => p.state === 'open' && p.head === head && p.base === base)) {
          return invalid(
            [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${route.owner}:${head}.` }],
            'create-a-pull-request',
          )
        }
        const pr: StoredPullRequest = {
          number: this.nextPullNumber++,
          title: String(input.title ?? ''),
          body: String(input.body ?? ''),
          head,
          base,
          state: 'open',
          mergedAt: null,
          closedAt: null,
          createdAt: now,
          updatedAt: now,
          labels: [],
          reviewers: [],
          teamReviewers: [],
        }
        pulls.push(pr)
        return this.send(req, res, template, 201, this.fullPullJson(repository, pr, tip), {
          location: `https://api.github.com/repos/${repository}/pulls/${pr.number}`,
        })
      }
      default: {
        const pr = pulls.find((p) => p.number === route.number)
        if (!pr) {
          if (route.kind === 'update') {
            this.log.push({ method: req.method ?? '', path: url.pathname, status: 404 })
            res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(notFound))
            return
          }
          if (route.kind === 'labels') return this.send(req, res, template, 404, notFound)
          return invalid([{ resource: 'PullRequest', code: 'not_found' }], 'request-reviewers-for-a-pull-request')
        }
        if (route.kind === 'update') {
          if (typeof input.title === 'string') pr.title = input.title
          if (typeof input.body === 'string') pr.body = input.body
          // "Update a pull request": state open or closed; closing leaves it unmerged.
          if (input.state === 'closed' && pr.state === 'open') {
            pr.state = 'closed'
            pr.closedAt = now
          }
          pr.updatedAt = now
          return this.send(req, res, template, 200, this.fullPullJson(repository, pr, tip))
        }
        if (route.kind === 'labels') {
          for (const l of (input.labels as string[] | undefined) ?? []) if (!pr.labels.includes(l)) pr.labels.push(l)
          return this.send(
            req,
            res,
            template,
            200,
            pr.labels.map((l, i) => ({
              id: 100 + i,
              node_id: `LA_${i}`,
              url: `https://api.github.com/repos/${repository}/labels/${encodeURIComponent(l)}`,
              name: l,
              description: null,
              color: 'ededed',
              default: false,
            })),
          )
        }
        for (const r of (input.reviewers as string[] | undefined) ?? []) if (!pr.reviewers.includes(r)) pr.reviewers.push(r)
        for (const t of (input.team_reviewers as string[] | undefined) ?? []) if (!pr.teamReviewers.includes(t)) pr.teamReviewers.push(t)
        return this.send(req, res, template, 201, this.pullJson(repository, pr, tip))
      }
    }
  }

  /** Issue comments and reviews of a pull request. */
  private answerConversation(
    req: IncomingMessage,
    res: ServerResponse,
    route: RepoRoute,
    input: Record<string, unknown>,
    repository: string,
    pulls: StoredPullRequest[],
  ): void {
    const { template } = route
    const pr = pulls.find((p) => p.number === route.number)
    // An issue number that does not exist: 404 (GitHub REST docs, "Issue comments"; "Reviews").
    if (!pr) return this.send(req, res, template, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' })
    const api = `https://api.github.com/repos/${repository}`
    const user = userJson('github-actions[bot]', 'User')
    if (route.kind === 'reviews') {
      const reviews = (pr.reviews ?? []).map((r) => ({
        ...(fill(REVIEW_SCHEMA) as object),
        id: r.id,
        node_id: `PRR_${r.id}`,
        user: { ...user, login: r.login },
        body: '',
        state: r.state,
        html_url: `https://github.com/${repository}/pull/${pr.number}#pullrequestreview-${r.id}`,
        pull_request_url: `${api}/pulls/${pr.number}`,
        commit_id: 'a'.repeat(40),
        author_association: 'MEMBER',
        _links: {
          html: { href: `https://github.com/${repository}/pull/${pr.number}` },
          pull_request: { href: `${api}/pulls/${pr.number}` },
        },
      }))
      return this.send(req, res, template, 200, reviews)
    }
    pr.comments ??= []
    const json = (c: { id: number; body: string; createdAt: string }) => ({
      ...(fill(COMMENT_SCHEMA) as object),
      id: c.id,
      node_id: `IC_${c.id}`,
      url: `${api}/issues/comments/${c.id}`,
      html_url: `https://github.com/${repository}/pull/${pr.number}#issuecomment-${c.id}`,
      issue_url: `${api}/issues/${pr.number}`,
      body: c.body,
      user,
      created_at: c.createdAt,
      updated_at: c.createdAt,
      author_association: 'NONE',
    })
    if (route.kind === 'comments') return this.send(req, res, template, 200, pr.comments.map(json))
    const comment = { id: this.nextId++, body: String(input.body ?? ''), createdAt: new Date().toISOString() }
    pr.comments.push(comment)
    return this.send(req, res, template, 201, json(comment))
  }

  /**
   * Artifact attestations (GitHub REST docs, "REST API endpoints for artifact attestations").
   * "Create an attestation" stores a Sigstore bundle and answers 201 `{id}`; a body that breaks the
   * spec's request schema (`bundle` required) gets the declared 422 "Validation Failed". "List
   * attestations" finds them by the statement's subject digest, filtered by `predicate_type`:
   * `{attestations: [{bundle, repository_id, bundle_url}]}`, and none is an empty list (the spec
   * declares 200 only; cli/cli's attestation client, pkg/cmd/attestation/api/client.go, reads an
   * empty list as "no attestations found"). The action only ever sends DSSE in-toto bundles: any
   * other is recorded as a violation, not answered with a guess at GitHub's reply.
   */
  private answerAttestations(
    req: IncomingMessage,
    res: ServerResponse,
    route: RepoRoute,
    url: URL,
    input: Record<string, unknown>,
    repository: string,
  ): void {
    const { template } = route
    const stored = this.attestations.get(repository) ?? []
    this.attestations.set(repository, stored)
    if (route.kind === 'attestations') {
      const digest = decodeURIComponent(route.name ?? '')
      const type = url.searchParams.get('predicate_type')
      const found = stored.filter((a) => a.digests.includes(digest) && (!type || a.predicateType === type))
      return this.send(req, res, template, 200, {
        attestations: found.map((a) => ({
          bundle: a.bundle,
          repository_id: 123456,
          bundle_url: `https://api.github.com/repos/${repository}/attestations/${a.id}/bundle`,
        })),
      })
    }
    const problems = validateRequest('POST', template, input)
    const bundle = input.bundle as { dsseEnvelope?: { payload?: string; payloadType?: string } } | undefined
    let statement: { predicateType?: string; subject?: { digest?: Record<string, string> }[] } | undefined
    try {
      if (bundle?.dsseEnvelope?.payloadType === 'application/vnd.in-toto+json') {
        statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload ?? '', 'base64').toString()) as typeof statement
      }
    } catch {
      statement = undefined
    }
    if (problems.length || !statement?.predicateType || !statement.subject?.length) {
      this.violations.push(
        `POST ${url.pathname}: ${problems.length ? `request ${problems.join('; ')}` : 'a bundle that is not a DSSE in-toto statement'}`,
      )
      return this.send(req, res, template, 422, {
        message: 'Validation Failed',
        documentation_url: 'https://docs.github.com/rest/repos/attestations#create-an-attestation',
        status: '422',
      })
    }
    const digests = statement.subject.flatMap((s) => Object.entries(s.digest ?? {}).map(([alg, hex]) => `${alg}:${hex}`))
    const id = this.nextId++
    stored.push({ id, bundle: input.bundle as Record<string, unknown>, predicateType: statement.predicateType, digests })
    this.send(req, res, template, 201, { id })
    this.afterAttestation?.()
  }

  /**
   * Commit statuses (GitHub REST docs, "REST API endpoints for commit statuses"): "Create a commit
   * status" takes a state of error, failure, pending or success (422 otherwise) and an optional
   * context ("default" when left out); "List commit statuses for a reference" returns them in
   * reverse chronological order, the latest first.
   */
  private answerStatuses(
    req: IncomingMessage,
    res: ServerResponse,
    route: RepoRoute,
    input: Record<string, unknown>,
    repository: string,
  ): void {
    const { template } = route
    const stored = this.statuses.get(repository) ?? []
    this.statuses.set(repository, stored)
    const json = (st: StoredStatus) => ({
      ...(fill(STATUS_SCHEMA) as object),
      url: `https://api.github.com/repos/${repository}/statuses/${st.sha}`,
      avatar_url: null,
      id: st.id,
      node_id: `SC_${st.id}`,
      state: st.state,
      description: st.description,
      target_url: st.targetUrl,
      context: st.context,
      created_at: st.createdAt,
      updated_at: st.createdAt,
      creator: userJson('github-actions[bot]', 'User'),
    })
    if (route.kind === 'statuses') {
      const sha = route.name ?? ''
      return this.send(
        req,
        res,
        template,
        200,
        [...stored]
          .reverse()
          .filter((st) => st.sha === sha)
          .slice(0, 100)
          .map(json),
      )
    }
    const state = String(input.state ?? '')
    if (!['error', 'failure', 'pending', 'success'].includes(state)) {
      return this.send(req, res, template, 422, {
        message: 'Validation Failed',
        errors: [{ resource: 'Status', field: 'state', code: 'custom' }],
        documentation_url: 'https://docs.github.com/rest/commits/statuses#create-a-commit-status',
        status: '422',
      })
    }
    const st: StoredStatus = {
      id: this.nextId++,
      sha: route.name ?? '',
      state: state as StoredStatus['state'],
      context: typeof input.context === 'string' ? input.context : 'default',
      description: typeof input.description === 'string' ? input.description : null,
      targetUrl: typeof input.target_url === 'string' ? input.target_url : null,
      createdAt: new Date().toISOString(),
    }
    stored.push(st)
    return this.send(req, res, template, 201, json(st))
  }

  private answerReleaseOrDispatch(
    req: IncomingMessage,
    res: ServerResponse,
    route: RepoRoute,
    url: URL,
    input: Record<string, unknown>,
    raw: Buffer,
    repository: string,
    tip: (branch: string) => string | undefined,
  ): void {
    const { template } = route
    const releases = this.releases.get(repository)!
    const now = new Date().toISOString()
    const notFound = (anchor: string) => ({
      message: 'Not Found',
      documentation_url: `https://docs.github.com/rest/${anchor}`,
      status: '404',
    })
    const invalid = (errors: object[], anchor: string) =>
      this.send(req, res, template, 422, {
        message: 'Validation Failed',
        errors,
        documentation_url: `https://docs.github.com/rest/${anchor}`,
        status: '422',
      })
    switch (route.kind) {
      case 'release-by-tag': {
        // "Get a release by tag name" finds published Releases only: a draft has no tag yet.
        const r = releases.find((x) => x.tag === route.name && !x.draft)
        if (!r) return this.send(req, res, template, 404, notFound('releases/releases#get-a-release-by-tag-name'))
        return this.send(req, res, template, 200, this.releaseJson(repository, r))
      }
      case 'releases': {
        // "List releases": newest first, drafts included for a token with push access (../shared/FACTS.md).
        const perPage = Math.min(Number(url.searchParams.get('per_page') ?? '30'), 100)
        const page = Number(url.searchParams.get('page') ?? '1')
        const sorted = [...releases].sort((a, b) => b.id - a.id)
        const json = sorted.slice((page - 1) * perPage, page * perPage).map((r) => this.releaseJson(repository, r))
        return this.send(req, res, template, 200, json)
      }
      case 'release-create': {
        const tag = String(input.tag_name ?? '')
        // A draft does not hold its tag, so GitHub creates a published Release beside it: the lookup by
        // tag returns published Releases only (../shared/FACTS.md, GitHub immutable releases; seen with
        // release-drafter's drafts, issue 18 of this repository).
        if (releases.some((x) => x.tag === tag && !x.draft)) {
          // The body conventional-changelog/releaser-tools#50 and ovh/cds#4740 quote.
          return invalid([{ resource: 'Release', code: 'already_exists', field: 'tag_name' }], 'releases/releases#create-a-release')
        }
        // GitHub would make the tag from target_commitish; the action must only release tags it pushed.
        if (!this.tagCommits.get(repository)?.(tag))
          this.violations.push(`POST ${url.pathname}: a Release for tag ${tag}, which the remote does not have`)
        const r: StoredRelease = {
          id: this.nextId++,
          tag,
          name: String(input.name ?? tag),
          body: String(input.body ?? ''),
          prerelease: input.prerelease === true,
          draft: input.draft === true,
          createdAt: now,
          assets: [],
        }
        releases.push(r)
        return this.send(req, res, template, 201, this.releaseJson(repository, r), {
          location: `https://api.github.com/repos/${repository}/releases/${r.id}`,
        })
      }
      case 'release-update': {
        const r = releases.find((x) => x.id === route.number)
        if (!r) return this.send(req, res, template, 404, notFound('releases/releases#update-a-release'))
        const publishing = r.draft === true && input.draft === false
        if (publishing && releases.some((x) => x.tag === r.tag && !x.draft)) {
          // Publishing a draft of a tag another Release holds: the tag's one published Release wins.
          return invalid([{ resource: 'Release', code: 'already_exists', field: 'tag_name' }], 'releases/releases#update-a-release')
        }
        // An immutable published Release keeps its tag and stays published: only title and notes change
        // (../shared/FACTS.md; microsoft/hve-core#554: `gh release edit --draft=true` refused on one). GitHub's
        // exact answer is not known, so the double answers a plain 422 and records the attempt as a violation:
        // the action must never try it.
        const immutable = !r.draft && this.immutableReleases.has(repository)
        if (immutable && ((typeof input.tag_name === 'string' && input.tag_name !== r.tag) || input.draft === true)) {
          this.violations.push(`PATCH ${url.pathname}: changes the tag or draft state of immutable release ${r.id}`)
          return invalid([], 'releases/releases#update-a-release')
        }
        if (typeof input.body === 'string') r.body = input.body
        if (typeof input.name === 'string') r.name = input.name
        if (typeof input.tag_name === 'string') r.tag = input.tag_name
        else if (r.draft) {
          // An update of a draft that leaves tag_name out detaches it: GitHub renames its tag
          // untagged-<hex> (TRC-Loop/Pelton#348, jdx/communique#238), and it no longer belongs to the tag;
          // publishing it then fails so (the message github-community-projects/ospo-reusable-workflows#83 quotes).
          r.tag = `untagged-${r.id.toString(16).padStart(20, '0')}`
          if (publishing) {
            return invalid(
              [{ resource: 'Release', code: 'custom', message: 'Published releases must have a valid tag' }],
              'releases/releases#update-a-release',
            )
          }
        }
        if (publishing) {
          r.draft = false
          r.publishedAt = now
        }
        return this.send(req, res, template, 200, this.releaseJson(repository, r))
      }
      case 'release-delete': {
        const i = releases.findIndex((x) => x.id === route.number)
        if (i < 0) return this.send(req, res, template, 404, notFound('releases/releases#delete-a-release'))
        releases.splice(i, 1)
        return this.send(req, res, template, 204, undefined)
      }
      case 'asset': {
        const r = releases.find((x) => x.id === route.number)
        const name = url.searchParams.get('name') ?? ''
        if (!r || !name) {
          this.log.push({ method: req.method ?? '', path: url.pathname, status: 404 })
          res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(notFound('releases/assets')))
          return
        }
        if (!r.draft && this.immutableReleases.has(repository)) {
          // The answer of uploads.github.com for a published immutable Release (../shared/FACTS.md:
          // rubyists/linear-cli-ex#18, voidzero-dev/vite-plus#1558 quote it).
          return this.send(req, res, template, 422, {
            message: 'Cannot upload assets to an immutable release',
            documentation_url: 'https://docs.github.com/rest/releases/assets#upload-a-release-asset',
            status: '422',
          })
        }
        if (r.assets.some((a) => a.name === name)) {
          // release-it/release-it#284 and semantic-release/github#295 quote this answer of uploads.github.com.
          return invalid([{ resource: 'ReleaseAsset', code: 'already_exists', field: 'name' }], 'releases/assets#upload-a-release-asset')
        }
        const asset = { id: this.nextId++, name, contentType: String(req.headers['content-type'] ?? ''), data: raw }
        r.assets.push(asset)
        return this.send(req, res, template, 201, this.assetJson(repository, r, asset))
      }
      default: {
        const file = route.name ?? ''
        const declared = this.workflows.get(`${repository}/${file}`)
        if (!declared) return this.send(req, res, template, 404, notFound('actions/workflows#create-a-workflow-dispatch-event'))
        const ref = String(input.ref ?? '')
        if (!tip(ref.replace(/^refs\/heads\//, ''))) {
          return this.send(req, res, template, 422, {
            message: `No ref found for: ${ref}`,
            documentation_url: 'https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event',
            status: '422',
          })
        }
        const inputs = (input.inputs ?? {}) as Record<string, string>
        // benc-uk/workflow-dispatch#80 quotes this answer.
        const unexpected = Object.keys(inputs).filter((k) => !declared.includes(k))
        if (unexpected.length) {
          return this.send(req, res, template, 422, {
            message: `Unexpected inputs provided: ${JSON.stringify(unexpected)}`,
            documentation_url: 'https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event',
            status: '422',
          })
        }
        this.dispatches.push({ workflow: file, ref, inputs })
        return this.send(req, res, template, 204, undefined)
      }
    }
  }
}

interface RepoRoute {
  kind:
    | 'list'
    | 'create'
    | 'update'
    | 'labels'
    | 'reviewers'
    | 'reviews'
    | 'comments'
    | 'comment-create'
    | 'statuses'
    | 'status-create'
    | 'releases'
    | 'release-by-tag'
    | 'release-create'
    | 'release-update'
    | 'release-delete'
    | 'asset'
    | 'dispatch'
    | 'attestation-create'
    | 'attestations'
  /** A tag name or workflow file from the path. */
  name?: string
  template: string
  owner: string
  repo: string
  number?: number
  /** False when the path is served but not with this method. */
  allowed: boolean
}

/** The repository endpoints the double serves: path under `/repos/{owner}/{repo}`, method, and the spec's template. */
const REPO_ROUTES: { kind: RepoRoute['kind']; path: RegExp; method: string; template: string; param?: 'number' | 'name' }[] = [
  { kind: 'list', path: /^\/pulls$/, method: 'GET', template: '/pulls' },
  { kind: 'create', path: /^\/pulls$/, method: 'POST', template: '/pulls' },
  { kind: 'update', path: /^\/pulls\/(\d+)$/, method: 'PATCH', template: '/pulls/{pull_number}', param: 'number' },
  { kind: 'labels', path: /^\/issues\/(\d+)\/labels$/, method: 'POST', template: '/issues/{issue_number}/labels', param: 'number' },
  {
    kind: 'reviewers',
    path: /^\/pulls\/(\d+)\/requested_reviewers$/,
    method: 'POST',
    template: '/pulls/{pull_number}/requested_reviewers',
    param: 'number',
  },
  { kind: 'reviews', path: /^\/pulls\/(\d+)\/reviews$/, method: 'GET', template: '/pulls/{pull_number}/reviews', param: 'number' },
  { kind: 'comments', path: /^\/issues\/(\d+)\/comments$/, method: 'GET', template: '/issues/{issue_number}/comments', param: 'number' },
  {
    kind: 'comment-create',
    path: /^\/issues\/(\d+)\/comments$/,
    method: 'POST',
    template: '/issues/{issue_number}/comments',
    param: 'number',
  },
  { kind: 'statuses', path: /^\/commits\/([^/]+)\/statuses$/, method: 'GET', template: '/commits/{ref}/statuses', param: 'name' },
  { kind: 'status-create', path: /^\/statuses\/([0-9a-f]{40})$/, method: 'POST', template: '/statuses/{sha}', param: 'name' },
  { kind: 'releases', path: /^\/releases$/, method: 'GET', template: '/releases' },
  { kind: 'release-create', path: /^\/releases$/, method: 'POST', template: '/releases' },
  { kind: 'release-by-tag', path: /^\/releases\/tags\/(.+)$/, method: 'GET', template: '/releases/tags/{tag}', param: 'name' },
  { kind: 'release-update', path: /^\/releases\/(\d+)$/, method: 'PATCH', template: '/releases/{release_id}', param: 'number' },
  { kind: 'release-delete', path: /^\/releases\/(\d+)$/, method: 'DELETE', template: '/releases/{release_id}', param: 'number' },
  { kind: 'asset', path: /^\/releases\/(\d+)\/assets$/, method: 'POST', template: '/releases/{release_id}/assets', param: 'number' },
  { kind: 'attestation-create', path: /^\/attestations$/, method: 'POST', template: '/attestations' },
  {
    kind: 'attestations',
    path: /^\/attestations\/([^/]+)$/,
    method: 'GET',
    template: '/attestations/{subject_digest}',
    param: 'name',
  },
  {
    kind: 'dispatch',
    path: /^\/actions\/workflows\/([^/]+)\/dispatches$/,
    method: 'POST',
    template: '/actions/workflows/{workflow_id}/dispatches',
    param: 'name',
  },
]

/** The repository endpoint a request is for (with `allowed` false for a served path and another method), or undefined. */
function repoRouteOf(method: string, path: string): RepoRoute | undefined {
  const base = /^\/repos\/([^/]+)\/([^/]+)(\/.*)$/.exec(path)
  if (!base) return undefined
  const [, owner, repo, rest] = base
  const matching = REPO_ROUTES.filter((r) => r.path.test(rest))
  const route = matching.find((r) => r.method === method) ?? matching[0]
  if (!route) return undefined
  const m = route.path.exec(rest)!
  return {
    kind: route.kind,
    template: `/repos/{owner}/{repo}${route.template}`,
    owner,
    repo,
    ...(route.param === 'number' ? { number: Number(m[1]) } : route.param === 'name' ? { name: decodeURIComponent(m[1]) } : {}),
    allowed: route.method === method,
  }
}

function userJson(login: string, type: 'User' | 'Organization') {
  const u = `https://api.github.com/users/${encodeURIComponent(login)}`
  return {
    login,
    id: 4242,
    node_id: 'MDQ6VXNlcjQyNDI=',
    avatar_url: `https://avatars.githubusercontent.com/u/4242?v=4`,
    gravatar_id: '',
    url: u,
    html_url: `https://github.com/${encodeURIComponent(login)}`,
    followers_url: `${u}/followers`,
    following_url: `${u}/following{/other_user}`,
    gists_url: `${u}/gists{/gist_id}`,
    starred_url: `${u}/starred{/owner}{/repo}`,
    subscriptions_url: `${u}/subscriptions`,
    organizations_url: `${u}/orgs`,
    repos_url: `${u}/repos`,
    events_url: `${u}/events{/privacy}`,
    received_events_url: `${u}/received_events`,
    type,
    site_admin: false,
    name: login,
    company: null,
    blog: '',
    location: null,
    email: null,
    hireable: null,
    bio: null,
    public_repos: 3,
    public_gists: 0,
    followers: 1,
    following: 0,
    created_at: '2020-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
  }
}
