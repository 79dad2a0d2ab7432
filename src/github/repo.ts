import { getOctokit } from '@actions/github'
import { retry } from '@octokit/plugin-retry'
import { throttling } from '@octokit/plugin-throttling'
import { GitHubApiError } from '../errors.js'

/**
 * The GitHub REST API for the repository the workflow runs in (API version 2022-11-28): its pull
 * requests ("Pulls" REST docs). Loaded only by a run that needs it (`await import`), as the
 * Packages client is.
 *
 * Request policy: Octokit's retry plugin (5xx, 3 retries) and throttling plugin (GitHub's primary
 * and secondary rate limits: a refused request waits for `retry-after` and is tried again, at most
 * twice), as GitHub's "Best practices for using the REST API" page asks.
 */

/** A pull request, as far as the pipeline reads it. */
export interface PullRequest {
  number: number
  /** `https://github.com/OWNER/REPO/pull/N` */
  url: string
  state: 'open' | 'closed'
  /** True once merged; a closed pull request that is not merged was closed by hand. */
  merged: boolean
  title: string
  body: string
  /** The head branch (without `refs/heads/`). */
  head: string
  /** The head commit. */
  headSha: string
  labels: string[]
}

export interface RepoClientOptions {
  token: string
  /** `https://api.github.com`, or a GHES `https://HOST/api/v3`. */
  baseUrl: string
  /** `OWNER/REPO` (`GITHUB_REPOSITORY`). */
  repository: string
  /** Divides every wait of the plugins; 1 in real runs (see `Inputs.timeScale`). */
  timeScale?: number
}

type Octokit = ReturnType<typeof getOctokit>
interface HttpError {
  status?: number
  message?: string
}

/** GitHub's 403 when the repository (or its organisation) does not let workflows open pull requests (danielroe/uppt#11). */
const ACTIONS_MAY_NOT_CREATE = /not permitted to create or approve pull requests/i
/** GitHub's 422 ("Validation Failed", errors[].message "A pull request already exists for OWNER:BRANCH."; gm3dmo/the-power#175). */
const ALREADY_EXISTS = /pull request already exists/i

/** A pull request from GitHub's `pull-request` or `pull-request-simple` JSON. */
function toPullRequest(raw: unknown): PullRequest {
  const p = raw as {
    number: number
    html_url: string
    state: 'open' | 'closed'
    merged_at: string | null
    title: string
    body: string | null
    head: { ref: string; sha: string }
    labels?: { name?: string }[]
  }
  return {
    number: p.number,
    url: p.html_url,
    state: p.state,
    merged: p.merged_at !== null && p.merged_at !== undefined,
    title: p.title,
    body: p.body ?? '',
    head: p.head.ref,
    headSha: p.head.sha,
    labels: (p.labels ?? []).map((l) => l.name ?? '').filter(Boolean),
  }
}

export class RepoClient {
  private readonly octokit: Octokit
  readonly owner: string
  readonly repo: string

