import * as core from '@actions/core'
import { mkdtemp, readFile, realpath, writeFile } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative } from 'node:path'
import { parseChart, setChartVersions, type ChartMetadata } from './chart/chart-file.js'
import { Helm } from './chart/helm.js'
import { ActionError, ChartError } from './errors.js'
import { Git } from './git.js'
import type { Inputs } from './inputs.js'
import { decideUpdate, describeStep, firstFreeVersion, formatTemplate, planRelease, type CommitRef, type Plan, type ReleaseState } from './plan.js'
import type { RunReport } from './report.js'
import { chartVersionToTag, formatReference, parseOciRepository, ReferenceError } from './upstream/reference.js'
import { RegistryClient } from './upstream/registry.js'
import { selectVersion, type Selection } from './versions.js'

/**
 * The release pipeline: watch → update → tag → package + push. Observation reads the upstream
 * registry, the git remote and the chart registry; {@link planRelease} turns that into steps; the
 * steps are applied in order, each idempotent. A rejected branch push (someone pushed meanwhile)
 * re-observes and re-plans, at most {@link MAX_ATTEMPTS} times.
 */

/** Attempts at observe → plan → commit → push before a run gives up on a busy branch. */
export const MAX_ATTEMPTS = 4

interface Observation {
  base: string
  chartText: string
  chart: ChartMetadata
  plan: Plan
  release: ReleaseState
}

