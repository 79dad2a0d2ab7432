import * as core from '@actions/core'
import Bottleneck from 'bottleneck/light.js'
import { GitHubApiError } from '../errors.js'
import { githubClient, type GitHubClient } from './client.js'
import type { PackageVersion } from './prune-select.js'

/**
 * The GitHub Packages REST API for one container package ("Packages" REST docs, API version
 * 2022-11-28): owner type, version listing, version deletion.
 *
 * Request policy, after GitHub's "Best practices for using the REST API" and "Rate limits for the
 * REST API" pages, built from Octokit's plugins plus one small hook of ours:
 * - mutating requests go one at a time, at least {@link WRITE_INTERVAL_MS} apart (the throttling
 *   plugin's write limiter);
 * - a secondary-rate-limit 403/429 pauses **every** request, not only the one refused, until its
 *   `retry-after` (60 s when absent) has passed, doubling while refusals continue (the cooldown
 *   hook, innermost, so every attempt waits); the throttling plugin retries the refused request up to
 *   {@link SECONDARY_LIMIT_RETRIES} times, then {@link RateLimitStop} is thrown;
 * - 5xx are retried up to {@link SERVER_ERROR_RETRIES} times with backoff (the retry plugin);
 * - primary-limit exhaustion (`x-ratelimit-remaining: 0`) is not waited out (the reset can be an
 *   hour away): {@link RateLimitStop} is thrown at once.
 * Every attempt's `x-ratelimit-remaining` is recorded so the caller can stop before the budget runs out.
 */

/** Minimum gap between DELETE starts: GitHub's REST best practices ask for at least 1 s between mutative requests. */
export const WRITE_INTERVAL_MS = 1000

/** Retries of one request refused by the secondary rate limit, before the run stops for later. */
export const SECONDARY_LIMIT_RETRIES = 4

/** Retries of one request answered with a 5xx (plugin-retry; its own count). */
export const SERVER_ERROR_RETRIES = 3

/** Longest single cooldown after repeated secondary-limit refusals, in (unscaled) ms. */
const MAX_COOLDOWN_MS = 15 * 60_000

/**
 * GitHub's rate limits refused a request and waiting is not worth it in this run (primary budget
 * exhausted, or the secondary limit kept refusing). Nothing is wrong with the inputs: the caller
 * stops, reports what is left, and the next run continues.
 */
export class RateLimitStop extends GitHubApiError {}

/**
 * GitHub refused to delete a version because it is the package's last one that counts: for container
 * packages the last *tagged* version (HTTP 400 "You cannot delete the last tagged version of a
 * package. You must delete the package instead."), for other package types the last version ("…the
 * last version of a package…"). GitHub's OpenAPI description declares neither 400 (sources in
 * ../shared/FACTS.md). Only deleting the package itself removes it.
 */
export class LastVersionError extends GitHubApiError {}

/**
 * GitHub refuses to delete this at all: a version of a public package downloaded more than 5,000
 * times, or a public package holding such a version (HTTP 400 "Publicly visible package versions with
 * more than 5000 downloads cannot be deleted…"; GitHub docs, "Deleting and restoring a package").
 * Only GitHub Support can; prune and cleanup-all keep it and say so.
 */
export class UndeletableError extends GitHubApiError {}

/** GitHub's 400 messages that refuse a delete for good reason, not for a bad request. */
const LAST_VERSION_MESSAGE = /cannot delete the last (tagged )?version of a package/i
const HIGH_DOWNLOADS_MESSAGE = /more than 5,?000 downloads cannot be deleted/i

/** A page of versions and the paging facts from its `Link` header. */
export interface VersionPage {
  versions: PackageVersion[]
  /** Page number of `rel="last"`, or the page itself when there is no `last` link. */
  lastPage: number
}

export interface PackagesClientOptions {
  token: string
  baseUrl: string
  owner: string
  packageName: string
  /** Divides every wait (write pacing, retry-after); 1 in real runs (see `Inputs.timeScale`). */
  timeScale?: number
}

