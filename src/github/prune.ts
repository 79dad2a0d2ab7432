import * as core from '@actions/core'
import { readChart } from '../chart/chart-file.js'
import { ActionError, RegistryError } from '../errors.js'
import type { Inputs } from '../inputs.js'
import type { PruneReport, RunReport } from '../report.js'
import { parseOciRepository } from '../oci/reference.js'
import { isIndexMediaType, RegistryClient } from '../oci/registry.js'
import { classify, cutoffFor, packageName, subjectsFromTags, type PackageVersion, type PrunePolicy } from './prune-select.js'

/**
 * Prune and cleanup-all over the GitHub Packages API.
 *
 * Budget: versions are listed newest first, so the oldest sit on the last pages. The walk reads page
 * 1 (for `rel="last"`), then goes from the last page backwards, deleting the oldest first, and stops
 * at the age cutoff, so a run spends its requests on deletes rather than on listing. Before each
 * request it checks `x-ratelimit-remaining` against {@link RESERVE}; when the budget runs low, or
 * GitHub's rate limits refuse a request anyway (`RateLimitStop`), it stops, reports what is
 * left, and succeeds: the next run continues where this one stopped. DELETEs go one at a time
 * (GitHub asks for serial mutating requests; the client paces them).
 */

/** Requests kept back from the primary budget for the rest of the workflow. */
export const RESERVE = 20
const SCAN_CONCURRENCY = 8

/** Which GitHub Packages package an OCI repository and chart map to, or why prune does not apply. */
export function resolvePackage(inputs: Inputs, chartName: string): { owner: string; name: string } | { skip: string } {
  const host = inputs.ociRepo.registry
  const api = new URL(inputs.githubApiUrl)
  const ghesHost = api.hostname === 'api.github.com' ? undefined : `containers.${api.hostname}`
  const applies =
    inputs.githubPackages === 'true' ||
    (inputs.githubPackages === 'auto' && (host === 'ghcr.io' || (ghesHost !== undefined && host === ghesHost)))
  if (!applies) {
    return {
      skip:
        `${inputs.ociRepo.url} is not on GitHub's container registry (ghcr.io${ghesHost ? ` or ${ghesHost}` : ''}); prune applies ` +
        `only there`,
    }
  }
  return packageName(inputs.ociRepo.repository, chartName)
}

/** Pipeline mode's last stage. */
export async function runPruneStage(inputs: Inputs, report: RunReport): Promise<void> {
  if (!report.chartName) return
  await core.group('Prune: untagged package versions', () => prune(inputs, report, report.chartName!, 'prune'))
}

/** Modes `prune` and `cleanup-all`: the chart name comes from Chart.yaml at chart-path. */
export async function runPruneMode(inputs: Inputs, report: RunReport): Promise<void> {
  const chart = await readChart(inputs.chartDir)
  report.chartName = chart.name
  const mode = inputs.mode === 'cleanup-all' ? 'cleanup-all' : 'prune'
  await core.group(mode === 'cleanup-all' ? 'Cleanup: every package version' : 'Prune: untagged package versions', () =>
    prune(inputs, report, chart.name, mode),
  )
}

