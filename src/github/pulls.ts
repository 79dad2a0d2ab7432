import type { HttpError, Repository } from './repository.js'

/** Pull requests of the repository ("Pulls", "Issues" for labels and comments, "Reviews"). */

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

/** Pull requests: list, open, update, close; labels, reviewers, reviews, comments. */
export class PullsApi {
  constructor(private readonly r: Repository) {}

  /**
   * Pull requests from `head` (a branch of this repository) into `base`, newest first: `GET
   * /repos/{owner}/{repo}/pulls?head=OWNER:head&base=base&state=…&sort=created&direction=desc` ("List
   * pull requests"). Reads the first page (100), which holds the ones that matter: the open one,
   * and the newest closed ones.
   */
  async pullRequests(head: string, base: string, state: 'open' | 'closed' | 'all'): Promise<PullRequest[]> {
    return this.r.call(`list the pull requests from ${head}`, async () => {
      const res = await this.r.octokit.request('GET /repos/{owner}/{repo}/pulls', {
        owner: this.r.owner,
        repo: this.r.repo,
        head: `${this.r.owner}:${head}`,
        base,
        state,
        sort: 'created',
        direction: 'desc',
        per_page: 100,
      })
      return res.data.map(toPullRequest)
    })
  }

  /**
   * Every open pull request into `base`, newest first: `GET /repos/{owner}/{repo}/pulls?state=open&base=…`
   * (first page of 100; "List pull requests"). Used to find this action's older proposals.
   */
  async openPullRequests(base: string): Promise<PullRequest[]> {
    return this.r.call(`list the open pull requests into ${base}`, async () => {
      const res = await this.r.octokit.request('GET /repos/{owner}/{repo}/pulls', {
        owner: this.r.owner,
        repo: this.r.repo,
        base,
        state: 'open',
        sort: 'created',
        direction: 'desc',
        per_page: 100,
      })
      return res.data.map(toPullRequest)
    })
  }

  /**
   * Opens a pull request: `POST /repos/{owner}/{repo}/pulls` (201). When GitHub answers 422 because
   * one is already open for `head` (a concurrent run opened it), that one is updated and returned.
   */
  async createPullRequest(p: { head: string; base: string; title: string; body: string }): Promise<PullRequest> {
    try {
      const res = await this.r.octokit.request('POST /repos/{owner}/{repo}/pulls', {
        owner: this.r.owner,
        repo: this.r.repo,
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
      this.r.fail(error, `open a pull request from ${p.head} into ${p.base}`)
    }
  }

  /** Edits the title and body: `PATCH /repos/{owner}/{repo}/pulls/{pull_number}` (200). */
  async updatePullRequest(number: number, p: { title: string; body: string }): Promise<PullRequest> {
    return this.r.call(`update pull request #${number}`, async () => {
      const res = await this.r.octokit.request('PATCH /repos/{owner}/{repo}/pulls/{pull_number}', {
        owner: this.r.owner,
        repo: this.r.repo,
        pull_number: number,
        title: p.title,
        body: p.body,
      })
      return toPullRequest(res.data)
    })
  }

  /** Closes a pull request without merging it: `PATCH /repos/{owner}/{repo}/pulls/{pull_number}` with `state: closed` (200). */
  async closePullRequest(number: number): Promise<void> {
    return this.r.call(`close pull request #${number}`, async () => {
      await this.r.octokit.request('PATCH /repos/{owner}/{repo}/pulls/{pull_number}', {
        owner: this.r.owner,
        repo: this.r.repo,
        pull_number: number,
        state: 'closed',
      })
    })
  }

  /** Adds labels (GitHub creates a label that does not exist): `POST /repos/{owner}/{repo}/issues/{issue_number}/labels` (200). */
  async addLabels(number: number, labels: string[]): Promise<void> {
    if (!labels.length) return
    return this.r.call(`label pull request #${number}`, async () => {
      await this.r.octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/labels', {
        owner: this.r.owner,
        repo: this.r.repo,
        issue_number: number,
        labels,
      })
    })
  }

  /**
   * Requests reviews: `POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers` (201).
   * `reviewers` are logins; `org/team` names go to `team_reviewers` as the team's slug.
   */
  async requestReviewers(number: number, reviewers: string[]): Promise<void> {
    const users = reviewers.filter((r) => !r.includes('/'))
    const teams = reviewers.filter((r) => r.includes('/')).map((r) => r.split('/').pop()!)
    if (!users.length && !teams.length) return
    return this.r.call(`request reviews on pull request #${number}`, async () => {
      await this.r.octokit.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers', {
        owner: this.r.owner,
        repo: this.r.repo,
        pull_number: number,
        reviewers: users,
        team_reviewers: teams,
      })
    })
  }

  /** How many reviews a pull request has had: `GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews` (first page of 100). */
  async reviewCount(number: number): Promise<number> {
    return this.r.call(`read the reviews of pull request #${number}`, async () => {
      const res = await this.r.octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews', {
        owner: this.r.owner,
        repo: this.r.repo,
        pull_number: number,
        per_page: 100,
      })
      return res.data.length
    })
  }

  /**
   * The bodies of a pull request's conversation comments, oldest first:
   * `GET /repos/{owner}/{repo}/issues/{issue_number}/comments` (first 100).
   */
  async comments(number: number): Promise<string[]> {
    return this.r.call(`read the comments of pull request #${number}`, async () => {
      const res = await this.r.octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner: this.r.owner,
        repo: this.r.repo,
        issue_number: number,
        per_page: 100,
      })
      return res.data.map((c) => c.body ?? '')
    })
  }

  /** Comments on a pull request: `POST /repos/{owner}/{repo}/issues/{issue_number}/comments` (201). */
  async addComment(number: number, body: string): Promise<void> {
    return this.r.call(`comment on pull request #${number}`, async () => {
      await this.r.octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner: this.r.owner,
        repo: this.r.repo,
        issue_number: number,
        body,
      })
    })
  }
}
