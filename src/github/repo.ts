import { PullsApi } from './pulls.js'
import { ReleasesApi } from './releases.js'
import { DispatchApi } from './dispatch.js'
import { AttestationsApi } from './attestations.js'
import { Repository, type RepoClientOptions } from './repository.js'

/**
 * The GitHub REST API of the repository the workflow runs in, by API: `pulls`, `releases` and
 * `dispatch`, over one client (repository.ts). Loaded only by a run that needs it (`await
 * import`), as the Packages client is.
 */

export type { PullRequest } from './pulls.js'
export type { Release } from './releases.js'
export type { CommitStatus } from './dispatch.js'
export type { RepoClientOptions } from './repository.js'

export class RepoClient {
  readonly pulls: PullsApi
  readonly releases: ReleasesApi
  readonly dispatch: DispatchApi
  readonly attestations: AttestationsApi

  /** @throws GitHubApiError when `repository` is not `OWNER/REPO`. */
  constructor(options: RepoClientOptions) {
    const repository = new Repository(options)
    this.pulls = new PullsApi(repository)
    this.releases = new ReleasesApi(repository)
    this.dispatch = new DispatchApi(repository)
    this.attestations = new AttestationsApi(repository)
  }
}