  /** @throws GitHubApiError when `repository` is not `OWNER/REPO`. */
  constructor(options: RepoClientOptions) {
    const [owner, repo, ...rest] = options.repository.split('/')
    if (!owner || !repo || rest.length) {
      throw new GitHubApiError(`GITHUB_REPOSITORY '${options.repository}' is not OWNER/REPO; the pull request cannot be opened`)
    }
    this.owner = owner
    this.repo = repo
    const scale = options.timeScale ?? 1
    this.octokit = getOctokit(
      options.token,
      {
        baseUrl: options.baseUrl,
        retry: { retries: 3, doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451], retryAfterBaseValue: 1000 / scale },
        throttle: {
          retryAfterBaseValue: 1000 / scale,
          onRateLimit: (_after: number, _o: unknown, _k: unknown, count: number) => count < 2,
          onSecondaryRateLimit: (_after: number, _o: unknown, _k: unknown, count: number) => count < 2,
        },
      },
      retry,
      throttling,
    )
  }

  /** `OWNER/REPO`, for messages. */
  get label(): string {
    return `${this.owner}/${this.repo}`
  }

  private fail(error: unknown, action: string): never {
    const e = error as HttpError
    const status = e.status
    const message = (e.message ?? String(error)).trim()
    if (status === 401) throw new GitHubApiError(`could not ${action} in ${this.label}: github-token was rejected (HTTP 401)`, 401)
    if (status === 403 && ACTIONS_MAY_NOT_CREATE.test(message)) {
      throw new GitHubApiError(
        `could not ${action} in ${this.label}: GitHub does not let workflows open pull requests in this repository (HTTP 403). Turn on ` +
          `Settings → Actions → General → "Allow GitHub Actions to create and approve pull requests" (and at the organisation level), ` +
          `or pass a GitHub App token as github-token`,
        403,
      )
    }
    if (status === 403 || status === 404) {
      throw new GitHubApiError(
        `could not ${action} in ${this.label}: ${message} (HTTP ${status}); the token needs contents: write and pull-requests: write ` +
          `(permissions: in the workflow)`,
        status,
      )
    }
    throw new GitHubApiError(`could not ${action} in ${this.label}: ${message.slice(0, 300)}${status ? ` (HTTP ${status})` : ''}`, status)
  }

  /**
   * Pull requests from `head` (a branch of this repository) into `base`, newest first: `GET
   * /repos/{owner}/{repo}/pulls?head=OWNER:head&base=base&state=…&sort=created&direction=desc` ("List
   * pull requests"). Reads the first page (100), which holds the ones that matter: the open one,
   * and the newest closed ones.
   */
  async pullRequests(head: string, base: string, state: 'open' | 'closed' | 'all'): Promise<PullRequest[]> {
    try {
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/pulls', {
        owner: this.owner,
        repo: this.repo,
        head: `${this.owner}:${head}`,
        base,
        state,
        sort: 'created',
        direction: 'desc',
        per_page: 100,
      })
      return res.data.map(toPullRequest)
    } catch (error) {
      this.fail(error, `list the pull requests from ${head}`)
    }
  }

  /**
   * Opens a pull request: `POST /repos/{owner}/{repo}/pulls` (201). When GitHub answers 422 because
   * one is already open for `head` (a concurrent run opened it), that one is updated and returned.
   */
  async createPullRequest(p: { head: string; base: string; title: string; body: string }): Promise<PullRequest> {
    try {
      const res = await this.octokit.request('POST /repos/{owner}/{repo}/pulls', {
        owner: this.owner,
        repo: this.repo,
        head: p.head,
        base: p.base,
        title: p.title,
        body: p.body,
        maintainer_can_modify: true,
      })
      return toPullRequest(res.data)
    } catch (error) {
      const e = error as HttpError
      if (e.status === 422 && ALREADY_EXISTS.test(e.message ?? '')) {
        const [open] = await this.pullRequests(p.head, p.base, 'open')
        if (open) return this.updatePullRequest(open.number, { title: p.title, body: p.body })
      }
      this.fail(error, `open a pull request from ${p.head} into ${p.base}`)
    }
  }

  /** Edits the title and body: `PATCH /repos/{owner}/{repo}/pulls/{pull_number}` (200). */
  async updatePullRequest(number: number, p: { title: string; body: string }): Promise<PullRequest> {
    try {
      const res = await this.octokit.request('PATCH /repos/{owner}/{repo}/pulls/{pull_number}', {
        owner: this.owner,
        repo: this.repo,
        pull_number: number,
        title: p.title,
        body: p.body,
      })
      return toPullRequest(res.data)
    } catch (error) {
      this.fail(error, `update pull request #${number}`)
    }
  }

  /** Adds labels (GitHub creates a label that does not exist): `POST /repos/{owner}/{repo}/issues/{issue_number}/labels` (200). */
  async addLabels(number: number, labels: string[]): Promise<void> {
    if (!labels.length) return
    try {
      await this.octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/labels', {
        owner: this.owner,
        repo: this.repo,
        issue_number: number,
        labels,
      })
    } catch (error) {
      this.fail(error, `label pull request #${number}`)
    }
  }

  /**
   * Requests reviews: `POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers` (201).
   * `reviewers` are logins; `org/team` names go to `team_reviewers` as the team's slug.
   */
  async requestReviewers(number: number, reviewers: string[]): Promise<void> {
    const users = reviewers.filter((r) => !r.includes('/'))
    const teams = reviewers.filter((r) => r.includes('/')).map((r) => r.split('/').pop()!)
    if (!users.length && !teams.length) return
    try {
      await this.octokit.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers', {
        owner: this.owner,
        repo: this.repo,
        pull_number: number,
        reviewers: users,
        team_reviewers: teams,
      })
    } catch (error) {
      this.fail(error, `request reviews on pull request #${number}`)
    }
  }
}
