import * as core from '@actions/core'
import { realpath } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative } from 'node:path'
import { parseChart, valueAt, type ChartMetadata } from '../chart/chart-file.js'
import { Helm } from '../chart/helm.js'
import { ActionError, ChartError } from '../errors.js'
import { Git, isValidTagName } from '../git.js'
import type { Inputs } from '../inputs.js'
import { chartVersionToTag, formatReference, type RepositoryReference } from '../oci/reference.js'
import { findReferrers } from '../oci/referrers.js'
import { RegistryClient } from '../oci/registry.js'
import semver from 'semver'
import { appVersionOf, bumpVersion, selectVersion, type Selection } from '../versions.js'
import { ARTIFACTHUB_TAG, decideUpdate, formatTemplate, MAX_VERSION_TRIES, releaseOf, type UpdateDecision } from './plan.js'
import { decidePullRequest } from './pull-request.js'
import { attestationsIn } from './sign.js'
import { chartClient, repoClient, type ChartRuntime } from './runtime.js'
import type { PullRequestSnapshot, ReleaseConfig, Snapshot, ValuesImageChange } from './snapshot.js'

/**
 * Observation: reads the remotes (git, the chart registry, the GitHub API) into a {@link Snapshot}
 * and decides nothing. Which facts it reads follows from the facts it has (the chart version to
 * ask the registry about, the tag to ask GitHub about), using the planner's pure functions; what
 * to do about them is `plan()`'s alone.
 */

/** What the remote holds: the branch tip, Chart.yaml there, and the tags. */
export interface RemoteState {
  /** The branch tip the run plans from. */
  base: string
  /** Chart.yaml at `base`, or undefined when it has none. */
  chartText?: string
  /** Tag name → commit (peeled). */
  tags: Map<string, string>
}

/**
 * Reads the checkout (its root and HEAD: one `git rev-parse`), resolves the branch, and reads the
 * remote ({@link readRemote}); runs while the upstream tags are listed, so it logs nothing. When the
 * branch is known without git (the branch input, or a branch's `GITHUB_REF`), the remote is read
 * while the checkout is.
 *
 * @throws ActionError for a workspace that is no checkout, a chart outside it, or an unknown branch.
 */
export async function prepare(inputs: Inputs, scratch: ChartRuntime['scratch']): Promise<{ rt: ChartRuntime; remote: RemoteState }> {
  const git = new Git(inputs.workspace, { timeScale: inputs.timeScale })
  const known = branchFromInputs(inputs)
  const refs = known === undefined ? undefined : git.remoteRefs(known)
  // Errors keep their order: a workspace that is no checkout is reported before the remote.
  refs?.catch(() => undefined)
  const { top, head } = await git.checkout()
  // git reports the top level as a real path; the workspace may be reached through a symlink
  // (self-hosted runners, macOS /var → /private/var), so compare real paths.
  const chartRel = relative(await realpath(top), await realPathOf(inputs.chartDir)) || '.'
  if (chartRel.startsWith('..') || isAbsolute(chartRel))
    throw new ActionError(`chart-path '${inputs.chartPath}' is outside the repository at ${top}`)
  const rt: ChartRuntime = {
    inputs,
    git,
    head,
    helm: new Helm(scratch),
    scratch,
    branch: known ?? (await currentBranch(git)),
    chartRel,
    chartFile: `${chartRel}/Chart.yaml`,
    registries: new Map(),
  }
  return { rt, remote: await readRemote(rt, refs) }
}

/**
 * Reads the branch tip and the tags with one `git ls-remote`, and Chart.yaml at the tip with one
 * `git show` when the clone already has that commit (the hourly case: the checkout is the tip);
 * fetches the branch only when it does not.
 *
 * @throws ActionError when the remote has no such branch or cannot be read.
 */
