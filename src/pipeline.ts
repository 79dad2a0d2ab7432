import semver from 'semver'
import { isMap, parseDocument } from 'yaml'
import * as core from '@actions/core'
import { readFile, realpath, writeFile } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative } from 'node:path'
import {
  artifactHubImages,
  imageAtAppVersion,
  parseChart,
  setArtifactHubAnnotations,
  setChartVersions,
  type ChartMetadata,
} from './chart/chart-file.js'
import { Helm } from './chart/helm.js'
import { ActionError, ChartError } from './errors.js'
import { Git, isValidTagName, MAX_REF_COMPONENT_BYTES } from './git.js'
import type { Inputs } from './inputs.js'
import {
  decideUpdate,
  describeStep,
  firstFreeVersion,
  formatTemplate,
  planRelease,
  type CommitRef,
  type Plan,
  type ReleaseState,
  type Step,
} from './release/plan.js'
import type { PullRequest, Release, RepoClient } from './github/repo.js'
import { previousReleaseTag, releaseNotes } from './release/notes.js'
import { decidePullRequest, pullRequestBody, readProposal, type PullRequestDecision } from './release/pull-request.js'
import type { RunReport } from './report.js'
import type { Scratch } from './scratch.js'
import { chartVersionToTag, formatReference, parseOciRepository, InvalidReferenceError } from './oci/reference.js'
import { RegistryClient, sha256Digest } from './oci/registry.js'
import { selectVersion, type Selection } from './versions.js'

/**
 * The release pipeline: watch → update → tag → package + push. Observation reads the upstream
 * registry, the git remote and the chart registry; {@link planRelease} turns that into steps; the
 * steps are applied in order, each idempotent. A rejected branch push (someone pushed meanwhile)
 * re-observes and re-plans, at most {@link MAX_ATTEMPTS} times.
 *
 * Every plan starts from the remote branch tip (`origin/<branch>`), never from the checked-out
 * HEAD: the update is committed in a worktree of that tip, so the only commit a run pushes is its
 * own, whatever the checkout holds (a pull request's merge commit, a feature branch). Packages are
 * built in a worktree of the release commit, so uncommitted files never reach a chart either.
 * Before the first write, the run proves that it can publish (helm is there, the registry grants
 * push), so a commit or tag is never pushed for a chart that cannot be.
 */

/** The tag Artifact Hub reads an OCI repository's metadata from (artifacthub.io docs, "Repositories"). */
export const ARTIFACTHUB_TAG = 'artifacthub.io'

/** Attempts at observe → plan → commit → push before a run gives up on a busy branch. */
export const MAX_ATTEMPTS = 4

