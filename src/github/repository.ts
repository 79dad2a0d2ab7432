import { GitHubApiError } from '../errors.js'
import { githubClient, type GitHubClient } from './client.js'

/**
 * The GitHub REST API of the repository the workflow runs in (API version 2022-11-28), shared by
 * its parts: pull requests (pulls.ts), Releases (releases.ts), dispatch and its record
 * (dispatch.ts), composed in repo.ts. One client, one request policy (client.ts: Octokit's retry
 * plugin, 5xx retried 3 times, and its throttling plugin, a rate-limited request tried again at
 * most twice), one mapping of GitHub's refusals to errors a user can act on.
 */

export interface RepoClientOptions {
  token: string
  /** `https://api.github.com`, or a GHES `https://HOST/api/v3`. */
  baseUrl: string
  /** `OWNER/REPO` (`GITHUB_REPOSITORY`). */
  repository: string
  /** Divides every wait of the plugins; 1 in real runs (see `Inputs.timeScale`). */
  timeScale?: number
}

/** Fields of Octokit's RequestError that the mapping reads. */
export interface HttpError {
  status?: number
  message?: string
}

/** What a 403/404 of the repository's endpoints says the token needs, unless a call names its own. */
const DEFAULT_PERMISSIONS = 'contents: write (and pull-requests: write for pull requests, actions: write for dispatch-workflow)'

/** GitHub's 403 when the repository (or its organisation) does not let workflows open pull requests (danielroe/uppt#11). */
const ACTIONS_MAY_NOT_CREATE = /not permitted to create or approve pull requests/i

/** The repository, its client, and the error mapping every part uses. */
export class Repository {
  readonly octokit: GitHubClient
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
    this.octokit = githubClient({
      token: options.token,
      baseUrl: options.baseUrl,
      timeScale: options.timeScale,
      retries: 3,
      throttle: {
        onRateLimit: (_after: number, _o: unknown, _k: unknown, count: number) => count < 2,
        onSecondaryRateLimit: (_after: number, _o: unknown, _k: unknown, count: number) => count < 2,
      },
    })
  }

  /** `OWNER/REPO`, for messages. */
  get label(): string {
    return `${this.owner}/${this.repo}`
  }

  /**
   * Runs one API request; a failure becomes the GitHubApiError of {@link fail} for `action`.
   *
   * @param permissions what a 403/404 says the token needs (default: the contents, pull-requests and actions permissions).
   */
  async call<T>(action: string, request: () => Promise<T>, permissions?: string): Promise<T> {
    try {
      return await request()
    } catch (error) {
      this.fail(error, action, permissions)
    }
  }

  /**
   * Throws the GitHubApiError for a failed request: a rejected token (401), workflows not allowed
   * to open pull requests (403, the setting named), missing permissions (403/404, the ones named),
   * or GitHub's message with the status.
   */
  fail(error: unknown, action: string, permissions = DEFAULT_PERMISSIONS): never {
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
        `could not ${action} in ${this.label}: ${message} (HTTP ${status}); the token needs ${permissions} in the workflow's permissions`,
        status,
      )
    }
    throw new GitHubApiError(`could not ${action} in ${this.label}: ${message.slice(0, 300)}${status ? ` (HTTP ${status})` : ''}`, status)
  }
}