export async function readRemote(rt: ChartRuntime, started?: ReturnType<Git['remoteRefs']>): Promise<RemoteState> {
  const { git, branch, chartFile } = rt
  const refs = await (started ?? git.remoteRefs(branch))
  if (!refs.tip) throw new ActionError(`the remote has no branch '${branch}': set the branch input to a branch that exists`)
  let base = refs.tip
  let chart = await git.showAt(base, chartFile)
  if (!chart) {
    base = await git.fetchBranch(branch)
    chart = (await git.showAt(base, chartFile)) ?? {}
  }
  return { base, chartText: chart.text, tags: refs.tags }
}

/** The real path of `path`, resolving symlinks in the part that exists (the chart directory itself may not). */
async function realPathOf(path: string): Promise<string> {
  try {
    return await realpath(path)
  } catch {
    const parent = dirname(path)
    return parent === path ? path : join(await realPathOf(parent), basename(path))
  }
}

/** The branch to plan on and commit to, when the inputs tell: the branch input, or the branch `GITHUB_REF` names. */
function branchFromInputs(inputs: Inputs): string | undefined {
  if (inputs.branch) return inputs.branch
  const ref = process.env.GITHUB_REF ?? ''
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined
}

/** Otherwise the checked-out branch. @throws ActionError on a detached HEAD. */
async function currentBranch(git: Git): Promise<string> {
  const current = await git.currentBranch()
  if (current) return current
  const ref = process.env.GITHUB_REF ?? ''
  throw new ActionError(`cannot tell which branch to commit to (the workflow runs on '${ref || 'a detached HEAD'}'): set the branch input`)
}

/**
 * Chart.yaml at the remote tip, parsed (read by {@link readRemote}); logs where the run plans from.
 *
 * @throws ChartError when the tip has no Chart.yaml at chart-path, or it is not a valid chart.
 */
export async function chartAt(rt: ChartRuntime, remote: RemoteState): Promise<ChartMetadata> {
  const { git, branch, chartFile, head } = rt
  const { base, chartText } = remote
  if (head !== base && !(await git.isAncestor(head, base))) {
    core.info(
      `the checked-out HEAD ${head.slice(0, 12)} has commits that origin/${branch} does not have; they are not pushed: this run plans ` +
        `and commits on origin/${branch}`,
    )
  }
  core.info(`origin/${branch} is at ${base.slice(0, 12)}; planning from there`)
  if (chartText === undefined) {
    throw new ChartError(
      `${chartFile} not found at ${branch} (${base.slice(0, 12)}): set chart-path to the chart directory (the one holding Chart.yaml)`,
    )
  }
  const chart = parseChart(chartText, chartFile, { tagPattern: rt.inputs.tagPattern })
  core.info(`${chartFile}: name ${chart.name}, version ${chart.version}, appVersion ${chart.appVersion}`)
  return chart
}

/**
 * Observes one chart's release: Chart.yaml at the remote tip, the chart versions in the registry,
 * the commit that set the version (when the release needs repair), and what the GitHub features
 * that are on need (the tag's Release, the Artifact Hub metadata, the dispatch record, the pull
 * request branch).
 *
 * @param chart Chart.yaml at the remote tip, from {@link chartAt}.
 * @throws ActionError for a remote that fails.
 */
