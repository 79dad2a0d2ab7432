import * as core from '@actions/core'
import { readChart } from '../chart/chart-file.js'
import { ActionError, RegistryError } from '../errors.js'
import type { Inputs } from '../inputs.js'
import type { PruneReport, RunReport } from '../report.js'
import { parseOciRepository } from '../oci/reference.js'
import { isIndexMediaType, RegistryClient } from '../oci/registry.js'
import {
  classify,
  cutoffFor,
  dependenciesOf,
  needsScan,
  onlyReferrersTags,
  packageName,
  type PackageVersion,
  type PrunePolicy,
  type TagState,
} from './prune-select.js'

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

/**
 * Prunes (or, in cleanup-all, empties) the chart's package: checks that prune applies and is
 * confirmed, loads the Packages client, then walks the versions ({@link PruneRun}).
 *
 * @throws ActionError for cleanup-all without the package's name in `confirm`, a missing token
 *   (in a real run), or an API failure that is not a rate-limit stop.
 */
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
  const api = await import('./packages.js')
  const client = new api.PackagesClient({
    token: inputs.githubToken,
    baseUrl: inputs.githubApiUrl,
    owner: target.owner,
    packageName: target.name,
    timeScale: inputs.timeScale,
  })
  const walk = new PruneRun(inputs, chartName, mode, counts, client, api)
  await walk.run()
  const stopped = walk.report()
  if (stopped) report.warnings.push(stopped)
}

type PackagesModule = typeof import('./packages.js')

/**
 * One walk over a package's versions, oldest first: classify each version (pure: `classify`),
 * delete the candidates one at a time, stop at the age cutoff or when the budget runs low, and
 * count everything for the report.
 */
class PruneRun {
  private readonly policy: PrunePolicy
  private scanned: boolean
  private readonly deletedAt: Date[] = []
  private readonly seen = new Set<number>()
  private stopped?: string
  private pagesLeft = 0
  /** Listed candidates of the current page not deleted yet: what a stop leaves for later. */
  private pending = 0
  /** cleanup-all: the version GitHub refused as the last tagged one, deleted with the package at the end. */
  private deferred?: PackageVersion
  private deferredSettled = false
  private registry?: RegistryClient

  constructor(
    private readonly inputs: Inputs,
    private readonly chartName: string,
    private readonly mode: 'prune' | 'cleanup-all',
    private readonly counts: PruneReport,
    private readonly client: InstanceType<PackagesModule['PackagesClient']>,
    private readonly api: PackagesModule,
  ) {
    this.policy = { mode, cutoff: cutoffFor(inputs.maxAgeDays), protectedDigests: new Set() }
    this.scanned = mode === 'cleanup-all'
  }

  /**
   * An untagged candidate that is a referrer of a live version, on a registry that keeps referrers
   * itself (the referrers API) rather than in a referrers tag: its manifest's `subject` is live.
   * One registry GET per untagged candidate (not the GitHub API budget); none in cleanup-all.
   */
  private async refersToLive(version: PackageVersion): Promise<boolean> {
    if (this.mode === 'cleanup-all' || version.tags.length > 0 || !this.policy.live?.size) return false
    this.registry ??= registryClient(this.inputs, this.chartName)
    let subject: string | undefined
    try {
      subject = (await this.registry.getManifest(version.digest))?.manifest.subject?.digest
    } catch (error) {
      throw new ActionError(
        `prune stopped: cannot read ${version.digest} to see whether it signs a live version: ${(error as Error).message}`,
      )
    }
    if (!subject || !this.policy.live.has(subject)) return false
    core.info(`${version.digest}: a referrer of live ${subject}, kept`)
    return true
  }

  private lowBudget(): boolean {
    return this.client.remaining !== undefined && this.client.remaining <= RESERVE
  }

