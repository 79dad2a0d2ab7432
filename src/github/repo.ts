import { getOctokit } from '@actions/github'
import { retry } from '@octokit/plugin-retry'
import { throttling } from '@octokit/plugin-throttling'
import { GitHubApiError } from '../errors.js'

/**
 * The GitHub REST API for the repository the workflow runs in (API version 2022-11-28): its pull
 * requests ("Pulls"), Releases and their assets ("Releases", "Release assets"), and workflow
 * dispatch ("Workflows"). Loaded only by a run that needs it (`await import`), as the Packages
 * client is.
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
  /** Logins whose review is requested and not yet given (GitHub drops a reviewer from this list once they review). */
  requestedReviewers: string[]
  /** Slugs of the teams whose review is requested. */
  requestedTeams: string[]
}

/** A GitHub Release, as far as the pipeline reads it. */
export interface Release {
  id: number
  url: string
  tag: string
  body: string
  /** A draft: not found by tag (`GET /releases/tags/{tag}`), only by listing. */
  draft: boolean
  /** The RFC 6570 template assets are uploaded to (`https://uploads.github.com/…/assets{?name,label}`). */
  uploadUrl: string
  /** Asset names. */
  assets: string[]
}

function toRelease(raw: unknown): Release {
  const r = raw as {
    id: number
    html_url: string
    tag_name: string
    body?: string | null
    draft?: boolean
    upload_url: string
    assets?: { name: string }[]
  }
  return {
    id: r.id,
    url: r.html_url,
    tag: r.tag_name,
    body: r.body ?? '',
    draft: r.draft === true,
    uploadUrl: r.upload_url,
    assets: (r.assets ?? []).map((a) => a.name),
  }
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
    requested_reviewers?: { login: string }[] | null
    requested_teams?: { slug: string }[] | null
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
    requestedReviewers: (p.requested_reviewers ?? []).map((u) => u.login),
    requestedTeams: (p.requested_teams ?? []).map((t) => t.slug),
  }
}