export async function observe(
  rt: ChartRuntime,
  config: ReleaseConfig,
  upstream: { image: string; selection: Selection },
  remote: RemoteState,
  chart: ChartMetadata,
): Promise<Snapshot> {
  const { image, selection } = upstream
  const { git, branch, chartFile } = rt
  const { base, tags } = remote
  const chartText = remote.chartText!
  const valuesImages = rt.inputs.valuesImages.length ? await observeValuesImages(rt, base) : undefined
  const decision = decideUpdate(chart, selection, config.bump, config.tagPattern, valuesImages?.changes)
  const registry = await probeRegistry(rt, config, chart, decision, tags)
  const facts = { chart, selection, tags, registry, base, valuesImages }
  const first = releaseOf(facts, config)
  let versionCommit: string | undefined
  if (first.release.releaseCommit !== 'new' && !(first.release.published && tags.has(first.release.tag))) {
    // Recovery path only: find the commit that set this version (needs history on shallow clones;
    // a dry run fetches it too, read-only, so that it plans what a real run does).
    await git.unshallow(branch)
    versionCommit = await git.lastCommitTouching(base, chartFile, '^version:')
  }
  const { release, propose, next } = releaseOf({ ...facts, versionCommit }, config)
  const snap: Snapshot = {
    branch,
    base,
    chartFile,
    chartRel: rt.chartRel,
    chartText,
    chart,
    image,
    selection,
    tags,
    registry,
    versionCommit,
    valuesImages,
  }
  const githubRelease = config.githubRelease ? await observeGithubRelease(rt, release.tag) : undefined
  const missingRelease = config.githubRelease && !githubRelease?.release
  const pullRequest = propose && decision.kind === 'update' ? await observePullRequest(rt, config, snap, decision, next) : undefined
  return {
    ...snap,
    pullRequest,
    upstreamReleases: linksUpstream(decision, propose, pullRequest, chart, chartText)
      ? await upstreamReleases(rt, (decision as Extract<UpdateDecision, { kind: 'update' }>).appVersion)
      : undefined,
    githubRelease,
    artifactHub: config.artifacthubRepo ? await observeArtifactHub(rt, base, chart.name) : undefined,
    signing: config.sign ? await observeSigning(rt, chart.name, registry.get(release.version)) : undefined,
    dispatchRecord:
      config.dispatchWorkflow && release.published && release.remoteTagCommit && !missingRelease
        ? await observeDispatchRecord(rt, release.remoteTagCommit)
        : undefined,
  }
}

/**
 * The chart versions the plan can need, asked of the registry (manifest HEAD): with an update, the
 * bump and the patches after it up to the first that neither a tag nor the registry holds (a
 * version a tag holds is not asked); without one, or when the update is only proposed, the
 * current version too.
 */
async function probeRegistry(
  rt: ChartRuntime,
  config: ReleaseConfig,
  chart: ChartMetadata,
  decision: UpdateDecision,
  tags: ReadonlyMap<string, string>,
): Promise<Map<string, string | null>> {
  const client = chartClient(rt, chart.name)
  const registry = new Map<string, string | null>()
  const ask = async (version: string) => {
    if (!registry.has(version)) registry.set(version, (await client.headManifest(chartVersionToTag(version)))?.digest ?? null)
    return registry.get(version)!
  }
  if (decision.kind === 'update') {
    let version = decision.version
    for (let i = 0; i < MAX_VERSION_TRIES; i++, version = bumpVersion(version, 'patch')) {
      const tag = formatTemplate(config.tagFormat, { version, 'app-version': decision.appVersion, name: chart.name })
      if (!tags.has(tag) && (await ask(version)) === null) break
    }
  }
  if (decision.kind !== 'update' || config.commitMode === 'pull-request') await ask(chart.version)
  return registry
}

/** The Release of `tag` (`GET /releases/tags/{tag}`), and, when it has none, the drafts of it. */
async function observeGithubRelease(rt: ChartRuntime, tag: string): Promise<NonNullable<Snapshot['githubRelease']>> {
  const repo = await repoClient(rt)
  const release = await repo.releases.releaseByTag(tag)
  return { release, drafts: release ? [] : await repo.releases.draftReleases(tag) }
}

/** The chart's `artifacthub-repo.yml` at `base`, and the layer the registry's `artifacthub.io` tag holds. */
async function observeArtifactHub(rt: ChartRuntime, base: string, name: string): Promise<NonNullable<Snapshot['artifactHub']>> {
  const file = `${rt.chartRel}/artifacthub-repo.yml`
  const text = (await rt.git.showAt(base, file))?.text
  if (text === undefined) return { file }
  const current = await chartClient(rt, name).getManifest(ARTIFACTHUB_TAG)
  return { file, text, pushedLayer: current?.manifest.layers?.[0]?.digest }
}

/**
 * sign: which of the signature and the provenance the published version's referrers hold (one GET
 * of its referrers tag on registries without the referrers API; undefined when it is not published).
 */
