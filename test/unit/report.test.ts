import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as core from '@actions/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { newReport, writeOutputs, writeSummary, type RunReport } from '../../src/report.js'
import type { Step } from '../../src/release/plan.js'

/** The job summary and the outputs, from a report: what a reader of the run sees. */

// @actions/core remembers the summary file it first wrote to: one file for the whole suite, emptied before each test.
const dir = mkdtempSync(join(tmpdir(), 'zcc-report-'))
beforeEach(() => {
  writeFileSync(join(dir, 'summary.md'), '')
  writeFileSync(join(dir, 'output'), '')
  process.env.GITHUB_STEP_SUMMARY = join(dir, 'summary.md')
  process.env.GITHUB_OUTPUT = join(dir, 'output')
})
afterEach(() => {
  delete process.env.GITHUB_STEP_SUMMARY
  delete process.env.GITHUB_OUTPUT
  core.summary.emptyBuffer()
})

const update: Step = {
  kind: 'update',
  from: { version: '1.4.2', appVersion: '0.26.1' },
  to: { version: '2.0.0', appVersion: '1.9.0' },
  releaseType: 'major',
  breaking: true,
  skippedVersions: [],
}
const tag: Step = { kind: 'tag', tag: 'v2.0.0', commit: 'new' }

function released(over: Partial<RunReport> = {}): RunReport {
  return {
    ...newReport('pipeline', false),
    image: 'docker.io/rocicorp/zero',
    chartName: 'zero-cache',
    previousAppVersion: '0.26.1',
    previousChartVersion: '1.4.2',
    appVersion: '1.9.0',
    chartVersion: '2.0.0',
    tag: 'v2.0.0',
    chartRef: 'oci://ghcr.io/acme/charts/zero-cache:2.0.0',
    updated: true,
    steps: [update, tag],
    done: [update],
    ...over,
  }
}

const summary = () => readFileSync(join(dir, 'summary.md'), 'utf8')

describe('writeSummary', () => {
  it('shows the version changes, what was done, and what was planned but not done after a failure', async () => {
    await writeSummary(released(), 'pushing tag v2.0.0 failed:\nremote: denied')
    const s = summary()
    expect(s).toContain('<h2>Helm chart sync: zero-cache</h2>')
    expect(s).toContain('**Failed:** pushing tag v2.0.0 failed:')
    expect(s).toContain('<pre><code>remote: denied</code></pre>')
    expect(s).toContain('<td>appVersion</td><td><code>0.26.1</code> → <code>1.9.0</code></td>')
    expect(s).toContain('<h3>Done by this run</h3>\n<ul><li>update Chart.yaml: appVersion 0.26.1 → 1.9.0')
    expect(s).toContain('<h3>Not done (the run failed; the next run picks up from here)</h3>\n<ul><li>create tag v2.0.0 at the new commit')
  })

  it('a dry run shows the plan, headed so', async () => {
    await writeSummary(released({ dryRun: true, done: [] }))
    expect(summary()).toContain('<h2>Helm chart sync: zero-cache (dry run)</h2>')
    expect(summary()).toContain('<h3>Plan (nothing was written)</h3>\n<ul><li>update Chart.yaml')
  })

  it('escapes what comes from outside (a chart name, an error) so it cannot inject HTML', async () => {
    await writeSummary(released({ chartName: '<img src=x>', warnings: ['<script>'] }))
    expect(summary()).not.toContain('<img src=x>')
    expect(summary()).toContain('&lt;script&gt;')
  })

  it('notes, facts and warnings get their own sections, in that order', async () => {
    await writeSummary(released({ notes: ['a note'], facts: ['a fact'], warnings: ['a warning'] }))
    const s = summary()
    const at = ['<h3>Notes</h3>\n<ul><li>a note', '<h3>Already in place</h3>\n<ul><li>a fact', '<h3>Warnings</h3>\n<ul><li>a warning'].map(
      (h) => s.indexOf(h),
    )
    expect(at[0]).toBeGreaterThan(0)
    expect(at[1]).toBeGreaterThan(at[0])
    expect(at[2]).toBeGreaterThan(at[1])
  })
})

describe('writeOutputs', () => {
  it('sets every output of a single chart, and names an open pull request only', () => {
    writeOutputs(
      released({
        pullRequest: { number: 3, url: 'https://github.com/acme/charts/pull/3', appVersion: '1.9.0', version: '2.0.0', status: 'held' },
      }),
      'charts/zero-cache',
    )
    const out = readFileSync(join(dir, 'output'), 'utf8')
    expect(out).toMatch(/app-version<<ghadelimiter_[\w-]+\n1\.9\.0\n/)
    expect(out).toMatch(/tag<<ghadelimiter_[\w-]+\nv2\.0\.0\n/)
    expect(out).toMatch(/pull-request-number<<ghadelimiter_[\w-]+\n\n/)
    expect(out).toContain('"name":"zero-cache","path":"charts/zero-cache","updated":true')
  })
})
