import * as core from '@actions/core'
import semver from 'semver'
import { parse } from 'yaml'
import { readFile, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import {
  artifactHubImages,
  imageAtAppVersion,
  parseChart,
  retagArtifactHubImage,
  setArtifactHubAnnotations,
  setChartVersions,
  setValueAt,
} from '../chart/chart-file.js'
import { ActionError } from '../errors.js'
import type { Git } from '../git.js'
import type { PullRequest } from '../github/repo.js'
import { chartVersionToTag, formatReference } from '../oci/reference.js'
import { previousReleaseTag, releaseNotes } from './notes.js'
import { DISPATCH_CONTEXT } from './observe.js'
import { ARTIFACTHUB_TAG, describeStep, imageName, type ChartPlan, type CommitRef, type PullRequestReport, type Step } from './plan.js'
import { readProposal } from './pull-request.js'
import { applySign, checkSigning, signingWarnings } from './apply-sign.js'
import { describeVerify, runVerify, VERIFY_CONTEXT, VerifyError, verifySection, verifySectionOf, type VerifyResult } from './verify.js'
import { chartClient, repoClient, type ChartRuntime, type RepositoryApi } from './runtime.js'
import type { Snapshot } from './snapshot.js'

/**
 * Applying a plan: each step kind has one function, reached through {@link applyStep}'s exhaustive
 * switch (a new kind does not compile until it is applied here). Each step is idempotent: it looks
 * once more at the remote right before it writes, and a write another run made meanwhile counts as
 * done. A step returns an {@link Outcome}; the report is built from the outcomes, never written here.
 */

/** What applying a step did, for the job summary and the outputs. */
export interface Outcome {
  /** Steps completed by this run (a step's own, and any applied with it: the update's lint and commit). */
  done: Step[]
  /** What was found already in place (another run's tag or chart). */
  facts?: string[]
  warnings?: string[]
  /** The commit this run pushed to the branch. */
  commit?: string
  /** The chart's manifest digest; `pushed` when this run pushed it. */
  digest?: string
  pushed?: boolean
  releaseUrl?: string
  pullRequest?: PullRequestReport
  /** verify-command's result, when this step verified (pull-request mode). */
  verify?: VerifyResult
}

/** A worktree of the run: a directory, git in it, and the commit it holds. */
export interface Worktree {
  dir: string
  git: Pick<Git, 'commit'>
  commit: string
}

/** What every step of one chart's plan is applied with. */
export interface ApplyContext {
  rt: ChartRuntime
  snap: Snapshot
  plan: ChartPlan
  /** The worktree of the update this run pushed (push mode), which holds the release commit. */
  updated?: Worktree
  /** The chart's digest as known so far (observed, or pushed by this run). */
  digest?: string
}

/**
 * An error of a step that completed part of its work before it failed (a pushed branch, then a
 * refused pull request): the outcome of that part rides on the error, for the report.
 */
export function withOutcome(error: unknown, outcome: Outcome): unknown {
  if (outcome.done.length && error instanceof Error) Object.assign(error, { outcome })
  return error
}

/** The partial outcome a step's error carries (see {@link withOutcome}), if any. */
export function outcomeOf(error: unknown): Outcome | undefined {
  return (error as { outcome?: Outcome } | undefined)?.outcome
}

/** A commit reference resolved: `new` is the update this run pushed. */
function resolveCommit(ctx: ApplyContext, c: CommitRef): string {
  return c === 'new' ? ctx.updated!.commit : c
}

/**
 * Applies one step (after the update stage, which push mode runs first: see `prepareUpdate`, `verifyUpdate`, `pushUpdate`).
 *
 * @returns the step's outcome; undefined for a step applied with another one (the update, its
 *   lint and commit; a lint before packaging).
 */
export async function applyStep(ctx: ApplyContext, step: Step): Promise<Outcome | undefined> {
  switch (step.kind) {
    case 'update':
    case 'commit':
    case 'lint':
      return undefined
    case 'tag':
      return core.group(`Tag: ${step.tag}`, () => applyTag(ctx, step))
    case 'publish':
      return core.group(`Package and push: ${step.chartRef}`, () => applyPublish(ctx, step))
    case 'sign':
      return core.group(`Sign: ${step.chartRef}`, () => applySign(ctx.rt, ctx.plan, step, ctx.digest))
    case 'github-release':
      return core.group(`GitHub Release: ${step.tag}`, () => applyGithubRelease(ctx, step))
    case 'artifacthub-repo':
      return core.group('Artifact Hub repository metadata', () => applyArtifactHubRepo(ctx, step))
    case 'dispatch':
      return core.group(`Dispatch: ${step.workflow}`, () => applyDispatch(ctx, step))
    case 'pull-request':
      return core.group(`Pull request: ${step.branch}`, () => applyPullRequest(ctx, step))
    case 'pull-request-comment':
      return applyComment(ctx, step)
    default: {
      const unknown: never = step
      throw new Error(`no apply function for step ${JSON.stringify(unknown)}`)
    }
  }
}

/**
 * Before the first write: proves that the plan's publication can succeed — helm runs, and the
 * registry grants push on the chart's repository — so that a commit or tag is never pushed for a
 * chart that cannot be published (which would fail again every hour). A dry run only checks for
 * helm (opening an upload session would be a write) and returns its warning.
 *
 * @returns warnings (a dry run's "a real run would stop here").
 * @throws ActionError when a real run could not publish; nothing has been written then.
 */
export async function preflight(rt: ChartRuntime, plan: ChartPlan): Promise<string[]> {
  if (!plan.steps.some((s) => s.kind === 'publish' || s.kind === 'sign')) return []
  return core.group('Preflight: can this run publish?', async () => {
    // sign: a real run gets its OIDC token before the first write; a dry run says whether it could.
    const early = rt.inputs.dryRun ? signingWarnings(plan) : []
    if (!rt.inputs.dryRun) await checkSigning(rt, plan)
    if (!plan.steps.some((s) => s.kind === 'publish')) return early
    if (rt.inputs.dryRun) {
      return rt.helm.majorVersion().then(
        (major) => {
          core.info(`helm ${major} is on PATH`)
          return early
        },
        (error: Error) => {
          const w = `a real run would stop here: ${error.message.replace(/ Nothing was written$/, '')}`
          core.warning(w)
          return [...early, w]
        },
      )
    }
    const major = await rt.helm.majorVersion()
    core.info(`helm ${major} is on PATH`)
    const client = chartClient(rt, plan.release.name)
    try {
      await client.checkPush()
    } catch (error) {
      if (!(error instanceof ActionError)) throw error
      throw new ActionError(`${error.message}. Nothing was written: this run cannot publish the chart, so it pushes no commit and no tag`)
    }
    core.info(`${formatReference(client.ref)}: the registry grants push`)
    return []
  })
}

/**
 * The files of the update: Chart.yaml with `version` and `appVersion`, and, when the chart carries
 * Artifact Hub annotations, the image tags in `artifacthub.io/images` and this release's
 * `artifacthub.io/changes` ("Update <image name> to <tag>", linking the upstream releases when
 * known); values.yaml with the values-images tags, when any moves.
 *
 * @returns file (relative to the repository root) → new text.
 */
function editChart(snap: Snapshot, step: Extract<Step, { kind: 'update' }>): Map<string, string> {
  const { to } = step
  const images = step.images ?? []
  let text = setChartVersions(snap.chartText, to, snap.chartFile)
  for (const i of images) text = retagArtifactHubImage(text, i.image, i.from, i.to)
  const files = new Map<string, string>()
  if (images.length && snap.valuesImages) {
    const values = images.reduce((t, i) => setValueAt(t, i.path, i.to, snap.valuesImages!.file), snap.valuesImages.text)
    files.set(snap.valuesImages.file, values)
    for (const i of images) core.info(`${snap.valuesImages.file}: ${i.path} ${i.from} → ${i.to}`)
  }
  if (/artifacthub\.io\/(images|changes)/.test(text)) {
    const appChanged = to.appVersion !== snap.chart.appVersion
    const entry = imageAtAppVersion(artifactHubImages(text, snap.chartFile), snap.chart.appVersion)
    const url = snap.upstreamReleases
    const description = appChanged
      ? `Update ${entry?.name ?? snap.chart.name} to ${to.appVersion}`
      : images.map((i) => `Update ${imageName(i.image)} to ${i.to}`).join('; ')
    const edited = setArtifactHubAnnotations(
      text,
      {
        from: snap.chart.appVersion,
        to: to.appVersion,
        change: { description, link: url && appChanged ? { name: 'Upstream releases', url } : undefined },
      },
      snap.chartFile,
    )
    for (const line of edited.changed) core.info(`${snap.chartFile}: ${line}`)
    text = edited.text
  }
  files.set(snap.chartFile, text)
  return files
}

/** Writes the update's files into a worktree; returns their paths (relative), for the commit. */
async function writeUpdate(dir: string, snap: Snapshot, step: Extract<Step, { kind: 'update' }>): Promise<string[]> {
  const files = editChart(snap, step)
  for (const [file, text] of files) await writeFile(join(dir, file), text)
  return [...files.keys()]
}

/**
 * Vendors the chart's `dependencies` (Chart.yaml) in a worktree before it is linted and packaged
 * (see `Helm.dependencies`). An `oci://` dependency on the chart registry's host is fetched with
 * the chart registry's login. The vendored `charts/` are never committed: only Chart.yaml is.
 */
async function vendorDependencies(rt: ChartRuntime, chartDir: string): Promise<void> {
  const doc = parse(await readFile(join(chartDir, 'Chart.yaml'), 'utf8')) as { dependencies?: unknown } | null
  const deps = Array.isArray(doc?.dependencies) ? (doc.dependencies as { repository?: string }[]) : []
  if (!deps.length) return
  const { inputs } = rt
  const onChartRegistry = deps.some((d) => d.repository?.startsWith(`oci://${inputs.ociRepo.registry}/`))
  if (onChartRegistry && inputs.registryCredentials)
    await rt.helm.login(inputs.ociRepo.registry, inputs.registryCredentials, inputs.plainHttp)
  const done = await rt.helm.dependencies(chartDir, deps, inputs.plainHttp)
  if (done) core.info(done)
}

/**
 * The update, made locally: Chart.yaml edited in a worktree of the remote tip, linted, and
 * committed there (nothing is pushed). Push mode pushes it with {@link pushUpdate} once it is
 * verified; a dry run verifies it and throws it away.
 *
 * @returns the worktree holding the commit; the caller removes it unless it keeps it.
 * @throws ChartError/CommandError from the edit or the lint (the worktree is removed then).
 */
export async function prepareUpdate(rt: ChartRuntime, snap: Snapshot, plan: ChartPlan): Promise<Worktree> {
  const { git } = rt
  const step = plan.steps.find((s): s is Extract<Step, { kind: 'update' }> => s.kind === 'update')
  if (!step) throw new Error('prepareUpdate without an update step')
  const dir = rt.scratch.dir('chart-update-')
  const worktree = await git.addWorktree(dir, snap.base)
  try {
    const files = await writeUpdate(dir, snap, step)
    await vendorDependencies(rt, join(dir, rt.chartRel))
    const lint = plan.steps.find((s) => s.kind === 'lint' && s.source === 'new')
    if (lint?.kind === 'lint') core.info(await rt.helm.lint(join(dir, rt.chartRel), lint.strict === true))
    const commitStep = plan.steps.find((s) => s.kind === 'commit')
    const message = commitStep?.kind === 'commit' ? commitStep.message : 'chore(chart): update appVersion'
    const commit = await worktree.commit(files, message)
    core.info(`committed ${commit.slice(0, 12)} on top of origin/${rt.branch} (${snap.base.slice(0, 12)}): ${describeStep(step)}`)
    return { dir, git: worktree, commit }
  } catch (error) {
    await git.removeWorktree(dir)
    throw error
  }
}

/**
 * `verify-command` on the update in `worktree`: packages the chart there (the archive publishing
 * pushes: same commit, same bytes) and runs the command with the update's coordinates. A chart
 * directory verified already by this run (same tree: a push race re-planned an identical update)
 * is not verified again.
 *
 * @returns the result (passed or failed; the caller decides what a failure holds back).
 */
export async function verifyUpdate(rt: ChartRuntime, snap: Snapshot, plan: ChartPlan, worktree: Worktree): Promise<VerifyResult> {
  const step = plan.steps.find((s): s is Extract<Step, { kind: 'update' }> => s.kind === 'update')!
  const tree = await rt.git.treeOf(worktree.commit, rt.chartRel)
  if (rt.verified?.tree === tree) return rt.verified.result
  const chartDir = join(worktree.dir, rt.chartRel)
  const archive = await rt.helm.package(chartDir, await rt.git.commitTime(worktree.commit))
  rt.archive = { version: step.to.version, commit: worktree.commit, path: archive }
  const tag = snap.selection.selected?.tag ?? step.to.appVersion
  const result = await runVerify(
    rt.inputs.verifyCommand,
    {
      chartDir,
      chartName: snap.chart.name,
      chartVersion: step.to.version,
      appVersion: step.to.appVersion,
      previousAppVersion: step.from.appVersion,
      image: `${snap.image}:${tag}`,
      chartPackage: archive,
    },
    { cwd: worktree.dir, scratchDir: rt.scratch.dir('verify-'), timeoutMinutes: rt.inputs.verifyTimeoutMinutes },
  )
  rt.verified = { tree, result }
  return result
}

/** The error of a failed verification in push mode (and dry run): nothing written, the tail in the summary. */
export function verifyFailure(rt: ChartRuntime, result: VerifyResult): VerifyError {
  return new VerifyError(
    `verify-command ${describeVerify(result)} on ${rt.chartRel} ${result.chartVersion} (appVersion ${result.appVersion}): ` +
      `${rt.inputs.dryRun ? 'a real run would write nothing' : 'nothing was written'}; the next run tries again (to hold this ` +
      `upstream version back, exclude it with version-range)`,
    result,
  )
}

/**
 * Push mode: pushes the update's commit (made by {@link prepareUpdate}) to the branch. Nothing in
 * the user's checkout changes, except a fast-forward to the pushed commit when the checkout was
 * exactly at the tip the commit was made on.
 *
 * @returns the outcome; undefined when the push lost a race (re-observe and re-plan).
 * @throws ActionError when the push is refused and the branch has not moved (not a race).
 */
export async function pushUpdate(rt: ChartRuntime, snap: Snapshot, plan: ChartPlan, worktree: Worktree): Promise<Outcome | undefined> {
  const { git, branch } = rt
  const { commit } = worktree
  const res = await git.pushBranch(commit, branch)
  if (res.ok) {
    core.info(`pushed ${commit.slice(0, 12)} to ${branch}`)
    if (await git.fastForward(branch, snap.base, commit)) core.info(`the checkout moved to ${commit.slice(0, 12)}`)
    const done = plan.steps.filter((s) => s.kind === 'update' || s.kind === 'commit' || (s.kind === 'lint' && s.source === 'new'))
    return { done, commit }
  }
  core.info(`push rejected:\n${res.stderr}`)
  const tip = await git.fetchBranch(branch)
  if (tip === snap.base || (await git.isAncestor(tip, snap.base))) {
    throw new ActionError(
      `pushing to ${branch} failed, and the branch has not moved, so it is not a race (check the token's contents: write permission ` +
        `and branch protection); nothing was pushed:\n${res.stderr}`,
    )
  }
  return undefined
}

/** Creates and pushes the release tag; done, or already in place when another run pushed it. */
async function applyTag(ctx: ApplyContext, step: Extract<Step, { kind: 'tag' }>): Promise<Outcome> {
  const { git } = ctx.rt
  const { release } = ctx.plan
  const commit = resolveCommit(ctx, step.commit)
  const message = `${release.name} ${release.version} (appVersion ${release.appVersion})`
  const res = await git.createAndPushTag(step.tag, commit, message)
  if (res.ok) {
    core.info(`pushed tag ${step.tag} at ${commit.slice(0, 12)}`)
    return { done: [step] }
  }
  const now = (await git.remoteTags()).get(step.tag)
  if (now === commit) {
    core.info(`tag ${step.tag} was pushed meanwhile by another run, at the same commit`)
    return { done: [], facts: [`tag ${step.tag} was pushed by another run, at ${commit.slice(0, 12)}`] }
  }
  if (now) {
    const w =
      `tag ${step.tag} appeared on the remote at ${now.slice(0, 12)} (not ${commit.slice(0, 12)}) while this run was tagging; ` +
      `it is left as it is`
    core.warning(w)
    return { done: [], warnings: [w] }
  }
  throw new ActionError(`pushing tag ${step.tag} failed:\n${res.stderr}`)
}

/**
 * Packages the chart as it is at the step's source and pushes it, unless the registry has that
 * version by now (another run pushed it: done by that run).
 */
async function applyPublish(ctx: ApplyContext, step: Extract<Step, { kind: 'publish' }>): Promise<Outcome> {
  const { inputs, helm } = ctx.rt
  const { release } = ctx.plan
  const client = chartClient(ctx.rt, release.name)
  const lint = ctx.plan.steps.find((s): s is Extract<Step, { kind: 'lint' }> => s.kind === 'lint' && s.source !== 'new')
  const { path: archive, linted } = await packageAt(ctx, resolveCommit(ctx, step.source), release.version, lint)
  const done = linted ? [linted] : []
  if (inputs.registryCredentials) await helm.login(inputs.ociRepo.registry, inputs.registryCredentials, inputs.plainHttp)
  const byAnother = (digest: string | undefined, how: string): Outcome => {
    core.info(how)
    ctx.digest = digest
    return { done, digest, facts: [`${release.chartRef} was published by another run (${digest})`] }
  }
  // Last look before writing: another run may have pushed this version since we observed.
  const existing = await client.headManifest(chartVersionToTag(release.version))
  if (existing) return byAnother(existing.digest, `${release.chartRef} was published meanwhile (${existing.digest}); not pushing it again`)
  let digest: string | undefined
  try {
    digest = await helm.push(archive, inputs.ociRepo.url, inputs.plainHttp)
  } catch (error) {
    // Runs that push the same chart at the same moment race inside the registry: docker distribution
    // may refuse one manifest PUT with "blob unknown" while another run's upload of that blob commits.
    // When the version is there after a failed push, another run published it: done, as above.
    const now = error instanceof ActionError ? await client.headManifest(chartVersionToTag(release.version)) : undefined
    if (!now) throw error
    return byAnother(now.digest, `helm push failed, but ${release.chartRef} is published now (${now.digest}): another run pushed it`)
  }
  digest ??= (await client.headManifest(chartVersionToTag(release.version)))?.digest
  ctx.digest = digest
  core.info(`pushed ${release.chartRef} (${digest ?? 'digest unknown'})`)
  return { done: [...done, step], digest, pushed: true }
}

/**
 * Packages the chart as it is at `source` (in the update's worktree when that holds `source`, else
 * in a worktree of its own), after checking that it has `version` and linting it when `lint` is
 * given. Stamped with the commit's time, so any run packaging this commit makes the same archive:
 * publish pushes it, and a Release attaches it. The archive is kept for the run (`rt.archive`).
 *
 * @returns the archive's path, and the lint step when it ran.
 */
async function packageAt(
  ctx: ApplyContext,
  source: string,
  version: string,
  lint?: Extract<Step, { kind: 'lint' }>,
): Promise<{ path: string; linted?: Step }> {
  const { rt, updated } = ctx
  if (rt.archive?.version === version && rt.archive.commit === source) return { path: rt.archive.path }
  const { git, helm } = rt
  const own = updated?.commit !== source
  const dir = own ? rt.scratch.dir('chart-source-') : updated.dir
  if (own) {
    await git.addWorktree(dir, source)
    core.info(`packaging the chart as it is at ${source.slice(0, 12)} (the commit that set version ${version})`)
  }
  try {
    const chartDir = join(dir, rt.chartRel)
    const onDisk = parseChart(await readFile(join(chartDir, 'Chart.yaml'), 'utf8'), rt.chartFile, { anyAppVersion: true })
    if (onDisk.version !== version) {
      throw new ActionError(`the chart at ${source.slice(0, 12)} has version ${onDisk.version}, expected ${version}`)
    }
    if (own) await vendorDependencies(rt, chartDir)
    if (lint) core.info(await helm.lint(chartDir, lint.strict === true))
    const archive = await helm.package(chartDir, await git.commitTime(source))
    rt.archive = { version, commit: source, path: archive }
    core.info(`packaged ${basename(archive)} at ${source.slice(0, 12)}`)
    return { path: archive, linted: lint }
  } finally {
    if (own) await git.removeWorktree(dir)
  }
}

/**
 * Makes the GitHub Release of the tag the way immutable releases allow: a draft with the notes,
 * the packaged chart attached, then published. Completes what a Release or a draft of it lacks
 * (a run that stopped half-way): notes when it has none, the chart, publishing. The archive is the
 * one this run pushed, or the chart packaged again at the release commit (reproducible: stamped
 * with the commit's time).
 */
async function applyGithubRelease(ctx: ApplyContext, step: Extract<Step, { kind: 'github-release' }>): Promise<Outcome> {
  const { rt, plan, snap } = ctx
  const repo = await repoClient(rt)
  const source = resolveCommit(ctx, plan.release.releaseCommit)
  let current = plan.existingRelease ?? snap.githubRelease?.drafts.find((d) => d.id === step.existing?.id)
  const needsNotes = step.missing.includes('release') || step.missing.includes('notes')
  const notes = needsNotes ? await notesOf(ctx, step.version, source) : ''
  if (!current) {
    current = await repo.releases.createDraft({
      tag: step.tag,
      name: `${snap.chart.name} ${step.version}`,
      body: notes,
      prerelease: semver.prerelease(step.version) !== null,
    })
    core.info(`created a draft GitHub Release of ${step.tag}: ${current.url}`)
  } else if (needsNotes && !current.body.trim()) {
    current = await repo.releases.updateReleaseNotes(current, notes)
    core.info(`filled in the notes of ${current.url}`)
  }
  if (!current.assets.includes(step.asset) && !(current.immutable && !current.draft)) {
    const { path } = await packageAt(ctx, source, step.version)
    await repo.releases.uploadAsset(current, step.asset, await readFile(path), 'application/gzip')
    core.info(`attached ${step.asset} to ${current.url}`)
  }
  if (current.draft) {
    current = await repo.releases.publish(current)
    core.info(`published the GitHub Release of ${step.tag}: ${current.url}`)
  }
  return { done: [step], releaseUrl: current.url }
}

/** The Release notes of `version`: the upstream change, install line, digest, and the chart's commits since the previous tag. */
async function notesOf(ctx: ApplyContext, version: string, source: string): Promise<string> {
  const { rt, snap, plan } = ctx
  const { git, inputs } = rt
  const previous = previousReleaseTag(new Map(snap.tags), inputs.tagFormat, snap.chart.name, version)
  await git.unshallow(rt.branch)
  const commits = await git.commitsTouching(previous?.commit, source, rt.chartRel)
  // The upstream change: from the previous release's appVersion; for the first release tag, what
  // this run changed, or else the appVersion before the commit that set this version (its parent).
  const update = plan.steps.find((s): s is Extract<Step, { kind: 'update' }> => s.kind === 'update')
  const before = previous ? await appVersionAt(ctx, previous.commit) : (update?.from.appVersion ?? (await appVersionAt(ctx, `${source}^`)))
  return releaseNotes({
    name: snap.chart.name,
    version,
    appVersion: plan.release.appVersion,
    image: snap.image,
    previous: previous && { tag: previous.tag, appVersion: before },
    ...(update?.images?.length ? { images: update.images } : {}),
    ...(!previous && before ? { previousAppVersion: before } : {}),
    commits,
    chartDir: rt.chartRel,
    ociRepo: inputs.ociRepo.url,
    digest: ctx.digest ?? (await chartClient(rt, snap.chart.name).headManifest(chartVersionToTag(version)))?.digest,
  })
}

/** The chart's `appVersion` at `rev` (a commit, or `<commit>^`), or undefined when the file is absent or unreadable there. */
async function appVersionAt(ctx: ApplyContext, rev: string): Promise<string | undefined> {
  const text = (await ctx.rt.git.showAt(rev, ctx.snap.chartFile))?.text
  try {
    return text ? parseChart(text, ctx.snap.chartFile, { anyAppVersion: true }).appVersion : undefined
  } catch {
    return undefined
  }
}

/**
 * Pushes `artifacthub-repo.yml` as Artifact Hub reads it from an OCI repository: an artifact under
 * the tag `artifacthub.io` whose config is empty (`application/vnd.cncf.artifacthub.config.v1+yaml`)
 * and whose one layer is the file (`application/vnd.cncf.artifacthub.repository-metadata.layer.v1.yaml`),
 * as `oras push` makes it in Artifact Hub's instructions.
 */
async function applyArtifactHubRepo(ctx: ApplyContext, step: Extract<Step, { kind: 'artifacthub-repo' }>): Promise<Outcome> {
  const digest = await chartClient(ctx.rt, ctx.snap.chart.name).pushArtifact(ARTIFACTHUB_TAG, {
    config: { mediaType: 'application/vnd.cncf.artifacthub.config.v1+yaml', data: Buffer.alloc(0) },
    layers: [
      {
        mediaType: 'application/vnd.cncf.artifacthub.repository-metadata.layer.v1.yaml',
        data: Buffer.from(step.text),
        annotations: { 'org.opencontainers.image.title': 'artifacthub-repo.yml' },
      },
    ],
  })
  core.info(`pushed ${step.file} to ${step.ref} (${digest})`)
  return { done: [step] }
}

/**
 * Starts `dispatch-workflow` on the branch with the release's coordinates as inputs (`chart`,
 * `version`, `tag`, `digest`): what follows a release, since tags and Releases made with
 * `GITHUB_TOKEN` start no workflow. Once GitHub accepts it, records it as a commit status
 * ({@link DISPATCH_CONTEXT}, `success`) on the release commit: a run that fails before the record
 * leaves the dispatch to the next run (at least once: a record that fails to be written after an
 * accepted dispatch means one more dispatch).
 */
async function applyDispatch(ctx: ApplyContext, step: Extract<Step, { kind: 'dispatch' }>): Promise<Outcome> {
  const { rt } = ctx
  const { release } = ctx.plan
  const commit = release.remoteTagCommit ?? resolveCommit(ctx, release.releaseCommit)
  const repo = await repoClient(rt)
  const digest = ctx.digest ?? (await chartClient(rt, release.name).headManifest(chartVersionToTag(release.version)))?.digest
  const inputs = { chart: release.name, version: release.version, tag: release.tag, digest: digest ?? '' }
  try {
    await repo.dispatch.dispatchWorkflow(step.workflow, step.ref, inputs)
  } catch (error) {
    if (!(error instanceof ActionError)) throw error
    throw new ActionError(`${error.message}. The release of ${release.tag} is complete; the next run sends this dispatch again`)
  }
  core.info(`started ${step.workflow} on ${step.ref} with ${JSON.stringify(inputs)}`)
  try {
    await repo.dispatch.createStatus(commit, {
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
  return { done: [step] }
}

/** Comments once on a pull request whose branch the action leaves alone. */
async function applyComment(ctx: ApplyContext, step: Extract<Step, { kind: 'pull-request-comment' }>): Promise<Outcome> {
  await (await repoClient(ctx.rt)).pulls.addComment(step.number, step.body)
  core.info(`commented on pull request #${step.number}: its branch is left alone`)
  return { done: [step] }
}

/**
 * commit-mode pull-request: commits the update on the base branch's tip in a worktree, pushes it to
 * the pull request's branch (with a lease at the tip observed: a concurrent push is never
 * overwritten blindly; not at all when the branch already holds the same change), then opens the
 * pull request or updates the open one's title and body when they changed. Labels are added when
 * missing; reviewers are requested when the pull request is opened, or when a request failed.
 */
async function applyPullRequest(ctx: ApplyContext, step: Extract<Step, { kind: 'pull-request' }>): Promise<Outcome> {
  const { rt, snap, plan } = ctx
  const { git } = rt
  const update = plan.steps.find((s): s is Extract<Step, { kind: 'update' }> => s.kind === 'update')!
  const lint = plan.steps.find((s): s is Extract<Step, { kind: 'lint' }> => s.kind === 'lint' && s.source === 'new')
  const repo = await repoClient(rt)
  const dir = rt.scratch.dir('chart-pull-request-')
  const worktree = await git.addWorktree(dir, snap.base)
  try {
    const files = await writeUpdate(dir, snap, update)
    const commit = await worktree.commit(files, step.message)
    const tip = step.tip
    const same = tip !== undefined && (await git.sameChange(tip, step.branch, snap.base, commit))
    const done: Step[] = []
    if (!same || rt.inputs.verifyCommand) await vendorDependencies(rt, join(dir, rt.chartRel))
    if (!same && lint) core.info(await rt.helm.lint(join(dir, rt.chartRel), lint.strict === true))
    const verification = await verifyProposal(ctx, repo, same ? tip : undefined, { dir, git: worktree, commit })
    if (same) {
      core.info(`${step.branch} already holds this update on top of ${snap.base.slice(0, 12)} (${tip.slice(0, 12)}); not pushed again`)
    } else {
      const res = await git.forcePushBranch(commit, step.branch, tip)
      if (!res.ok) {
        throw new ActionError(
          `pushing the update to ${step.branch} was rejected (another run may have pushed it meanwhile, or the token lacks contents: ` +
            `write); the next run will try again:\n${res.stderr}`,
        )
      }
      core.info(`pushed ${commit.slice(0, 12)} to ${step.branch} (on top of ${snap.base.slice(0, 12)})`)
      done.push(update, ...(lint ? [lint] : []))
    }
    try {
      const outcome = await proposeIn(ctx, repo, step, update, same, done, verification.section)
      if (verification.result) {
        await recordVerification(rt, repo, same ? tip : commit, verification.result, outcome.pullRequest)
        outcome.verify = verification.result
      }
      return outcome
    } catch (error) {
      // The branch push is done even when the pull request fails: the report says so.
      throw withOutcome(error, { done })
    }
  } finally {
    await git.removeWorktree(dir)
  }
}

/** Opens the pull request, or brings the open one up to date; closes the action's older ones for the chart. */
async function proposeIn(
  ctx: ApplyContext,
  repo: RepositoryApi,
  step: Extract<Step, { kind: 'pull-request' }>,
  update: Extract<Step, { kind: 'update' }>,
  same: boolean,
  done: Step[],
  verifySection?: string,
): Promise<Outcome> {
  const { rt, plan, snap } = ctx
  const body = [plan.pullRequestBody ?? '', ...(verifySection ? [verifySection] : [])].join('\n\n')
  const open = snap.pullRequest?.pulls.find((p) => p.state === 'open' && step.existing?.number === p.number)
  let pr: PullRequest
  let status: 'opened' | 'updated' | 'unchanged'
  if (open) {
    pr = open
    status = same ? 'unchanged' : 'updated'
    if (pr.title !== step.title || pr.body !== body) {
      pr = await repo.pulls.updatePullRequest(pr.number, { title: step.title, body })
      status = 'updated'
    }
    await requestMissingReviewers(rt, repo, pr)
  } else {
    pr = await repo.pulls.createPullRequest({ head: step.branch, base: step.base, title: step.title, body })
    status = 'opened'
    await repo.pulls.requestReviewers(pr.number, rt.inputs.pullRequestReviewers)
  }
  const facts = await closeSuperseded(rt, repo, pr, snap.chart.name)
  await repo.pulls.addLabels(
    pr.number,
    rt.inputs.pullRequestLabels.filter((l) => !pr.labels.includes(l)),
  )
  core.info(`pull request #${pr.number} ${status === 'unchanged' ? 'is up to date' : status}: ${pr.url}`)
  if (status !== 'unchanged') done.push(step)
  else facts.push(`pull request #${pr.number} already proposes appVersion ${update.to.appVersion} (${pr.url})`)
  return { done, facts, pullRequest: { number: pr.number, url: pr.url, ...update.to, status } }
}

/**
 * pull-request mode's verification: `verify-command` on the proposed commit, unless the branch
 * already holds this update (`head`) and its head commit has a {@link VERIFY_CONTEXT} status (a
 * re-run does not verify the same commit again: the pull request keeps the body section it has).
 *
 * @returns the result when this run verified, and the body section the pull request carries.
 */
async function verifyProposal(
  ctx: ApplyContext,
  repo: RepositoryApi,
  head: string | undefined,
  worktree: Worktree,
): Promise<{ result?: VerifyResult; section?: string }> {
  const { rt, snap } = ctx
  if (!rt.inputs.verifyCommand) return {}
  if (head) {
    const status = (await repo.dispatch.statuses(head)).find((st) => st.context === VERIFY_CONTEXT)
    if (status) {
      core.info(`${head.slice(0, 12)} was verified already (${VERIFY_CONTEXT}: ${status.state}, ${status.description}); not again`)
      const open = snap.pullRequest?.pulls.find((p) => p.state === 'open')
      return { section: open ? verifySectionOf(open.body) : undefined }
    }
  }
  const result = await verifyUpdate(rt, snap, ctx.plan, worktree)
  return { result, section: verifySection(result) }
}

/**
 * Sets the pull request head commit's {@link VERIFY_CONTEXT} status (`success` or `failure`,
 * linking this workflow run): a pull request opened with `GITHUB_TOKEN` starts no workflow, so
 * this is the check its reviewers see. A failure is a warning of the run, not its failure: the
 * pull request is where it is dealt with.
 */
async function recordVerification(
  rt: ChartRuntime,
  repo: RepositoryApi,
  head: string,
  result: VerifyResult,
  pr: PullRequestReport | undefined,
): Promise<void> {
  const server = process.env.GITHUB_SERVER_URL || 'https://github.com'
  const runId = process.env.GITHUB_RUN_ID
  await repo.dispatch.createStatus(head, {
    state: result.passed ? 'success' : 'failure',
    context: VERIFY_CONTEXT,
    description: `verify-command ${describeVerify(result)}`,
    ...(runId && rt.inputs.repository ? { targetUrl: `${server}/${rt.inputs.repository}/actions/runs/${runId}` } : {}),
  })
  core.info(`set ${VERIFY_CONTEXT} on ${head.slice(0, 12)}: ${result.passed ? 'success' : 'failure'}`)
  if (!result.passed) {
    core.warning(
      `verify-command ${describeVerify(result)} on the proposed update to ${result.appVersion}` +
        `${pr?.number ? `: pull request #${pr.number} (${pr.url}) shows it` : ''} (status ${VERIFY_CONTEXT})`,
    )
  }
}

/**
 * Requests the configured reviewers missing from an open pull request (a request that failed
 * after the pull request was opened), unless someone has reviewed it already (GitHub drops a
 * reviewer from the requested list once they review).
 */
async function requestMissingReviewers(rt: ChartRuntime, repo: RepositoryApi, pr: PullRequest): Promise<void> {
  const missing = rt.inputs.pullRequestReviewers.filter((r) =>
    r.includes('/') ? !pr.requestedTeams.includes(r.split('/').pop()!) : !pr.requestedReviewers.includes(r),
  )
  if (!missing.length || (await repo.pulls.reviewCount(pr.number)) > 0) return
  await repo.pulls.requestReviewers(pr.number, missing)
  core.info(`requested reviews from ${missing.join(', ')} on pull request #${pr.number}`)
}

/**
 * Closes this action's older open pull requests for the same chart (a pull-request-branch with a
 * version placeholder opens a new branch per version), each with a comment pointing to `current`:
 * at most one open pull request per chart. Reads the open pull requests only when the branch name
 * can change.
 *
 * @returns a fact per pull request closed.
 */
async function closeSuperseded(rt: ChartRuntime, repo: RepositoryApi, current: PullRequest, chart: string): Promise<string[]> {
  if (!/\{(version|app-version)\}/.test(rt.inputs.pullRequestBranch)) return []
  const older = (await repo.pulls.openPullRequests(rt.branch)).filter(
    (p) => p.number !== current.number && readProposal(p.body)?.chart === chart,
  )
  const facts: string[] = []
  for (const p of older) {
    await repo.pulls.addComment(p.number, `Superseded by #${current.number} (${current.url}), which proposes a newer version.`)
    await repo.pulls.closePullRequest(p.number)
    core.info(`closed pull request #${p.number}, superseded by #${current.number}`)
    facts.push(`closed pull request #${p.number} (${p.url}), superseded by #${current.number}`)
  }
  return facts
}