  /** Walks from the last page (the oldest versions) backwards; a rate-limit stop ends the walk, not the run. */
  async run(): Promise<void> {
    const cutoff = this.policy.cutoff.toISOString()
    core.info(
      `${this.mode === 'cleanup-all' ? 'deleting every version' : `deleting untagged versions created before ${cutoff}`} ` +
        `of ${this.client.label}${this.inputs.dryRun ? ' (dry run: nothing is deleted)' : ''}`,
    )
    try {
      const first = await this.client.listPage(1)
      for (let page = first.lastPage; page >= 1; page--) {
        this.pagesLeft = page
        if (this.lowBudget()) {
          this.stopped = this.budgetStop()
          break
        }
        const { versions } = page === 1 ? first : await this.client.listPage(page)
        const { candidates, reachedCutoff } = await this.classifyPage(versions)
        this.pagesLeft = page - 1
        if (!(await this.deleteAll(candidates))) break
        if (reachedCutoff) {
          this.pagesLeft = 0
          break
        }
      }
      await this.settleDeferred()
    } catch (error) {
      if (!(error instanceof this.api.RateLimitStop)) throw error
      this.stopped = `Stopped because ${error.message}`
    }
    if (this.stopped) this.counts.leftForLater = this.pending + (this.deferred && !this.deferredSettled ? 1 : 0)
  }

  /** Sorts a page's versions (oldest first) into kept ones (counted) and deletion candidates. */
  private async classifyPage(versions: PackageVersion[]): Promise<{ candidates: PackageVersion[]; reachedCutoff: boolean }> {
    const candidates: PackageVersion[] = []
    let reachedCutoff = false
    for (const version of [...versions].reverse()) {
      if (this.seen.has(version.id)) continue
      this.seen.add(version.id)
      if (!this.scanned && needsScan(version, this.policy)) {
        Object.assign(this.policy, await scanDependencies(this.inputs, this.chartName))
        this.scanned = true
      }
      const verdict = classify(version, this.policy)
      if (verdict === 'delete' && onlyReferrersTags(version)) {
        core.info(`${version.digest} (${version.tags.join(', ')}): the referrers of a version that is gone, an orphan`)
      }
      if (verdict === 'tagged') this.counts.taggedKept++
      else if (verdict === 'protected' || (verdict === 'delete' && (await this.refersToLive(version)))) this.counts.protectedKept++
      else if (verdict === 'young') {
        this.counts.youngKept++
        reachedCutoff = true
      } else candidates.push(version)
    }
    return { candidates, reachedCutoff }
  }

  /** Deletes the candidates (counts them in a dry run); false when the budget stopped the walk. */
  private async deleteAll(candidates: PackageVersion[]): Promise<boolean> {
    for (const [i, version] of candidates.entries()) {
      this.pending = candidates.length - i
      if (!this.inputs.dryRun) {
        if (this.lowBudget()) {
          this.stopped = this.budgetStop()
          return false
        }
        if (!(await this.deleteOne(version))) continue
      }
      this.counts.deleted++
      this.deletedAt.push(version.createdAt)
    }
    this.pending = 0
    return true
  }

  /**
   * cleanup-all: GitHub refused the last tagged version alone; every other version is gone now, so
   * the package itself goes, and that version with it.
   */
  private async settleDeferred(): Promise<void> {
    if (!this.deferred || this.stopped) return
    try {
      await this.client.deletePackage()
      this.counts.packageDeleted = true
      this.counts.deleted++
      this.deletedAt.push(this.deferred.createdAt)
      core.info(`deleted package ${this.client.label} itself, and version ${this.deferred.id} with it (restorable for 30 days)`)
    } catch (error) {
      if (!(error instanceof this.api.UndeletableError)) throw error
      this.retain(this.deferred, error)
    }
    this.deferredSettled = true
  }

  /** Keeps a version GitHub will not delete, with a notice. */
  private retain(version: PackageVersion, error: Error): void {
    this.counts.retained.push(version.digest)
    core.notice(`${error.message}; kept ${version.digest}${version.tags.length ? ` (${version.tags.join(', ')})` : ''}`)
  }

