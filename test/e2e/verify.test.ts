import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useApiDouble, useRegistry } from '../support/fixtures.js'
import { serveGit } from '../support/git-http.js'
import { startProxy, type FaultProxy } from '../support/proxy.js'
import { NOISE_TAGS, REGISTRY_PASSWORD, REGISTRY_USER, releaseHistory } from '../support/registry.js'
import { explain, linkRemote, REPOSITORY, scenario, visibleLog } from '../support/scenario.js'

/**
 * Issue 20, verify-command: the user's test of each proposed update, run before anything is
 * written. End to end: the bundled action, a bare git remote, the loopback registry behind a
 * recording proxy (every registry write is seen), real helm, and the GitHub API double for
 * pull-request mode.
 */

const history = releaseHistory()
const tags = [...history.filter((h) => h.date <= '2026-06-06').map((h) => h.tag), ...NOISE_TAGS]
/** A command that prints 80 numbered lines and fails. */
const FAILING = 'for i in $(seq 1 80); do echo "verify line $i"; done\nexit 3'

describe('issue 20: verify-command', () => {
  const parts = useRegistry((registry) => registry.seedTags('rocicorp/zero', tags))
  // In front of the registry and its token service: every registry write is seen.
  let proxy: FaultProxy
  beforeAll(async () => {
    proxy = await startProxy({ target: parts.registry.host, token: parts.registry.realm })
  })
  afterAll(() => proxy?.stop())

  const setup = () => scenario(proxy.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
  const registryWrites = () => proxy.exchanges.filter((e) => e.to === 'registry' && !['GET', 'HEAD'].includes(e.method))
  const out = () => mkdtempSync(join(tmpdir(), 'zcc-verify-'))

  it('push mode: a failing verification writes nothing anywhere, fails the step, and the summary shows its last 50 lines', async () => {
    const s = setup()
    // The remote over smart HTTP, as the fault suite's dry runs are watched: every push is seen.
    const http = await serveGit(s.remote.dir)
    proxy.reset()
    const r = await s.run({ 'verify-command': FAILING }, { workspace: s.remote.checkout({ url: http.url }) })
    await http.stop()
    expect(http.exchanges.filter((e) => e.service === 'git-receive-pack')).toEqual([])
    expect(http.exchanges.length).toBeGreaterThan(0) // it did talk to the remote (ls-remote, fetch)
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toMatch(
      /::error::verify-command failed \(exit code 3\) after [\d.]+ s on charts\/zero-cache 2\.0\.0 \(appVersion 1\.6\.1\): nothing was/,
    )
    // Zero writes: no registry write (not even an upload session), no commit, no tag.
    expect(registryWrites()).toEqual([])
    expect(s.remote.log()).toHaveLength(1)
    expect([...s.remote.tags().keys()]).toEqual([])
    expect(await parts.registry.listTags(s.chartRepo)).toEqual([])
    // The output was streamed in a log group; the summary holds the last 50 lines.
    expect(r.stdout).toMatch(/::group::Verify: zero-cache 2\.0\.0 \(appVersion 1\.6\.1\)[\s\S]*verify line 1\n[\s\S]*verify line 80\n/)
    expect(r.summary).toContain('Verification: failed')
    expect(r.summary).toContain('verify line 31\nverify line 32')
    expect(r.summary).toContain('verify line 80')
    expect(r.summary).not.toMatch(/verify line 30\b/)
    expect(r.summary).toContain('create tag v2.0.0') // the plan it held back
    // The next run tries again, and a passing verification releases.
    const next = await s.run({ 'verify-command': 'true' })
    expect(next.exitCode, explain(next, s.remote)).toBe(0)
    expect(next.outputs).toMatchObject({ 'app-version': '1.6.1', 'chart-version': '2.0.0', pushed: 'true' })
    expect(next.summary).toContain('Verification: passed')
  })

  it('the command gets the update’s coordinates and the packaged chart then published, none of the action’s secrets', async () => {
    const s = setup()
    const dir = out()
    const command = [
      `printenv > ${dir}/env`,
      `cp "$CHART_PACKAGE" ${dir}/`,
      `cp "$CHART_DIR/Chart.yaml" ${dir}/Chart.yaml`,
      `pwd > ${dir}/cwd`,
      'set | grep -c INPUT_ || true',
    ].join('\n')
    const r = await s.run({ 'verify-command': command, 'github-token': 'ghs_secret-token-for-the-api' })
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    const env = Object.fromEntries(
      readFileSync(join(dir, 'env'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    )
    expect(env).toMatchObject({
      CHART_NAME: 'zero-cache',
      CHART_VERSION: '2.0.0',
      APP_VERSION: '1.6.1',
      PREVIOUS_APP_VERSION: '0.26.1',
      IMAGE: `${proxy.host}/rocicorp/zero:1.6.1`,
    })
    expect(env.CHART_DIR).toMatch(/^\/.*\/charts\/zero-cache$/)
    expect(env.CHART_PACKAGE).toMatch(/^\/.*\/zero-cache-2\.0\.0\.tgz$/)
    expect(readFileSync(join(dir, 'cwd'), 'utf8').trim()).toBe(env.CHART_DIR.replace(/\/charts\/zero-cache$/, ''))
    expect(readFileSync(join(dir, 'Chart.yaml'), 'utf8')).toMatch(/^appVersion: "1\.6\.1"$/m)
    // No input (github-token, registry-password …) and no runner token reaches the command.
    const text = readFileSync(join(dir, 'env'), 'utf8')
    expect(Object.keys(env).filter((k) => /^INPUT_|^ACTIONS_(RUNTIME|ID_TOKEN)/.test(k))).toEqual([])
    expect(text).not.toContain('ghs_secret-token-for-the-api')
    expect(text).not.toContain(REGISTRY_PASSWORD)
    // The archive it verified is the one published, byte for byte.
    const verified = readFileSync(
      join(
        dir,
        readdirSync(dir).find((f) => f.endsWith('.tgz'))!,
      ),
    )
    const layer = (await parts.registry.manifest(s.chartRepo, '2.0.0')).manifest.layers[0].digest
    expect(`sha256:${createHash('sha256').update(verified).digest('hex')}`).toBe(layer)
  })

  it('a verification that outlives verify-timeout-minutes is stopped and counts as failed', async () => {
    const s = setup()
    const dir = out()
    const started = Date.now()
    const r = await s.run({ 'verify-command': `sleep 60 & echo $! > ${dir}/pid; wait`, 'verify-timeout-minutes': '0.02' })
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toMatch(/::error::verify-command timed out after 1\.\d s/)
    expect(Date.now() - started).toBeLessThan(30_000)
    // The command's children went with it (its process group was stopped).
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'))
    const alive = existsSync(`/proc/${pid}/stat`) && !/^\d+ \([^)]*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
    expect(alive).toBe(false)
    expect(s.remote.log()).toHaveLength(1)
  })

  it('a dry run verifies too and reports the result, writing nothing', async () => {
    const s = setup()
    const dir = out()
    proxy.reset()
    const passed = await s.run({ 'dry-run': 'true', 'verify-command': `touch ${dir}/ran` })
    expect(passed.exitCode, explain(passed, s.remote)).toBe(0)
    expect(existsSync(join(dir, 'ran'))).toBe(true)
    expect(passed.summary).toContain('Verification: passed')
    expect(passed.summary).toContain('Plan (nothing was written)')
    const failed = await s.run({ 'dry-run': 'true', 'verify-command': FAILING })
    expect(failed.exitCode).toBe(1)
    expect(visibleLog(failed)).toContain('a real run would write nothing')
    expect(failed.summary).toContain('verify line 80')
    expect(registryWrites()).toEqual([])
    expect(s.remote.log()).toHaveLength(1)
    expect([...s.remote.tags().keys()]).toEqual([])
  })

  it('several charts: a failed verification holds only its chart', async () => {
    const s = setup()
    const chart = (name: string) => ({
      [`charts/${name}/Chart.yaml`]:
        `apiVersion: v2\nname: ${name}\nversion: 0.1.0\nappVersion: "1.5.0"\nannotations:\n  artifacthub.io/images: |\n` +
        `    - name: ${name}\n      image: ${proxy.host}/rocicorp/zero:1.5.0\n`,
      [`charts/${name}/templates/configmap.yaml`]: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n',
    })
    s.remote.pushFiles({ ...chart('alpha'), ...chart('beta') }, 'feat: two more charts')
    const r = await s.run({ image: '', 'chart-path': 'charts/alpha\ncharts/beta', 'verify-command': '[ "$CHART_NAME" != alpha ]' })
    expect(r.exitCode).toBe(1)
    expect(visibleLog(r)).toContain('::error::1 of 2 charts failed: alpha (charts/alpha)')
    expect([...s.remote.tags().keys()]).toEqual(['beta-0.1.1'])
    expect(await parts.registry.listTags(`${s.ns}/alpha`)).toEqual([])
    expect(await parts.registry.listTags(`${s.ns}/beta`)).toEqual(['0.1.1'])
  })
})

describe('issue 20: verify-command in pull-request mode', () => {
  const parts = useRegistry(async (registry) => {
    await registry.seedTags('rocicorp/zero', tags)
  })
  const apis = useApiDouble()

  async function setup() {
    const api = await apis.start()
    const s = scenario(parts.registry.host, { version: '1.4.2', appVersion: '0.26.1' }, { remotes: parts.remotes })
    linkRemote(api, s.remote)
    const run = (extra: Record<string, string>) =>
      s.run(
        { 'commit-mode': 'pull-request', 'github-token': 'ghs_double', ...extra },
        {
          context: { actor: REGISTRY_USER, token: REGISTRY_PASSWORD, apiUrl: apis.api.url },
          env: { ZERO_CACHE_CHART_TIME_SCALE: '1000', GITHUB_RUN_ID: '4242', GITHUB_SERVER_URL: 'https://github.com' },
        },
      )
    const head = () => s.remote.git(['rev-parse', 'refs/heads/chart-update/zero-cache'], s.remote.dir).trim()
    const statuses = (sha: string) =>
      (apis.api.statuses.get(REPOSITORY) ?? []).filter((st) => st.sha === sha && st.context === 'zero-cache-chart/verify')
    return { ...s, run, head, statuses, pulls: () => apis.api.pulls.get(REPOSITORY)! }
  }

  it('the result is the head commit’s status and a section of the body; a re-run on the same head does not verify again', async () => {
    const c = await setup()
    const dir = mkdtempSync(join(tmpdir(), 'zcc-verify-'))
    const command = `echo run >> ${dir}/runs`
    const first = await c.run({ 'verify-command': command })
    expect(first.exitCode, explain(first, c.remote)).toBe(0)
    const head = c.head()
    expect(c.statuses(head)).toEqual([
      expect.objectContaining({ state: 'success', targetUrl: `https://github.com/${REPOSITORY}/actions/runs/4242` }),
    ])
    expect(c.statuses(head)[0].description).toMatch(/^verify-command passed in [\d.]+ s$/)
    expect(c.pulls()[0].body).toContain('### Verification: passed')
    expect(first.summary).toContain('Verification: passed')
    const again = await c.run({ 'verify-command': command })
    expect(again.exitCode, explain(again, c.remote)).toBe(0)
    expect(readFileSync(join(dir, 'runs'), 'utf8')).toBe('run\n')
    expect(c.statuses(head)).toHaveLength(1)
    expect(c.pulls()[0].body).toContain('### Verification: passed')
    expect(visibleLog(again)).toContain('was verified already')
  })

  it('a failed verification is a failure status and the tail in the body: a warning, the pull request still opened', async () => {
    const c = await setup()
    const r = await c.run({ 'verify-command': FAILING })
    expect(r.exitCode, explain(r, c.remote)).toBe(0)
    expect(visibleLog(r)).toMatch(/::warning::verify-command failed \(exit code 3\).*pull request #\d+/)
    expect(c.statuses(c.head())).toEqual([expect.objectContaining({ state: 'failure' })])
    const body = c.pulls()[0].body
    expect(body).toContain('### Verification: failed')
    expect(body).toContain('verify line 80')
    expect(body).not.toMatch(/verify line 30\b/)
    expect(r.summary).toContain('Verification: failed')
  })
})
