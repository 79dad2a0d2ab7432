import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { appendFileSync, chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { CHART_SOURCE, fixtureChart, type TestRemote } from '../support/git.js'
import { serveGit, type GitFault } from '../support/git-http.js'
import { startProxy, type Fault, type FaultProxy } from '../support/proxy.js'
import {
  READONLY_PASSWORD,
  READONLY_USER,
  REGISTRY_PASSWORD,
  REGISTRY_USER,
  startRegistry,
  type TestRegistry,
} from '../support/registry.js'
import { HELM4_DIR, type ActionRun } from '../support/runner.js'
import { explain, scenario, seedUpstream, visibleLog, type Scenario } from '../support/scenario.js'
import { pattern } from '../support/pattern.js'

const exec = promisify(execFile)
const subject = (line: string) => line.split(' ').slice(1).join(' ')
const sha = (line: string) => line.split(' ')[0]

/** The HTML of the job summary after `<h3>heading…` up to the next heading. */
function section(summary: string, heading: string): string {
  const at = summary.indexOf(`<h3>${heading}`)
  if (at < 0) return ''
  const rest = summary.slice(at + 4)
  const end = rest.search(/<h[1-6]>/)
  return end < 0 ? rest : rest.slice(0, end)
}

/** Installs a server-side hook in a bare repository. */
function hook(remote: TestRemote, name: string, script: string): void {
  const path = join(remote.dir, 'hooks', name)
  writeFileSync(path, `#!/bin/sh\n${script}\n`)
  chmodSync(path, 0o755)
}

/** A file of the chart as published at `version`, from `helm pull` of the registry. */
async function publishedFile(s: Scenario, host: string, version: string, file: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'zcc-pull-'))
  await exec(
    join(HELM4_DIR, 'helm'),
    ['pull', `oci://${host}/${s.chartRepo}`, '--version', version, '--plain-http', '-d', dir, '--untar'],
    {
      env: { ...process.env, HOME: s.remote.home },
    },
  )
  return readFileSync(join(dir, 'zero-cache', file), 'utf8')
}

/**
 * One end-to-end test per defect of issue 9 (each failed before its fix), through dist/index.js
 * against docker-registry, a bare git remote and Helm 4.
 */

const chartYaml = fixtureChart(readFileSync(join(CHART_SOURCE, 'Chart.yaml'), 'utf8'), '1.4.2', '0.26.1')

