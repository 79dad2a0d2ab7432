import semver from 'semver'
import type { PullRequest } from '../github/repo.js'
import type { Step } from './plan.js'

/**
 * Pull-request mode, the pure part: what a pull request proposes (a marker in its body), whether to
 * open, update or hold one, and its text. The I/O is in observe.ts and apply.ts (release/) and github/repo.ts.
 */

/** What a pull request of this action proposes, as its body's marker records it. */
export interface Proposal {
  chart: string
  appVersion: string
  version: string
}

const MARKER = /<!-- zero-cache-chart (\{[^\n]*?\}) -->/

/** The marker line put at the end of every pull request body: an HTML comment GitHub does not show. */
export function proposalMarker(p: Proposal): string {
  return `<!-- zero-cache-chart ${JSON.stringify({ chart: p.chart, appVersion: p.appVersion, version: p.version })} -->`
}

/** The proposal a pull request body records, or undefined when it has no (valid) marker: a pull request opened by hand. */
export function readProposal(body: string): Proposal | undefined {
  const m = MARKER.exec(body)
  if (!m) return undefined
  try {
    const p = JSON.parse(m[1]) as Partial<Proposal>
    if (typeof p.chart === 'string' && typeof p.appVersion === 'string' && typeof p.version === 'string') {
      return { chart: p.chart, appVersion: p.appVersion, version: p.version }
    }
  } catch {
    // not our marker
  }
  return undefined
}

/** What to do about the pull request for an update. */
export type PullRequestDecision =
  | { kind: 'open' }
  | { kind: 'update'; pullRequest: PullRequest }
  /** A pull request proposing this appVersion (or a newer one) was closed without merging: wait for a newer upstream version. */
  | { kind: 'hold'; closed: PullRequest; proposal: Proposal }

/**
 * Decides from the head branch's pull requests (newest first): update the open one; otherwise hold
 * when the newest closed one was closed unmerged while proposing `appVersion` or newer for this
 * chart (someone decided against it: do not reopen it every hour); otherwise open one. A merged
 * pull request never holds: its change is on the base branch.
 */
export function decidePullRequest(pulls: PullRequest[], chart: string, appVersion: string): PullRequestDecision {
  const open = pulls.find((p) => p.state === 'open')
  if (open) return { kind: 'update', pullRequest: open }
  const closed = pulls.find((p) => p.state === 'closed')
  if (closed && !closed.merged) {
    const proposal = readProposal(closed.body)
    const newer = proposal && semver.valid(proposal.appVersion.replace(/^v/, '')) && semver.valid(appVersion.replace(/^v/, ''))
    if (proposal && proposal.chart === chart && newer && semver.gte(proposal.appVersion.replace(/^v/, ''), appVersion.replace(/^v/, ''))) {
      return { kind: 'hold', closed, proposal }
    }
  }
  return { kind: 'open' }
}

/** What the body describes. */
export interface PullRequestText {
  chart: string
  image: string
  update: Extract<Step, { kind: 'update' }>
  /** `https://github.com/OWNER/REPO/releases/tag/<appVersion>`, when the image names its source repository. */
  releaseNotes?: string
  /** The release tag and OCI reference that the merge will lead to. */
  tag: string
  chartRef: string
  base: string
}

/**
 * The pull request's body (Markdown): the version changes and why, the upstream image and its
 * release notes, what happens after the merge, and the {@link proposalMarker}.
 */
export function pullRequestBody(t: PullRequestText): string {
  const u = t.update
  const why = u.breaking
    ? `${u.releaseType}: the upstream change is breaking (SemVer major, or a 0.x minor)`
    : `${u.releaseType}: the upstream change is not breaking`
  const skipped = u.skippedVersions.length ? ` (versions ${u.skippedVersions.join(', ')} are taken by tags or the registry)` : ''
  return [
    `Updates the chart **${t.chart}** to the newest allowed version of \`${t.image}\`.`,
    '',
    '| | before | after |',
    '| --- | --- | --- |',
    `| \`appVersion\` | \`${u.from.appVersion}\` | \`${u.to.appVersion}\` |`,
    `| chart \`version\` | \`${u.from.version}\` | \`${u.to.version}\` |`,
    '',
    `Chart version bump: ${why}${skipped}.`,
    ...(t.releaseNotes ? ['', `Upstream release notes: ${t.releaseNotes}`] : []),
    '',
    `After the merge, the next run of the workflow tags \`${t.tag}\` on ${t.base} and publishes \`${t.chartRef}\`. ` +
      'When upstream moves again before the merge, this pull request is updated in place.',
    '',
    proposalMarker({ chart: t.chart, appVersion: u.to.appVersion, version: u.to.version }),
  ].join('\n')
}

/** Marks the comment that says why the action leaves a pull request's branch alone (posted once). */
export const LEFT_ALONE_MARKER = '<!-- zero-cache-chart: left-alone -->'

/** The comment posted once on a pull request whose branch holds commits the action did not make. */
export function leftAloneComment(branch: string, foreign: string): string {
  return (
    `This branch holds commits that zero-cache-chart did not make (${foreign}), so the action leaves it as it is: it will not ` +
    `push to \`${branch}\` or rebase it while they are there. Merge or close this pull request as you see fit; delete the branch ` +
    `(or remove those commits) to let the action propose updates here again.\n\n${LEFT_ALONE_MARKER}`
  )
}