/** Runs the pipeline mode and fills `report`. @throws ActionError (and subclasses) with a message for the user. */
export async function runPipeline(inputs: Inputs, report: RunReport): Promise<void> {
  const image = inputs.image!
  report.image = formatReference(image)

  const selection = await core.group('Watch: upstream tags', async () => {
    const client = new RegistryClient(image, { plainHttp: inputs.plainHttp })
    const tags = await client.listTags()
    const sel = selectVersion(tags, { includePrereleases: inputs.includePrereleases, range: inputs.versionRange })
    core.info(`${report.image}: ${sel.total} tags, ${sel.semver} semver, ${sel.allowed} allowed (prereleases ${inputs.includePrereleases ? 'included' : 'excluded'}, range '${inputs.versionRange}')`)
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
        `${inputs.includePrereleases ? '' : 'stable versions in '}range '${inputs.versionRange}'. Check image, version-range and include-prereleases`,
    )
  }

  const git = new Git(inputs.workspace)
  await git.assertRepository()
  const top = await git.topLevel()
  // git reports the top level as a real path; the workspace may be reached through a symlink
  // (self-hosted runners, macOS /var → /private/var), so compare real paths.
  const chartRel = relative(await realpath(top), await realPathOf(inputs.chartDir)) || '.'
  if (chartRel.startsWith('..') || isAbsolute(chartRel)) throw new ActionError(`chart-path '${inputs.chartPath}' is outside the repository at ${top}`)
  const chartFile = `${chartRel}/Chart.yaml`
  const branch = await resolveBranch(inputs, git)
  const chartRegistry = new Map<string, RegistryClient>()
  const helm = new Helm(inputs.tempDir)

  let observation: Observation | undefined
  for (let attempt = 1; ; attempt++) {
    observation = await core.group(`Observe and plan${attempt > 1 ? ` (attempt ${attempt})` : ''}`, () =>
      observe(inputs, git, branch, chartFile, selection, chartRegistry, report),
    )
    report.steps = observation.plan.steps
    for (const step of observation.plan.steps) core.info(`${inputs.dryRun ? 'would' : 'will'}: ${describeStep(step)}`)
    if (observation.plan.steps.length === 0) core.info('nothing to do: the chart, the tag and the published chart are up to date')
    if (inputs.dryRun) break
    if (observation.plan.steps[0]?.kind !== 'update') break
    const pushed = await core.group('Update: commit and push', () => applyUpdate(inputs, git, helm, branch, top, chartFile, observation!))
    if (pushed) break
    if (attempt >= MAX_ATTEMPTS) {
      throw new ActionError(`the push to ${branch} was rejected ${attempt} times because the branch kept moving; the next run will try again`)
    }
    core.info(`${branch} moved while this run was pushing; re-planning from the new tip`)
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
  if (inputs.dryRun) return

  const newCommit = report.updated ? await git.revParse('HEAD') : undefined
  if (newCommit) report.commit = newCommit
  const resolve = (c: CommitRef) => (c === 'new' ? newCommit! : c)

  for (const step of plan.steps) {
    if (step.kind === 'tag') {
      await core.group(`Tag: ${step.tag}`, async () => {
        const commit = resolve(step.commit)
        const message = `${chart.name} ${release.version} (appVersion ${release.appVersion})`
        const res = await git.createAndPushTag(step.tag, commit, message)
        if (res.ok) {
          core.info(`pushed tag ${step.tag} at ${commit.slice(0, 12)}`)
          return
        }
        const now = (await git.remoteTags()).get(step.tag)
        if (now === commit) core.info(`tag ${step.tag} was pushed meanwhile by another run, at the same commit`)
        else if (now) {
          const w = `tag ${step.tag} appeared on the remote at ${now.slice(0, 12)} (not ${commit.slice(0, 12)}) while this run was tagging; it is left as it is`
          core.warning(w)
          report.warnings.push(w)
        } else throw new ActionError(`pushing tag ${step.tag} failed:\n${res.stderr}`)
      })
    }
    if (step.kind === 'publish') {
      const lintFirst = plan.steps.some((s) => s.kind === 'lint' && s.source !== 'new')
      await core.group(`Package and push: ${step.chartRef}`, () => publish(inputs, git, helm, top, chartRel, resolve(step.source), lintFirst, release, chartRegistry, report))
    }
  }
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

async function resolveBranch(inputs: Inputs, git: Git): Promise<string> {
  if (inputs.branch) return inputs.branch
  const ref = process.env.GITHUB_REF ?? ''
  if (ref.startsWith('refs/heads/')) return ref.slice('refs/heads/'.length)
  const current = await git.currentBranch()
  if (current) return current
  throw new ActionError(`cannot tell which branch to commit to (the workflow runs on '${ref || 'a detached HEAD'}'): set the branch input`)
}

function chartClient(inputs: Inputs, name: string, cache: Map<string, RegistryClient>): RegistryClient {
  let client = cache.get(name)
  if (!client) {
    let repo
    try {
      repo = parseOciRepository(`${inputs.ociRepo.url}/${name}`)
    } catch (error) {
      if (error instanceof ReferenceError) throw new ChartError(`chart name '${name}' cannot be an OCI repository name: ${error.message}`)
      throw error
    }
    client = new RegistryClient(repo, { plainHttp: inputs.plainHttp, credentials: inputs.registryCredentials })
    cache.set(name, client)
  }
  return client
}

async function observe(
  inputs: Inputs,
  git: Git,
  branch: string,
  chartFile: string,
  selection: Selection,
  chartRegistry: Map<string, RegistryClient>,
  report: RunReport,
): Promise<Observation> {
  const remoteTip = await git.fetchBranch(branch)
  const head = await git.revParse('HEAD')
  let base: string
  if (head === remoteTip || (await git.isAncestor(head, remoteTip))) base = remoteTip
  else if (await git.isAncestor(remoteTip, head)) {
    base = head
    core.info(`HEAD is ${head.slice(0, 12)}, ahead of origin/${branch}: its commits are pushed with the update`)
  } else {
    throw new ActionError(`the checked-out HEAD (${head.slice(0, 12)}) and origin/${branch} (${remoteTip.slice(0, 12)}) have diverged; check out ${branch} before this step`)
  }
  // Pushes name the commit explicitly, so the checkout only has to move when HEAD is behind.
  if (!inputs.dryRun && head !== base) await git.checkoutAt(branch, base)
  core.info(`origin/${branch} is at ${remoteTip.slice(0, 12)}; planning from ${base.slice(0, 12)}`)

  const chartText = await git.show(base, chartFile)
  if (chartText === undefined) {
    throw new ChartError(`${chartFile} not found at ${branch} (${base.slice(0, 12)}): set chart-path to the chart directory (the one holding Chart.yaml)`)
  }
  const chart = parseChart(chartText, chartFile)
  core.info(`${chartFile}: name ${chart.name}, version ${chart.version}, appVersion ${chart.appVersion}`)
  const decision = decideUpdate(chart, selection, inputs.bump)
  if (decision.kind === 'ahead') {
    core.notice(`appVersion ${chart.appVersion} is ahead of the newest allowed upstream version ${decision.newest}; the chart is left as it is`)
  }

  const client = chartClient(inputs, chart.name, chartRegistry)
  const remoteTags = await git.remoteTags()
  const values = (version: string, appVersion: string) => ({ version, 'app-version': appVersion, name: chart.name })
  let version = chart.version
  let appVersion = chart.appVersion
  let skipped: string[] = []
  let releaseCommit: CommitRef
  let digest: string | undefined
  let published = false
  if (decision.kind === 'update') {
    appVersion = decision.appVersion
    const free = await firstFreeVersion(decision.version, async (v) => {
      if (remoteTags.has(formatTemplate(inputs.tagFormat, values(v, appVersion)))) return true
      return (await client.headManifest(chartVersionToTag(v))) !== undefined
    })
    version = free.version
    skipped = free.skipped
    for (const v of skipped) {
      const w = `chart version ${v} is already taken (tag or registry) though Chart.yaml is at ${chart.version}; using ${version}`
      core.warning(w)
      report.warnings.push(w)
    }
    releaseCommit = 'new'
  } else {
    const manifest = await client.headManifest(chartVersionToTag(version))
    published = manifest !== undefined
    digest = manifest?.digest
    const tag = formatTemplate(inputs.tagFormat, values(version, appVersion))
    if (!published || !remoteTags.has(tag)) {
      // Recovery path only: find the commit that set this version (needs history on shallow clones).
      if (!inputs.dryRun) await git.unshallow(branch)
      releaseCommit = (await git.lastCommitTouching(base, chartFile, '^version:')) ?? base
    } else {
      releaseCommit = remoteTags.get(tag)!
    }
  }
  const tag = formatTemplate(inputs.tagFormat, values(version, appVersion))
  if (!(await git.isValidTagName(tag))) throw new ActionError(`tag-format gives '${tag}', which is not a valid git tag name`)
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
  if (release.remoteTagCommit && decision.kind !== 'update') report.facts.push(`tag ${tag} exists at ${release.remoteTagCommit.slice(0, 12)}`)
  if (release.published) report.facts.push(`${release.chartRef} is published${digest ? ` (${digest})` : ''}`)
  const plan = planRelease({
    decision,
    release,
    branch,
    commitMessage: formatTemplate(inputs.commitMessage, values(version, appVersion)),
    lint: inputs.lint,
    skippedVersions: skipped,
  })
  return { base, chartText, chart, plan, release }
}

/** Edits Chart.yaml, lints, commits and pushes. Returns false when the push lost a race (re-plan). */
async function applyUpdate(inputs: Inputs, git: Git, helm: Helm, branch: string, top: string, chartFile: string, obs: Observation): Promise<boolean> {
  const step = obs.plan.steps[0]
  if (step.kind !== 'update') return true
  const edited = setChartVersions(obs.chartText, { version: step.to.version, appVersion: step.to.appVersion }, chartFile)
  const path = join(top, chartFile)
  await writeFile(path, edited)
  const commitStep = obs.plan.steps.find((s) => s.kind === 'commit')
  try {
    if (obs.plan.steps.some((s) => s.kind === 'lint' && s.source === 'new')) {
      core.info(await helm.lint(join(top, chartFile, '..')))
    }
  } catch (error) {
    await git.restore([chartFile])
    throw error
  }
  const commit = await git.commit([chartFile], commitStep?.kind === 'commit' ? commitStep.message : 'chore(chart): update appVersion')
  core.info(`committed ${commit.slice(0, 12)}: ${describeStep(step)}`)
  const res = await git.pushBranch(commit, branch)
  if (res.ok) {
    core.info(`pushed ${commit.slice(0, 12)} to ${branch}`)
    return true
  }
  core.info(`push rejected:\n${res.stderr}`)
  const tip = await git.fetchBranch(branch)
  if (tip === obs.base || (await git.isAncestor(tip, obs.base))) {
    await git.checkoutAt(branch, obs.base)
    throw new ActionError(`pushing to ${branch} failed, and the branch has not moved, so it is not a race (check the token's contents: write permission and branch protection):\n${res.stderr}`)
  }
  await git.checkoutAt(branch, tip)
  return false
}

async function publish(
  inputs: Inputs,
  git: Git,
  helm: Helm,
  top: string,
  chartRel: string,
  source: string,
  lintFirst: boolean,
  release: ReleaseState,
  chartRegistry: Map<string, RegistryClient>,
  report: RunReport,
): Promise<void> {
  const client = chartClient(inputs, release.name, chartRegistry)
  const head = await git.revParse('HEAD')
  let worktree: string | undefined
  let chartDir = join(top, chartRel)
  if (source !== head && !(await git.sameTree(source, head, chartRel))) {
    worktree = await mkdtemp(join(inputs.tempDir, 'chart-source-'))
    await git.addWorktree(worktree, source)
    chartDir = join(worktree, chartRel)
    core.info(`packaging the chart as it was at ${source.slice(0, 12)} (the commit that set version ${release.version})`)
  }
  try {
    const onDisk = parseChart(await readFile(join(chartDir, 'Chart.yaml'), 'utf8'), `${chartRel}/Chart.yaml`)
    if (onDisk.version !== release.version) {
      throw new ActionError(`the chart at ${source.slice(0, 12)} has version ${onDisk.version}, expected ${release.version}`)
    }
    if (lintFirst) core.info(await helm.lint(chartDir))
    // Stamped with the release commit's time, so any run packaging this commit makes the same archive.
    const archive = await helm.package(chartDir, await git.commitTime(source))
    core.info(`packaged ${archive}`)
    if (inputs.registryCredentials) await helm.login(inputs.ociRepo.registry, inputs.registryCredentials, inputs.plainHttp)
    // Last look before writing: another run may have pushed this version since we observed.
    const existing = await client.headManifest(chartVersionToTag(release.version))
    if (existing) {
      core.info(`${release.chartRef} was published meanwhile (${existing.digest}); not pushing it again`)
      report.chartDigest = existing.digest
      return
    }
    const digest = await helm.push(archive, inputs.ociRepo.url, inputs.plainHttp)
    report.pushed = true
    report.chartDigest = digest ?? (await client.headManifest(chartVersionToTag(release.version)))?.digest
    core.info(`pushed ${release.chartRef} (${report.chartDigest ?? 'digest unknown'})`)
  } finally {
    if (worktree) await git.removeWorktree(worktree)
  }
}
