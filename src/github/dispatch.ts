import { GitHubApiError } from '../errors.js'
import type { HttpError, Repository } from './repository.js'

/** workflow_dispatch ("Workflows"), and the commit status that records it ("Commit statuses"). */

/** A commit status as the pipeline reads it ("Commit statuses"). */
export interface CommitStatus {
  state: 'error' | 'failure' | 'pending' | 'success'
  context: string
  description: string
  /** The page the status links to (a workflow run). */
  targetUrl?: string
}

/** A workflow started with workflow_dispatch, and the record of it on a commit. */
export class DispatchApi {
  constructor(private readonly r: Repository) {}

  /**
   * Starts a workflow: `POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches`
   * (204) with `ref` and `inputs` (strings; at most 25). `GITHUB_TOKEN` may do this with
   * `actions: write`; it is the documented exception to "events made with GITHUB_TOKEN start no
   * workflow".
   */
  async dispatchWorkflow(workflow: string, ref: string, inputs: Record<string, string>): Promise<void> {
    try {
      await this.r.octokit.request('POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches', {
        owner: this.r.owner,
        repo: this.r.repo,
        workflow_id: workflow,
        ref,
        inputs,
      })
    } catch (error) {
      const e = error as HttpError
      if (e.status === 404) {
        throw new GitHubApiError(
          `could not start workflow ${workflow} in ${this.r.label}: not found (HTTP 404); dispatch-workflow must be a file name under ` +
            `.github/workflows on ${ref} (e.g. deploy.yml), and the token needs actions: write`,
          404,
        )
      }
      if (e.status === 422) {
        throw new GitHubApiError(
          `could not start workflow ${workflow} in ${this.r.label}: ${(e.message ?? '').trim()} (HTTP 422); the workflow needs an ` +
            `on.workflow_dispatch trigger with the inputs ${Object.keys(inputs).join(', ')}`,
          422,
        )
      }
      this.r.fail(error, `start workflow ${workflow}`)
    }
  }

  /**
   * The statuses of a commit, newest first: `GET /repos/{owner}/{repo}/commits/{ref}/statuses`
   * (first page of 100; "List commit statuses for a reference").
   */
  async statuses(sha: string): Promise<CommitStatus[]> {
    return this.r.call(`read the statuses of commit ${sha.slice(0, 12)}`, async () => {
      const res = await this.r.octokit.request('GET /repos/{owner}/{repo}/commits/{ref}/statuses', {
        owner: this.r.owner,
        repo: this.r.repo,
        ref: sha,
        per_page: 100,
      })
      return res.data.map((st) => ({ state: st.state as CommitStatus['state'], context: st.context, description: st.description ?? '' }))
    })
  }

  /** Sets a commit status: `POST /repos/{owner}/{repo}/statuses/{sha}` (201; needs `statuses: write`). */
  async createStatus(sha: string, status: CommitStatus): Promise<void> {
    return this.r.call(`set the ${status.context} status of commit ${sha.slice(0, 12)}`, async () => {
      await this.r.octokit.request('POST /repos/{owner}/{repo}/statuses/{sha}', {
        owner: this.r.owner,
        repo: this.r.repo,
        sha,
        state: status.state,
        context: status.context,
        description: status.description.slice(0, 140),
        ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
      })
    })
  }
}
