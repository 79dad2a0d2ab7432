import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import semver from 'semver'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { CHART_SOURCE, type TestRemote } from '../support/git.js'
import { startRegistry, type TestRegistry } from '../support/registry.js'
import { explain, scenario, seedUpstream } from '../support/scenario.js'
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
  })
  afterAll(async () => {
    await registry?.stop()
    for (const r of remotes) r.cleanup()
  })

  it("publishes a release of this repository's chart", async () => {
    const [step] = stepsFor(readWorkflow('release-chart.yml').workflow, { name: 'schedule' }).filter((s) => s.uses === './')
    const chart = parse(readFileSync(join(CHART_SOURCE, 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string }
    // The fixture's newest stable rocicorp/zero is 1.9.0; a chart already there (or past it) starts from 0.26.1.
    const appVersion = semver.lt(chart.appVersion, '1.9.0') ? chart.appVersion : '0.26.1'
    const s = scenario(registry.host, { version: chart.version, appVersion }, { remotes })
    const inputs = {
      ...step.with,
      image: `${registry.host}/${step.with.image}`,
      'oci-repo': `oci://${registry.host}/acme/zero-cache-chart`,
    }
    const r = await s.run(inputs, { env: { GITHUB_EVENT_NAME: 'schedule', GITHUB_REF: 'refs/heads/main' } })
    expect(r.exitCode, explain(r, s.remote)).toBe(0)
    // bump: auto — 0.x → 1.9.0 is a breaking change (major); 1.x → 1.9.0 is not (patch).
    const version = semver.inc(chart.version, semver.major(appVersion) === 0 ? 'major' : 'patch')!
    expect(r.outputs).toMatchObject({
      updated: 'true',
      'app-version': '1.9.0',
      'chart-version': version,
      tag: `v${version}`,
      pushed: 'true',
    })
    expect(s.remote.tags().get(`v${version}`)).toBe(s.remote.log()[0].split(' ')[0])
    expect(await registry.listTags('acme/zero-cache-chart/zero-cache')).toEqual([version])
    expect(r.log).toContain('prune skipped') // not ghcr.io: the prune stage says so and stays green
  })
})
