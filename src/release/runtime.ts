import type { CooldownResult } from './cooldown.js'
import type { SigstoreSigner } from './sign.js'
import type { VerifyResult } from './verify.js'
import type { Helm } from '../chart/helm.js'
import { ChartError } from '../errors.js'
import type { Git } from '../git.js'
import type { AttestationsApi } from '../github/attestations.js'
import type { DispatchApi } from '../github/dispatch.js'
import type { PullsApi } from '../github/pulls.js'
import type { ReleasesApi } from '../github/releases.js'
import type { Inputs } from '../inputs.js'
import { InvalidReferenceError, parseOciRepository, type RepositoryReference } from '../oci/reference.js'
import { RegistryClient } from '../oci/registry.js'
import type { Scratch } from '../scratch.js'

/**
 * Per-run state: what one action run shares between its charts (the scratch directories, the
 * upstream tag listings), and what one chart's release holds while it runs (its clients, its
 * worktree, the archive it packaged). Passed down, never kept in a module.
 */

/** What one run of the action shares between its charts. */
export interface ActionRuntime {
  scratch: Scratch
  /** Upstream tag listings by repository: several charts following one image list its tags once. */
  listings: Map<string, { client: RegistryClient; tags: Promise<string[]> }>
}

/** A fresh {@link ActionRuntime}. */
export function newActionRuntime(scratch: Scratch): ActionRuntime {
  return { scratch, listings: new Map() }
}

/**
 * The edges of a release, as small interfaces of what it uses (src/git.ts, src/chart/helm.ts,
 * src/oci/registry.ts and src/github/repo.ts implement them): a release can be run against
 * anything that offers these, and nothing else of those classes is reached from here.
 */

/** The checkout and the git remote: read refs and files, make worktrees, commit, push, tag. */
export interface ReleaseGit extends Pick<
  Git,
  | 'checkout'
  | 'currentBranch'
  | 'remoteRefs'
  | 'remoteBranchTip'
  | 'remoteTags'
  | 'showAt'
  | 'fetchBranch'
  | 'unshallow'
  | 'isAncestor'
  | 'lastCommitTouching'
  | 'commitInfo'
  | 'commitIdentity'
  | 'commitTime'
  | 'treeOf'
  | 'commitsTouching'
  | 'sameChange'
  | 'removeWorktree'
  | 'pushBranch'
  | 'forcePushBranch'
  | 'createAndPushTag'
  | 'fastForward'
> {
  /** A worktree of `commit` at `dir`, where the run commits. */
  addWorktree(dir: string, commit: string): Promise<Pick<Git, 'commit'>>
}

/** helm, as a release runs it. */
export type ReleaseHelm = Pick<Helm, 'majorVersion' | 'dependencies' | 'lint' | 'package' | 'login' | 'push'>

/** The chart's OCI repository: manifests by tag, a push check, an artifact push. */
export type ChartRegistry = Pick<
  RegistryClient,
  'ref' | 'headManifest' | 'getManifest' | 'checkPush' | 'pushArtifact' | 'referrers' | 'uploadBlobs' | 'pushManifest'
>

/** The upstream image's repository: its tags, and an image's source repository. */
export type UpstreamRegistry = Pick<RegistryClient, 'listTags' | 'imageSource' | 'imageCreated'>

/** The GitHub repository's API, by part: pull requests (with comments and reviews), Releases, dispatch (with its record). */
export interface RepositoryApi {
  pulls: Pick<
    PullsApi,
    | 'pullRequests'
    | 'openPullRequests'
    | 'createPullRequest'
    | 'updatePullRequest'
    | 'closePullRequest'
    | 'addLabels'
    | 'requestReviewers'
    | 'reviewCount'
    | 'comments'
    | 'addComment'
  >
  releases: Pick<ReleasesApi, 'releaseByTag' | 'draftReleases' | 'createDraft' | 'updateReleaseNotes' | 'uploadAsset' | 'publish'>
  dispatch: Pick<DispatchApi, 'dispatchWorkflow' | 'statuses' | 'createStatus'>
  attestations: Pick<AttestationsApi, 'create' | 'find'>
}

