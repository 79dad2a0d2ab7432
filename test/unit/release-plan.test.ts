import type { AttestationKind } from '../../src/release/sign.js'
import { describe, expect, it } from 'vitest'
import type { PullRequest, Release } from '../../src/github/repo.js'
import { plan, type ChartPlan, type Step } from '../../src/release/plan.js'
import { proposalMarker } from '../../src/release/pull-request.js'
import type { ReleaseConfig, Snapshot } from '../../src/release/snapshot.js'
import { selectVersion } from '../../src/versions.js'

/**
 * plan() over the state space of one chart's release, in milliseconds: every combination of the
 * remote's state (tag present or absent, chart version published or not), Chart.yaml against
 * upstream (behind, equal, ahead), the pull request's state (none, open, merged, closed unmerged,
 * a branch with a person's commit), the commit mode and dry run; each plan checked against the
 * invariants, and a table of expected plans for the cases that matter.
 */

const BASE = 'b'.repeat(40)
const SETTER = 's'.repeat(40)
const OTHER = 'o'.repeat(40)
const CHART_FILE = 'charts/zero-cache/Chart.yaml'

const config = (over: Partial<ReleaseConfig> = {}): ReleaseConfig => ({
  dryRun: false,
  bump: 'auto',
  tagFormat: 'v{version}',
  commitMessage: 'chore(chart): update appVersion to {app-version}',
  commitMode: 'push',
  pullRequestBranch: 'chart-update/{name}',
  lint: 'default',
  ociRepo: 'oci://ghcr.io/acme/charts',
  githubRelease: false,
  artifacthubRepo: false,
  dispatchWorkflow: '',
  sign: false,
  ...over,
})

const pull = (over: Partial<PullRequest>): PullRequest => ({
  number: 7,
  url: 'https://github.com/acme/charts/pull/7',
  state: 'open',
  merged: false,
  title: 't',
  body: proposalMarker({ chart: 'zero-cache', appVersion: '1.9.0', version: '2.0.0' }),
  head: 'chart-update/zero-cache',
  headSha: 'c'.repeat(40),
  labels: [],
  requestedReviewers: [],
  requestedTeams: [],
  ...over,
})

type PrState = 'none' | 'open' | 'merged' | 'closed-unmerged' | 'foreign'

/** A snapshot of chart 1.4.2 at `appVersion`, upstream at `upstream`. */
function snapshot(s: {
  appVersion: string
  upstream: string
  tag: boolean
  published: boolean
  pr?: PrState
  release?: Release
  record?: boolean
  /** sign: the bundles the published version's referrers hold (undefined: not observed). */
  signed?: AttestationKind[]
}): Snapshot {
  const tags = new Map<string, string>(s.tag ? [['v1.4.2', SETTER]] : [])
  const registry = new Map<string, string | null>([
    ['1.4.2', s.published ? `sha256:${'1'.repeat(64)}` : null],
    ['2.0.0', null],
    ['1.4.3', null],
  ])
  const pulls =
    s.pr === 'open' || s.pr === 'foreign'
      ? [pull({})]
      : s.pr === 'merged'
        ? [pull({ state: 'closed', merged: true })]
        : s.pr === 'closed-unmerged'
          ? [pull({ state: 'closed' })]
          : []
  return {
    branch: 'main',
    base: BASE,
    chartFile: CHART_FILE,
    chartRel: 'charts/zero-cache',
    chartText: `name: zero-cache\nversion: 1.4.2\nappVersion: "${s.appVersion}"\n`,
    chart: { name: 'zero-cache', version: '1.4.2', appVersion: s.appVersion },
    image: 'docker.io/rocicorp/zero',
    selection: selectVersion(
      ['0.26.1', '1.8.0', '1.9.0'].filter((t) => t <= s.upstream),
      { includePrereleases: false, range: '*' },
    ),
    tags,
    registry,
    versionCommit: SETTER,
    githubRelease: { release: s.release, drafts: [] },
    signing: s.signed && s.published ? { digest: `sha256:${'1'.repeat(64)}`, found: s.signed } : undefined,
    dispatchRecord:
      s.record === undefined ? undefined : s.record ? { state: 'success', context: 'zero-cache-chart/dispatch', description: 'x' } : null,
    pullRequest: s.pr && {
      branch: 'chart-update/zero-cache',
      pulls,
      tip: s.pr === 'none' ? undefined : 'c'.repeat(40),
      foreign: s.pr === 'foreign' ? 'cccccccccccc by maintainer@example.com: fix-up' : undefined,
      comments: s.pr === 'foreign' ? [] : undefined,
    },
  }
}

const kinds = (p: ChartPlan) => p.steps.map((s) => s.kind)