async function prune(inputs: Inputs, report: RunReport, chartName: string, mode: 'prune' | 'cleanup-all'): Promise<void> {
  const target = resolvePackage(inputs, chartName)
  const counts: PruneReport = { package: '', deleted: 0, taggedKept: 0, youngKept: 0, protectedKept: 0, leftForLater: 0, retained: [] }
  report.prune = counts
  if ('skip' in target) {
    counts.package = `${inputs.ociRepo.url}/${chartName}`
    counts.skipped = `prune skipped: ${target.skip}`
    core.notice(counts.skipped)
    return
  }
  counts.package = `${target.owner}/${target.name}`
  if (mode === 'cleanup-all' && inputs.confirm !== target.name) {
    throw new ActionError(
      `cleanup-all deletes every version of package '${target.name}' (owner '${target.owner}'), tagged or not; ` +
        `${inputs.confirm ? `confirm '${inputs.confirm}' does not match` : 'confirm is empty'}: set confirm to '${target.name}' to ` +
        `proceed. Nothing was deleted`,
    )
  }
  if (!inputs.githubToken) {
    // A dry run from a laptop has no GitHub token: the rest of the plan still stands.
    if (inputs.dryRun) {
      counts.skipped = 'prune skipped: github-token is empty (a real run needs a token with packages: write)'
      core.notice(counts.skipped)
      return
    }
    throw new ActionError('github-token is empty: prune needs a token with packages: write')
  }
  // The GitHub API client (Octokit and its plugins) is loaded only by a run that talks to GitHub.
  const { LastVersionError, PackagesClient, RateLimitStop, UndeletableError } = await import('./packages.js')
  const client = new PackagesClient({
    token: inputs.githubToken,
    baseUrl: inputs.githubApiUrl,
    owner: target.owner,
    packageName: target.name,
    timeScale: inputs.timeScale,
  })
  const policy: PrunePolicy = { mode, cutoff: cutoffFor(inputs.maxAgeDays), protectedDigests: new Set() }
  let scanned = mode === 'cleanup-all'
  const lowBudget = () => client.remaining !== undefined && client.remaining <= RESERVE
  const deletedAt: Date[] = []
  core.info(
    `${mode === 'cleanup-all' ? 'deleting every version' : `deleting untagged versions created before ${policy.cutoff.toISOString()}`} ` +
      `of ${client.label}${inputs.dryRun ? ' (dry run: nothing is deleted)' : ''}`,
  )

  const seen = new Set<number>()
  let stopped: string | undefined
  let pagesLeft = 0
  /** Listed candidates of the current page not deleted yet: what a stop leaves for later. */
  let pending = 0
  /** cleanup-all: the version GitHub refused as the last tagged one, deleted with the package at the end. */
  let deferred: PackageVersion | undefined
  let deferredSettled = false
  try {
    const first = await client.listPage(1)
    walk: for (let page = first.lastPage; page >= 1; page--) {
      pagesLeft = page
      if (lowBudget()) {
        stopped = budgetStop()
        break
      }
      const { versions } = page === 1 ? first : await client.listPage(page)
      const candidates: PackageVersion[] = []
      let reachedCutoff = false
      for (const version of [...versions].reverse()) {
        if (seen.has(version.id)) continue
        seen.add(version.id)
        let verdict = classify(version, policy)
        if (verdict === 'delete' && !scanned) {
          policy.protectedDigests = await scanDependencies(inputs, chartName)
          scanned = true
          verdict = classify(version, policy)
        }
        if (verdict === 'tagged') counts.taggedKept++
        else if (verdict === 'protected') counts.protectedKept++
        else if (verdict === 'young') {
          counts.youngKept++
          reachedCutoff = true
        } else candidates.push(version)
      }
      pagesLeft = page - 1
      for (const [i, version] of candidates.entries()) {
        pending = candidates.length - i
        if (!inputs.dryRun) {
          if (lowBudget()) {
            stopped = budgetStop()
            break walk
          }
          if (!(await deleteOne(version))) continue
        }
        counts.deleted++
        deletedAt.push(version.createdAt)
      }
      pending = 0
      if (reachedCutoff) {
        pagesLeft = 0
        break
      }
    }
    // cleanup-all: GitHub refused the last tagged version alone; every other version is gone now,
    // so the package itself goes, and that version with it.
    if (deferred && !stopped) {
      try {
        await client.deletePackage()
        counts.packageDeleted = true
        counts.deleted++
        deletedAt.push(deferred.createdAt)
        core.info(`deleted package ${client.label} itself, and version ${deferred.id} with it (restorable for 30 days)`)
      } catch (error) {
        if (!(error instanceof UndeletableError)) throw error
        retain(deferred, error)
      }
      deferredSettled = true
    }
  } catch (error) {
    if (!(error instanceof RateLimitStop)) throw error
    stopped = `Stopped because ${error.message}`
  }
  if (stopped) counts.leftForLater = pending + (deferred && !deferredSettled ? 1 : 0)

  /** Keeps a version GitHub will not delete, with a notice. */
  function retain(version: PackageVersion, error: Error): void {
    counts.retained.push(version.digest)
    core.notice(`${error.message}; kept ${version.digest}${version.tags.length ? ` (${version.tags.join(', ')})` : ''}`)
  }

  /**
   * Deletes one version; false when it is kept (GitHub will not delete it) or, in cleanup-all,
   * deferred (the last tagged version, which goes with the package at the end).
   */
  async function deleteOne(version: PackageVersion): Promise<boolean> {
    try {
      await client.deleteVersion(version.id)
      return true
    } catch (error) {
      if (error instanceof UndeletableError) {
        retain(version, error)
        return false
      }
      if (!(error instanceof LastVersionError)) throw error
      if (mode !== 'cleanup-all') {
        counts.lastVersionKept = version.digest
        core.notice(`${error.message}; kept it (mode cleanup-all deletes the whole package)`)
        return false
      }
      deferred = version
      core.info(`${error.message}; it goes with the package once every other version is deleted`)
      return false
    }
  }

  function budgetStop(): string {
    return `Stopped to stay within the GitHub API budget (x-ratelimit-remaining ${client.remaining}, reserve ${RESERVE})`
  }

  if (deletedAt.length) {
    const sorted = deletedAt.map((d) => d.getTime()).sort((a, b) => a - b)
    counts.oldestDeleted = new Date(sorted[0]).toISOString()
    counts.newestDeleted = new Date(sorted[sorted.length - 1]).toISOString()
  }
  const verb = inputs.dryRun ? 'would delete' : 'deleted'
  core.info(
    `${client.label}: ${verb} ${counts.deleted}, kept ${counts.taggedKept} tagged, ${counts.youngKept} young, ${counts.protectedKept} ` +
      `that tagged versions depend on, ` +
      `${counts.retained.length} that GitHub does not delete; ` +
      `${client.stats.requests} API requests, x-ratelimit-remaining ${client.remaining ?? '?'}`,
  )
  if (stopped) {
    counts.stoppedReason =
      `${stopped}: ${counts.leftForLater} listed ` +
      `candidates${pagesLeft > 0 ? ` and ${pagesLeft} unread page(s) of older versions` : ''} are left for the next run.`
    core.warning(counts.stoppedReason)
    report.warnings.push(counts.stoppedReason)
  }
}