/** One chart's release while it runs. */
export interface ChartRuntime {
  inputs: Inputs
  /** The user's checkout (read, fetched into, fast-forwarded after a push; never committed in). */
  git: ReleaseGit
  /** The checkout's HEAD commit when the run started. */
  head: string
  helm: ReleaseHelm
  scratch: Scratch
  /** The branch the run plans on and commits to. */
  branch: string
  /** The chart directory relative to the repository root, e.g. `charts/zero-cache`. */
  chartRel: string
  /** `<chartRel>/Chart.yaml` */
  chartFile: string
  /** Chart registry clients by chart name (one per repository, so tokens are reused). */
  registries: Map<string, ChartRegistry>
  /** The upstream image's registry client and its tags (its token is reused to read labels and dates). */
  upstream?: { client: UpstreamRegistry; tags: readonly string[] }
  /** The GitHub API client of the repository, made on first use (pull requests, Releases, dispatch). */
  repo?: RepositoryApi
  /** The chart archive this run packaged (version, the commit it was packaged at), for publishing and the Release. */
  archive?: { version: string; commit: string; path: string }
  /** The cooldown's choice (min-release-age) for the appVersion it was decided from. */
  cooldown?: { appVersion: string; result: CooldownResult }
  /** values-images: each image's tag listing, read once per run (a re-plan reuses it). */
  valuesTags?: Map<string, Promise<string[]>>
  /** sign: the Sigstore signer, made on first use. */
  signer?: SigstoreSigner
  /** The verification this run made, by the chart directory's tree id (an identical update is not verified twice). */
  verified?: { tree: string; result: VerifyResult }
}

/** The upstream client and its tag listing for `image`, started on first use and shared by every chart after. */
export function upstreamListing(
  runtime: ActionRuntime,
  inputs: Inputs,
  image: RepositoryReference,
): { client: RegistryClient; tags: Promise<string[]> } {
  const key = `${image.registry}/${image.repository} ${inputs.plainHttp}`
  let listing = runtime.listings.get(key)
  if (!listing) {
    // upstream-username/upstream-password go to the upstream registry (its token realm or Basic), never elsewhere.
    const client = new RegistryClient(image, {
      plainHttp: inputs.plainHttp,
      timeScale: inputs.timeScale,
      credentials: inputs.upstreamCredentials,
      credentialsInput: 'upstream-username/upstream-password',
    })
    listing = { client, tags: client.listTags() }
    runtime.listings.set(key, listing)
  }
  return listing
}

/** The chart registry client for chart `name` (`<oci-repo>/<name>`), made once per chart. */
export function chartClient(rt: ChartRuntime, name: string): ChartRegistry {
  let client = rt.registries.get(name)
  if (!client) {
    let repo
    try {
      repo = parseOciRepository(`${rt.inputs.ociRepo.url}/${name}`)
    } catch (error) {
      if (error instanceof InvalidReferenceError) {
        throw new ChartError(`chart name '${name}' cannot be an OCI repository name: ${error.message}`)
      }
      throw error
    }
    client = new RegistryClient(repo, {
      plainHttp: rt.inputs.plainHttp,
      credentials: rt.inputs.registryCredentials,
      timeScale: rt.inputs.timeScale,
    })
    rt.registries.set(name, client)
  }
  return client
}

/** The repository's GitHub API client, loaded and made on first use. */
export async function repoClient(rt: ChartRuntime): Promise<RepositoryApi> {
  if (!rt.repo) {
    const { RepoClient } = await import('../github/repo.js')
    rt.repo = new RepoClient({
      token: rt.inputs.githubToken,
      baseUrl: rt.inputs.githubApiUrl,
      repository: rt.inputs.repository,
      timeScale: rt.inputs.timeScale,
    })
  }
  return rt.repo
}