/** Everything one run of the pipeline works with, passed to each stage instead of long parameter lists. */
interface Run {
  inputs: Inputs
  /** The user's checkout (read, fetched into, fast-forwarded after a push; never committed in). */
  git: Git
  /** The checkout's HEAD commit when the run started. */
  head: string
  helm: Helm
  scratch: Scratch
  report: RunReport
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

/** A worktree of the run: a directory, git in it, and the commit it holds. */
interface Worktree {
  dir: string
  git: Git
  commit: string
}

interface Observation {
  base: string
  chartText: string
  chart: ChartMetadata
  plan: Plan
  release: ReleaseState
  /** commit-mode pull-request with an update: the head branch's pull request state, and the body to give it. */
  pullRequest?: { decision: PullRequestDecision; body: string }
  /** github-release: the tag's Release as observed (undefined when it has none). */
  githubRelease?: Release
  /** artifacthub-repo: the file's bytes at the base commit, when it is to be pushed. */
  artifactHubRepo?: Buffer
  /** The tags on origin when the run planned (name → commit). */
  tags: Map<string, string>
}

/**
 * Runs the pipeline mode and fills `report` (planned steps, completed steps, outputs).
 * @throws ActionError (and subclasses) with a message for the user.
 */
export async function runPipeline(inputs: Inputs, report: RunReport, scratch: Scratch): Promise<void> {
  const image = inputs.image!
  report.image = formatReference(image)

  // The upstream tags are listed while git reads the checkout and the remote: neither needs the
  // other. Errors keep their order: an upstream failure is reported first, as when run in turn.
  const { client: upstream, tags: listing } = upstreamListing(inputs, image)
  const prepared = prepare(inputs, report, scratch)
  listing.catch(() => undefined)
  prepared.catch(() => undefined)

  const tags = await listing
  const selection = await core.group('Watch: upstream tags', async () => {
    const sel = selectVersion(tags, { includePrereleases: inputs.includePrereleases, range: inputs.versionRange })
    core.info(
      `${report.image}: ${sel.total} tags, ${sel.semver} semver, ${sel.allowed} allowed (prereleases ` +
        `${inputs.includePrereleases ? 'included' : 'excluded'}, range '${inputs.versionRange}')`,
    )
    core.info(sel.selected ? `newest allowed version: ${sel.selected.tag}` : 'no tag is allowed by the policy')
    return sel
  })
  report.upstream = {
    selected: selection.selected?.tag,
    total: selection.total,
    semver: selection.semver,
    allowed: selection.allowed,
    policy: `${inputs.includePrereleases ? 'prereleases included' : 'stable only'}, range '${inputs.versionRange}'`,
  }
  if (!selection.selected) {
    throw new ActionError(
      `no tag of ${report.image} is allowed: ${selection.total} tags listed, ${selection.semver} of them semver, none matching ` +
        `${inputs.includePrereleases ? '' : 'stable versions in '}range '${inputs.versionRange}'. Check image, version-range and ` +
        `include-prereleases`,
    )
  }

  const { run, remote: firstRemote } = await prepared
  run.upstream = upstream
  const git = run.git
  let observation: Observation | undefined
  let updated: Worktree | undefined
  try {
    for (let attempt = 1; ; attempt++) {
      const remote = attempt === 1 ? firstRemote : await readRemote(run)
      observation = await core.group(`Observe and plan${attempt > 1 ? ` (attempt ${attempt})` : ''}`, () => observe(run, selection, remote))
      const steps = observation.plan.steps
      report.steps = steps
      for (const step of steps) core.info(`${inputs.dryRun ? 'would' : 'will'}: ${describeStep(step)}`)
      if (steps.length === 0) core.info('nothing to do: the chart, the tag and the published chart are up to date')
      if (attempt === 1) await preflight(run, observation)
      // In pull-request mode the update goes to its own branch, after the release steps (below).
      if (inputs.dryRun || inputs.commitMode !== 'push' || steps[0]?.kind !== 'update') break
      updated = await core.group('Update: commit and push', () => applyUpdate(run, observation!))
      if (updated) break
      if (attempt >= MAX_ATTEMPTS) {
        throw new ActionError(
          `the push to ${run.branch} was rejected ${attempt} times because the branch kept moving; the next run will try again`,
        )
      }
      core.info(`${run.branch} moved while this run was pushing; re-planning from the new tip`)
    }

    const { plan, release, chart } = observation
    for (const warning of plan.warnings) {
      core.warning(warning)
      report.warnings.push(warning)
    }
    report.chartName = chart.name
    report.previousAppVersion = chart.appVersion
    report.previousChartVersion = chart.version
    report.appVersion = release.appVersion
    report.chartVersion = release.version
    report.tag = release.tag
    report.chartRef = release.chartRef
    report.updated = plan.steps.some((s) => s.kind === 'update')
    const proposed = plan.steps.find((s): s is Extract<Step, { kind: 'update' }> => s.kind === 'update')
    const pr = observation.pullRequest?.decision
    if (pr?.kind === 'hold') {
      const { closed, proposal } = pr
      report.pullRequest = {
        number: closed.number,
        url: closed.url,
        appVersion: proposal.appVersion,
        version: proposal.version,
        status: 'held',
      }
    } else if (pr?.kind === 'update' && proposed) {
      const existing = pr.pullRequest
      report.pullRequest = { number: existing.number, url: existing.url, ...proposed.to, status: 'unchanged' }
    }
    if (inputs.dryRun) return

    if (updated) report.commit = updated.commit
    const resolve = (c: CommitRef) => (c === 'new' ? updated!.commit : c)
    for (const step of plan.steps) {
      if (step.kind === 'tag') await core.group(`Tag: ${step.tag}`, () => tag(run, step, resolve(step.commit), chart, release))
      if (step.kind === 'publish') {
        const lint = plan.steps.find((s): s is Extract<Step, { kind: 'lint' }> => s.kind === 'lint' && s.source !== 'new')
        await core.group(`Package and push: ${step.chartRef}`, () => publish(run, step, resolve(step.source), lint, release, updated))
      }
      if (step.kind === 'github-release') {
        const source = resolve(release.releaseCommit)
        await core.group(`GitHub Release: ${step.tag}`, () => applyGithubRelease(run, observation!, step, source, updated))
      }
      if (step.kind === 'artifacthub-repo')
        await core.group('Artifact Hub repository metadata', () => pushArtifactHubRepo(run, observation!, step))
      if (step.kind === 'dispatch') {
        const commit = release.remoteTagCommit ?? resolve(release.releaseCommit)
        await core.group(`Dispatch: ${step.workflow}`, () => dispatch(run, step, release, commit))
      }
      if (step.kind === 'pull-request') await core.group(`Pull request: ${step.branch}`, () => applyPullRequest(run, observation!, step))
      if (step.kind === 'pull-request-comment') {
        await (await repoClient(run)).addComment(step.number, step.body)
        core.info(`commented on pull request #${step.number}: its branch is left alone`)
        report.done.push(step)
      }
    }
  } finally {
    if (updated) await git.removeWorktree(updated.dir)
  }
}

/** Upstream tag listings of this process, by repository: several charts following one image list its tags once. */
const listings = new Map<string, { client: RegistryClient; tags: Promise<string[]> }>()

/** The upstream client and its tag listing for `image`, started on first use and shared by every chart after. */
function upstreamListing(inputs: Inputs, image: NonNullable<Inputs['image']>): { client: RegistryClient; tags: Promise<string[]> } {
  const key = `${formatReference(image)} ${inputs.plainHttp}`
  let listing = listings.get(key)
  if (!listing) {
    const client = new RegistryClient(image, { plainHttp: inputs.plainHttp, timeScale: inputs.timeScale })
    listing = { client, tags: client.listTags() }
    listings.set(key, listing)
  }
  return listing
}

/**
 * Reads the checkout (its root and HEAD: one `git rev-parse`), resolves the branch, and reads the
 * remote ({@link readRemote}); runs while the upstream tags are listed, so it logs nothing. When the
 * branch is known without git (the branch input, or a branch's `GITHUB_REF`), the remote is read
 * while the checkout is.
 */
async function prepare(inputs: Inputs, report: RunReport, scratch: Scratch): Promise<{ run: Run; remote: RemoteState }> {
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
  const run: Run = {
    inputs,
    git,
    head,
    helm: new Helm(scratch),
    scratch,
    report,
    branch: known ?? (await currentBranch(git)),
    chartRel,
    chartFile: `${chartRel}/Chart.yaml`,
    registries: new Map(),
  }
  return { run, remote: await readRemote(run, refs) }
}

/** What the remote holds: the branch tip, Chart.yaml there, and the tags. */
interface RemoteState {
  /** The branch tip the run plans from. */
  base: string
  /** Chart.yaml at `base`, or undefined when it has none. */
  chartText?: string
  /** Tag name → commit (peeled). */
  tags: Map<string, string>
}

/**
 * Reads the branch tip and the tags with one `git ls-remote`, and Chart.yaml at the tip with one
 * `git show` when the clone already has that commit (the hourly case: the checkout is the tip);
 * fetches the branch only when it does not.
 */
async function readRemote(run: Run, started?: ReturnType<Git['remoteRefs']>): Promise<RemoteState> {
  const { git, branch, chartFile } = run
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

function chartClient(run: Run, name: string): RegistryClient {
  let client = run.registries.get(name)
  if (!client) {
    let repo
    try {
      repo = parseOciRepository(`${run.inputs.ociRepo.url}/${name}`)
    } catch (error) {
      if (error instanceof InvalidReferenceError)
        throw new ChartError(`chart name '${name}' cannot be an OCI repository name: ${error.message}`)
      throw error
    }
    client = new RegistryClient(repo, {
      plainHttp: run.inputs.plainHttp,
      credentials: run.inputs.registryCredentials,
      timeScale: run.inputs.timeScale,
    })
    run.registries.set(name, client)
  }
  return client
}

async function observe(run: Run, selection: Selection, remote: RemoteState): Promise<Observation> {
  const { inputs, git, branch, chartFile, report, head } = run
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
  const chart = parseChart(chartText, chartFile)
  core.info(`${chartFile}: name ${chart.name}, version ${chart.version}, appVersion ${chart.appVersion}`)
  checkChartName(chart.name, chartFile)
  report.chartName = chart.name
  report.previousAppVersion = chart.appVersion
  report.previousChartVersion = chart.version
  const decision = decideUpdate(chart, selection, inputs.bump)
  if (decision.kind === 'update' && decision.appVersion !== selection.selected?.tag) {
    const n =
      `appVersion is written ${decision.appVersion}, without the leading v of the image tag ${selection.selected?.tag}, as the chart ` +
      `writes it (${chart.appVersion}); its templates add the v`
    core.info(n)
    report.notes.push(n)
  }
  if (decision.kind === 'ahead') {
    core.notice(
      `appVersion ${chart.appVersion} is ahead of the newest allowed upstream version ${decision.newest}; the chart is left as it is`,
    )
  }

  const client = chartClient(run, chart.name)
  const remoteTags = remote.tags
  const values = (version: string, appVersion: string) => ({ version, 'app-version': appVersion, name: chart.name })
  // pull-request mode: the update is proposed, and this run releases what the branch holds.
  const propose = decision.kind === 'update' && inputs.commitMode === 'pull-request'
  let version = chart.version
  let appVersion = chart.appVersion
  let skipped: string[] = []
  let releaseCommit: CommitRef
  let digest: string | undefined
  let published = false
  /** The chart version an update gets: the bump, or the next free one after it. */
  let nextVersion = chart.version
  if (decision.kind === 'update') {
    const free = await firstFreeVersion(decision.version, async (v) => {
      if (remoteTags.has(formatTemplate(inputs.tagFormat, values(v, decision.appVersion)))) return true
      return (await client.headManifest(chartVersionToTag(v))) !== undefined
    })
    skipped = free.skipped
    for (const v of skipped) {
      const w = `chart version ${v} is already taken (tag or registry) though Chart.yaml is at ${chart.version}; using ${free.version}`
      core.warning(w)
      report.warnings.push(w)
    }
    nextVersion = free.version
    if (!propose) {
      appVersion = decision.appVersion
      version = free.version
    }
  }
  if (decision.kind === 'update' && !propose) {
    releaseCommit = 'new'
  } else {
    const manifest = await client.headManifest(chartVersionToTag(version))
    published = manifest !== undefined
    digest = manifest?.digest
    const tag = formatTemplate(inputs.tagFormat, values(version, appVersion))
    if (!published || !remoteTags.has(tag)) {
      // Recovery path only: find the commit that set this version (needs history on shallow clones;
      // a dry run fetches it too, read-only, so that it plans what a real run does).
      await git.unshallow(branch)
      releaseCommit = (await git.lastCommitTouching(base, chartFile, '^version:')) ?? base
    } else {
      releaseCommit = remoteTags.get(tag)!
    }
  }
  let tag = formatTemplate(inputs.tagFormat, values(version, appVersion))
  if (!isValidTagName(tag)) {
    throw new ActionError(
      `tag-format gives '${tag}', which is not a valid git tag name (git check-ref-format rules, each part at most ` +
        `${MAX_REF_COMPONENT_BYTES} bytes); nothing was written`,
    )
  }
  const earlier =
    published && releaseCommit !== 'new' && !remoteTags.has(tag) ? earlierFormatTag(remoteTags, releaseCommit, version) : undefined
  if (earlier) {
    const n =
      `${chart.name} ${version} is published and tagged ${earlier} (an earlier tag-format); tag-format ` +
      `'${inputs.tagFormat}' applies to new versions`
    core.info(n)
    tag = earlier
  }
  const release: ReleaseState = {
    version,
    appVersion,
    name: chart.name,
    tag,
    remoteTagCommit: remoteTags.get(tag),
    releaseCommit,
    published,
    chartRef: `${inputs.ociRepo.url}/${chart.name}:${version}`,
  }
  if (digest) report.chartDigest = digest
  report.facts = []
  if (release.remoteTagCommit && decision.kind !== 'update')
    report.facts.push(`tag ${tag} exists at ${release.remoteTagCommit.slice(0, 12)}`)
  if (release.published) report.facts.push(`${release.chartRef} is published${digest ? ` (${digest})` : ''}`)
  const plan = planRelease({
    decision: propose ? { kind: 'current', chart } : decision,
    release,
    branch,
    commitMessage: formatTemplate(inputs.commitMessage, values(version, appVersion)),
    lint: inputs.lint !== 'off',
    strictLint: inputs.lint === 'strict',
    skippedVersions: skipped,
  })
  let githubRelease: Release | undefined
  if (inputs.githubRelease) {
    githubRelease = await (await repoClient(run)).releaseByTag(tag)
    const asset = `${chart.name}-${version}.tgz`
    const missing: ('release' | 'notes' | 'asset')[] = !githubRelease
      ? ['release']
      : [...(githubRelease.body.trim() ? [] : (['notes'] as const)), ...(githubRelease.assets.includes(asset) ? [] : (['asset'] as const))]
    if (githubRelease) report.releaseUrl = githubRelease.url
    else {
      for (const draft of await (await repoClient(run)).draftReleases(tag)) {
        const w =
          `a draft Release of ${tag} exists (${draft.url}); GitHub's lookup by tag does not see drafts, so ` +
          `${inputs.dryRun ? 'a real run would create' : 'this run creates'} a published Release beside it: delete the draft`
        core.warning(w)
        report.warnings.push(w)
      }
    }
    if (missing.length) {
      plan.steps.push({
        kind: 'github-release',
        tag,
        version,
        asset,
        missing,
        existing: githubRelease && { id: githubRelease.id, url: githubRelease.url },
      })
    } else report.facts.push(`the GitHub Release of ${tag} is complete (${githubRelease!.url})`)
  }
  let artifactHubRepo: Buffer | undefined
  if (inputs.artifacthubRepo) {
    const file = `${run.chartRel}/artifacthub-repo.yml`
    const text = (await git.showAt(base, file))?.text
    if (text === undefined) {
      const w = `artifacthub-repo is on, but ${file} does not exist at ${branch}; nothing to publish`
      core.warning(w)
      report.warnings.push(w)
    } else {
      checkArtifactHubRepo(text, file)
      const data = Buffer.from(text)
      const ref = `${inputs.ociRepo.url}/${chart.name}:${ARTIFACTHUB_TAG}`
      const current = await client.getManifest(ARTIFACTHUB_TAG)
      if (current?.manifest.layers?.[0]?.digest === sha256Digest(data)) report.facts.push(`${ref} holds ${file} as it is`)
      else {
        artifactHubRepo = data
        plan.steps.push({ kind: 'artifacthub-repo', file, ref })
      }
    }
  }
  const releasing = plan.steps.some((s) => s.kind === 'tag' || s.kind === 'publish' || (s.kind === 'github-release' && !s.existing))
  if (inputs.dispatchWorkflow && releasing) plan.steps.push({ kind: 'dispatch', workflow: inputs.dispatchWorkflow, ref: branch, tag })
  else if (inputs.dispatchWorkflow && release.published && release.remoteTagCommit) {
    // The release is complete: its dispatch was sent when the commit carries the record of it.
    const statuses = await (await repoClient(run)).statuses(release.remoteTagCommit)
    const sent = statuses.find((st) => st.context === DISPATCH_CONTEXT && st.state === 'success')
    if (sent) report.facts.push(`${inputs.dispatchWorkflow} was dispatched for ${tag} (${sent.description})`)
    else plan.steps.push({ kind: 'dispatch', workflow: inputs.dispatchWorkflow, ref: branch, tag, missed: true })
  }
  const observed: Observation = { base, chartText, chart, plan, release, githubRelease, artifactHubRepo, tags: remoteTags }
  if (!propose || decision.kind !== 'update') return observed

  // The proposal: the update step, its lint, and the pull request that carries them.
  const next = values(nextVersion, decision.appVersion)
  const prBranch = formatTemplate(inputs.pullRequestBranch, next)
  if (!isValidTagName(prBranch) || prBranch === branch) {
    throw new ActionError(
      `pull-request-branch gives '${prBranch}', which is not a branch name this run can push to (it must differ from ${branch})`,
    )
  }
  const repo = await repoClient(run)
  const pulls = await repo.pullRequests(prBranch, branch, 'all')
  const prDecision = decidePullRequest(pulls, chart.name, decision.appVersion)
  const update = {
    kind: 'update' as const,
    from: { version: chart.version, appVersion: chart.appVersion },
    to: { version: nextVersion, appVersion: decision.appVersion },
    releaseType: decision.releaseType,
    breaking: decision.breaking,
    skippedVersions: skipped,
  }
  if (prDecision.kind === 'hold') {
    const { closed, proposal } = prDecision
    const n =
      `pull request #${closed.number} (${closed.url}) proposed appVersion ${proposal.appVersion} and was closed without merging; ` +
      `no new pull request until upstream has a newer version than that`
    core.notice(n)
    report.facts.push(n)
    return { ...observed, pullRequest: { decision: prDecision, body: '' } }
  }
  const branchTip = await git.remoteBranchTip(prBranch)
  const foreign = branchTip === undefined ? undefined : await foreignCommit(run, branchTip, prBranch, base)
  if (foreign) {
    const open = prDecision.kind === 'update' ? prDecision.pullRequest : undefined
    const n =
      `${prBranch} holds commits this action did not make (${foreign}); it is left as it is (no push, no rebase). The action ` +
      `proposes appVersion ${decision.appVersion} there again once the branch is deleted or holds only its own commit`
    core.notice(n)
    report.notes.push(n)
    report.pullRequest = { number: open?.number, url: open?.url, ...update.to, status: 'left' }
    if (open && !(await repo.comments(open.number)).some((c) => c.includes(LEFT_ALONE_MARKER))) {
      plan.steps.push({ kind: 'pull-request-comment', number: open.number, url: open.url, body: leftAloneComment(prBranch, foreign) })
    }
    return { ...observed, pullRequest: { decision: prDecision, body: '' } }
  }
  const nextTag = formatTemplate(inputs.tagFormat, next)
  if (!isValidTagName(nextTag)) {
    throw new ActionError(
      `tag-format gives '${nextTag}', which is not a valid git tag name (each part at most ${MAX_REF_COMPONENT_BYTES} bytes); ` +
        `nothing was written`,
    )
  }
  const body = pullRequestBody({
    chart: chart.name,
    image: report.image ?? '',
    update,
    releaseNotes: await upstreamReleases(run, decision.appVersion),
    tag: nextTag,
    chartRef: `${inputs.ociRepo.url}/${chart.name}:${nextVersion}`,
    base: branch,
  })
  const existing = prDecision.kind === 'update' ? prDecision.pullRequest : undefined
  plan.steps.push(update)
  if (inputs.lint !== 'off') plan.steps.push({ kind: 'lint', source: 'new', ...(inputs.lint === 'strict' ? { strict: true } : {}) })
  plan.steps.push({
    kind: 'pull-request',
    branch: prBranch,
    base: branch,
    title: formatTemplate(inputs.commitMessage, next).split('\n')[0],
    tip: branchTip,
    existing: existing && { number: existing.number, url: existing.url },
  })
  return { ...observed, pullRequest: { decision: prDecision, body } }
}

/**
 * Refuses an `artifacthub-repo.yml` that is not a YAML mapping (Artifact Hub's "Repositories"
 * metadata file: `repositoryID`, `owners`, …): pushed as it is, Artifact Hub would reject it.
 */
function checkArtifactHubRepo(text: string, file: string): void {
  const doc = parseDocument(text)
  const problem = doc.errors[0]
    ? `is not valid YAML (${doc.errors[0].message.split('\n')[0]})`
    : !isMap(doc.contents)
      ? 'is not a YAML mapping (Artifact Hub expects repositoryID, owners, …)'
      : undefined
  if (problem) throw new ChartError(`${file} ${problem}; it was not pushed. Fix the file, or turn artifacthub-repo off`)
}

/**
 * A tag of an earlier `tag-format` under which `version` was released: one at `commit` (the
 * commit that set `version`) whose name ends with the version (`v2.0.0`, `zero-cache-2.0.0`).
 */
function earlierFormatTag(tags: Map<string, string>, commit: string, version: string): string | undefined {
  const escaped = version.replace(/[.+]/g, '\\$&')
  const re = new RegExp(`(?:^|[^0-9.])${escaped}$|^${escaped}$`)
  return [...tags].find(([name, at]) => at === commit && re.test(name))?.[0]
}

/** An OCI repository path component (OCI distribution spec, "Pulling manifests": `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`). */
const OCI_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/

/**
 * Refuses a chart name that cannot be the last component of its OCI repository (`helm push`
 * pushes `<oci-repo>/<name>`): upper case, spaces, other punctuation. Checked before any write.
 */
function checkChartName(name: string, file: string): void {
  if (OCI_COMPONENT.test(name)) return
  throw new ChartError(
    `${file}: chart name '${name}' cannot be an OCI repository name (lower-case letters, digits and . _ - between them, as helm push ` +
      `needs), so the chart could never be pushed; rename it (e.g. '${name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-')}'). ` +
      'Nothing was written',
  )
}

/**
 * The upstream image's releases page, `https://github.com/OWNER/REPO/releases`, when the image at
 * `tag` names a GitHub repository as its `org.opencontainers.image.source`; undefined otherwise.
 */
async function upstreamReleases(run: Run, tag: string): Promise<string | undefined> {
  const source = await run.upstream?.imageSource(tag)
  const repo = source ? /^https:\/\/github\.com\/[^/\s]+\/[^/\s#?]+/.exec(source.replace(/\.git$|\/$/, ''))?.[0] : undefined
  return repo ? `${repo}/releases` : undefined
}

/**
 * Chart.yaml with the update: `version` and `appVersion`, and, when the chart carries Artifact Hub
 * annotations, the image tag in `artifacthub.io/images` and this release's `artifacthub.io/changes`
 * ("Update <image name> to <appVersion>", linking the upstream releases when known).
 */
async function editChart(run: Run, obs: Observation, to: { version: string; appVersion: string }): Promise<string> {
  const text = setChartVersions(obs.chartText, to, run.chartFile)
  if (!/artifacthub\.io\/(images|changes)/.test(text)) return text
  const entry = imageAtAppVersion(artifactHubImages(text, run.chartFile), obs.chart.appVersion)
  const url = await upstreamReleases(run, to.appVersion)
  const edited = setArtifactHubAnnotations(
    text,
    {
      from: obs.chart.appVersion,
      to: to.appVersion,
      change: {
        description: `Update ${entry?.name ?? obs.chart.name} to ${to.appVersion}`,
        link: url ? { name: 'Upstream releases', url } : undefined,
      },
    },
    run.chartFile,
  )
  for (const line of edited.changed) core.info(`${run.chartFile}: ${line}`)
  return edited.text
}

/** The repository's GitHub API client, loaded and made on first use. */
async function repoClient(run: Run): Promise<RepoClient> {
  if (!run.repo) {
    const { RepoClient } = await import('./github/repo.js')
    run.repo = new RepoClient({
      token: run.inputs.githubToken,
      baseUrl: run.inputs.githubApiUrl,
      repository: run.inputs.repository,
      timeScale: run.inputs.timeScale,
    })
  }
  return run.repo
}

/**
 * commit-mode pull-request: commits the update on the base branch's tip in a worktree, pushes it to
 * the pull request's branch (with a lease: a concurrent push is never overwritten blindly; not at
 * all when the branch already holds the same change), then opens the pull request or updates the
 * open one's title and body when they changed. Labels are added when missing; reviewers are
 * requested when the pull request is opened.
 */
async function applyPullRequest(run: Run, obs: Observation, step: Extract<Step, { kind: 'pull-request' }>): Promise<void> {
  const { git, report, inputs, chartFile } = run
  const update = obs.plan.steps.find((s): s is Extract<Step, { kind: 'update' }> => s.kind === 'update')!
  const lint = obs.plan.steps.find((s) => s.kind === 'lint' && s.source === 'new')
  const repo = await repoClient(run)
  const dir = run.scratch.dir('chart-pull-request-')
  const worktree = await git.addWorktree(dir, obs.base)
  try {
    await writeFile(join(dir, chartFile), await editChart(run, obs, update.to))
    const message = formatTemplate(inputs.commitMessage, {
      version: update.to.version,
      'app-version': update.to.appVersion,
      name: obs.chart.name,
    })
    const commit = await worktree.commit([chartFile], message)
    const tip = step.tip
    const same = tip !== undefined && (await git.sameChange(tip, step.branch, obs.base, commit))
    if (same) {
      core.info(`${step.branch} already holds this update on top of ${obs.base.slice(0, 12)} (${tip.slice(0, 12)}); not pushed again`)
    } else {
      if (lint) core.info(await run.helm.lint(join(dir, run.chartRel), inputs.lint === 'strict'))
      const res = await git.forcePushBranch(commit, step.branch, tip)
      if (!res.ok) {
        throw new ActionError(
          `pushing the update to ${step.branch} was rejected (another run may have pushed it meanwhile, or the token lacks contents: ` +
            `write); the next run will try again:\n${res.stderr}`,
        )
      }
      core.info(`pushed ${commit.slice(0, 12)} to ${step.branch} (on top of ${obs.base.slice(0, 12)})`)
      report.done.push(update, ...(lint ? [lint] : []))
    }
    const body = obs.pullRequest!.body
    const decision = obs.pullRequest!.decision
    let pr: PullRequest
    let status: 'opened' | 'updated' | 'unchanged'
    if (decision.kind === 'update') {
      pr = decision.pullRequest
      status = same ? 'unchanged' : 'updated'
      if (pr.title !== step.title || pr.body !== body) {
        pr = await repo.updatePullRequest(pr.number, { title: step.title, body })
        status = 'updated'
      }
      await requestMissingReviewers(run, repo, pr)
    } else {
      pr = await repo.createPullRequest({ head: step.branch, base: step.base, title: step.title, body })
      status = 'opened'
      await repo.requestReviewers(pr.number, inputs.pullRequestReviewers)
    }
    await closeSuperseded(run, repo, pr, obs.chart.name)
    const missing = inputs.pullRequestLabels.filter((l) => !pr.labels.includes(l))
    await repo.addLabels(pr.number, missing)
    core.info(`pull request #${pr.number} ${status === 'unchanged' ? 'is up to date' : status}: ${pr.url}`)
    if (status !== 'unchanged') report.done.push(step)
    else report.facts.push(`pull request #${pr.number} already proposes appVersion ${update.to.appVersion} (${pr.url})`)
    report.pullRequest = { number: pr.number, url: pr.url, ...update.to, status }
  } finally {
    await git.removeWorktree(dir)
  }
}

/** Marks the comment that says why the action leaves a pull request's branch alone (posted once). */
const LEFT_ALONE_MARKER = '<!-- zero-cache-chart: left-alone -->'

function leftAloneComment(branch: string, foreign: string): string {
  return (
    `This branch holds commits that zero-cache-chart did not make (${foreign}), so the action leaves it as it is: it will not ` +
    `push to \`${branch}\` or rebase it while they are there. Merge or close this pull request as you see fit; delete the branch ` +
    `(or remove those commits) to let the action propose updates here again.\n\n${LEFT_ALONE_MARKER}`
  )
}

/**
 * Why the pull request branch at `tip` is not the action's own (Renovate's rule: a branch that
 * holds commits the bot did not make is never force-pushed or rebased), or undefined when it is:
 * exactly one commit, made (authored and committed) by the identity this run commits as, changing
 * Chart.yaml alone, on top of a commit of the base branch.
 */
async function foreignCommit(run: Run, tip: string, branch: string, base: string): Promise<string | undefined> {
  const { git } = run
  const info = await git.commitInfo(tip, branch)
  const own = (await git.commitIdentity()).email
  const id = tip.slice(0, 12)
  if (info.parents.length !== 1) return `${id} is a merge commit`
  if (info.authorEmail !== own || info.committerEmail !== own) return `${id} by ${info.authorEmail}: ${info.subject}`
  const others = info.files.filter((f) => f !== run.chartFile)
  if (others.length) return `${id} changes ${others.slice(0, 3).join(', ')}${others.length > 3 ? ' …' : ''}`
  const parent = info.parents[0]
  const onBase = () => git.isAncestor(parent, base).catch(() => false)
  if (await onBase()) return undefined
  // A shallow clone may lack the history that links them.
  await git.unshallow(run.branch)
  return (await onBase()) ? undefined : `${id} is not on top of ${run.branch} (its parent ${parent.slice(0, 12)} is not on it)`
}

/**
 * Requests the configured reviewers missing from an open pull request (a request that failed
 * after the pull request was opened), unless someone has reviewed it already (GitHub drops a
 * reviewer from the requested list once they review).
 */
async function requestMissingReviewers(run: Run, repo: RepoClient, pr: PullRequest): Promise<void> {
  const missing = run.inputs.pullRequestReviewers.filter((r) =>
    r.includes('/') ? !pr.requestedTeams.includes(r.split('/').pop()!) : !pr.requestedReviewers.includes(r),
  )
  if (!missing.length || (await repo.reviewCount(pr.number)) > 0) return
  await repo.requestReviewers(pr.number, missing)
  core.info(`requested reviews from ${missing.join(', ')} on pull request #${pr.number}`)
}

/**
 * Closes this action's older open pull requests for the same chart (a pull-request-branch with a
 * version placeholder opens a new branch per version), each with a comment pointing to `current`:
 * at most one open pull request per chart. Reads the open pull requests only when the branch name
 * can change.
 */
async function closeSuperseded(run: Run, repo: RepoClient, current: PullRequest, chart: string): Promise<void> {
  if (!/\{(version|app-version)\}/.test(run.inputs.pullRequestBranch)) return
  const older = (await repo.openPullRequests(run.branch)).filter(
    (p) => p.number !== current.number && readProposal(p.body)?.chart === chart,
  )
  for (const p of older) {
    await repo.addComment(p.number, `Superseded by #${current.number} (${current.url}), which proposes a newer version.`)
    await repo.closePullRequest(p.number)
    core.info(`closed pull request #${p.number}, superseded by #${current.number}`)
    run.report.facts.push(`closed pull request #${p.number} (${p.url}), superseded by #${current.number}`)
  }
}

/**
 * Before the first write: proves that the plan's publication can succeed — helm runs, and the
 * registry grants push on the chart's repository — so that a commit or tag is never pushed for a
 * chart that cannot be published (which would fail again every hour). A dry run only checks for
 * helm (opening an upload session would be a write) and warns.
 */
async function preflight(run: Run, obs: Observation): Promise<void> {
  if (!obs.plan.steps.some((s) => s.kind === 'publish')) return
  await core.group('Preflight: can this run publish?', async () => {
    if (run.inputs.dryRun) {
      await run.helm.majorVersion().then(
        (major) => core.info(`helm ${major} is on PATH`),
        (error: Error) => {
          const w = `a real run would stop here: ${error.message.replace(/ Nothing was written$/, '')}`
          core.warning(w)
          run.report.warnings.push(w)
        },
      )
      return
    }
    const major = await run.helm.majorVersion()
    core.info(`helm ${major} is on PATH`)
    const client = chartClient(run, obs.chart.name)
    try {
      await client.checkPush()
    } catch (error) {
      if (!(error instanceof ActionError)) throw error
      throw new ActionError(`${error.message}. Nothing was written: this run cannot publish the chart, so it pushes no commit and no tag`)
    }
    core.info(`${formatReference(client.ref)}: the registry grants push`)
  })
}

/**
 * Edits Chart.yaml in a worktree of the remote tip, lints, commits and pushes that one commit.
 * Returns the worktree (holding the new commit, for packaging), or undefined when the push lost a
 * race (re-plan). Nothing in the user's checkout changes, except a fast-forward to the pushed
 * commit when the checkout was exactly at the tip the commit was made on.
 */
async function applyUpdate(run: Run, obs: Observation): Promise<Worktree | undefined> {
  const { git, branch, chartFile } = run
  const step = obs.plan.steps[0]
  if (step.kind !== 'update') throw new Error('applyUpdate without an update step')
  const dir = run.scratch.dir('chart-update-')
  const worktree = await git.addWorktree(dir, obs.base)
  let keep = false
  try {
    const edited = await editChart(run, obs, step.to)
    await writeFile(join(dir, chartFile), edited)
    if (obs.plan.steps.some((s) => s.kind === 'lint' && s.source === 'new'))
      core.info(await run.helm.lint(join(dir, run.chartRel), run.inputs.lint === 'strict'))
    const commitStep = obs.plan.steps.find((s) => s.kind === 'commit')
    const commit = await worktree.commit(
      [chartFile],
      commitStep?.kind === 'commit' ? commitStep.message : 'chore(chart): update appVersion',
    )
    core.info(`committed ${commit.slice(0, 12)} on top of origin/${branch} (${obs.base.slice(0, 12)}): ${describeStep(step)}`)
    const res = await git.pushBranch(commit, branch)
    if (res.ok) {
      core.info(`pushed ${commit.slice(0, 12)} to ${branch}`)
      run.report.done.push(
        ...obs.plan.steps.filter((s) => s.kind === 'update' || s.kind === 'commit' || (s.kind === 'lint' && s.source === 'new')),
      )
      if (await git.fastForward(branch, obs.base, commit)) core.info(`the checkout moved to ${commit.slice(0, 12)}`)
      keep = true
      return { dir, git: worktree, commit }
    }
    core.info(`push rejected:\n${res.stderr}`)
    const tip = await git.fetchBranch(branch)
    if (tip === obs.base || (await git.isAncestor(tip, obs.base))) {
      throw new ActionError(
        `pushing to ${branch} failed, and the branch has not moved, so it is not a race (check the token's contents: write permission ` +
          `and branch protection); nothing was pushed:\n${res.stderr}`,
      )
    }
    return undefined
  } finally {
    if (!keep) await git.removeWorktree(dir)
  }
}

/** Creates and pushes the release tag; records it as done, or as already in place when another run pushed it. */
async function tag(
  run: Run,
  step: Extract<Step, { kind: 'tag' }>,
  commit: string,
  chart: ChartMetadata,
  release: ReleaseState,
): Promise<void> {
  const { git, report } = run
  const message = `${chart.name} ${release.version} (appVersion ${release.appVersion})`
  const res = await git.createAndPushTag(step.tag, commit, message)
  if (res.ok) {
    core.info(`pushed tag ${step.tag} at ${commit.slice(0, 12)}`)
    report.done.push(step)
    return
  }
  const now = (await git.remoteTags()).get(step.tag)
  if (now === commit) {
    core.info(`tag ${step.tag} was pushed meanwhile by another run, at the same commit`)
    report.facts.push(`tag ${step.tag} was pushed by another run, at ${commit.slice(0, 12)}`)
  } else if (now) {
    const w =
      `tag ${step.tag} appeared on the remote at ${now.slice(0, 12)} (not ${commit.slice(0, 12)}) while this run was tagging; ` +
      `it is left as it is`
    core.warning(w)
    report.warnings.push(w)
  } else throw new ActionError(`pushing tag ${step.tag} failed:\n${res.stderr}`)
}

/**
 * Packages the chart as it is at `source` (in the update's worktree when that holds `source`, else
 * in a worktree of its own) and pushes it, unless the registry has that version by now.
 */
async function publish(
  run: Run,
  step: Extract<Step, { kind: 'publish' }>,
  source: string,
  lint: Extract<Step, { kind: 'lint' }> | undefined,
  release: ReleaseState,
  updated: Worktree | undefined,
): Promise<void> {
  const { inputs, helm, report } = run
  const client = chartClient(run, release.name)
  const archive = await packageAt(run, source, release.version, updated, lint)
  if (inputs.registryCredentials) await helm.login(inputs.ociRepo.registry, inputs.registryCredentials, inputs.plainHttp)
  // Last look before writing: another run may have pushed this version since we observed.
  const existing = await client.headManifest(chartVersionToTag(release.version))
  if (existing) {
    core.info(`${release.chartRef} was published meanwhile (${existing.digest}); not pushing it again`)
    report.facts.push(`${release.chartRef} was published by another run (${existing.digest})`)
    report.chartDigest = existing.digest
    return
  }
  let digest: string | undefined
  try {
    digest = await helm.push(archive, inputs.ociRepo.url, inputs.plainHttp)
  } catch (error) {
    // Runs that push the same chart at the same moment race inside the registry: docker distribution
    // may refuse one manifest PUT with "blob unknown" while another run's upload of that blob commits.
    // When the version is there after a failed push, another run published it: done, as above.
    const now = error instanceof ActionError ? await client.headManifest(chartVersionToTag(release.version)) : undefined
    if (!now) throw error
    core.info(`helm push failed, but ${release.chartRef} is published now (${now.digest}): another run pushed it`)
    report.facts.push(`${release.chartRef} was published by another run (${now.digest})`)
    report.chartDigest = now.digest
    return
  }
  report.pushed = true
  report.done.push(step)
  report.chartDigest = digest ?? (await client.headManifest(chartVersionToTag(release.version)))?.digest
  core.info(`pushed ${release.chartRef} (${report.chartDigest ?? 'digest unknown'})`)
}

/**
 * Packages the chart as it is at `source` (in the update's worktree when that holds `source`, else
 * in a worktree of its own), after checking that it has `version` and linting it when `lint` is
 * given. Stamped with the commit's time, so any run packaging this commit makes the same archive:
 * publish pushes it, and a Release attaches it. Returns the archive's path (kept in `run.archive`).
 */
async function packageAt(
  run: Run,
  source: string,
  version: string,
  updated: Worktree | undefined,
  lint?: Extract<Step, { kind: 'lint' }>,
): Promise<string> {
  if (run.archive?.version === version) return run.archive.path
  const { git, helm } = run
  const own = updated?.commit !== source
  const dir = own ? run.scratch.dir('chart-source-') : updated!.dir
  if (own) {
    await git.addWorktree(dir, source)
    core.info(`packaging the chart as it is at ${source.slice(0, 12)} (the commit that set version ${version})`)
  }
  try {
    const chartDir = join(dir, run.chartRel)
    const onDisk = parseChart(await readFile(join(chartDir, 'Chart.yaml'), 'utf8'), run.chartFile)
    if (onDisk.version !== version) {
      throw new ActionError(`the chart at ${source.slice(0, 12)} has version ${onDisk.version}, expected ${version}`)
    }
    if (lint) {
      core.info(await helm.lint(chartDir, lint.strict === true))
      run.report.done.push(lint)
    }
    const archive = await helm.package(chartDir, await git.commitTime(source))
    run.archive = { version, path: archive }
    core.info(`packaged ${basename(archive)} at ${source.slice(0, 12)}`)
    return archive
  } finally {
    if (own) await git.removeWorktree(dir)
  }
}

/**
 * Creates the GitHub Release of the tag, or completes it: notes when it has none, the packaged
 * chart when it lacks it. The archive is the one this run pushed, or the chart packaged again at
 * the release commit (reproducible: stamped with the commit's time).
 */
async function applyGithubRelease(
  run: Run,
  obs: Observation,
  step: Extract<Step, { kind: 'github-release' }>,
  source: string,
  updated: Worktree | undefined,
): Promise<void> {
  const { git, report, inputs, chartFile } = run
  const repo = await repoClient(run)
  let current = obs.githubRelease
  const needsNotes = step.missing.includes('release') || step.missing.includes('notes')
  let notes = ''
  if (needsNotes) {
    const previous = previousReleaseTag(obs.tags, inputs.tagFormat, obs.chart.name, step.version)
    await git.unshallow(run.branch)
    const commits = await git.commitsTouching(previous?.commit, source, run.chartRel)
    let previousAppVersion: string | undefined
    if (previous) {
      const text = (await git.showAt(previous.commit, chartFile))?.text
      try {
        previousAppVersion = text ? parseChart(text, chartFile).appVersion : undefined
      } catch {
        previousAppVersion = undefined
      }
    }
    notes = releaseNotes({
      name: obs.chart.name,
      version: step.version,
      appVersion: obs.release.appVersion,
      image: report.image,
      previous: previous && { tag: previous.tag, appVersion: previousAppVersion },
      commits,
      chartDir: run.chartRel,
      ociRepo: inputs.ociRepo.url,
      digest: report.chartDigest ?? (await chartClient(run, obs.chart.name).headManifest(chartVersionToTag(step.version)))?.digest,
    })
  }
  if (!current) {
    current = await repo.createRelease({
      tag: step.tag,
      name: `${obs.chart.name} ${step.version}`,
      body: notes,
      prerelease: semver.prerelease(step.version) !== null,
    })
    core.info(`created the GitHub Release of ${step.tag}: ${current.url}`)
  } else if (needsNotes && !current.body.trim()) {
    current = await repo.updateReleaseNotes(current.id, notes)
    core.info(`filled in the notes of ${current.url}`)
  }
  if (!current.assets.includes(step.asset)) {
    const archive = await packageAt(run, source, step.version, updated)
    await repo.uploadAsset(current, step.asset, await readFile(archive), 'application/gzip')
    core.info(`attached ${step.asset} to ${current.url}`)
  }
  report.releaseUrl = current.url
  report.done.push(step)
}

/**
 * The commit status context that records a sent dispatch on the release commit (the tag's commit):
 * a release found complete without it is dispatched by the next run, once.
 */
export const DISPATCH_CONTEXT = 'zero-cache-chart/dispatch'

/**
 * Starts `dispatch-workflow` on the branch with the release's coordinates as inputs (`chart`,
 * `version`, `tag`, `digest`): what follows a release, since tags and Releases made with
 * `GITHUB_TOKEN` start no workflow. Once GitHub accepts it, records it as a commit status
 * ({@link DISPATCH_CONTEXT}, `success`) on `commit`, the release commit: a run that fails before
 * the record leaves the dispatch to the next run (at least once: a record that fails to be written
 * after an accepted dispatch means one more dispatch).
 */
async function dispatch(run: Run, step: Extract<Step, { kind: 'dispatch' }>, release: ReleaseState, commit: string): Promise<void> {
  const repo = await repoClient(run)
  const digest = run.report.chartDigest ?? (await chartClient(run, release.name).headManifest(chartVersionToTag(release.version)))?.digest
  const inputs = { chart: release.name, version: release.version, tag: release.tag, digest: digest ?? '' }
  try {
    await repo.dispatchWorkflow(step.workflow, step.ref, inputs)
  } catch (error) {
    if (!(error instanceof ActionError)) throw error
    throw new ActionError(`${error.message}. The release of ${release.tag} is complete; the next run sends this dispatch again`)
  }
  core.info(`started ${step.workflow} on ${step.ref} with ${JSON.stringify(inputs)}`)
  try {
    await repo.createStatus(commit, {
      state: 'success',
      context: DISPATCH_CONTEXT,
      description: `${step.workflow} dispatched for ${release.tag}`,
    })
  } catch (error) {
    if (!(error instanceof ActionError)) throw error
    throw new ActionError(
      `${error.message}: ${step.workflow} was started, but the record of it could not be written (the token needs statuses: write), so ` +
        `the next run will start it again`,
    )
  }
  run.report.done.push(step)
}

/**
 * Pushes `artifacthub-repo.yml` as Artifact Hub reads it from an OCI repository: an artifact under
 * the tag `artifacthub.io` whose config is empty (`application/vnd.cncf.artifacthub.config.v1+yaml`)
 * and whose one layer is the file (`application/vnd.cncf.artifacthub.repository-metadata.layer.v1.yaml`),
 * as `oras push` makes it in Artifact Hub's instructions.
 */
async function pushArtifactHubRepo(run: Run, obs: Observation, step: Extract<Step, { kind: 'artifacthub-repo' }>): Promise<void> {
  const digest = await chartClient(run, obs.chart.name).pushArtifact(ARTIFACTHUB_TAG, {
    config: { mediaType: 'application/vnd.cncf.artifacthub.config.v1+yaml', data: Buffer.alloc(0) },
    layers: [
      {
        mediaType: 'application/vnd.cncf.artifacthub.repository-metadata.layer.v1.yaml',
        data: obs.artifactHubRepo!,
        annotations: { 'org.opencontainers.image.title': 'artifacthub-repo.yml' },
      },
    ],
  })
  core.info(`pushed ${step.file} to ${step.ref} (${digest})`)
  run.report.done.push(step)
}