describe('reliability defects', () => {
  let registry: TestRegistry
  /** In front of the registry and its token service, for answers the registry itself never gives. */
  let proxy: FaultProxy
  const remotes: TestRemote[] = []
  beforeAll(async () => {
    registry = await startRegistry()
    proxy = await startProxy({ target: registry.host, token: registry.realm })
    await seedUpstream(registry)
  })
  afterAll(async () => {
    await proxy?.stop()
    await registry?.stop()
    for (const r of remotes) r.cleanup()
  })
  const setup = (chart: { version: string; appVersion: string; chartYaml?: string }) => scenario(registry.host, chart, { remotes })

  async function expectNothingWritten(r: ActionRun, s: { remote: TestRemote; chartRepo: string }, message: string | RegExp) {
    expect(r.exitCode, explain(r, s.remote)).toBe(1)
    expect(r.log).toMatch(typeof message === 'string' ? new RegExp(`::error::${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) : message)
    // One error annotation, the expected one (no second error, no stack trace of a bug).
    expect(r.log.split('\n').filter((l) => l.startsWith('::error::'))).toHaveLength(1)
    expect(s.remote.log()).toHaveLength(1)
    expect([...s.remote.tags().keys()]).toEqual([])
    expect(await registry.listTags(s.chartRepo)).toEqual([])
  }

  describe('5: inputs that passed validation and broke later are refused up front', () => {
    it.each([
      [{ 'tag-format': 'release' }, "input 'tag-format': 'release' has no {version}"],
      [{ 'max-age-days': '1e9' }, "input 'max-age-days': '1e9' is not a number of days from 0 to 3650"],
    ])('%o', async (inputs, message) => {
      const s = setup({ version: '1.4.2', appVersion: '0.26.1' })
      await expectNothingWritten(await s.run(inputs), s, message)
    })
  })

  it('6: a workspace reached through a symlink', async () => {
    const s = setup({ version: '1.4.2', appVersion: '0.26.1' })
    const link = join(mkdtempSync(join(tmpdir(), 'zcc-link-')), 'workspace')
    symlinkSync(s.remote.checkout(), link)
    const r = await s.run({}, { workspace: link })
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    expect(r.outputs).toMatchObject({ updated: 'true', 'chart-version': '2.0.0', pushed: 'true' })
  })

  describe('8: appVersion written as a block scalar', () => {
    it('>- is edited in place, header and indentation kept', async () => {
      const text = chartYaml.replace(/^version:.*$/m, 'version: 1.4.2').replace(/^appVersion:.*$/m, 'appVersion: >-\n  0.26.1')
      const s = setup({ version: '1.4.2', appVersion: '0.26.1', chartYaml: text })
      const r = await s.run()
      expect(r.exitCode, explain(r, s.remote)).toBe(0)
      expect(r.outputs).toMatchObject({ 'app-version': '1.9.0', 'chart-version': '2.0.0', pushed: 'true' })
      expect(s.remote.chartYaml() + '\n').toBe(
        text
          .replace('version: 1.4.2', 'version: 2.0.0')
          .replace('appVersion: >-\n  0.26.1', 'appVersion: >-\n  1.9.0')
          .replace('rocicorp/zero:0.26.1', 'rocicorp/zero:1.9.0')
          .replace('Update zero-cache to 0.26.1', 'Update zero-cache to 1.9.0'),
      )
    })

    it('> (clip chomping, a line break in the value) is refused, naming the form', async () => {
      const text = chartYaml.replace(/^version:.*$/m, 'version: 1.4.2').replace(/^appVersion:.*$/m, 'appVersion: >\n  0.26.1')
      const s = setup({ version: '1.4.2', appVersion: '0.26.1', chartYaml: text })
      await expectNothingWritten(
        await s.run(),
        s,
        pattern(
          '::error::charts/zero-cache/Chart.yaml: \'appVersion\' is "0.26.1\\n", with white space around the version',
          " (written as a folded block scalar ('>')",
        ),
      )
    })
  })

  describe('7: an unparseable answer is a clear error naming the endpoint and status', () => {
    const TRUNCATED_TOKEN = '{"token":"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3Mi'
    it.each<[string, Omit<Fault, 'name'>, RegExp]>([
      [
        'tags/list: an HTML page with status 200',
        {
          path: /\/v2\/rocicorp\/zero\/tags\/list$/,
          onStatus: 200,
          do: { replaceBody: '<html><body><h1>502 Bad Gateway</h1></body></html>', contentType: 'text/html' },
        },
        pattern(
          '::error::127.0.0.1:',
          /\d+/,
          '/rocicorp/zero: GET 127.0.0.1:',
          /\d+/,
          '/v2/rocicorp/zero/tags/list answered HTTP 200',
          ' with a body that is not JSON (text/html, 50 bytes, starting "<html>',
        ),
      ],
      [
        'tags/list: truncated JSON',
        { path: /\/v2\/rocicorp\/zero\/tags\/list$/, onStatus: 200, do: { replaceBody: '{"name":"rocicorp/zero","tags":["0.1' } },
        /::error::.*tags\/list answered HTTP 200 with a body that is not JSON \(application\/json[^,]*, 36 bytes, starting/,
      ],
      [
        'the token endpoint: truncated JSON that holds part of a token',
        { to: 'token', onStatus: 200, do: { replaceBody: TRUNCATED_TOKEN, contentType: 'application/json' } },
        pattern(
          '::error::127.0.0.1:',
          /\d+/,
          '/rocicorp/zero: GET 127.0.0.1:',
          /\d+/,
          '/token answered HTTP 200 with a body that is not JSON',
          ' (application/json, 55 bytes); the registry or a proxy in front of it is misbehaving',
        ),
      ],
    ])('%s', async (_name, fault, message) => {
      proxy.reset()
      proxy.inject({ name: 'broken body', ...fault })
      const s = scenario(proxy.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes })
      const r = await s.run()
      expect(proxy.applied()).toEqual({ 'broken body': 1 })
      await expectNothingWritten(r, s, message)
      expect(r.log).not.toMatch(/SyntaxError| {4}at /)
      expect(r.log).not.toContain(TRUNCATED_TOKEN.slice(10))
    })
  })

  describe("2: only the run's own commit reaches the branch", () => {
    it('HEAD carries commits origin/main lacks (a feature branch, a PR merge): they are not pushed, tagged or published', async () => {
      const s = setup({ version: '1.4.2', appVersion: '0.26.1' })
      const initial = sha(s.remote.log()[0])
      const ws = s.remote.checkout({ depth: 0 })
      appendFileSync(join(ws, 'charts/zero-cache/values.yaml'), '\n# unreviewed: DO-NOT-SHIP\n')
      s.remote.git(
        ['-c', 'user.name=Contributor', '-c', 'user.email=c@example.com', 'commit', '--quiet', '-am', 'feat: unreviewed change'],
        ws,
      )
      const unreviewed = s.remote.git(['rev-parse', 'HEAD'], ws)
      const r = await s.run(
        { branch: 'main' },
        { workspace: ws, env: { GITHUB_EVENT_NAME: 'workflow_dispatch', GITHUB_REF: 'refs/heads/feature' } },
      )
      expect(r.exitCode, explain(r, s.remote)).toBe(0)
      const log = s.remote.log()
      expect(log.map(subject)).toEqual(['chore(chart): update appVersion to 1.9.0', 'feat: zero-cache chart'])
      expect(s.remote.git(['rev-parse', `${sha(log[0])}^`], s.remote.dir)).toBe(initial)
      expect(() => s.remote.git(['cat-file', '-e', unreviewed], s.remote.dir)).toThrow()
      expect(s.remote.tags().get('v2.0.0')).toBe(sha(log[0]))
      expect(await publishedFile(s, registry.host, '2.0.0', 'values.yaml')).not.toContain('DO-NOT-SHIP')
      expect(r.log).toContain('has commits that origin/main does not have; they are not pushed')
      // The user's checkout is left where it was.
      expect(s.remote.git(['rev-parse', 'HEAD'], ws)).toBe(unreviewed)
    })

    it('a checkout at the remote tip is fast-forwarded to the pushed commit', async () => {
      const s = setup({ version: '1.4.2', appVersion: '0.26.1' })
      const ws = s.remote.checkout()
      const r = await s.run({}, { workspace: ws })
      expect(r.exitCode, explain(r, s.remote)).toBe(0)
      expect(s.remote.git(['rev-parse', 'HEAD'], ws)).toBe(sha(s.remote.log()[0]))
      expect(readFileSync(join(ws, 'charts/zero-cache/Chart.yaml'), 'utf8')).toContain('appVersion: "1.9.0"')
      expect(s.remote.git(['status', '--porcelain'], ws)).toBe('')
    })

    it.each(['pull_request', 'pull_request_target'])(
      'a %s event: refused with one clear error; a dry run shows the plan',
      async (event) => {
        const s = setup({ version: '1.4.2', appVersion: '0.26.1' })
        const r = await s.run({ branch: 'main' }, { env: { GITHUB_EVENT_NAME: event, GITHUB_REF: 'refs/pull/7/merge' } })
        await expectNothingWritten(r, s, `this run was started by a ${event} event, and the action does not write from one`)
        expect(r.log.match(/::error::/g)).toHaveLength(1)
        const dry = await s.run(
          { branch: 'main', 'dry-run': 'true' },
          { env: { GITHUB_EVENT_NAME: event, GITHUB_REF: 'refs/pull/7/merge' } },
        )
        expect(dry.exitCode, explain(dry, s.remote)).toBe(0)
        expect(dry.summary).toContain('Plan (nothing was written)')
        expect(s.remote.log()).toHaveLength(1)
      },
    )
  })

  describe('3: the job summary claims only what happened', () => {
    it("a protected branch: nothing is done, and the failure carries the remote's GH006 text", async () => {
      const s = setup({ version: '1.4.2', appVersion: '0.26.1' })
      hook(
        s.remote,
        'pre-receive',
        'cat >/dev/null\n' +
          'echo "error: GH006: Protected branch update failed for refs/heads/main." >&2\n' +
          'echo "error: Changes must be made through a pull request." >&2\nexit 1',
      )
      const r = await s.run()
      await expectNothingWritten(r, s, /::error::pushing to main failed, and the branch has not moved/)
      expect(r.summary).toContain('GH006: Protected branch update failed for refs/heads/main.')
      expect(r.summary).toContain('Changes must be made through a pull request.')
      expect(section(r.summary, 'Done by this run')).toContain('<li>nothing</li>')
      const notDone = section(r.summary, 'Not done')
      for (const step of ['update Chart.yaml', 'commit &quot;', 'create tag v2.0.0', 'helm package and helm push'])
        expect(notDone.replace(/"/g, '&quot;')).toContain(step)
    })

    it('a failing manifest PUT: done lists update, commit and tag, not the push; the error is shown; the next run publishes', async () => {
      proxy.reset()
      proxy.inject({
        name: 'manifest PUT 500',
        method: 'PUT',
        path: /\/manifests\//,
        times: 50,
        do: { answer: 500, body: '{"errors":[{"code":"UNKNOWN","message":"storage backend unavailable"}]}' },
      })
      const s = scenario(proxy.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes })
      const r = await s.run()
      expect(r.exitCode, explain(r, s.remote)).toBe(1)
      expect(proxy.applied()['manifest PUT 500']).toBeGreaterThan(0)
      const done = section(r.summary, 'Done by this run')
      expect(done).toContain('update Chart.yaml')
      expect(done).toContain('create tag v2.0.0')
      expect(done).not.toContain('helm push')
      expect(section(r.summary, 'Not done')).toContain('helm package and helm push')
      expect(r.summary).toMatch(/500|storage backend unavailable/)
      expect(r.summary).toContain('Pushed by this run</td><td>no')
      proxy.reset()
      const again = await s.run()
      expect(again.exitCode, explain(again, s.remote)).toBe(0)
      expect(again.outputs).toMatchObject({ pushed: 'true', updated: 'false', 'chart-version': '2.0.0' })
      expect(s.remote.log()).toHaveLength(2)
      expect(section(again.summary, 'Done by this run')).toContain('helm package and helm push')
    })
  })

  describe('4: no half-written release: publishing is proven possible before the first git write', () => {
    it.each<[string, Record<string, string>, { env?: Record<string, string> }, RegExp]>([
      [
        'a registry that allows pulls but refuses pushes',
        { 'registry-username': READONLY_USER, 'registry-password': READONLY_PASSWORD },
        {},
        pattern(
          '::error::127.0.0.1:',
          /\d+/,
          '/acme/charts-',
          /[\w-]+/,
          "/zero-cache: the registry does not let 'reader' push (POST /v2/acme/charts-",
          /[\w-]+/,
          '/zero-cache/blobs/uploads/ answered HTTP 40',
          /[13]\).*Nothing was written/,
        ),
      ],
      [
        'lint: false and no helm on PATH',
        { lint: 'false' },
        { env: { PATH: '/usr/bin:/bin' } },
        /::error::helm is not installed or not on PATH .*Nothing was written/,
      ],
    ])('%s', async (_name, inputs, options, message) => {
      const s = setup({ version: '1.4.2', appVersion: '0.26.1' })
      const r = await s.run(inputs, options)
      await expectNothingWritten(r, s, message)
      expect(visibleLog(r)).not.toContain(READONLY_PASSWORD)
    })
  })

  describe('9: no credentials are left in RUNNER_TEMP, whatever the outcome', () => {
    const basicAuth = Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString('base64')
    /** Files under `dir` that hold the registry password or its Basic form, and everything left there. */
    function leftovers(dir: string): { secrets: string[]; entries: string[] } {
      const secrets: string[] = []
      const entries: string[] = []
      const walk = (d: string) => {
        for (const name of readdirSync(d)) {
          const path = join(d, name)
          entries.push(path)
          if (statSync(path).isDirectory()) walk(path)
          else {
            const text = readFileSync(path, 'latin1')
            if (text.includes(REGISTRY_PASSWORD) || text.includes(basicAuth)) secrets.push(path)
          }
        }
      }
      walk(dir)
      return { secrets, entries }
    }

    it('after a release, after a failed push, and after SIGTERM during helm push', async () => {
      const s = scenario(proxy.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes })
      proxy.reset()
      proxy.inject({ name: 'manifest PUT 500', method: 'PUT', path: /\/manifests\//, times: 50, do: { answer: 500 } })
      const failedTemp = mkdtempSync(join(tmpdir(), 'zcc-runner-temp-'))
      const failed = await s.run({}, { runnerTemp: failedTemp })
      expect(failed.exitCode, explain(failed, s.remote)).toBe(1)
      expect(leftovers(failedTemp)).toEqual({ secrets: [], entries: [] })

      proxy.reset()
      let pid = 0
      proxy.inject({
        name: 'SIGTERM during push',
        method: 'PUT',
        path: /\/manifests\//,
        do: {
          then: async () => {
            process.kill(-pid, 'SIGTERM') // the runner cancelling the job: the step's process group
            await new Promise((r) => setTimeout(r, 1500))
          },
        },
      })
      const killedTemp = mkdtempSync(join(tmpdir(), 'zcc-runner-temp-'))
      const killed = await s.run({}, { runnerTemp: killedTemp, onSpawn: (child) => (pid = child.pid!) })
      expect(proxy.applied()).toEqual({ 'SIGTERM during push': 1 })
      expect(killed.exitCode, explain(killed, s.remote)).toBe(143)
      expect(leftovers(killedTemp)).toEqual({ secrets: [], entries: [] })

      proxy.reset()
      const okTemp = mkdtempSync(join(tmpdir(), 'zcc-runner-temp-'))
      const ok = await s.run({}, { runnerTemp: okTemp })
      expect(ok.exitCode, explain(ok, s.remote)).toBe(0)
      expect(leftovers(okTemp)).toEqual({ secrets: [], entries: [] })
    })
  })

  describe('10: git transport errors are retried; refusals are not', () => {
    it.each<[string, Omit<GitFault, 'name'>]>([
      // The run reads the remote with one ls-remote, and fetches only when the tip is not in the
      // checkout: "fetch" moves the remote after the checkout, so the second read is a fetch.
      ['ls-remote: 502 on its first request', { service: 'git-upload-pack', method: 'GET', do: { answer: 502 } }],
      ['fetch: 503 on its first request', { service: 'git-upload-pack', method: 'GET', skip: 1, do: { answer: 503 } }],
      // curl itself resends a request once when a reused connection dies, so a reset reaches git
      // (and this action's retry) only when it happens twice in a row.
      [
        'branch push: connection reset before git sees it',
        { service: 'git-receive-pack', method: 'POST', times: 2, do: { reset: 'before' } },
      ],
      [
        'branch push: the push lands, its answer is lost',
        { service: 'git-receive-pack', method: 'POST', times: 2, do: { reset: 'after' } },
      ],
      [
        'tag push: the push lands, its answer is lost',
        { service: 'git-receive-pack', method: 'POST', skip: 1, times: 2, do: { reset: 'after' } },
      ],
    ])('%s', async (name, fault) => {
      const s = setup({ version: '1.4.2', appVersion: '0.26.1' })
      const http = await serveGit(s.remote.dir)
      try {
        http.inject({ name, ...fault })
        const workspace = s.remote.checkout({ url: http.url })
        const moved = name.startsWith('fetch')
        if (moved) s.remote.pushChange('README.md', 'moved on\n', 'docs: a change after the checkout')
        const r = await s.run({}, { workspace, env: { ZERO_CACHE_CHART_TIME_SCALE: '20' } })
        expect(r.exitCode, explain(r, s.remote)).toBe(0)
        expect(http.applied()).toEqual({ [name]: fault.times ?? 1 })
        const command = /^(ls-remote|fetch)/.exec(name)?.[1] ?? 'push'
        expect(r.log).toMatch(new RegExp(`git ${command} failed with a transport error \\(.+\\); attempt 2 of 3`))
        const log = s.remote.log()
        expect(log.map(subject)).toEqual([
          'chore(chart): update appVersion to 1.9.0',
          ...(moved ? ['docs: a change after the checkout'] : []),
          'feat: zero-cache chart',
        ])
        expect(s.remote.tags()).toEqual(new Map([['v2.0.0', sha(log[0])]]))
        expect(await registry.listTags(s.chartRepo)).toEqual(['2.0.0'])
      } finally {
        await http.stop()
      }
    })

    it('a declined push is not retried', async () => {
      const s = setup({ version: '1.4.2', appVersion: '0.26.1' })
      hook(s.remote, 'pre-receive', 'cat >/dev/null\necho "declined by policy" >&2\nexit 1')
      const http = await serveGit(s.remote.dir)
      try {
        const r = await s.run({}, { workspace: s.remote.checkout({ url: http.url }), env: { ZERO_CACHE_CHART_TIME_SCALE: '20' } })
        await expectNothingWritten(r, s, /::error::pushing to main failed.*declined by policy/)
        expect(http.exchanges.filter((e) => e.service === 'git-receive-pack' && e.method === 'POST')).toHaveLength(1)
        expect(r.log).not.toContain('transport error')
      } finally {
        await http.stop()
      }
    })
  })
})
