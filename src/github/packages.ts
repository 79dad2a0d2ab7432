import * as core from '@actions/core'
import { getOctokit } from '@actions/github'
import { retry } from '@octokit/plugin-retry'
import { throttling } from '@octokit/plugin-throttling'
import Bottleneck from 'bottleneck'
import { GitHubApiError } from '../errors.js'
import type { PackageVersion } from './prune.js'

/**
 * The GitHub Packages REST API for one container package ("Packages" REST docs, API version
 * 2022-11-28): owner type, version listing, version deletion. Octokit from `@actions/github` with
 * the retry plugin (5xx retried with backoff) and the throttling plugin (secondary-rate-limit
 * 403/429 retried after `retry-after`; DELETEs paced by a write limiter). Every response's
 * `x-ratelimit-remaining` is recorded so the caller can stop before the primary budget runs out.
 */

/** Environment variable that divides every wait (write pacing, retry-after) — for tests and benchmarks only. */
export const TIME_SCALE_ENV = 'ZERO_CACHE_CHART_TIME_SCALE'

/** Default gap between DELETE starts: GitHub's REST best practices ask for at least 1 s between mutative requests. */
export const WRITE_INTERVAL_MS = 1000

/** Retries per request, shared by the throttling (rate limits) and retry (5xx) plugins. */
const MAX_RETRIES = 10

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
}

type Octokit = ReturnType<typeof getOctokit>

function timeScale(): number {
  const n = Number(process.env[TIME_SCALE_ENV] ?? '1')
  return Number.isFinite(n) && n > 0 ? n : 1
}

export class PackagesClient {
  private readonly octokit: Octokit
  /** `x-ratelimit-remaining` of the newest response, or undefined before the first. */
  remaining?: number
  /** `x-ratelimit-limit`. */
  limit?: number
  /** Requests sent (retries included), and rejections seen (403/429 rate limits, 5xx). */
  stats = { requests: 0, rateLimited: 0, serverErrors: 0 }
  private base?: string

  constructor(private readonly options: PackagesClientOptions) {
    const scale = timeScale()
    const write = new Bottleneck.Group({ maxConcurrent: 4, minTime: Math.ceil(WRITE_INTERVAL_MS / scale) })
    this.octokit = getOctokit(
      options.token,
      {
        baseUrl: options.baseUrl,
        // The retry count is shared by both plugins, so it must cover secondary-limit waits plus 5xx retries.
        request: { retries: MAX_RETRIES },
        retry: { doNotRetry: [400, 401, 403, 404, 410, 422, 451], retryAfterBaseValue: 1000 / scale },
        throttle: {
          write,
          retryAfterBaseValue: 1000 / scale,
          fallbackSecondaryRateRetryAfter: 60,
          onRateLimit: (retryAfter: number, opts: { method: string; url: string }) => {
            // Primary limit exhausted: waiting for the reset could take an hour. Stop; the next run continues.
            core.warning(`GitHub API rate limit exhausted (${opts.method} ${opts.url}); resets in ${retryAfter} s`)
            return false
          },
          onSecondaryRateLimit: (retryAfter: number, opts: { method: string; url: string }, _o: unknown, retryCount: number) => {
            core.info(`secondary rate limit on ${opts.method} ${opts.url}; retrying in ${retryAfter} s (retry ${retryCount + 1})`)
            return retryCount < MAX_RETRIES
          },
        },
      },
      retry,
      throttling,
    )
    this.octokit.hook.before('request', () => {
      this.stats.requests++
    })
    this.octokit.hook.after('request', (response) => this.record(response.headers as Record<string, string | undefined>))
    this.octokit.hook.error('request', (error) => {
      const e = error as { status?: number; response?: { headers?: Record<string, string | undefined> } }
      if (e.response?.headers) this.record(e.response.headers)
      if (e.status === 429 || (e.status === 403 && /rate limit/i.test((error as Error).message))) this.stats.rateLimited++
      if ((e.status ?? 0) >= 500) this.stats.serverErrors++
      throw error
    })
  }

  private record(headers: Record<string, string | undefined>): void {
    const remaining = headers['x-ratelimit-remaining']
    const limit = headers['x-ratelimit-limit']
    if (remaining !== undefined) this.remaining = Number(remaining)
    if (limit !== undefined) this.limit = Number(limit)
  }

  private get pkg(): string {
    return `${this.options.owner}/${this.options.packageName}`
  }

  private fail(error: unknown, action: string): never {
    const e = error as { status?: number; message?: string }
    const status = e.status
    const who = `package '${this.options.packageName}' of owner '${this.options.owner}'`
    const perm = `the token needs packages: write, and the package's "Manage Actions access" must give this repository Admin (or Write) access`
    if (status === 401) throw new GitHubApiError(`could not ${action} ${who}: github-token was rejected (HTTP 401)`, 401)
    if (status === 403 && !/rate limit/i.test(e.message ?? '')) throw new GitHubApiError(`could not ${action} ${who}: forbidden (HTTP 403); ${perm}`, 403)
    if (status === 404) throw new GitHubApiError(`could not ${action} ${who}: not found (HTTP 404); check oci-repo and the chart name, or the token cannot see the package (${perm})`, 404)
    throw new GitHubApiError(`could not ${action} ${who}: ${e.message ?? String(error)}${status ? ` (HTTP ${status})` : ''}`, status)
  }

  /**
   * The owner's API path prefix: `/orgs/{org}` or `/users/{username}`, from `GET /users/{username}`
   * (`type` is `Organization` or `User`). One request per run.
   */
  async ownerBase(): Promise<string> {
    if (!this.base) {
      try {
        const res = await this.octokit.request('GET /users/{username}', { username: this.options.owner })
        this.base = res.data.type === 'Organization' ? `/orgs/${this.options.owner}` : `/users/${this.options.owner}`
      } catch (error) {
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
      const data = res.data as { id: number; name: string; created_at: string; metadata?: { container?: { tags?: string[] } } }[]
      return {
        versions: data.map((v) => ({ id: v.id, digest: v.name, createdAt: new Date(v.created_at), tags: v.metadata?.container?.tags ?? [] })),
        lastPage: last ? Number(last[1]) : page,
      }
    } catch (error) {
      this.fail(error, 'list the versions of')
    }
  }

  /**
   * Deletes one version: `DELETE {base}/packages/container/{name}/versions/{id}`. A 404 (already
   * gone, e.g. deleted by a concurrent run) counts as done.
   */
  async deleteVersion(id: number): Promise<void> {
    const base = await this.ownerBase()
    // The throttling and retry plugins share one retry count per request, so under a storm of
    // secondary-limit 403s a 5xx can arrive with no retries left; a few more attempts here keep a
    // transient server error from failing the run. A repeat that finds the version gone (404) is done.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.octokit.request(`DELETE ${base}/packages/container/{package_name}/versions/{package_version_id}`, {
          package_name: this.options.packageName,
          package_version_id: id,
        })
        return
      } catch (error) {
        const status = (error as { status?: number }).status ?? 0
        if (status === 404) return
        if (status >= 500 && attempt < 3) {
          await new Promise((r) => setTimeout(r, (1000 * attempt) / timeScale()))
          continue
        }
        this.fail(error, `delete version ${id} of`)
      }
    }
  }

  /** Name used in messages: `owner/package`. */
  get label(): string {
    return this.pkg
  }
}