async function observeSigning(rt: ChartRuntime, name: string, digest: string | null | undefined): Promise<Snapshot['signing']> {
  if (!digest) return undefined
  const referrers = await findReferrers(chartClient(rt, name), digest)
  return { digest, found: attestationsIn(referrers) }
}

/** The dispatch record on the release commit (commit status `zero-cache-chart/dispatch`, success), or null. */
async function observeDispatchRecord(rt: ChartRuntime, commit: string): Promise<NonNullable<Snapshot['dispatchRecord']> | null> {
  const statuses = await (await repoClient(rt)).dispatch.statuses(commit)
  return statuses.find((st) => st.context === DISPATCH_CONTEXT && st.state === 'success') ?? null
}

/**
 * The commit status context that records a sent dispatch on the release commit (the tag's commit):
 * a release found complete without it is dispatched by the next run, once.
 */
export const DISPATCH_CONTEXT = 'zero-cache-chart/dispatch'

/**
 * The pull request branch of a proposal: its pull requests; unless one closed unmerged holds the
 * proposal, the branch's tip, whether it holds a person's commits (and then the open pull
 * request's comments), and the upstream releases page for the body.
 */
async function observePullRequest(
  rt: ChartRuntime,
  config: ReleaseConfig,
  snap: Snapshot,
  decision: Extract<UpdateDecision, { kind: 'update' }>,
  nextVersion: string,
): Promise<PullRequestSnapshot | undefined> {
  const prBranch = formatTemplate(config.pullRequestBranch, {
    version: nextVersion,
    'app-version': decision.appVersion,
    name: snap.chart.name,
  })
  if (!isValidTagName(prBranch) || prBranch === snap.branch) return undefined // plan refuses it
  const repo = await repoClient(rt)
  const pulls = await repo.pulls.pullRequests(prBranch, snap.branch, 'all')
  const prDecision = decidePullRequest(pulls, snap.chart.name, decision.appVersion)
  if (prDecision.kind === 'hold') return { branch: prBranch, pulls }
  const tip = await rt.git.remoteBranchTip(prBranch)
  const foreign = tip === undefined ? undefined : await foreignCommit(rt, tip, prBranch, snap.base)
  if (foreign) {
    const open = prDecision.kind === 'update' ? prDecision.pullRequest : undefined
    return { branch: prBranch, pulls, tip, foreign, comments: open ? await repo.pulls.comments(open.number) : [] }
  }
  return { branch: prBranch, pulls, tip }
}

/**
 * Why the pull request branch at `tip` is not the action's own (Renovate's rule: a branch that
 * holds commits the bot did not make is never force-pushed or rebased), or undefined when it is:
 * exactly one commit, made (authored and committed) by the identity this run commits as, changing
 * Chart.yaml alone, on top of a commit of the base branch.
 */
async function foreignCommit(rt: ChartRuntime, tip: string, branch: string, base: string): Promise<string | undefined> {
  const { git } = rt
  const info = await git.commitInfo(tip, branch)
  const own = (await git.commitIdentity()).email
  const id = tip.slice(0, 12)
  if (info.parents.length !== 1) return `${id} is a merge commit`
  if (info.authorEmail !== own || info.committerEmail !== own) return `${id} by ${info.authorEmail}: ${info.subject}`
  const others = info.files.filter((f) => f !== rt.chartFile)
  if (others.length) return `${id} changes ${others.slice(0, 3).join(', ')}${others.length > 3 ? ' …' : ''}`
  const parent = info.parents[0]
  const onBase = () => git.isAncestor(parent, base).catch(() => false)
  if (await onBase()) return undefined
  // A shallow clone may lack the history that links them.
  await git.unshallow(rt.branch)
  return (await onBase()) ? undefined : `${id} is not on top of ${rt.branch} (its parent ${parent.slice(0, 12)} is not on it)`
}