type Octokit = GitHubClient
type Headers = Record<string, string | number | undefined>
interface HttpError {
  status?: number
  message?: string
  response?: { headers?: Headers }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Which rate limit refused a request, by GitHub's documented signals: a secondary limit says so in
 * its message (403 or 429, usually with `retry-after`); a primary limit has `x-ratelimit-remaining: 0`.
 */
export function rateLimitKind(error: HttpError): 'primary' | 'secondary' | undefined {
  if (error.status !== 403 && error.status !== 429) return undefined
  const headers = error.response?.headers ?? {}
  if (/\bsecondary rate\b/i.test(error.message ?? '')) return 'secondary'
  if (String(headers['x-ratelimit-remaining']) === '0') return 'primary'
  if (headers['retry-after'] !== undefined || error.status === 429) return 'secondary'
  return undefined
}

/** A `package-version` of GitHub's API as prune reads it, or undefined when a field it needs is missing. */
function toPackageVersion(raw: unknown): PackageVersion | undefined {
  const v = raw as { id?: unknown; name?: unknown; created_at?: unknown; metadata?: { container?: { tags?: unknown } } } | null
  if (typeof v !== 'object' || v === null || typeof v.id !== 'number' || typeof v.name !== 'string' || typeof v.created_at !== 'string')
    return undefined
  const createdAt = new Date(v.created_at)
  if (Number.isNaN(createdAt.getTime())) return undefined
  const tags = v.metadata?.container?.tags
  return { id: v.id, digest: v.name, createdAt, tags: Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [] }
}

/** An error message from GitHub as it can be shown: an HTML page (a proxy's or GitHub's own 5xx) is summarised, not dumped. */
function errorText(message: string): string {
  const text = message.trim()
  if (/^<|<html|<!doctype/i.test(text) || text.length > 300)
    return `an answer that is not GitHub's JSON (${text.length} characters, starting ${JSON.stringify(text.slice(0, 40))})`
  return text
}

/** One pause shared by every request of a client: set by a secondary-limit refusal, cleared by time. */
class Cooldown {
  private until = 0
  /** Secondary-limit refusals since the last answered request. */
  private streak = 0

  /** @param maxMs the longest single pause. */
  constructor(private readonly maxMs: number) {}

  async wait(): Promise<void> {
    for (let ms = this.until - Date.now(); ms > 0; ms = this.until - Date.now()) await sleep(ms)
  }

  /** A refusal: pause everyone for `retryAfterMs`, doubled per refusal in a row, capped. */
  refused(retryAfterMs: number): void {
    this.streak++
    const ms = Math.min(retryAfterMs * 2 ** (this.streak - 1), this.maxMs)
    this.until = Math.max(this.until, Date.now() + ms)
  }

  answered(): void {
    this.streak = 0
  }
}

export class PackagesClient {
  private readonly octokit: Octokit
  /** `x-ratelimit-remaining` of the newest response, or undefined before the first. */
  remaining?: number
  /** `x-ratelimit-limit`. */
  limit?: number
  /** HTTP attempts sent (retries included), and refusals seen (403/429 rate limits, 5xx). */
  stats = { requests: 0, rateLimited: 0, serverErrors: 0 }
  private base?: string

