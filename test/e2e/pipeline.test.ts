import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestRemote } from '../support/git.js'
import { NOISE_TAGS, REGISTRY_PASSWORD, releaseHistory, startRegistry, type TestRegistry } from '../support/registry.js'
import { HELM3_DIR, HELM4_DIR, type ActionRun } from '../support/runner.js'
import { explain, scenario, seedUpstream, visibleLog } from '../support/scenario.js'

/**
 * The bundled action against real parts: docker-registry with token auth on loopback (upstream
 * images and charts), a bare git remote, and the real helm — once with Helm 4, once with Helm 3.
 */

// Async only: the registry's token service runs in this process, so a synchronous child would deadlock.
const exec = promisify(execFile)
const history = releaseHistory()
/** Tags as the upstream had them on `date` (inclusive). */
const tagsUntil = (date: string) => [...history.filter((h) => h.date <= date).map((h) => h.tag), ...NOISE_TAGS]

describe.each([
  ['Helm 4', HELM4_DIR],
  ['Helm 3', HELM3_DIR],
])('pipeline with %s', (_label, helmDir) => {
  let registry: TestRegistry
  const remotes: TestRemote[] = []

  beforeAll(async () => {
    registry = await startRegistry()
    await seedUpstream(registry)
  })
  afterAll(async () => {
    await registry?.stop()
    for (const r of remotes) r.cleanup()
  })

  const seeded = new Map<string, Promise<void>>()
  /** An upstream repository holding the tags rocicorp/zero had on `date` (all of them when undefined). */
  async function upstream(date?: string): Promise<string> {
    const repo = date ? `rocicorp/zero-${date}` : 'rocicorp/zero'
    if (!seeded.has(repo)) seeded.set(repo, date ? registry.seedTags(repo, tagsUntil(date)) : Promise.resolve())
    await seeded.get(repo)
    return `${registry.host}/${repo}`
  }

  /** A fresh git remote and chart namespace for one test; `run(extra, workspace?)`. */
  function setup(chart: { version: string; appVersion: string; chartYaml?: string }, image = `${registry.host}/rocicorp/zero`) {
    const s = scenario(registry.host, chart, { image, helmDir, remotes })
    return { ...s, run: (extra: Record<string, string> = {}, workspace?: string) => s.run(extra, { workspace }) }
  }

  /** Asserts that a failed run wrote nothing: same remote commits, no tags, no chart. */
  async function expectNothingWritten(r: ActionRun, remote: TestRemote, chartRepo: string, commits = 1) {
    expect(r.exitCode, explain(r, remote)).toBe(1)
    expect(remote.log(), explain(r, remote)).toHaveLength(commits)
    expect([...remote.tags().keys()]).toEqual([])
    expect(await registry.listTags(chartRepo)).toEqual([])
  }

  it('updates appVersion, bumps the chart version, commits, tags and publishes', async () => {
    const { remote, chartRepo, run } = setup({ version: '1.4.2', appVersion: '0.26.1' })
    const before = remote.chartYaml()
    const r = await run()
    expect(r.exitCode, explain(r, remote)).toBe(0)
    expect(r.outputs).toMatchObject({
      updated: 'true',
      'previous-app-version': '0.26.1',
      'app-version': '1.9.0',
      'chart-version': '2.0.0',
      tag: 'v2.0.0',
      pushed: 'true',
      'chart-ref': expect.stringMatching(/^oci:\/\/127\.0\.0\.1:\d+\/acme\/charts-[\d-]+\/zero-cache:2\.0\.0$/),
      'chart-digest': expect.stringMatching(/^sha256:[a-f0-9]{64}$/),
    })
    // Chart.yaml: only the two values and the Artifact Hub annotations changed, comments and quoting kept.
    const after = remote.chartYaml()
    expect(after).toBe(
      before
        .replace('version: 1.4.2', 'version: 2.0.0')
        .replace('appVersion: "0.26.1"', 'appVersion: "1.9.0"')
        .replace('image: docker.io/rocicorp/zero:0.26.1', 'image: docker.io/rocicorp/zero:1.9.0')
        .replace('description: "Update zero-cache to 0.26.1"', 'description: "Update zero-cache to 1.9.0"'),
    )
    expect(after).toContain('image: docker.io/otel/opentelemetry-collector:0.138.0')
    const log = remote.log()
    expect(log).toHaveLength(2)
    expect(log[0]).toMatch(/ chore\(chart\): update appVersion to 1\.9\.0$/)
    expect(remote.tags().get('v2.0.0')).toBe(log[0].split(' ')[0])
    expect(await registry.listTags(chartRepo)).toEqual(['2.0.0'])
    expect(r.summary).toContain('1.9.0')
    expect(visibleLog(r)).not.toContain(REGISTRY_PASSWORD)

    // helm pull of the published chart renders.
    const pulled = mkdtempSync(join(tmpdir(), 'zcc-pull-'))
    await exec(
      join(helmDir, 'helm'),
      ['pull', r.outputs['chart-ref'].replace(/:2\.0\.0$/, ''), '--version', '2.0.0', '--plain-http', '-d', pulled],
      { env: { ...process.env, HOME: remote.home } },
    )
    const { stdout: rendered } = await exec(join(helmDir, 'helm'), [
      'template',
      'zc',
      join(pulled, 'zero-cache-2.0.0.tgz'),
      '--set',
      'common.database.upstream.url.value=postgres://u@db/x',
      '--set',
      'common.adminPassword.value=pw',
      '--set',
      'singleNode.enabled=true',
    ])
    expect(rendered).toContain('docker.io/rocicorp/zero:1.9.0')

    // A second run finds everything in place and writes nothing.
    const again = await run()
    expect(again.exitCode, explain(again, remote)).toBe(0)
    expect(again.outputs).toMatchObject({
      updated: 'false',
      pushed: 'false',
      'chart-version': '2.0.0',
      'app-version': '1.9.0',
      tag: 'v2.0.0',
    })
    expect(again.outputs['chart-digest']).toBe(r.outputs['chart-digest'])
    expect(remote.log()).toHaveLength(2)
    expect(await registry.listTags(chartRepo)).toEqual(['2.0.0'])
  })

  it('dry run prints the plan and writes nothing anywhere', async () => {
    const { remote, chartRepo, run } = setup({ version: '1.4.2', appVersion: '0.26.1' })
    const workspace = remote.checkout()
    const before = readFileSync(join(workspace, 'charts/zero-cache/Chart.yaml'), 'utf8')
    const r = await run({ 'dry-run': 'true' }, workspace)
    expect(r.exitCode, explain(r, remote)).toBe(0)
    expect(r.outputs).toMatchObject({ updated: 'true', 'app-version': '1.9.0', 'chart-version': '2.0.0', tag: 'v2.0.0', pushed: 'false' })
    expect(r.log).toContain('would: update Chart.yaml: appVersion 0.26.1 → 1.9.0, version 1.4.2 → 2.0.0')
    expect(r.log).toContain('would: create tag v2.0.0')
    expect(r.log).toContain('would: helm package and helm push')
    expect(r.summary).toContain('Plan (nothing was written)')
    expect(remote.log()).toHaveLength(1)
    expect([...remote.tags().keys()]).toEqual([])
    expect(await registry.listTags(chartRepo)).toEqual([])
    expect(readFileSync(join(workspace, 'charts/zero-cache/Chart.yaml'), 'utf8')).toBe(before)
  })

  it.each([
    // [chart appVersion, upstream as of, expected appVersion, chart version after 1.4.2]
    ['0.24.2025101500', '2025-10-22', '0.24.2025102200', '1.4.3'], // same 0.24 minor: patch
    ['0.24.2025102200', '2025-12-13', '0.25.1', '2.0.0'], // 0.24 → 0.25 below 1.0: breaking, major
    ['1.8.0', '2026-08-14', '1.9.0', '1.4.3'], // minor above 1.0: patch
    ['0.25.0-canary.27', '2025-12-13', '0.25.1', '1.4.3'], // canary → its release line: patch
  ])('bump policy auto: %s with upstream of %s → %s, chart %s', async (appVersion, date, want, chartVersion) => {
    const { remote, run } = setup({ version: '1.4.2', appVersion }, await upstream(date))
    const r = await run()
    expect(r.exitCode, explain(r, remote)).toBe(0)
    expect(r.outputs).toMatchObject({
      updated: 'true',
      'app-version': want,
      'chart-version': chartVersion,
      tag: `v${chartVersion}`,
      pushed: 'true',
    })
  })

  it('follows prereleases when asked, and respects version-range', async () => {
    const image = await upstream('2025-12-12')
    const pre = setup({ version: '0.9.0', appVersion: '0.24.2025102200' }, image)
    const r = await pre.run({ 'include-prereleases': 'true', bump: 'minor' })
    expect(r.exitCode, explain(r, pre.remote)).toBe(0)
    expect(r.outputs).toMatchObject({ 'app-version': '0.25.0-canary.27', 'chart-version': '0.10.0' })

    const ranged = setup({ version: '3.0.0', appVersion: '0.26.0' })
    const r2 = await ranged.run({ 'version-range': '<1' })
    expect(r2.exitCode, explain(r2, ranged.remote)).toBe(0)
    expect(r2.outputs).toMatchObject({ 'app-version': '0.26.1', 'chart-version': '3.0.1' })
  })

  it('leaves a chart whose appVersion is ahead of every allowed version alone', async () => {
    const { remote, chartRepo, run } = setup({ version: '1.0.0', appVersion: '1.10.0-canary.3' })
    const r = await run()
    expect(r.exitCode, explain(r, remote)).toBe(0)
    expect(r.outputs.updated).toBe('false')
    expect(r.log).toContain('is ahead of the newest allowed upstream version 1.9.0')
    expect(remote.log()).toHaveLength(1)
    // The current version was never released: the run self-heals by tagging and publishing it.
    expect(remote.tags().has('v1.0.0')).toBe(true)
    expect(await registry.listTags(chartRepo)).toEqual(['1.0.0'])
  })

  it('re-publishes a missing version from the commit that set it, and tags that commit', async () => {
    const { remote, chartRepo, run } = setup({ version: '2.0.0', appVersion: '1.9.0' })
    const releaseCommit = remote.log()[0].split(' ')[0]
    // Later work on main that did not bump the version must not leak into 2.0.0.
    remote.pushChange(
      'charts/zero-cache/values.yaml',
      'image:\n  repository: example.invalid/changed-later\n  tag: ""\n  pullPolicy: IfNotPresent\n' +
        'common:\n  database:\n    upstream:\n      url: {}\nservice:\n  type: ClusterIP\n  port: 4848\nresources: {}\n',
      'chore: values change without a version bump',
    )
    const r = await run()
    expect(r.exitCode, explain(r, remote)).toBe(0)
    expect(r.outputs).toMatchObject({ updated: 'false', pushed: 'true', 'chart-version': '2.0.0', tag: 'v2.0.0' })
    expect(remote.log()).toHaveLength(2)
    expect(remote.tags().get('v2.0.0')).toBe(releaseCommit)
    expect(await registry.listTags(chartRepo)).toEqual(['2.0.0'])
    const pulled = mkdtempSync(join(tmpdir(), 'zcc-pull-'))
    await exec(
      join(helmDir, 'helm'),
      ['pull', r.outputs['chart-ref'].replace(/:2\.0\.0$/, ''), '--version', '2.0.0', '--plain-http', '-d', pulled, '--untar'],
      { env: { ...process.env, HOME: remote.home } },
    )
    expect(readFileSync(join(pulled, 'zero-cache/values.yaml'), 'utf8')).toContain('docker.io/rocicorp/zero')
  })

  it('finishes the job after a crash between tag and push, without a new commit or tag', async () => {
    const { remote, chartRepo, run } = setup({ version: '1.4.2', appVersion: '0.26.1' })
    const first = await run()
    expect(first.exitCode, explain(first, remote)).toBe(0)
    await registry.deleteTag(chartRepo, '2.0.0') // as if the run died before helm push
    const tagsBefore = remote.tags()
    const second = await run()
    expect(second.exitCode, explain(second, remote)).toBe(0)
    expect(second.outputs).toMatchObject({ updated: 'false', pushed: 'true', 'chart-version': '2.0.0' })
    expect(remote.log()).toHaveLength(2)
    expect(remote.tags()).toEqual(tagsBefore)
    expect(await registry.listTags(chartRepo)).toEqual(['2.0.0'])
    // The archive is stamped with the release commit's time: `created` is that time, and with Helm 4
    // (which writes file times into the archive) the re-published bytes are the very same.
    const { manifest, digest } = await registry.manifest(chartRepo, '2.0.0')
    const committed = remote.git(['show', '-s', '--format=%ct', tagsBefore.get('v2.0.0')!], remote.dir).trim()
    expect(manifest.annotations?.['org.opencontainers.image.created']).toBe(
      new Date(Number(committed) * 1000).toISOString().replace('.000Z', 'Z'),
    )
    expect(digest).toBe(second.outputs['chart-digest'])
    if (helmDir === HELM4_DIR) expect(second.outputs['chart-digest']).toBe(first.outputs['chart-digest'])
  })

  it('re-plans when a push loses a race, and bumps once', async () => {
    const { remote, chartRepo, run } = setup({ version: '1.4.2', appVersion: '0.26.1' })
    // A pre-receive hook that, on the first push, lets a competing push land first and rejects ours.
    const competitor = remote.checkout({ depth: 0 })
    remote.git(
      ['-c', 'user.name=Someone', '-c', 'user.email=someone@example.com', 'commit', '--quiet', '--allow-empty', '-m', 'docs: meanwhile'],
      competitor,
    )
    const hook = join(remote.dir, 'hooks/pre-receive')
    writeFileSync(
      hook,
      `#!/bin/sh
cat >/dev/null
if [ ! -f "${remote.dir}/raced" ]; then
  touch "${remote.dir}/raced"
  env -u GIT_DIR -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES -u GIT_PUSH_OPTION_COUNT \
    git -C "${competitor}" push --quiet origin HEAD:refs/heads/main >/dev/null 2>&1 || { echo "competitor push failed" >&2; exit 2; }
  echo "rejected: someone pushed first" >&2
  exit 1
fi
exit 0
`,
    )
    chmodSync(hook, 0o755)
    const r = await run()
    expect(r.exitCode, explain(r, remote)).toBe(0)
    expect(r.log).toContain('moved while this run was pushing')
    const log = remote.log()
    expect(log.map((l) => l.split(' ').slice(1).join(' '))).toEqual([
      'chore(chart): update appVersion to 1.9.0',
      'docs: meanwhile',
      'feat: zero-cache chart',
    ])
    expect(remote.tags().get('v2.0.0')).toBe(log[0].split(' ')[0])
    expect(await registry.listTags(chartRepo)).toEqual(['2.0.0'])
  })

  it('two runs at the same time end with one bump, one tag and one chart version', async () => {
    const { remote, chartRepo, run } = setup({ version: '1.4.2', appVersion: '0.26.1' })
    const [a, b] = await Promise.all([run(), run()])
    expect(a.exitCode, explain(a, remote)).toBe(0)
    expect(b.exitCode, explain(b, remote)).toBe(0)
    const log = remote.log()
    expect(log, explain(a, remote) + explain(b, remote)).toHaveLength(2)
    expect([...remote.tags().keys()]).toEqual(['v2.0.0'])
    expect(await registry.listTags(chartRepo)).toEqual(['2.0.0'])
    // Usually one run wins and the other re-plans to "up to date"; when both commit within the same
    // second they create the very same commit, and both pushes succeed with it. Either way: one bump.
    expect([a.outputs.updated, b.outputs.updated]).toContain('true')
    // Both may reach helm push before either sees the other's chart (no registry offers a
    // conditional tag push; a workflow concurrency group prevents it). With Helm 4 the archive is
    // reproducible, so both push the same digest and the tag never changes bytes.
    const { digest } = await registry.manifest(chartRepo, '2.0.0')
    expect([a.outputs['chart-digest'], b.outputs['chart-digest']]).toContain(digest)
    if (helmDir === HELM4_DIR) expect([a.outputs['chart-digest'], b.outputs['chart-digest']]).toEqual([digest, digest])
  })

  it('never moves an existing tag: a taken version is skipped', async () => {
    const { remote, chartRepo, run } = setup({ version: '1.4.2', appVersion: '0.26.1' })
    const initial = remote.log()[0].split(' ')[0]
    remote.git(['tag', 'v2.0.0', initial], remote.dir)
    const r = await run()
    expect(r.exitCode, explain(r, remote)).toBe(0)
    expect(r.outputs).toMatchObject({ 'chart-version': '2.0.1', tag: 'v2.0.1' })
    expect(r.log).toMatch(/::warning::chart version 2\.0\.0 is already taken/)
    expect(remote.tags().get('v2.0.0')).toBe(initial)
    expect(await registry.listTags(chartRepo)).toEqual(['2.0.1'])
  })

  describe('bad input fails clearly and writes nothing', () => {
    it.each([
      [{ image: 'Rocicorp/Zero' }, "input 'image': 'Rocicorp/Zero'"],
      [{ image: 'rocicorp/zero:latest' }, "input 'image': 'rocicorp/zero:latest' has a tag"],
      [{ 'oci-repo': 'oci://ghcr.io' }, "input 'oci-repo': 'oci://ghcr.io' has no namespace"],
      [{ bump: 'huge' }, "input 'bump': 'huge' is not one of auto, patch, minor, major"],
      [{ 'version-range': '>=banana' }, "input 'version-range'"],
      [{ 'tag-format': 'v{chart}' }, "input 'tag-format': unknown placeholder {chart}"],
      [{ 'dry-run': 'yes please' }, "input 'dry-run': 'yes please' is not a boolean"],
      [{ 'chart-path': 'charts/nope' }, 'charts/nope/Chart.yaml not found'],
    ])('%o', async (inputs, message) => {
      const { remote, chartRepo, run } = setup({ version: '1.4.2', appVersion: '0.26.1' })
      const r = await run(inputs as Record<string, string>)
      await expectNothingWritten(r, remote, chartRepo)
      expect(r.log).toContain(`::error::${message}`)
    })

    it('an upstream repository that does not exist', async () => {
      const { remote, chartRepo, run } = setup({ version: '1.4.2', appVersion: '0.26.1' }, `${registry.host}/rocicorp/does-not-exist`)
      const r = await run()
      await expectNothingWritten(r, remote, chartRepo)
      expect(r.log).toMatch(/::error::could not list the tags of 127\.0\.0\.1:\d+\/rocicorp\/does-not-exist: HTTP 404/)
    })

    it('wrong registry credentials', async () => {
      const { remote, chartRepo, run } = setup({ version: '1.4.2', appVersion: '0.26.1' })
      const r = await run({ 'registry-password': 'wrong-password' })
      await expectNothingWritten(r, remote, chartRepo)
      expect(r.log).toContain("refused the credentials of 'ci-user' (HTTP 401); check registry-username/registry-password")
      expect(visibleLog(r)).not.toContain('wrong-password')
    })

    it('a broken Chart.yaml, a non-semver appVersion', async () => {
      const broken = setup({
        version: '1.4.2',
        appVersion: '0.26.1',
        chartYaml: 'apiVersion: v2\nname: zero-cache\nversion: 1.4.2\nappVersion: "0.26.1"\n  bad: [\n',
      })
      const r = await broken.run()
      await expectNothingWritten(r, broken.remote, broken.chartRepo)
      expect(r.log).toMatch(/::error::charts\/zero-cache\/Chart\.yaml is not valid YAML at line \d+/)

      const latest = setup({ version: '1.4.2', appVersion: 'latest' })
      const r2 = await latest.run()
      await expectNothingWritten(r2, latest.remote, latest.chartRepo)
      expect(r2.log).toContain("appVersion 'latest' is not a semantic version")
    })

    it('a chart that fails helm lint leaves Chart.yaml and the remote untouched', async () => {
      const { remote, chartRepo, run } = setup({ version: '1.4.2', appVersion: '0.26.1' })
      remote.pushChange('charts/zero-cache/templates/broken.yaml', '{{ .Values.nope.missing }}\n', 'chore: break a template')
      const workspace = remote.checkout()
      const r = await run({}, workspace)
      await expectNothingWritten(r, remote, chartRepo, 2)
      expect(r.log).toContain('helm lint failed')
      expect(readFileSync(join(workspace, 'charts/zero-cache/Chart.yaml'), 'utf8')).toContain('appVersion: "0.26.1"')
    })
  })
})