/**
 * A values-images image's tags, listed once per run (a re-plan after a push race reuses them):
 * anonymously, or with the upstream credentials when it is on the upstream image's registry.
 */
function valuesImageTags(rt: ChartRuntime, image: RepositoryReference): Promise<string[]> {
  const { inputs } = rt
  const key = `${image.registry}/${image.repository}`
  rt.valuesTags ??= new Map()
  let tags = rt.valuesTags.get(key)
  if (!tags) {
    const sameRegistry = inputs.image?.registry === image.registry
    const client = new RegistryClient(image, {
      plainHttp: inputs.plainHttp,
      timeScale: inputs.timeScale,
      ...(sameRegistry && inputs.upstreamCredentials
        ? { credentials: inputs.upstreamCredentials, credentialsInput: 'upstream-username/upstream-password' }
        : {}),
    })
    tags = client.listTags()
    rt.valuesTags.set(key, tags)
  }
  return tags
}

/**
 * Whether the update writes the upstream releases link (the pull request body, the changes
 * annotation): an appVersion update, proposed in a pull request that is not held or left alone,
 * or committed to a chart with Artifact Hub annotations.
 */
function linksUpstream(
  decision: UpdateDecision,
  propose: boolean,
  pullRequest: PullRequestSnapshot | undefined,
  chart: ChartMetadata,
  chartText: string,
): boolean {
  if (decision.kind !== 'update' || decision.appVersion === chart.appVersion) return false
  if (!propose) return /artifacthub\.io\/(images|changes)/.test(chartText)
  return (
    pullRequest !== undefined &&
    !pullRequest.foreign &&
    decidePullRequest([...pullRequest.pulls], chart.name, decision.appVersion).kind !== 'hold'
  )
}

/**
 * values-images: the chart's values.yaml at `base`, each listed image's current tag there, and its
 * newest allowed tag (its own range, tag-pattern and prerelease rule; one tag listing per image,
 * with the upstream credentials only when it is on the upstream image's registry).
 *
 * @throws ChartError when values.yaml, or a listed path in it, is missing.
 */
async function observeValuesImages(rt: ChartRuntime, base: string): Promise<NonNullable<Snapshot['valuesImages']>> {
  const { inputs } = rt
  const file = `${rt.chartRel ? `${rt.chartRel}/` : ''}values.yaml`
  const text = (await rt.git.showAt(base, file))?.text
  if (text === undefined) throw new ChartError(`${file} not found at ${base.slice(0, 12)}: values-images needs the chart's values.yaml`)
  const changes: ValuesImageChange[] = []
  for (const entry of inputs.valuesImages) {
    const current = valueAt(text, entry.path, file)
    if (current === undefined) throw new ChartError(`${file} has no value at ${entry.path} (values-images)`)
    const sel = selectVersion(await valuesImageTags(rt, entry.image), entry)
    const from = appVersionOf(current, entry.pattern)
    const image = formatReference(entry.image)
    if (!from)
      throw new ChartError(
        `${file}: ${entry.path} is '${current}', not a version of ${image}${entry.pattern ? ' under its tag-pattern' : ''}`,
      )
    core.info(`values-images: ${image} at ${entry.path} is ${current}; newest allowed ${sel.selected?.tag ?? 'none'}`)
    if (sel.selected && semver.gt(sel.selected.version, from))
      changes.push({ path: entry.path, image, from: current, to: sel.selected.tag })
  }
  return { file, text, changes }
}

/**
 * The upstream image's releases page, `https://github.com/OWNER/REPO/releases`, when the image at
 * `tag` names a GitHub repository as its `org.opencontainers.image.source`; undefined otherwise.
 */
export async function upstreamReleases(rt: ChartRuntime, tag: string): Promise<string | undefined> {
  const source = await rt.upstream?.client.imageSource(tag)
  const repo = source ? /^https:\/\/github\.com\/[^/\s]+\/[^/\s#?]+/.exec(source.replace(/\.git$|\/$/, ''))?.[0] : undefined
  return repo ? `${repo}/releases` : undefined
}