  constructor(private readonly options: PackagesClientOptions) {
    const scale = options.timeScale ?? 1
    const cooldown = new Cooldown(MAX_COOLDOWN_MS / scale)
    const write = new Bottleneck.Group({ maxConcurrent: 1, minTime: Math.ceil(WRITE_INTERVAL_MS / scale) })
    // Innermost hook (plugins apply in order and later hooks wrap earlier ones), so it sees every
    // attempt, the plugins' retries included.
    const attempts = (octokit: { hook: Octokit['hook'] }) => {
      octokit.hook.wrap('request', async (request, opts) => {
        await cooldown.wait()
        this.stats.requests++
        try {
          const response = await request(opts)
          this.record(response.headers)
          cooldown.answered()
          return response
        } catch (error) {
          const e = error as HttpError
          if (e.response?.headers) this.record(e.response.headers)
          const kind = rateLimitKind(e)
          if (kind) this.stats.rateLimited++
          if (kind === 'secondary') {
            const retryAfter = Number(e.response?.headers?.['retry-after']) || 60
            cooldown.refused((retryAfter * 1000) / scale)
          } else if ((e.status ?? 0) >= 500) {
            this.stats.serverErrors++
          }
          throw error
        }
      })
      return {}
    }
    this.octokit = githubClient({
      token: options.token,
      baseUrl: options.baseUrl,
      timeScale: scale,
      retries: SERVER_ERROR_RETRIES,
      plugins: [attempts],
      throttle: {
        write,
        fallbackSecondaryRateRetryAfter: 60,
        onRateLimit: (retryAfter: number, opts: { method: string; url: string }) => {
          core.info(`primary rate limit exhausted on ${opts.method} ${opts.url}; it resets in ${retryAfter} s`)
          return false
        },
        onSecondaryRateLimit: (retryAfter: number, opts: { method: string; url: string }, _o: unknown, retryCount: number) => {
          const retry = retryCount < SECONDARY_LIMIT_RETRIES
          core.info(
            `secondary rate limit on ${opts.method} ${opts.url}; ` +
              `${retry ? `every request pauses, retry ${retryCount + 1} in ${retryAfter} s or more` : 'giving up for this run'}`,
          )
          return retry
        },
      },
    })
  }

  private record(headers: Headers): void {
    const remaining = headers['x-ratelimit-remaining']
    const limit = headers['x-ratelimit-limit']
    if (remaining !== undefined) this.remaining = Number(remaining)
    if (limit !== undefined) this.limit = Number(limit)
  }

  /** An answer whose body is not what GitHub documents: name the endpoint and status, never dump the body. */
  private malformed(endpoint: string, status: number, data: unknown, expected: string): GitHubApiError {
    const got =
      typeof data === 'string'
        ? `${Buffer.byteLength(data)} bytes of text that is not JSON`
        : Array.isArray(data)
          ? 'a list of another shape'
          : `a ${typeof data} of another shape`
    return new GitHubApiError(
      `${endpoint} answered HTTP ${status} with ${got}, not ${expected}; GitHub or a proxy in front of it is misbehaving; the next run ` +
        `will try again`,
      status,
    )
  }

  private get pkg(): string {
    return `${this.options.owner}/${this.options.packageName}`
  }

  private fail(error: unknown, action: string): never {
    const e = error as HttpError
    const status = e.status
    const kind = rateLimitKind(e)
    if (kind) {
      throw new RateLimitStop(
        `could not ${action} ${this.pkg}: GitHub's ${kind} rate limit refused the request (HTTP ` +
          `${status}${kind === 'primary' ? `, x-ratelimit-remaining 0` : `, ${SECONDARY_LIMIT_RETRIES} retries`})`,
        status,
      )
    }
    const who = `package '${this.options.packageName}' of owner '${this.options.owner}'`
    const perm =
      `the token needs packages: write, and the package's "Manage Actions access" must give this repository Admin (or Write) ` + `access`
    if (status === 401) throw new GitHubApiError(`could not ${action} ${who}: github-token was rejected (HTTP 401)`, 401)
    if (status === 403) throw new GitHubApiError(`could not ${action} ${who}: forbidden (HTTP 403); ${perm}`, 403)
    if (status === 404)
      throw new GitHubApiError(
        `could not ${action} ${who}: not found (HTTP 404); check oci-repo and the chart name, or the token cannot see the package ` +
          `(${perm})`,
        404,
      )
    throw new GitHubApiError(
      `could not ${action} ${who}: ${errorText(e.message ?? String(error))}${status ? ` (HTTP ${status})` : ''}`,
      status,
    )
  }

  /**
   * The owner's API path prefix: `/orgs/{org}` or `/users/{username}`, from `GET /users/{username}`
   * (`type` is `Organization` or `User`). One request per run.
   */
  async ownerBase(): Promise<string> {
    if (!this.base) {
      try {
        const res = await this.octokit.request('GET /users/{username}', { username: this.options.owner })
        const type = typeof res.data === 'object' && res.data !== null ? (res.data as { type?: unknown }).type : undefined
        if (type !== 'Organization' && type !== 'User') {
          throw this.malformed(`GET /users/${this.options.owner}`, res.status, res.data, "a user or organization with a 'type'")
        }
        this.base = type === 'Organization' ? `/orgs/${this.options.owner}` : `/users/${this.options.owner}`
      } catch (error) {
        if (error instanceof GitHubApiError) throw error
        this.fail(error, 'look up the owner of')
      }
    }
    return this.base
  }

