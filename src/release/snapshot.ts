import type { ChartMetadata } from '../chart/chart-file.js'
import type { CommitStatus, PullRequest, Release } from '../github/repo.js'
import type { LintMode } from '../inputs.js'
import type { Selection, BumpKind } from '../versions.js'
import type { AttestationKind } from './sign.js'

/**
 * What a release run knows about the world, read once by `observe()` and never changed: the input
 * of `plan()`, which decides everything from it. Every field is a fact of one remote (the git
 * remote, the chart registry, the upstream registry, the GitHub API) at the time it was read.
 */
export interface Snapshot {
  /** The branch the run plans on and commits to. */
  readonly branch: string
  /** The branch's remote tip: every plan starts here. */
  readonly base: string
  /** `<chart dir>/Chart.yaml` relative to the repository root, and the chart directory. */
  readonly chartFile: string
  readonly chartRel: string
  /** Chart.yaml at `base`, and what it says. */
  readonly chartText: string
  readonly chart: ChartMetadata
  /** The upstream image (`docker.io/rocicorp/zero`) and the selection over its tags. */
  readonly image: string
  readonly selection: Selection
  /** Tags on the remote: name → commit (peeled). */
  readonly tags: ReadonlyMap<string, string>
  /**
   * Chart versions asked of the registry: version → manifest digest, or `null` when the registry
   * does not have it. Only the versions the plan can need are asked (the current one, or the bump
   * and the ones after it up to the first free one).
   */
  readonly registry: ReadonlyMap<string, string | null>
  /** values-images: the chart's values file at `base`, and the images in it that have a newer allowed tag. */
  readonly valuesImages?: { readonly file: string; readonly text: string; readonly changes: readonly ValuesImageChange[] }
  /** The newest commit at `base` that changed `version:` in Chart.yaml, when the release has to be repaired. */
  readonly versionCommit?: string
  /** github-release: the Release of the tag (undefined when it has none), and drafts of it. */
  readonly githubRelease?: { readonly release?: Release; readonly drafts: readonly Release[] }
  /** artifacthub-repo: the file, its text at `base` (undefined when missing), the layer the registry holds. */
  readonly artifactHub?: { readonly file: string; readonly text?: string; readonly pushedLayer?: string }
  /** sign: the published version's digest and which of its signature and provenance its referrers hold. */
  readonly signing?: { readonly digest: string; readonly found: readonly AttestationKind[] }
  /** dispatch-workflow: the dispatch record on the release commit, `null` when it has none; undefined when not read. */
  readonly dispatchRecord?: CommitStatus | null
  /** pull-request mode with an update: the head branch's state. */
  readonly pullRequest?: PullRequestSnapshot
  /**
   * `https://github.com/OWNER/REPO/releases` of the upstream image's source (its
   * `org.opencontainers.image.source` at the new version), when it names one; read when an update
   * links to it (a pull request body, the `artifacthub.io/changes` entry).
   */
  readonly upstreamReleases?: string
}

/** The pull-request branch and its pull requests, as observed. */
export interface PullRequestSnapshot {
  /** The head branch (`chart-update/zero-cache`). */
  readonly branch: string
  /** Pull requests from it into the base branch, newest first. */
  readonly pulls: readonly PullRequest[]
  /** The branch's tip, undefined when it does not exist. */
  readonly tip?: string
  /** Why the branch is not the action's own (a person's commit), or undefined when it is. */
  readonly foreign?: string
  /** Comments of the open pull request, read when the branch is foreign. */
  readonly comments?: readonly string[]
}

/** The settings of one chart's release that `plan()` reads: the inputs, with each chart's own values. */
export interface ReleaseConfig {
  readonly dryRun: boolean
  readonly bump: BumpKind
  readonly tagFormat: string
  readonly commitMessage: string
  readonly commitMode: 'push' | 'pull-request'
  readonly pullRequestBranch: string
  readonly lint: LintMode
  /** `oci://host/namespace`: charts are `<ociRepo>/<name>:<version>`. */
  readonly ociRepo: string
  readonly githubRelease: boolean
  readonly artifacthubRepo: boolean
  readonly dispatchWorkflow: string
  /** `sign`: published versions get a Sigstore signature and a provenance attestation. */
  readonly sign: boolean
  /** `tag-pattern`: where the version is in the upstream tags (and in appVersion); strict semver tags when undefined. */
  readonly tagPattern?: RegExp
}

/** An image of values.yaml (values-images) moving to a newer tag. */
export interface ValuesImageChange {
  /** The dotted path of its tag in values.yaml. */
  path: string
  /** The image, e.g. `docker.io/otel/opentelemetry-collector`. */
  image: string
  from: string
  to: string
}
