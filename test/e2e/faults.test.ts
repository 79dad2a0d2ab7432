import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { execFile } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { isDeepStrictEqual, promisify } from 'node:util'
import { createHash } from 'node:crypto'
import type { TestRemote } from '../support/git.js'
import { serveGit, type GitFault, type GitHttpServer } from '../support/git-http.js'
import { GitHubApiDouble } from '../support/github-api.js'
import { startProxy, type Fault, type FaultProxy } from '../support/proxy.js'
import { REGISTRY_PASSWORD, REGISTRY_USER, startRegistry, type TestRegistry } from '../support/registry.js'
import { HELM4_DIR, type ActionRun } from '../support/runner.js'
import { scenario, seedUpstream, visibleLog, type RunOptions, type Scenario } from '../support/scenario.js'

/**
 * Fault injection, end to end: dist/index.js as a runner runs it, against docker-registry behind a
 * fault-injecting proxy (registry and token service), a git remote over smart HTTP
 * (git-http-backend) with server-side hooks, real Helm 4 (behind a failing wrapper where asked),
 * and the GitHub API double for the prune stage. Faults are injected from outside only: signals,
 * proxies, hooks, wrappers; the product has no test hooks.
 *
 * After each fault the action runs again, as the next hourly run would, until a run succeeds (at
 * most {@link MAX_RECOVERY_RUNS}), and then the invariants are checked:
 * - exactly one bump commit for the new appVersion on the branch, on top of what was there;
 * - exactly one release tag, at that commit (an existing tag never moves);
 * - exactly one manifest in the chart's registry repository, tagged with the chart version: no
 *   untagged manifest left behind by a second push;
 * - the published chart's files equal the tagged commit's chart;
 * - every failed run (not killed) exited 1 with one clear `::error::` and no stack trace;
 * - no secret (registry password, its Basic form, the GitHub token) in any run's visible log;
 * - a dry run before the fault and one after convergence send zero writes: no registry
 *   POST/PUT/PATCH/DELETE, no git push, no API DELETE.
 * Each scenario's outcome is a row of the table printed at the end (README, "Reliability").
 */

const exec = promisify(execFile)
const TIME_SCALE = '20'
const GITHUB_TOKEN = 'ghs_faultSuiteToken0123456789'
const MAX_RECOVERY_RUNS = 3
const BUMP = 'chore(chart): update appVersion to 1.9.0'
const SECRETS = [REGISTRY_PASSWORD, Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString('base64'), GITHUB_TOKEN]

interface Row {
  group: string
  fault: string
  /** Exit codes of the runs made while the fault was armed (0 ok, 1 clear failure, 137 killed). */
  faulty: number[]
  runs: number
  violations: string[]
}
const table: Row[] = []

/** One scenario: a chart remote served over HTTP, a chart namespace, a package in the API double. */
interface Case extends Scenario {
  /** This case's own proxy in front of the registry and its token service (cases run concurrently). */
  proxy: FaultProxy
  http: GitHttpServer
  /** Every run of this case, in order, with whether the test killed it. */
  history: { run: ActionRun; killed: boolean; dryRun: boolean }[]
  /** Runs the action (fresh checkout over HTTP unless `workspace` is given). */
  go(extra?: Record<string, string>, options?: RunOptions & { kill?: boolean }): Promise<ActionRun>
  /** The pid of the action's process (its process group) of the current run. */
  pid(): number
}