/** A commit status as the pipeline reads it ("Commit statuses"). */
export interface CommitStatus {
  state: 'error' | 'failure' | 'pending' | 'success'
  context: string
  description: string
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
        `could not ${action} in ${this.label}: ${message} (HTTP ${status}); the token needs contents: write (and pull-requests: ` +
          `write for pull requests, actions: write for dispatch-workflow) in the workflow's permissions`,
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
   * Every open pull request into `base`, newest first: `GET /repos/{owner}/{repo}/pulls?state=open&base=…`
   * (first page of 100; "List pull requests"). Used to find this action's older proposals.
   */
  async openPullRequests(base: string): Promise<PullRequest[]> {
    try {
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/pulls', {
        owner: this.owner,
        repo: this.repo,
        base,
        state: 'open',
        sort: 'created',
        direction: 'desc',
        per_page: 100,
      })
      return res.data.map(toPullRequest)
    } catch (error) {
      this.fail(error, `list the open pull requests into ${base}`)
    }
  }

  /** Closes a pull request without merging it: `PATCH /repos/{owner}/{repo}/pulls/{pull_number}` with `state: closed` (200). */
  async closePullRequest(number: number): Promise<void> {
    try {
      await this.octokit.request('PATCH /repos/{owner}/{repo}/pulls/{pull_number}', {
        owner: this.owner,
        repo: this.repo,
        pull_number: number,
        state: 'closed',
      })
    } catch (error) {
      this.fail(error, `close pull request #${number}`)
    }
  }

  /**
   * The bodies of a pull request's conversation comments, oldest first:
   * `GET /repos/{owner}/{repo}/issues/{issue_number}/comments` (first 100).
   */
  async comments(number: number): Promise<string[]> {
    try {
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner: this.owner,
        repo: this.repo,
        issue_number: number,
        per_page: 100,
      })
      return res.data.map((c) => c.body ?? '')
    } catch (error) {
      this.fail(error, `read the comments of pull request #${number}`)
    }
  }

  /** Comments on a pull request: `POST /repos/{owner}/{repo}/issues/{issue_number}/comments` (201). */
  async addComment(number: number, body: string): Promise<void> {
    try {
      await this.octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner: this.owner,
        repo: this.repo,
        issue_number: number,
        body,
      })
    } catch (error) {
      this.fail(error, `comment on pull request #${number}`)
    }
  }

  /** How many reviews a pull request has had: `GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews` (first page of 100). */
  async reviewCount(number: number): Promise<number> {
    try {
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews', {
        owner: this.owner,
        repo: this.repo,
        pull_number: number,
        per_page: 100,
      })
      return res.data.length
    } catch (error) {
      this.fail(error, `read the reviews of pull request #${number}`)
    }
  }

  /**
   * The statuses of a commit, newest first: `GET /repos/{owner}/{repo}/commits/{ref}/statuses`
   * (first page of 100; "List commit statuses for a reference").
   */
  async statuses(sha: string): Promise<CommitStatus[]> {
    try {
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/commits/{ref}/statuses', {
        owner: this.owner,
        repo: this.repo,
        ref: sha,
        per_page: 100,
      })
      return res.data.map((st) => ({ state: st.state as CommitStatus['state'], context: st.context, description: st.description ?? '' }))
    } catch (error) {
      this.fail(error, `read the statuses of commit ${sha.slice(0, 12)}`)
    }
  }

  /** Sets a commit status: `POST /repos/{owner}/{repo}/statuses/{sha}` (201; needs `statuses: write`). */
  async createStatus(sha: string, status: CommitStatus): Promise<void> {
    try {
      await this.octokit.request('POST /repos/{owner}/{repo}/statuses/{sha}', {
        owner: this.owner,
        repo: this.repo,
        sha,
        state: status.state,
        context: status.context,
        description: status.description.slice(0, 140),
      })
    } catch (error) {
      this.fail(error, `set the ${status.context} status of commit ${sha.slice(0, 12)}`)
    }
  }

  /**
   * Draft Releases of `tag`, which `GET /releases/tags/{tag}` does not find: `GET
   * /repos/{owner}/{repo}/releases` (first page of 100, newest first, drafts included for a token
   * with push access).
   */
  async draftReleases(tag: string): Promise<Release[]> {
    try {
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/releases', { owner: this.owner, repo: this.repo, per_page: 100 })
      return res.data.map(toRelease).filter((r) => r.draft && r.tag === tag)
    } catch (error) {
      this.fail(error, 'list the releases')
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

  /** The Release of `tag`: `GET /repos/{owner}/{repo}/releases/tags/{tag}` (200), or undefined (404). */
  async releaseByTag(tag: string): Promise<Release | undefined> {
    try {
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/releases/tags/{tag}', { owner: this.owner, repo: this.repo, tag })
      return toRelease(res.data)
    } catch (error) {
      if ((error as HttpError).status === 404) return undefined
      this.fail(error, `read the release of tag ${tag}`)
    }
  }

  /**
   * Creates the Release of an existing tag: `POST /repos/{owner}/{repo}/releases` (201). When
   * GitHub answers 422 because the tag has a Release by now (`already_exists`: a concurrent run),
   * that one is returned.
   */
  async createRelease(p: { tag: string; name: string; body: string; prerelease: boolean }): Promise<Release> {
    try {
      const res = await this.octokit.request('POST /repos/{owner}/{repo}/releases', {
        owner: this.owner,
        repo: this.repo,
        tag_name: p.tag,
        name: p.name,
        body: p.body,
        draft: false,
        prerelease: p.prerelease,
      })
      return toRelease(res.data)
    } catch (error) {
      if ((error as HttpError).status === 422 && /already_exists/.test((error as HttpError).message ?? '')) {
        const existing = await this.releaseByTag(p.tag)
        if (existing) return existing
      }
      this.fail(error, `create the release of tag ${p.tag}`)
    }
  }

  /** Sets a Release's notes: `PATCH /repos/{owner}/{repo}/releases/{release_id}` (200). */
  async updateReleaseNotes(id: number, body: string): Promise<Release> {
    try {
      const res = await this.octokit.request('PATCH /repos/{owner}/{repo}/releases/{release_id}', {
        owner: this.owner,
        repo: this.repo,
        release_id: id,
        body,
      })
      return toRelease(res.data)
    } catch (error) {
      this.fail(error, `update release ${id}`)
    }
  }

  /**
   * Uploads a file to a Release: `POST {upload_url}?name=…` ("Upload a release asset", 201; the
   * host is the one `upload_url` names, uploads.github.com on github.com). An asset of that name
   * that exists by now (422 `already_exists`, a concurrent run) counts as done.
   */
  async uploadAsset(release: Release, name: string, data: Buffer, contentType: string): Promise<void> {
    try {
      await this.octokit.request({
        method: 'POST',
        url: release.uploadUrl,
        name,
        data,
        headers: { 'content-type': contentType },
      })
    } catch (error) {
      if ((error as HttpError).status === 422 && /already_exists/.test((error as HttpError).message ?? '')) return
      this.fail(error, `upload ${name} to the release of ${release.tag}`)
    }
  }

  /**
   * Starts a workflow: `POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches`
   * (204) with `ref` and `inputs` (strings; at most 25). `GITHUB_TOKEN` may do this with
   * `actions: write`; it is the documented exception to "events made with GITHUB_TOKEN start no
   * workflow".
   */
  async dispatchWorkflow(workflow: string, ref: string, inputs: Record<string, string>): Promise<void> {
    try {
      await this.octokit.request('POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches', {
        owner: this.owner,
        repo: this.repo,
        workflow_id: workflow,
        ref,
        inputs,
      })
    } catch (error) {
      const e = error as HttpError
      if (e.status === 404) {
        throw new GitHubApiError(
          `could not start workflow ${workflow} in ${this.label}: not found (HTTP 404); dispatch-workflow must be a file name under ` +
            `.github/workflows on ${ref} (e.g. deploy.yml), and the token needs actions: write`,
          404,
        )
      }
      if (e.status === 422) {
        throw new GitHubApiError(
          `could not start workflow ${workflow} in ${this.label}: ${(e.message ?? '').trim()} (HTTP 422); the workflow needs an ` +
            `on.workflow_dispatch trigger with the inputs ${Object.keys(inputs).join(', ')}`,
          422,
        )
      }
      this.fail(error, `start workflow ${workflow}`)
    }
  }
}