/** The invariants every plan keeps, whatever the state. */
function checkInvariants(snap: Snapshot, cfg: ReleaseConfig, p: ChartPlan): void {
  const find = <K extends Step['kind']>(kind: K) => p.steps.filter((s): s is Extract<Step, { kind: K }> => s.kind === kind)
  for (const publish of find('publish')) {
    expect(snap.registry.get(publish.version) ?? null, 'never re-push a version the registry has').toBeNull()
  }
  for (const tag of find('tag')) expect(snap.tags.has(tag.tag), 'never move (or re-push) a tag').toBe(false)
  if (find('update').length) {
    expect(snap.selection.selected?.tag, 'an update only follows a newer upstream version').not.toBe(snap.chart.appVersion)
  }
  if (cfg.commitMode === 'pull-request') expect(find('commit'), 'pull-request mode never commits to the branch').toEqual([])
  if (snap.pullRequest?.foreign) expect(find('pull-request'), 'a person’s branch is never pushed to').toEqual([])
  if (find('pull-request').length) expect(find('update'), 'a pull request carries its update').toHaveLength(1)
  const releasing = find('tag').length + find('publish').length + find('github-release').filter((s) => !s.existing).length
  if (find('dispatch').length && !releasing) expect(snap.dispatchRecord, 'a dispatch without a release only when never recorded').toBeNull()
  expect(new Set(p.steps.map((s) => JSON.stringify(s))).size, 'no step twice').toBe(p.steps.length)
  for (const sign of find('sign')) {
    expect(cfg.sign, 'signs only with sign on').toBe(true)
    expect(find('publish').length > 0 || p.release.published, 'signs only a version that is or will be published').toBe(true)
    const published = find('publish').length === 0
    if (published) for (const kind of sign.missing) expect(snap.signing?.found ?? [], 'never a second bundle of a kind').not.toContain(kind)
    expect(p.steps.indexOf(sign), 'signs after publishing').toBeGreaterThan(p.steps.findIndex((s) => s.kind === 'publish'))
  }
  if (cfg.sign && p.release.published && !snap.signing) expect(find('sign'), 'no signing without having looked').toEqual([])
}

describe('plan(): the state space', () => {
  const appVersions = { behind: '0.26.1', equal: '1.9.0', ahead: '2.0.0' } as const
  const cases: [string, Snapshot, ReleaseConfig][] = []
  for (const [position, appVersion] of Object.entries(appVersions))
    for (const tag of [false, true])
      for (const published of [false, true])
        for (const pr of ['none', 'open', 'merged', 'closed-unmerged', 'foreign'] as const)
          for (const commitMode of ['push', 'pull-request'] as const)
            for (const dryRun of [false, true])
              for (const extras of [false, true]) {
                const cfg = config({
                  commitMode,
                  dryRun,
                  ...(extras ? { githubRelease: true, dispatchWorkflow: 'deploy.yml', sign: true } : {}),
                })
                const snap = snapshot({
                  appVersion,
                  upstream: '1.9.0',
                  tag,
                  published,
                  pr: commitMode === 'pull-request' ? pr : undefined,
                  record: extras ? false : undefined,
                  signed: extras ? (tag ? ['signature'] : []) : undefined,
                })
                cases.push([
                  `${position}, tag ${tag}, published ${published}, pr ${pr}, ${commitMode}, dry ${dryRun}, extras ${extras}`,
                  snap,
                  cfg,
                ])
              }

  it(`keeps the invariants in all ${cases.length} states`, () => {
    for (const [name, snap, cfg] of cases) {
      let p: ChartPlan
      try {
        p = plan(snap, cfg)
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}`, { cause: error })
      }
      try {
        checkInvariants(snap, cfg, p)
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}\nsteps: ${JSON.stringify(kinds(p))}`, { cause: error })
      }
    }
  })

  it('is pure: the same snapshot gives the same plan, and the snapshot is not changed', () => {
    for (const [, snap, cfg] of cases.slice(0, 40)) {
      const before = JSON.stringify([...snap.registry], null, 0) + JSON.stringify([...snap.tags])
      expect(plan(snap, cfg)).toEqual(plan(snap, cfg))
      expect(JSON.stringify([...snap.registry], null, 0) + JSON.stringify([...snap.tags])).toBe(before)
    }
  })
})