/**
 * Digests that tagged manifests depend on, read from the registry itself (the Packages API does not
 * say): children of tagged image indexes, and subjects named by tag-schema referrer tags
 * (`sha256-<hex>.sig` …). Any registry failure stops prune before it deletes anything.
 */
async function scanDependencies(inputs: Inputs, chartName: string): Promise<Set<string>> {
  const repo = parseOciRepository(`${inputs.ociRepo.url}/${chartName}`)
  const client = new RegistryClient(repo, { plainHttp: inputs.plainHttp, credentials: inputs.registryCredentials })
  try {
    let tags: string[]
    try {
      tags = await client.listTags()
    } catch (error) {
      if (error instanceof RegistryError && error.status === 404) return new Set()
      throw error
    }
    const protectedDigests = subjectsFromTags(tags)
    let next = 0
    const worker = async () => {
      while (next < tags.length) {
        const tag = tags[next++]
        const head = await client.headManifest(tag)
        if (!isIndexMediaType(head?.mediaType)) continue
        const index = await client.getManifest(tag)
        for (const child of index?.manifest.manifests ?? []) protectedDigests.add(child.digest)
      }
    }
    await Promise.all(Array.from({ length: SCAN_CONCURRENCY }, worker))
    core.info(`dependency scan of ${repo.registry}/${repo.repository}: ${tags.length} tags, ${protectedDigests.size} protected digests`)
    return protectedDigests
  } catch (error) {
    throw new ActionError(
      `prune stopped before deleting anything: cannot read ${repo.registry}/${repo.repository} to find what tagged versions depend on: ` +
        `${(error as Error).message}`,
    )
  }
}
