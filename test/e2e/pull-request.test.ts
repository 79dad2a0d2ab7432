import { describe, expect, it } from 'vitest'
import { useApiDouble, useRegistry } from '../support/fixtures.js'
import { parse } from 'yaml'
import type { TestRemote } from '../support/git.js'
import { NOISE_TAGS, REGISTRY_PASSWORD, REGISTRY_USER, releaseHistory } from '../support/registry.js'
import type { ActionRun } from '../support/runner.js'
import { explain, linkRemote, REPOSITORY, scenario, visibleLog } from '../support/scenario.js'

/**
 * commit-mode pull-request end to end: the bundled action against a bare git remote, the loopback
 * registry, real helm, and the GitHub API double (pulls, labels, reviewers; every answer checked
 * against GitHub's OpenAPI description).
 */

const BRANCH = 'chart-update/zero-cache'
const SOURCE = 'https://github.com/rocicorp/mono'
const history = releaseHistory()
const tagsUntil = (date: string) => [...history.filter((h) => h.date <= date).map((h) => h.tag), ...NOISE_TAGS]

describe('commit-mode pull-request', () => {
  const parts = useRegistry(async (registry) => {
    // The image names its source repository, as rocicorp/zero's images do (org.opencontainers.image.source).
    await Promise.all(
      ['2026-06-06', '2026-08-14'].map((d) =>
        registry.seedTags(`rocicorp/zero-${d}`, tagsUntil(d), { 'org.opencontainers.image.source': SOURCE }),
      ),
    )
  })
  const apis = useApiDouble()

  /** A fresh remote with the chart at 1.4.2 / 0.26.1, linked to a fresh API double as acme/zero-cache-chart. */
  async function setup() {
    await apis.start()
    const s = scenario(parts.registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
    const rev = linkRemote(apis.api, s.remote)
    const tip = (branch: string) => rev(`refs/heads/${branch}`)
    const run = (date: string, extra: Record<string, string> = {}) =>
      s.run(
        { image: `${parts.registry.host}/rocicorp/zero-${date}`, 'commit-mode': 'pull-request', 'github-token': 'ghs_double', ...extra },
        { context: { actor: REGISTRY_USER, token: REGISTRY_PASSWORD, apiUrl: apis.api.url } },
      )
    const chartAt = (ref: string) =>
      parse(s.remote.git(['show', `${ref}:charts/zero-cache/Chart.yaml`], s.remote.dir)) as { version: string; appVersion: string }
    return { ...s, run, tip, chartAt, pulls: () => apis.api.pulls.get(REPOSITORY)! }
  }

  const ok = (r: ActionRun, remote: TestRemote) => expect(r.exitCode, explain(r, remote)).toBe(0)

  it('opens one pull request, moves it when upstream moves, leaves it alone when nothing changed, releases after the merge', async () => {
    const c = await setup()
    // 1. upstream has 1.6.1: a pull request for 0.26.1 → 1.6.1, chart 1.4.2 → 2.0.0 (breaking: 0.x → 1.x).
    const first = await c.run('2026-06-06', {
      'pull-request-labels': 'dependencies, helm',
      'pull-request-reviewers': 'alice\nacme/platform',
    })
    ok(first, c.remote)
    expect(c.remote.log(), 'main is not pushed to').toHaveLength(1)
    const main = c.tip('main')!
    const head1 = c.tip(BRANCH)
    expect(head1, explain(first, c.remote)).toBeDefined()
    expect(c.remote.git(['rev-parse', `${head1}^`], c.remote.dir).trim(), 'the update is one commit on the tip of main').toBe(main)
    expect(c.chartAt(head1!)).toMatchObject({ version: '2.0.0', appVersion: '1.6.1' })
    // Artifact Hub: the image follows appVersion, and the changes link the upstream releases (the image's source label).
    const annotations = (c.chartAt(head1!) as unknown as { annotations: Record<string, string> }).annotations
    expect(annotations['artifacthub.io/images']).toContain('image: docker.io/rocicorp/zero:1.6.1')
    expect(annotations['artifacthub.io/changes']).toContain(`description: "Update zero-cache to 1.6.1"`)
    expect(annotations['artifacthub.io/changes']).toContain(`url: "${SOURCE}/releases"`)
    expect(c.pulls()).toHaveLength(1)
    const [pr] = c.pulls()
    expect(pr).toMatchObject({ number: 1, state: 'open', head: BRANCH, base: 'main', title: 'chore(chart): update appVersion to 1.6.1' })
    expect(pr.labels).toEqual(['dependencies', 'helm'])
    expect(pr.reviewers).toEqual(['alice'])
    expect(pr.teamReviewers).toEqual(['platform'])
    expect(pr.body).toContain('| `appVersion` | `0.26.1` | `1.6.1` |')
    expect(pr.body).toContain('| chart `version` | `1.4.2` | `2.0.0` |')
    expect(pr.body).toContain('major: the upstream change is breaking')
    expect(pr.body).toContain(`${SOURCE}/releases`)
    expect(pr.body).toContain('tags `v2.0.0` on main')
    expect(first.outputs).toMatchObject({
      updated: 'true',
      'pull-request-number': '1',
      'pull-request-url': `https://github.com/${REPOSITORY}/pull/1`,
    })
    // The chart on main (1.4.2) had no tag and no published chart: this run released it, as any run would.
    expect([...c.remote.tags().keys()]).toEqual(['v1.4.2'])
    expect(await parts.registry.listTags(c.chartRepo)).toEqual(['1.4.2'])
    expect(first.summary).toContain('opened by this run')

    // 2. Nothing new upstream: the branch is not pushed again and the pull request is not edited.
    const writes = () => apis.api.log.filter((l) => l.method !== 'GET').length
    const writesBefore = writes()
    const second = await c.run('2026-06-06', { 'pull-request-labels': 'dependencies, helm' })
    ok(second, c.remote)
    expect(c.tip(BRANCH)).toBe(head1)
    expect(writes(), 'no API write when the pull request is current').toBe(writesBefore)
    expect(second.outputs['pull-request-number']).toBe('1')
    expect(visibleLog(second)).toContain('not pushed again')
    expect(second.summary).toContain('already up to date')

    // 3. Upstream moves to 1.9.0 before the merge: the same pull request moves with it.
    const third = await c.run('2026-08-14')
    ok(third, c.remote)
    const head3 = c.tip(BRANCH)!
    expect(head3).not.toBe(head1)
    expect(c.remote.git(['rev-parse', `${head3}^`], c.remote.dir).trim()).toBe(main)
    expect(c.chartAt(head3)).toMatchObject({ version: '2.0.0', appVersion: '1.9.0' })
    expect(c.pulls()).toHaveLength(1)
    expect(c.pulls()[0]).toMatchObject({ number: 1, state: 'open', title: 'chore(chart): update appVersion to 1.9.0' })
    expect(c.pulls()[0].body).toContain('| `appVersion` | `0.26.1` | `1.9.0` |')
    expect(third.outputs).toMatchObject({ updated: 'true', 'pull-request-number': '1' })

    // 4. Merged (fast-forward, as GitHub's rebase merge of one commit): the next run tags and publishes 2.0.0.
    c.remote.git(['update-ref', 'refs/heads/main', head3], c.remote.dir)
    apis.api.mergePullRequest(REPOSITORY, 1)
    const fourth = await c.run('2026-08-14')
    ok(fourth, c.remote)
    expect(c.remote.tags().get('v2.0.0')).toBe(head3)
    expect((await parts.registry.listTags(c.chartRepo)).sort()).toEqual(['1.4.2', '2.0.0'])
    expect(c.pulls(), 'no new pull request after the merge').toHaveLength(1)
    expect(fourth.outputs).toMatchObject({ updated: 'false', 'chart-version': '2.0.0', pushed: 'true', 'pull-request-number': '' })

    // 5. And then the hourly run has nothing to do.
    const fifth = await c.run('2026-08-14')
    ok(fifth, c.remote)
    expect(fifth.outputs).toMatchObject({ updated: 'false', pushed: 'false', 'pull-request-number': '' })
    expect(c.pulls()).toHaveLength(1)
  })

  it('a pull request closed without merging is not reopened until upstream has a newer version', async () => {
    const c = await setup()
    ok(await c.run('2026-06-06'), c.remote)
    apis.api.closePullRequest(REPOSITORY, 1)
    // Same upstream: held, with a notice; nothing opened, nothing pushed.
    const tip = c.tip(BRANCH)
    const held = await c.run('2026-06-06')
    ok(held, c.remote)
    expect(c.pulls()).toHaveLength(1)
    expect(c.tip(BRANCH)).toBe(tip)
    expect(visibleLog(held)).toMatch(/::notice::pull request #1 .* was closed without merging/)
    expect(held.outputs).toMatchObject({ updated: 'false', 'pull-request-number': '' })
    expect(held.summary).toContain('closed without merging')
    // Upstream moves on: a fresh pull request for the newer version.
    const fresh = await c.run('2026-08-14')
    ok(fresh, c.remote)
    expect(c.pulls()).toHaveLength(2)
    expect(c.pulls()[1]).toMatchObject({ number: 2, state: 'open', title: 'chore(chart): update appVersion to 1.9.0' })
    expect(fresh.outputs).toMatchObject({ updated: 'true', 'pull-request-number': '2' })
  })

  it('dry run shows the pull request it would open and writes nothing', async () => {
    const c = await setup()
    const r = await c.run('2026-06-06', { 'dry-run': 'true' })
    ok(r, c.remote)
    expect(visibleLog(r)).toContain(`would: push the update to ${BRANCH} and open a pull request into main`)
    expect(c.tip(BRANCH)).toBeUndefined()
    expect(c.pulls()).toHaveLength(0)
    expect(apis.api.log.filter((l) => l.method !== 'GET')).toEqual([])
    expect([...c.remote.tags().keys()]).toEqual([])
    expect(await parts.registry.listTags(c.chartRepo)).toEqual([])
    expect(r.outputs).toMatchObject({ updated: 'true', 'pull-request-number': '' })
  })

  it('a repository that does not let workflows open pull requests: the error names the setting; the next run opens it', async () => {
    const c = await setup()
    apis.api.refuseWorkflowPullRequests = true
    const refused = await c.run('2026-06-06')
    expect(refused.exitCode, explain(refused, c.remote)).toBe(1)
    expect(visibleLog(refused)).toContain('Allow GitHub Actions to create and approve pull requests')
    const pushed = c.tip(BRANCH)
    expect(pushed).toBeDefined()
    apis.api.refuseWorkflowPullRequests = false
    const next = await c.run('2026-06-06')
    ok(next, c.remote)
    expect(c.tip(BRANCH), 'the branch already held the update').toBe(pushed)
    expect(c.pulls()).toHaveLength(1)
    expect(next.outputs['pull-request-number']).toBe('1')
  })
})