describe('plan(): the plans that matter', () => {
  it.each<[string, Parameters<typeof snapshot>[0], Partial<ReleaseConfig>, string[]]>([
    [
      'upstream newer, push: update, lint, commit, tag, publish',
      { appVersion: '0.26.1', upstream: '1.9.0', tag: true, published: true },
      {},
      ['update', 'lint', 'commit', 'tag', 'publish'],
    ],
    ['all in place: nothing', { appVersion: '1.9.0', upstream: '1.9.0', tag: true, published: true }, {}, []],
    ['tag missing: tag only', { appVersion: '1.9.0', upstream: '1.9.0', tag: false, published: true }, {}, ['tag']],
    ['chart missing: lint and publish', { appVersion: '1.9.0', upstream: '1.9.0', tag: true, published: false }, {}, ['lint', 'publish']],
    ['ahead of upstream: nothing, with a notice', { appVersion: '2.0.0', upstream: '1.9.0', tag: true, published: true }, {}, []],
    [
      'pull-request mode, none open: propose',
      { appVersion: '0.26.1', upstream: '1.9.0', tag: true, published: true, pr: 'none' },
      { commitMode: 'pull-request' },
      ['update', 'lint', 'pull-request'],
    ],
    [
      'pull-request mode, closed unmerged: held',
      { appVersion: '0.26.1', upstream: '1.9.0', tag: true, published: true, pr: 'closed-unmerged' },
      { commitMode: 'pull-request' },
      [],
    ],
    [
      'pull-request mode, a person’s branch: one comment',
      { appVersion: '0.26.1', upstream: '1.9.0', tag: true, published: true, pr: 'foreign' },
      { commitMode: 'pull-request' },
      ['pull-request-comment'],
    ],
    [
      'release complete but never dispatched: dispatch, once',
      { appVersion: '1.9.0', upstream: '1.9.0', tag: true, published: true, record: false },
      { dispatchWorkflow: 'deploy.yml' },
      ['dispatch'],
    ],
    [
      'dispatch recorded: nothing',
      { appVersion: '1.9.0', upstream: '1.9.0', tag: true, published: true, record: true },
      { dispatchWorkflow: 'deploy.yml' },
      [],
    ],
    [
      'no Release: create it, then dispatch',
      { appVersion: '1.9.0', upstream: '1.9.0', tag: true, published: true, record: false },
      { githubRelease: true, dispatchWorkflow: 'deploy.yml' },
      ['github-release', 'dispatch'],
    ],
    [
      'sign, a version published unsigned: sign it',
      { appVersion: '1.9.0', upstream: '1.9.0', tag: true, published: true, signed: [] },
      { sign: true },
      ['sign'],
    ],
    [
      'sign, signed and attested: nothing',
      { appVersion: '1.9.0', upstream: '1.9.0', tag: true, published: true, signed: ['signature', 'provenance'] },
      { sign: true },
      [],
    ],
    [
      'sign, an update: publish, then sign',
      { appVersion: '0.26.1', upstream: '1.9.0', tag: true, published: true, signed: ['signature', 'provenance'] },
      { sign: true },
      ['update', 'lint', 'commit', 'tag', 'publish', 'sign'],
    ],
  ])('%s', (_name, state, over, expected) => {
    const p = plan(snapshot(state), config(over))
    expect(kinds(p)).toEqual(expected)
  })

  it('sign completes what is missing: the provenance alone when the signature is there', () => {
    const p = plan(
      snapshot({ appVersion: '1.9.0', upstream: '1.9.0', tag: true, published: true, signed: ['signature'] }),
      config({ sign: true }),
    )
    expect(p.steps).toEqual([
      { kind: 'sign', chartRef: 'oci://ghcr.io/acme/charts/zero-cache:1.4.2', version: '1.4.2', missing: ['provenance'] },
    ])
  })

  it('a published version tagged under an earlier format is released under that tag', () => {
    const snap = snapshot({ appVersion: '1.9.0', upstream: '1.9.0', tag: true, published: true })
    const p = plan(snap, config({ tagFormat: '{name}-{version}' }))
    expect([p.release.tag, kinds(p)]).toEqual(['v1.4.2', []])
  })

  it('a tag that exists is never moved or pushed again', () => {
    const snap = {
      ...snapshot({ appVersion: '1.9.0', upstream: '1.9.0', tag: false, published: true }),
      tags: new Map([['v1.4.2', OTHER]]),
    }
    const p = plan(snap, config())
    expect(kinds(p)).toEqual([])
  })

  it('skips chart versions a tag or the registry holds', () => {
    const snap = snapshot({ appVersion: '0.26.1', upstream: '1.9.0', tag: true, published: true })
    const p = plan({ ...snap, registry: new Map([...snap.registry, ['2.0.0', 'sha256:x'], ['2.0.1', null]]) }, config())
    expect(p.release.version).toBe('2.0.1')
    expect(p.warnings[0]).toContain('chart version 2.0.0 is already taken')
  })
})