describe('fault injection: no fault leaves a half-done release', () => {
  let registry: TestRegistry
  let api: GitHubApiDouble
  const remotes: TestRemote[] = []
  const servers: { stop(): Promise<void> }[] = []

  beforeAll(async () => {
    registry = await startRegistry()
    await seedUpstream(registry)
    api = await new GitHubApiDouble({ timeScale: Number(TIME_SCALE) }).start()
  })
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()))
    await api?.stop()
    await registry?.stop()
    for (const r of remotes) r.cleanup()
    if (table.length) {
      const order = ['process death', 'registry', 'git', 'helm', 'concurrency']
      table.sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group) || a.fault.localeCompare(b.fault, 'en', { numeric: true }))
      const lines = [
        '| group | fault | exit codes under the fault | runs in all | invariant violations |',
        '| --- | --- | --- | ---: | --- |',
      ]
      for (const row of table)
        lines.push(
          `| ${row.group} | ${row.fault} | ${row.faulty.join(', ')} | ${row.runs} | ` +
            `${row.violations.length ? row.violations.join('; ') : 'none'} |`,
        )
      const total = table.reduce((sum, r) => sum + r.runs, 0)
      lines.push(`\n${table.length} scenarios, ${total} runs, ${table.filter((r) => r.violations.length).length} with violations`)
      writeFileSync(join(tmpdir(), 'zcc-fault-report.md'), lines.join('\n') + '\n')
      console.log(`\nfault injection report (${join(tmpdir(), 'zcc-fault-report.md')}):\n${lines.join('\n')}`)
    }
  })

  async function fixture(chart = { version: '1.4.2', appVersion: '0.26.1' }): Promise<Case> {
    const proxy = await startProxy({ target: registry.host, token: registry.realm })
    const s = scenario(proxy.host, chart, { remotes })
    const http = await serveGit(s.remote.dir)
    servers.push(http, proxy)
    const pkg = `${s.ns.split('/').slice(1).join('/')}/zero-cache`
    const old = (i: number) => ({
      digest: `sha256:${createHash('sha256').update(`${pkg}-${i}`).digest('hex')}`,
      createdAt: new Date(Date.now() - (40 + i) * 86_400_000),
      tags: [],
    })
    api.addPackage('acme', 'Organization', pkg, [0, 1, 2].map(old))
    let pid = 0
    const c: Case = {
      ...s,
      proxy,
      http,
      history: [],
      pid: () => pid,
      async go(extra = {}, options = {}) {
        const run = await s.run(
          { 'github-packages': 'true', 'github-token': GITHUB_TOKEN, ...extra },
          {
            ...options,
            context: { actor: REGISTRY_USER, token: REGISTRY_PASSWORD, apiUrl: api.url },
            workspace: options.workspace ?? s.remote.checkout({ url: http.url }),
            env: { ZERO_CACHE_CHART_TIME_SCALE: TIME_SCALE, ...options.env },
            onSpawn: (child) => {
              pid = child.pid!
              writeFileSync(join(s.remote.dir, 'action.pid'), String(pid))
              options.onSpawn?.(child)
            },
          },
        )
        c.history.push({ run, killed: options.kill ?? false, dryRun: extra['dry-run'] === 'true' })
        return run
      },
    }
    return c
  }

  const killGroup = (pid: number) => {
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }

  /** A dry run that must send no write to the registry, the git remote or the GitHub API. */
  async function dryRunViolations(c: Case, when: string): Promise<string[]> {
    c.proxy.reset()
    c.http.reset()
    const deletes = () =>
      api.log.filter((l) => l.method === 'DELETE' && l.path.includes(encodeURIComponent(c.ns.split('/').slice(1).join('/')))).length
    const deletesBefore = deletes()
    const r = await c.go({ 'dry-run': 'true' })
    const problems: string[] = []
    if (r.exitCode !== 0) problems.push(`dry run ${when} exited ${r.exitCode}`)
    const writes = c.proxy.exchanges.filter((e) => e.to === 'registry' && !['GET', 'HEAD'].includes(e.method))
    if (writes.length) problems.push(`dry run ${when} sent registry writes: ${writes.map((w) => `${w.method} ${w.path}`).join(', ')}`)
    const pushes = c.http.exchanges.filter((e) => e.service === 'git-receive-pack')
    if (pushes.length) problems.push(`dry run ${when} talked to git-receive-pack ${pushes.length} times`)
    const sent = deletes() - deletesBefore
    if (sent) problems.push(`dry run ${when} sent ${sent} API DELETEs`)
    return problems
  }

  /** Runs again, without faults, as the next hourly runs would, until one succeeds. */
  async function recover(c: Case): Promise<void> {
    c.proxy.reset()
    c.http.reset()
    for (let i = 0; i < MAX_RECOVERY_RUNS; i++) {
      const r = await c.go()
      if (r.exitCode === 0) return
    }
  }

  /** The invariants (module comment), as a list of what is violated. */
  async function violations(c: Case, expected: { version: string; tag: string; below: string[] }): Promise<string[]> {
    const problems: string[] = []
    const log = c.remote.log()
    const subjects = log.map((l) => l.split(' ').slice(1).join(' '))
    const bumps = subjects.filter((s) => s === BUMP).length
    if (bumps !== 1) problems.push(`${bumps} bump commits`)
    if (JSON.stringify(subjects.slice(1)) !== JSON.stringify(expected.below) || subjects[0] !== BUMP)
      problems.push(`branch is [${subjects.join(' | ')}]`)
    const bump = log.find((l) => l.endsWith(BUMP))?.split(' ')[0]
    const tags = c.remote.tags()
    const releaseTags = [...tags.keys()]
    const wantTags = expected.tag === 'v2.0.0' ? ['v2.0.0'] : ['v2.0.0', expected.tag]
    if (JSON.stringify(releaseTags.sort()) !== JSON.stringify(wantTags.sort())) problems.push(`tags are [${releaseTags.join(', ')}]`)
    if (tags.get(expected.tag) !== bump)
      problems.push(`tag ${expected.tag} is at ${tags.get(expected.tag)?.slice(0, 12)}, not at the bump commit ${bump?.slice(0, 12)}`)
    const registryTags = await registry.listTags(c.chartRepo)
    if (JSON.stringify(registryTags) !== JSON.stringify([expected.version])) problems.push(`registry tags are [${registryTags.join(', ')}]`)
    const revisions = registry.manifestRevisions(c.chartRepo)
    if (revisions.length !== 1) problems.push(`${revisions.length} manifests in the registry (${revisions.length - 1} untagged)`)
    if (registryTags.includes(expected.version) && bump) problems.push(...(await contentViolations(c, expected)))
    for (const [i, { run, killed, dryRun }] of c.history.entries()) {
      const visible = visibleLog(run)
      for (const secret of SECRETS) if (visible.includes(secret)) problems.push(`run ${i + 1} logged a secret`)
      if (killed || run.exitCode === 0) continue
      if (dryRun) continue // counted by dryRunViolations
      const errors = run.log.split('\n').filter((l) => l.startsWith('::error::'))
      if (run.exitCode !== 1) problems.push(`run ${i + 1} exited ${run.exitCode}`)
      if (errors.length !== 1) problems.push(`run ${i + 1} failed with ${errors.length} error annotations`)
      if (/unexpected error|\n\s+at .+:\d+:\d+/.test(run.log))
        problems.push(`run ${i + 1} failed with a stack trace: ${errors[0]?.slice(0, 160)}`)
    }
    return problems
  }

  /** The published chart's files against the tagged commit's chart directory. */
  async function contentViolations(c: Case, expected: { version: string; tag: string }): Promise<string[]> {
    const dir = mkdtempSync(join(tmpdir(), 'zcc-published-'))
    await exec(
      join(HELM4_DIR, 'helm'),
      ['pull', `oci://${registry.host}/${c.chartRepo}`, '--version', expected.version, '--plain-http', '-d', dir, '--untar'],
      {
        env: { ...process.env, HOME: c.remote.home },
      },
    )
    const root = join(dir, 'zero-cache')
    const problems: string[] = []
    const walk = (d: string): string[] =>
      readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]))
    for (const file of walk(root)) {
      const rel = relative(root, file)
      let committed: string
      try {
        committed = c.remote.git(['show', `${expected.tag}:charts/zero-cache/${rel}`], c.remote.dir)
      } catch {
        problems.push(`published ${rel} is not in ${expected.tag}`)
        continue
      }
      // helm package writes Chart.yaml anew from the chart's metadata (comments and layout go): compare it as data.
      const published = readFileSync(file, 'utf8')
      const same =
        rel === 'Chart.yaml' ? isDeepStrictEqual(parseYaml(published), parseYaml(committed)) : published.trimEnd() === committed.trimEnd()
      if (!same) problems.push(`published ${rel} differs from ${expected.tag}`)
    }
    return problems
  }

  /** A whole scenario: dry run, the faulty run(s), recovery, invariants, dry run; one table row. */
  async function check(
    group: string,
    fault: string,
    c: Case,
    act: () => Promise<void>,
    expected: { version: string; tag: string; below: string[] } = { version: '2.0.0', tag: 'v2.0.0', below: ['feat: zero-cache chart'] },
    options: { dryRuns?: boolean } = {},
  ): Promise<Row> {
    // The dry run goes first, while there is a release to plan: a dry run with nothing to do proves little.
    const problems = (options.dryRuns ?? true) ? await dryRunViolations(c, 'before the fault') : []
    const first = c.history.length
    await act()
    const faulty = c.history.slice(first).map((h) => h.run.exitCode)
    await recover(c)
    problems.push(...(await violations(c, expected)))
    const row = { group, fault, faulty, runs: c.history.length, violations: problems }
    table.push(row)
    return row
  }

  // Scenarios run a few at a time: each has its own proxy, git server, remote, chart namespace and package.
  describe.concurrent('process death: SIGKILL to the whole step the moment a side effect is visible', () => {
    it.for([
      ['the bump commit reached the remote', 'refs/heads/main'],
      ['the release tag reached the remote', 'refs/tags/v2.0.0'],
    ])('after %s', async ([name, ref], { expect }) => {
      const c = await fixture()
      const row = await check('process death', `SIGKILL after ${name} (post-receive hook)`, c, async () => {
        const script = [
          '#!/bin/sh',
          `dir="${c.remote.dir}"`,
          'while read old new ref; do',
          `  if [ "$ref" = "${ref}" ] && [ ! -f "$dir/killed" ]; then touch "$dir/killed"; kill -9 -"$(cat "$dir/action.pid")"; fi`,
          'done',
        ].join('\n')
        writeFileSync(join(c.remote.dir, 'hooks/post-receive'), script + '\n')
        chmodSync(join(c.remote.dir, 'hooks/post-receive'), 0o755)
        const r = await c.go({}, { kill: true })
        expect(r.exitCode).toBe(137)
        expect(existsSync(join(c.remote.dir, 'killed'))).toBe(true)
      })
      expect(row.violations, row.fault).toEqual([])
    })

    it.for<[string, Omit<Fault, 'name' | 'do'>]>([
      ['the first blob upload of helm push (201)', { method: 'PUT', path: /\/zero-cache\/blobs\/uploads\//, onStatus: 201 }],
      ['the second blob upload of helm push (201)', { method: 'PUT', path: /\/zero-cache\/blobs\/uploads\//, onStatus: 201, skip: 1 }],
      // Helm 4 puts the manifest by digest, then tags it with a second PUT (oras "Tag" step):
      // between the two the registry holds an untagged manifest.
      ['the manifest PUT by digest (201)', { method: 'PUT', path: /\/zero-cache\/manifests\/sha256:/, onStatus: 201 }],
      ['the manifest PUT by tag (201)', { method: 'PUT', path: /\/zero-cache\/manifests\/\d/, onStatus: 201 }],
    ])('after %s', async ([name, match], { expect }) => {
      const c = await fixture()
      const row = await check('process death', `SIGKILL after ${name}`, c, async () => {
        c.proxy.reset()
        c.proxy.inject({ name: 'kill', ...match, do: { then: () => killGroup(c.pid()) } })
        const r = await c.go({}, { kill: true })
        expect(c.proxy.applied()).toEqual({ kill: 1 })
        expect(r.exitCode).toBe(137)
      })
      expect(row.violations, row.fault).toEqual([])
    })
  })

  describe('registry faults through a proxy in front of docker-registry and its token service', () => {
    it('a 500 or 503 on the Nth request, for every N of a release run', { timeout: 900_000 }, async () => {
      // Calibrate: how many registry and token requests a clean release run makes.
      const probe = await fixture()
      const clean = await probe.go()
      expect(clean.exitCode, clean.log).toBe(0)
      const total = probe.proxy.exchanges.length
      expect(total).toBeGreaterThan(15)
      const positions = Array.from({ length: total }, (_, i) => i + 1)
      const failures: string[] = []
      const worker = async () => {
        for (let nth = positions.shift(); nth !== undefined; nth = positions.shift()) {
          const status = nth % 2 ? 500 : 503
          const c = await fixture()
          // Dry runs are checked in every other scenario; here they would only repeat those.
          const row = await check(
            'registry',
            `HTTP ${status} on request ${nth} of ${total}`,
            c,
            async () => {
              c.proxy.inject({
                name: 'error',
                skip: nth - 1,
                do: { answer: status, body: '{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}' },
              })
              await c.go()
            },
            undefined,
            { dryRuns: false },
          )
          if (row.violations.length) failures.push(`${row.fault}: ${row.violations.join('; ')}`)
        }
      }
      await Promise.all([worker(), worker(), worker()])
      expect(failures).toEqual([])
    })
  })

  describe.concurrent('registry faults, one each', () => {
    it.for<[string, Omit<Fault, 'name'>]>([
      [
        'a connection reset mid-upload (chart blob PUT)',
        { method: 'PUT', path: /\/zero-cache\/blobs\/uploads\//, times: 3, do: { reset: 'mid-request' } },
      ],
      [
        'a connection reset before the manifest PUT is forwarded',
        { method: 'PUT', path: /\/zero-cache\/manifests\//, times: 3, do: { reset: 'before-forwarding' } },
      ],
      [
        "a response slower than the client's timeout (chart manifest HEAD)",
        { method: 'HEAD', path: /\/zero-cache\/manifests\//, onStatus: 404, do: { delayMs: 7_000 } },
      ],
      [
        "a response slower than the client's timeout (upstream tags/list)",
        { method: 'GET', path: /\/rocicorp\/zero\/tags\/list$/, onStatus: 200, do: { delayMs: 7_000 } },
      ],
      ['401 on the first token fetch', { to: 'token', do: { answer: 401, body: '{"details":"injected"}' } }],
      // Token fetches 1–3 are the action's own (upstream pull, chart pull, preflight push); helm's follow.
      ['401 on every token fetch of helm push', { to: 'token', skip: 3, times: 50, do: { answer: 401, body: '{"details":"injected"}' } }],
      [
        '429 with Retry-After on upstream tags/list',
        {
          method: 'GET',
          path: /\/tags\/list$/,
          times: 2,
          do: { answer: 429, headers: { 'Retry-After': '1' }, body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}' },
        },
      ],
      [
        "429 with Retry-After on helm's blob upload",
        {
          method: 'POST',
          path: /\/zero-cache\/blobs\/uploads\/$/,
          skip: 2,
          times: 2,
          do: { answer: 429, headers: { 'Retry-After': '1' } },
        },
      ],
      [
        '200 with a broken body from upstream tags/list',
        { method: 'GET', path: /\/tags\/list$/, onStatus: 200, do: { replaceBody: '{"tags":["0.1' } },
      ],
      [
        '200 with an HTML body from the token service',
        { to: 'token', onStatus: 200, do: { replaceBody: '<html>maintenance</html>', contentType: 'text/html' } },
      ],
    ])('%s', async ([name, fault], { expect }) => {
      const c = await fixture()
      const row = await check('registry', name, c, async () => {
        c.proxy.reset()
        c.proxy.inject({ name: 'fault', ...fault })
        await c.go()
        expect(c.proxy.applied().fault ?? 0).toBeGreaterThan(0)
      })
      expect(row.violations, row.fault).toEqual([])
    })
  })

  describe.concurrent('git faults', () => {
    it('a pre-receive hook that rejects once', async ({ expect }) => {
      const c = await fixture()
      const row = await check('git', 'pre-receive rejects the first push', c, async () => {
        writeFileSync(
          join(c.remote.dir, 'hooks/pre-receive'),
          `#!/bin/sh\ncat >/dev/null\nif [ ! -f "${c.remote.dir}/rejected" ]; then touch "${c.remote.dir}/rejected"; echo "rejected ` +
            `once" >&2; exit 1; fi\n`,
        )
        chmodSync(join(c.remote.dir, 'hooks/pre-receive'), 0o755)
        const r = await c.go()
        expect(r.exitCode).toBe(1)
      })
      expect(row.violations, row.fault).toEqual([])
    })

    it('a concurrent pusher that wins the race', async ({ expect }) => {
      const c = await fixture()
      const competitor = c.remote.checkout({ depth: 0 })
      c.remote.git(
        ['-c', 'user.name=Someone', '-c', 'user.email=someone@example.com', 'commit', '--quiet', '--allow-empty', '-m', 'docs: meanwhile'],
        competitor,
      )
      const row = await check(
        'git',
        'a concurrent pusher wins the race',
        c,
        async () => {
          writeFileSync(
            join(c.remote.dir, 'hooks/pre-receive'),
            `#!/bin/sh\ncat >/dev/null\nif [ ! -f "${c.remote.dir}/raced" ]; then\n  touch "${c.remote.dir}/raced"\n  env -u GIT_DIR -u ` +
              `GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES git -C "${competitor}" push --quiet ` +
              `origin HEAD:refs/heads/main >/dev/null 2>&1 || exit 2\n  echo "rejected: someone pushed first" >&2\n  exit 1\nfi\n`,
          )
          chmodSync(join(c.remote.dir, 'hooks/pre-receive'), 0o755)
          const r = await c.go()
          expect(r.exitCode).toBe(0)
          expect(r.log).toContain('moved while this run was pushing')
        },
        { version: '2.0.0', tag: 'v2.0.0', below: ['docs: meanwhile', 'feat: zero-cache chart'] },
      )
      expect(row.violations, row.fault).toEqual([])
    })

    it('a release tag that already exists at another commit', async ({ expect }) => {
      const c = await fixture()
      const initial = c.remote.log()[0].split(' ')[0]
      c.remote.git(['tag', 'v2.0.0', initial], c.remote.dir)
      const row = await check(
        'git',
        'the release tag exists at another commit',
        c,
        async () => {
          const r = await c.go()
          expect(r.exitCode).toBe(0)
          expect(r.outputs['chart-version']).toBe('2.0.1')
        },
        { version: '2.0.1', tag: 'v2.0.1', below: ['feat: zero-cache chart'] },
      )
      expect(c.remote.tags().get('v2.0.0')).toBe(initial)
      expect(row.violations, row.fault).toEqual([])
    })

    it.for<[string, Omit<GitFault, 'name'>]>([
      ['503 on every fetch attempt', { service: 'git-upload-pack', method: 'GET', times: 3, do: { answer: 503 } }],
      [
        'the branch push lands and its answer is lost, three times',
        { service: 'git-receive-pack', method: 'POST', times: 6, do: { reset: 'after' } },
      ],
    ])('transport: %s', async ([name, fault], { expect }) => {
      const c = await fixture()
      const row = await check('git', `transport: ${name}`, c, async () => {
        c.http.inject({ name: 'fault', ...fault })
        await c.go()
        expect(c.http.applied().fault).toBeGreaterThan(0)
      })
      expect(row.violations, row.fault).toEqual([])
    })
  })

  describe.concurrent('helm faults: a wrapper on PATH that fails once', () => {
    it.for(['lint', 'package', 'registry', 'push'])('helm %s fails once', async (command, { expect }) => {
      const c = await fixture()
      const wrapper = mkdtempSync(join(tmpdir(), 'zcc-helm-wrapper-'))
      mkdirSync(join(wrapper, 'bin'))
      writeFileSync(
        join(wrapper, 'bin/helm'),
        `#!/bin/sh\nif [ "$1" = "${command}" ] && [ ! -f "${wrapper}/failed" ]; then touch "${wrapper}/failed"; echo "Error: injected ` +
          `failure of helm ${command}" >&2; exit 1; fi\nexec "${join(HELM4_DIR, 'helm')}" "$@"\n`,
      )
      chmodSync(join(wrapper, 'bin/helm'), 0o755)
      const row = await check('helm', `helm ${command} fails once`, c, async () => {
        const r = await c.go({}, { pathPrepend: [join(wrapper, 'bin')] })
        expect(r.exitCode).toBe(1)
        expect(r.log).toContain(`injected failure of helm ${command}`)
      })
      expect(row.violations, row.fault).toEqual([])
    })
  })

  describe('concurrency: runs started at the same moment', () => {
    it.each([2, 5])('%i runs', { timeout: 300_000 }, async (count) => {
      const c = await fixture()
      const row = await check('concurrency', `${count} runs at once`, c, async () => {
        const runs = await Promise.all(Array.from({ length: count }, () => c.go()))
        expect(
          runs.map((r) => r.exitCode),
          runs.map((r) => r.log.split('\n').slice(-30).join('\n')).join('\n----\n'),
        ).toEqual(Array(count).fill(0))
        expect(runs.filter((r) => r.outputs.updated === 'true').length).toBeGreaterThanOrEqual(1)
      })
      expect(row.violations, row.fault).toEqual([])
    })
  })
})