  /**
   * Deletes one version; false when it is kept (GitHub will not delete it) or, in cleanup-all,
   * deferred (the last tagged version, which goes with the package at the end).
   */
  private async deleteOne(version: PackageVersion): Promise<boolean> {
    try {
      await this.client.deleteVersion(version.id)
      return true
    } catch (error) {
      if (error instanceof this.api.UndeletableError) {
        this.retain(version, error)
        return false
      }
      if (!(error instanceof this.api.LastVersionError)) throw error
      if (this.mode !== 'cleanup-all') {
        this.counts.lastVersionKept = version.digest
        core.notice(`${error.message}; kept it (mode cleanup-all deletes the whole package)`)
        return false
      }
      this.deferred = version
      core.info(`${error.message}; it goes with the package once every other version is deleted`)
      return false
    }
  }

  private budgetStop(): string {
    return `Stopped to stay within the GitHub API budget (x-ratelimit-remaining ${this.client.remaining}, reserve ${RESERVE})`
  }

  /** Logs the counts and fills the report's dates; returns the stop's warning, when the walk stopped early. */
  report(): string | undefined {
    const { counts, client } = this
    if (this.deletedAt.length) {
      const sorted = this.deletedAt.map((d) => d.getTime()).sort((a, b) => a - b)
      counts.oldestDeleted = new Date(sorted[0]).toISOString()
      counts.newestDeleted = new Date(sorted[sorted.length - 1]).toISOString()
    }
    const verb = this.inputs.dryRun ? 'would delete' : 'deleted'
    core.info(
      `${client.label}: ${verb} ${counts.deleted}, kept ${counts.taggedKept} tagged, ${counts.youngKept} young, ${counts.protectedKept} ` +
        `that tagged versions depend on, ` +
        `${counts.retained.length} that GitHub does not delete; ` +
        `${client.stats.requests} API requests, x-ratelimit-remaining ${client.remaining ?? '?'}`,
    )
    if (!this.stopped) return undefined
    counts.stoppedReason =
      `${this.stopped}: ${counts.leftForLater} listed ` +
      `candidates${this.pagesLeft > 0 ? ` and ${this.pagesLeft} unread page(s) of older versions` : ''} are left for the next run.`
    core.warning(counts.stoppedReason)
    return counts.stoppedReason
  }
}

/** A client of the chart's OCI repository, with the chart registry's credentials. */
function registryClient(inputs: Inputs, chartName: string): RegistryClient {
  return new RegistryClient(parseOciRepository(`${inputs.ociRepo.url}/${chartName}`), {
    plainHttp: inputs.plainHttp,
    credentials: inputs.registryCredentials,
  })
}

/**
 * What live versions depend on, read from the registry itself (the Packages API does not say):
 * every tag's manifest, and an index's children ({@link dependenciesOf} decides). A signature or
 * attestation of a live version is kept by its subject's referrers tag, whatever its age; one whose
 * subject is gone is an orphan. Any registry failure stops prune before it deletes anything.
 */
async function scanDependencies(
  inputs: Inputs,
  chartName: string,
): Promise<{ protectedDigests: Set<string>; orphanDigests: Set<string>; live: Set<string> }> {
  const client = registryClient(inputs, chartName)
  const repo = client.ref
  try {
    let tags: string[]
    try {
      tags = await client.listTags()
    } catch (error) {
      if (error instanceof RegistryError && error.status === 404)
        return { protectedDigests: new Set(), orphanDigests: new Set(), live: new Set() }
      throw error
    }
    const states: TagState[] = []
    let next = 0
    const worker = async () => {
      while (next < tags.length) {
        const tag = tags[next++]
        const head = await client.headManifest(tag)
        if (!head?.digest) continue
        const index = isIndexMediaType(head.mediaType) ? await client.getManifest(tag) : undefined
        states.push({ tag, digest: head.digest, children: (index?.manifest.manifests ?? []).map((m) => m.digest) })
      }
    }
    await Promise.all(Array.from({ length: SCAN_CONCURRENCY }, worker))
    const found = dependenciesOf(states)
    core.info(
      `dependency scan of ${repo.registry}/${repo.repository}: ${tags.length} tags, ${found.protectedDigests.size} protected digests, ` +
        `${found.orphanDigests.size} orphaned referrers indexes`,
    )
    return found
  } catch (error) {
    throw new ActionError(
      `prune stopped before deleting anything: cannot read ${repo.registry}/${repo.repository} to find what tagged versions depend on: ` +
        `${(error as Error).message}`,
    )
  }
}
