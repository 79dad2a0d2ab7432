import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import semver from 'semver'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { CHART_SOURCE, type TestRemote } from '../support/git.js'
import { startRegistry, type TestRegistry } from '../support/registry.js'
import { DIST, HELM4_DIR, ROOT } from '../support/runner.js'
import { explain, scenario, seedUpstream } from '../support/scenario.js'
import { jobClaims, referrersOf, startSigstore } from '../support/sigstore.js'
import { readWorkflow, stepsFor } from '../support/workflow.js'

/**
 * The repository's own release workflow, as cron runs it: the `with:` of its `uses: ./` step,
 * rendered by GitHub's expression evaluator for a `schedule` event, run through dist/index.js
 * against the loopback registry (holding rocicorp/zero's real release history) and a bare remote
 * holding this repository's chart as it is. Only where images come from and charts go to point
 * at loopback.
 */
describe('release-chart.yml on schedule', () => {
  let registry: TestRegistry
  const remotes: TestRemote[] = []
  beforeAll(async () => {
    registry = await startRegistry()
    await seedUpstream(registry)
    const values = readFileSync(join(CHART_SOURCE, 'values.yaml'), 'utf8')
    await registry.seedTags('otel/opentelemetry-collector', [/collector:\n\s+#[^]*?tag: "([^"]+)"/.exec(values)![1], 'latest'])
  })
  afterAll(async () => {
    await registry?.stop()
    for (const r of remotes) r.cleanup()
  })

  it("publishes a release of this repository's chart, verified by booting zero-cache", { timeout: 15 * 60_000 }, async () => {
    const [step] = stepsFor(readWorkflow('release-chart.yml').workflow, { name: 'schedule' }).filter((s) => s.uses === './')
    const chart = parse(readFileSync(join(CHART_SOURCE, 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string }
    // The fixture's newest stable rocicorp/zero is 1.9.0; a chart already there (or past it) starts from 0.26.1.
    const appVersion = semver.lt(chart.appVersion, '1.9.0') ? chart.appVersion : '0.26.1'
    const s = scenario(registry.host, { version: chart.version, appVersion }, { remotes })
    const inputs = {
      ...step.with,
      image: `${registry.host}/${step.with.image}`,
      'oci-repo': `oci://${registry.host}/acme/zero-cache-chart`,
      // The verification runs for real (zero-cache booted at 1.9.0 with the chart's environment): on
      // GitHub the checkout is this repository; here the checkout holds only the chart, so the
      // harness comes from this repository's own directory.
      'verify-command': step.with['verify-command'].replace('$GITHUB_WORKSPACE', ROOT),
      // The collector's image on loopback too, at the chart's own tag: nothing newer there.
      'values-images': step.with['values-images'].replace('docker.io/', `${registry.host}/`),
    }
    // sign: true — GitHub's OIDC token service and Sigstore are the loopback stand-ins; no GitHub API
    // here (the provenance is attached in the registry only).
    const claims = jobClaims('acme/zero-cache-chart', 'a'.repeat(40), 'release-chart.yml')
    const sigstore = await startSigstore(claims)
    let r
    try {
      r = await s.run(
        { ...inputs, 'github-token': '' },
        { env: { GITHUB_EVENT_NAME: 'schedule', GITHUB_REF: 'refs/heads/main', ...sigstore.env() } },
      )
      expect(r.exitCode, explain(r, s.remote)).toBe(0)
      const digest = (await registry.manifest('acme/zero-cache-chart/zero-cache', r.outputs['chart-version'])).digest
      const found = await referrersOf(registry, 'acme/zero-cache-chart/zero-cache', digest)
      expect(found.map((f) => f.predicateType).sort()).toEqual(['https://sigstore.dev/cosign/sign/v1', 'https://slsa.dev/provenance/v1'])
      for (const f of found) await sigstore.verify(f.bundle, { identity: sigstore.identityOf(claims), digest })
    } finally {
      await sigstore.stop()
    }
    // bump: auto — 0.x → 1.9.0 is a breaking change (major); 1.x → 1.9.0 is not (patch).
    const version = semver.inc(chart.version, semver.major(appVersion) === 0 ? 'major' : 'patch')!
    expect(r.outputs).toMatchObject({
      updated: 'true',
      'app-version': '1.9.0',
      'chart-version': version,
      // The chart's own tag namespace, apart from the action's v<X.Y.Z> release tags (issue 18, item 10).
      tag: `zero-cache-${version}`,
      pushed: 'true',
    })
    expect(s.remote.tags().get(`zero-cache-${version}`)).toBe(s.remote.log()[0].split(' ')[0])
    // The chart version, and its referrers index (the signature and the provenance): nothing else.
    const tags = await registry.listTags('acme/zero-cache-chart/zero-cache')
    expect(tags.filter((t) => !/^sha256-[0-9a-f]{64}$/.test(t))).toEqual([version])
    expect(tags).toHaveLength(2)
    expect(r.log).toContain('prune skipped') // not ghcr.io: the prune stage says so and stays green
    expect(r.summary).toContain('Verification: passed')
    expect(r.log).toContain('verifying zero-cache 1.9.0 with the chart at /')
  })

  it('the laptop dry run the README documents (.env.example, node --env-file) plans and writes nothing', async () => {
    const chart = parse(readFileSync(join(CHART_SOURCE, 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string }
    const s = scenario(registry.host, { version: chart.version, appVersion: '0.26.1' }, { remotes })
    // .env.example as a user fills it in, only pointed at loopback.
    const env = readFileSync(join(ROOT, '.env.example'), 'utf8')
      .replace(/^INPUT_IMAGE=.*$/m, `INPUT_IMAGE=${registry.host}/rocicorp/zero`)
      .replace(/^INPUT_OCI-REPO=.*$/m, `INPUT_OCI-REPO=oci://${registry.host}/acme/laptop`)
      .replace(/^INPUT_PLAIN-HTTP=.*$/m, 'INPUT_PLAIN-HTTP=true')
      .replace(/^GITHUB_REPOSITORY=.*$/m, 'GITHUB_REPOSITORY=acme/laptop')
    const dir = mkdtempSync(join(tmpdir(), 'zcc-laptop-'))
    writeFileSync(join(dir, '.env'), env)
    const workspace = s.remote.checkout()
    // A laptop's environment: no GITHUB_* (but what .env sets), no RUNNER_TEMP, no summary file.
    const { stdout, code } = await new Promise<{ stdout: string; code: number }>((resolve) => {
      const child = spawn(process.execPath, [`--env-file=${join(dir, '.env')}`, DIST], {
        cwd: workspace,
        env: { PATH: `${HELM4_DIR}:${process.env.PATH}`, HOME: s.remote.home, GIT_CONFIG_NOSYSTEM: '1' },
      })
      let out = ''
      child.stdout.on('data', (d) => (out += d))
      child.stderr.on('data', (d) => (out += d))
      child.on('close', (c) => resolve({ stdout: out, code: c ?? -1 }))
    })
    expect(code, stdout).toBe(0)
    expect(stdout).toContain('would: update Chart.yaml: appVersion 0.26.1 → 1.9.0')
    expect(stdout).toContain('would: helm package and helm push')
    expect(s.remote.log()).toHaveLength(1)
    expect(await registry.listTags('acme/laptop/zero-cache')).toEqual([])
  })
})
