import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { useApiDouble, useRegistry } from '../support/fixtures.js'
import type { TestRemote } from '../support/git.js'
import { NOISE_TAGS, REGISTRY_PASSWORD, REGISTRY_USER, releaseHistory } from '../support/registry.js'
import type { ActionRun } from '../support/runner.js'
import { explain, linkRemote, REPOSITORY, scenario, visibleLog } from '../support/scenario.js'

/**
 * The defects of issue 18 that involve the GitHub API: pull-request branches with a person's
 * commits, older pull requests, reviewers, a lost dispatch, a changed tag format, mentions in
 * Release notes, draft Releases. End to end: the bundled action, a bare git remote, the loopback
 * registry, real helm, and the GitHub API double (every answer checked against GitHub's OpenAPI
 * description). Each test failed on the bundle before the fix.
 */

const BRANCH = 'chart-update/zero-cache'
const history = releaseHistory()
const tagsUntil = (date: string) => [...history.filter((h) => h.date <= date).map((h) => h.tag), ...NOISE_TAGS]
/** Octokit's retry plugin retries a 5xx three times: four answers make a failure final. */
const FINAL_5XX = 4

describe('issue 18: defects found through the GitHub API features', () => {
  const parts = useRegistry(async (registry) => {
    await Promise.all(
      ['2026-06-06', '2026-08-14'].map((d) =>
        registry.seedTags(`rocicorp/zero-${d}`, tagsUntil(d), { 'org.opencontainers.image.source': 'https://github.com/rocicorp/mono' }),
      ),
    )
  })
  const apis = useApiDouble()

  /** A fresh remote with the chart at 1.4.2 / 0.26.1, linked to a fresh API double as acme/zero-cache-chart. */
  async function setup() {
    await apis.start()
    const s = scenario(parts.registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
    const rev = linkRemote(apis.api, s.remote)
    apis.api.addWorkflow(REPOSITORY, 'deploy.yml', ['chart', 'version', 'tag', 'digest'])
    const run = (date: string, extra: Record<string, string> = {}) =>
      s.run(
        { image: `${parts.registry.host}/rocicorp/zero-${date}`, 'github-token': 'ghs_double', ...extra },
        {
          context: { actor: REGISTRY_USER, token: REGISTRY_PASSWORD, apiUrl: apis.api.url },
          env: { ZERO_CACHE_CHART_TIME_SCALE: '1000' },
        },
      )
    const pr = (date: string, extra: Record<string, string> = {}) => run(date, { 'commit-mode': 'pull-request', ...extra })
    /** A person's commit on `branch` (made from `from`), pushed as a maintainer would. */
    const pushAsPerson = (branch: string, files: Record<string, string>, message: string, from = branch) => {
      const dir = mkdtempSync(join(tmpdir(), 'zcc-person-'))
      s.remote.git(['clone', '--quiet', '--branch', from, s.remote.url, dir])
      for (const [file, content] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, file)), { recursive: true })
        writeFileSync(join(dir, file), content)
      }
      const id = ['-c', 'user.name=Maintainer', '-c', 'user.email=maintainer@example.com']
      s.remote.git(['add', '-A'], dir)
      s.remote.git([...id, 'commit', '--quiet', '-m', message], dir)
      s.remote.git(['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`], dir)
      return s.remote.git(['rev-parse', 'HEAD'], dir).trim()
    }
    return {
      ...s,
      run,
      pr,
      rev,
      pushAsPerson,
      pulls: () => apis.api.pulls.get(REPOSITORY)!,
      releases: () => apis.api.releases.get(REPOSITORY)!,
    }
  }
  const ok = (r: ActionRun, remote: TestRemote) => expect(r.exitCode, explain(r, remote)).toBe(0)

  it('item 1: a pull request branch holding a person’s commit is never force-pushed; said once in the pull request', async () => {
    const c = await setup()
    ok(await c.pr('2026-06-06'), c.remote)
    const [pull] = c.pulls()
    // A maintainer adds a fix-up commit to the proposal.
    const fixup = c.pushAsPerson(BRANCH, { 'charts/zero-cache/NOTES.md': 'tested on staging\n' }, 'docs: note the staging test')

    const again = await c.pr('2026-06-06')
    ok(again, c.remote)
    expect(c.rev(`refs/heads/${BRANCH}`), 'the person’s commit is still the tip').toBe(fixup)
    expect(visibleLog(again)).toMatch(
      /::notice::chart-update\/zero-cache holds commits this action did not make \([0-9a-f]{12} by maintainer@/,
    )
    expect(again.summary).toContain('its branch holds commits this action did not make; left as it is')
    expect(again.outputs['pull-request-number']).toBe(String(pull.number))
    expect(pull.comments?.map((x) => x.body)).toEqual([expect.stringContaining('will not push to `chart-update/zero-cache`')])

    // Upstream moves on: still left alone, and the comment is not repeated.
    ok(await c.pr('2026-08-14'), c.remote)
    expect(c.rev(`refs/heads/${BRANCH}`)).toBe(fixup)
    expect(pull.comments).toHaveLength(1)
    expect(c.pulls()).toHaveLength(1)

    // The person deletes the branch (GitHub closes its pull request): the action proposes again.
    c.remote.git(['update-ref', '-d', `refs/heads/${BRANCH}`], c.remote.dir)
    apis.api.closePullRequest(REPOSITORY, pull.number)
    ok(await c.pr('2026-08-14'), c.remote)
    const head = c.rev(`refs/heads/${BRANCH}`)!
    expect(c.remote.git(['log', '-1', '--format=%ae', head], c.remote.dir).trim()).toBe(
      '41898282+github-actions[bot]@users.noreply.github.com',
    )
    expect(c.pulls().filter((p) => p.state === 'open')).toHaveLength(1)
  })

  it('item 1: a branch of that name made by a person, with no pull request, is left as it is', async () => {
    const c = await setup()
    const theirs = c.pushAsPerson(BRANCH, { 'charts/zero-cache/NOTES.md': 'work in progress\n' }, 'wip: my own change', 'main')
    const r = await c.pr('2026-06-06')
    ok(r, c.remote)
    expect(c.rev(`refs/heads/${BRANCH}`)).toBe(theirs)
    expect(c.pulls()).toEqual([])
    expect(visibleLog(r)).toContain('holds commits this action did not make')
  })

  it('item 1 (guard): the action’s own commit alone is still rebuilt on a moved base', async () => {
    const c = await setup()
    ok(await c.pr('2026-06-06'), c.remote)
    const before = c.rev(`refs/heads/${BRANCH}`)
    const main = c.remote.pushChange('README.md', '# charts, moved on\n', 'docs: readme')
    ok(await c.pr('2026-06-06'), c.remote)
    const after = c.rev(`refs/heads/${BRANCH}`)!
    expect(after).not.toBe(before)
    expect(c.remote.git(['rev-parse', `${after}^`], c.remote.dir).trim()).toBe(main)
  })

  it('item 11: a branch with a version placeholder leaves one open pull request; the older is closed, pointing to the new', async () => {
    const c = await setup()
    const branch = { 'pull-request-branch': 'chart-update/{name}-{app-version}' }
    ok(await c.pr('2026-06-06', branch), c.remote)
    ok(await c.pr('2026-08-14', branch), c.remote)
    const [older, newer] = c.pulls()
    expect([older.head, newer.head]).toEqual(['chart-update/zero-cache-1.6.1', 'chart-update/zero-cache-1.9.0'])
    expect([older.state, newer.state]).toEqual(['closed', 'open'])
    expect(older.mergedAt).toBeNull()
    expect(older.comments?.map((x) => x.body)).toEqual([
      `Superseded by #${newer.number} (https://github.com/${REPOSITORY}/pull/${newer.number}), which proposes a newer version.`,
    ])
  })

  it('item 12: reviewers whose request failed after the pull request was opened are requested by the next run', async () => {
    const c = await setup()
    for (let i = 0; i < FINAL_5XX; i++)
      apis.api.inject({
        method: 'POST',
        path: /requested_reviewers$/,
        status: 502,
        body: '{"message":"Server Error"}',
        contentType: 'application/json',
      })
    const reviewers = { 'pull-request-reviewers': 'alice\nacme/platform' }
    const first = await c.pr('2026-06-06', reviewers)
    expect(first.exitCode, explain(first, c.remote)).toBe(1)
    const [pull] = c.pulls()
    expect(pull.reviewers).toEqual([])
    ok(await c.pr('2026-06-06', reviewers), c.remote)
    expect([pull.reviewers, pull.teamReviewers]).toEqual([['alice'], ['platform']])
    // Once someone has reviewed, a reviewer missing from the requested list is not asked again.
    pull.reviews = [{ id: 1, login: 'alice', state: 'APPROVED' }]
    pull.reviewers = []
    ok(await c.pr('2026-06-06', reviewers), c.remote)
    expect(pull.reviewers).toEqual([])
  })

  it('item 2: a dispatch lost to a failure after the tag and the chart is sent by the next run, once', async () => {
    const c = await setup()
    for (let i = 0; i < FINAL_5XX; i++)
      apis.api.inject({
        method: 'POST',
        path: /\/assets$/,
        status: 503,
        body: '{"message":"Service Unavailable"}',
        contentType: 'application/json',
      })
    const on = { 'github-release': 'true', 'dispatch-workflow': 'deploy.yml' }
    const first = await c.run('2026-06-06', on)
    expect(first.exitCode, explain(first, c.remote)).toBe(1)
    expect([...c.remote.tags().keys()]).toEqual(['v2.0.0'])
    expect(apis.api.dispatches).toEqual([])

    const second = await c.run('2026-06-06', on)
    ok(second, c.remote)
    expect(apis.api.dispatches.map((d) => [d.workflow, d.inputs.tag])).toEqual([['deploy.yml', 'v2.0.0']])
    const record = apis.api.statuses.get(REPOSITORY)!
    expect(record.map((st) => [st.sha, st.context, st.state])).toEqual([
      [c.remote.tags().get('v2.0.0'), 'zero-cache-chart/dispatch', 'success'],
    ])

    ok(await c.run('2026-06-06', on), c.remote)
    expect(apis.api.dispatches, 'recorded: never sent twice').toHaveLength(1)
  })

  it('item 2: a dispatch refused with a 5xx is sent again by the next run', async () => {
    const c = await setup()
    for (let i = 0; i < FINAL_5XX; i++)
      apis.api.inject({
        method: 'POST',
        path: /\/dispatches$/,
        status: 502,
        body: '{"message":"Server Error"}',
        contentType: 'application/json',
      })
    const on = { 'dispatch-workflow': 'deploy.yml' }
    const first = await c.run('2026-06-06', on)
    expect(first.exitCode).toBe(1)
    expect(visibleLog(first)).toContain('the next run sends this dispatch again')
    ok(await c.run('2026-06-06', on), c.remote)
    expect(apis.api.dispatches).toHaveLength(1)
  })

  it('item 5: a published version tagged under an earlier tag-format is not released again when the format changes', async () => {
    const c = await setup()
    const on = { 'github-release': 'true', 'dispatch-workflow': 'deploy.yml' }
    ok(await c.run('2026-06-06', on), c.remote)
    expect([...c.remote.tags().keys()]).toEqual(['v2.0.0'])
    // A second chart: the default tag format becomes {name}-{version}.
    c.remote.pushFiles(
      {
        'charts/cache/Chart.yaml':
          'apiVersion: v2\nname: cache\nversion: 0.1.0\nappVersion: "1.6.1"\nannotations:\n  artifacthub.io/images: |\n' +
          `    - name: cache\n      image: ${parts.registry.host}/rocicorp/zero-2026-06-06:1.6.1\n`,
        'charts/cache/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n',
        'charts/zero-cache/Chart.yaml': c.remote
          .chartYaml()
          .replace(/image: docker\.io\/rocicorp\/zero:1\.6\.1/, `image: ${parts.registry.host}/rocicorp/zero-2026-06-06:1.6.1`),
      },
      'feat: a second chart',
    )
    const r = await c.run('2026-06-06', { ...on, image: '', 'chart-path': 'charts/*' })
    ok(r, c.remote)
    expect([...c.remote.tags().keys()].sort(), 'no second tag for zero-cache 2.0.0').toEqual(['cache-0.1.0', 'v2.0.0'])
    expect(
      c
        .releases()
        .map((x) => x.tag)
        .sort(),
    ).toEqual(['cache-0.1.0', 'v2.0.0'])
    expect(apis.api.dispatches.map((d) => d.inputs.tag)).toEqual(['v2.0.0', 'cache-0.1.0'])
    const charts = JSON.parse(r.outputs.charts) as { name: string; tag: string }[]
    expect(charts.find((x) => x.name === 'zero-cache')?.tag).toBe('v2.0.0')
  })

  it('item 13: Release notes put @mentions of commit subjects in code spans', async () => {
    const c = await setup()
    c.remote.pushChange('charts/zero-cache/NOTES.md', 'thanks\n', 'docs: thanks @alice and @acme/platform for the review')
    ok(await c.run('2026-06-06', { 'github-release': 'true' }), c.remote)
    const [release] = c.releases()
    expect(release.body).toContain('- docs: thanks `@alice` and `@acme/platform` for the review (')
    expect(release.body).not.toMatch(/(^|[^`])@alice/m)
  })

  it('decided: a draft Release of the tag (not found by tag) is completed and published, not duplicated (issue 20)', async () => {
    const c = await setup()
    apis.api.addRelease(REPOSITORY, { tag: 'v2.0.0', draft: true })
    const r = await c.run('2026-06-06', { 'github-release': 'true' })
    ok(r, c.remote)
    expect(c.releases()).toHaveLength(1)
    expect(c.releases()[0]).toMatchObject({ tag: 'v2.0.0', draft: false })
    expect(c.releases()[0].assets.map((a) => a.name)).toEqual(['zero-cache-2.0.0.tgz'])
    expect(c.releases()[0].body).toContain('`appVersion` `0.26.1` → `1.6.1`')
    expect(r.outputs['release-url']).toBe(`https://github.com/${REPOSITORY}/releases/tag/v2.0.0`)
  })
})
