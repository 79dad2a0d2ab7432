import type { Helm } from '../chart/helm.js'
import { ChartError } from '../errors.js'
import type { Git } from '../git.js'
import type { RepoClient } from '../github/repo.js'
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

/** One chart's release while it runs. */
export interface ChartRuntime {
  inputs: Inputs
  /** The user's checkout (read, fetched into, fast-forwarded after a push; never committed in). */
  git: Git
  /** The checkout's HEAD commit when the run started. */
  head: string
  helm: Helm
  scratch: Scratch
  /** The branch the run plans on and commits to. */
  branch: string
  /** The chart directory relative to the repository root, e.g. `charts/zero-cache`. */
  chartRel: string
  /** `<chartRel>/Chart.yaml` */
  chartFile: string
  /** Chart registry clients by chart name (one per repository, so tokens are reused). */
  registries: Map<string, RegistryClient>
  /** The upstream image's registry client (its token is reused to read the image's source label). */
  upstream?: RegistryClient
  /** The GitHub API client of the repository, made on first use (pull requests, Releases, dispatch). */
  repo?: RepoClient
  /** The chart archive this run packaged, for the Release. */
  archive?: { version: string; path: string }
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
    const client = new RegistryClient(image, { plainHttp: inputs.plainHttp, timeScale: inputs.timeScale })
    listing = { client, tags: client.listTags() }
    runtime.listings.set(key, listing)
  }
  return listing
}

/** The chart registry client for chart `name` (`<oci-repo>/<name>`), made once per chart. */
export function chartClient(rt: ChartRuntime, name: string): RegistryClient {
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
export async function repoClient(rt: ChartRuntime): Promise<RepoClient> {
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