  /**
   * One page of versions, newest first: `GET {base}/packages/container/{name}/versions?per_page=100&page=N`
   * ("List package versions for a package owned by an organization/user").
   */
  async listPage(page: number): Promise<VersionPage> {
    const base = await this.ownerBase()
    try {
      const res = await this.octokit.request(`GET ${base}/packages/container/{package_name}/versions`, {
        package_name: this.options.packageName,
        per_page: 100,
        page,
        state: 'active',
      })
      const link = String(res.headers.link ?? '')
      const last = /<[^>]*[?&]page=(\d+)[^>]*>;\s*rel="last"/.exec(link)
      const versions = Array.isArray(res.data) ? res.data.map(toPackageVersion) : undefined
      if (!versions || versions.includes(undefined)) {
        throw this.malformed(
          `GET ${base}/packages/container/${encodeURIComponent(this.options.packageName)}/versions?page=${page}`,
          res.status,
          res.data,
          'a list of package versions (id, name, created_at)',
        )
      }
      return { versions: versions as PackageVersion[], lastPage: last ? Number(last[1]) : page }
    } catch (error) {
      if (error instanceof GitHubApiError) throw error
      this.fail(error, 'list the versions of')
    }
  }

  /**
   * Deletes one version: `DELETE {base}/packages/container/{name}/versions/{id}` (204). A 404 (already
   * gone, e.g. deleted by a concurrent run) counts as done. Throws {@link LastVersionError} for the
   * package's last (tagged) version, {@link UndeletableError} for a public version with more than
   * 5,000 downloads, {@link RateLimitStop} when the rate limits refuse it, {@link GitHubApiError} otherwise.
   */
  async deleteVersion(id: number): Promise<void> {
    const base = await this.ownerBase()
    try {
      await this.octokit.request(`DELETE ${base}/packages/container/{package_name}/versions/{package_version_id}`, {
        package_name: this.options.packageName,
        package_version_id: id,
      })
    } catch (error) {
      const e = error as HttpError
      if (e.status === 404) return
      if (e.status === 400 && HIGH_DOWNLOADS_MESSAGE.test(e.message ?? '')) {
        throw new UndeletableError(
          `GitHub does not delete version ${id} of ${this.pkg}: it is public and has more than 5,000 downloads (only GitHub Support can ` +
            `delete it)`,
          400,
        )
      }
      if (e.status === 400 && LAST_VERSION_MESSAGE.test(e.message ?? '')) {
        const what = /tagged/i.test(e.message ?? '') ? 'last tagged version' : 'last version'
        throw new LastVersionError(
          `GitHub does not delete the ${what} (${id}) of ${this.pkg} on its own: only deleting the package removes it`,
          400,
        )
      }
      this.fail(error, `delete version ${id} of`)
    }
  }

  /**
   * Deletes the package itself, every version with it: `DELETE {base}/packages/container/{name}`
   * (204; "Delete a package for an organization/user"). Restorable for 30 days, as GitHub's
   * "Deleting and restoring a package" says. A 404 (already gone) counts as done. Throws
   * {@link UndeletableError} for a public package holding a version with more than 5,000 downloads.
   */
  async deletePackage(): Promise<void> {
    const base = await this.ownerBase()
    try {
      await this.octokit.request(`DELETE ${base}/packages/container/{package_name}`, { package_name: this.options.packageName })
    } catch (error) {
      const e = error as HttpError
      if (e.status === 404) return
      if (e.status === 400 && HIGH_DOWNLOADS_MESSAGE.test(e.message ?? '')) {
        throw new UndeletableError(
          `GitHub does not delete package ${this.pkg}: it is public and a version of it has more than 5,000 downloads (only GitHub ` +
            `Support can delete it)`,
          400,
        )
      }
      this.fail(error, 'delete')
    }
  }

  /** Name used in messages: `owner/package`. */
  get label(): string {
    return this.pkg
  }
}
