import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { CHART_DIR } from '../support/chart.js'
import { ROOT } from '../support/runner.js'
import { readWorkflow, stepsFor } from '../support/workflow.js'
import { ONE_VERSION } from './support.js'

/**
 * release-chart.yml's verify-command, as the action runs it (`bash -eo pipefail`, the step's
 * environment plus the update's coordinates): a release that cannot be installed fails it. That it
 * passes for a release zero-cache boots with is test/e2e/workflow.test.ts (the scheduled run, end to
 * end). Not run inside `npm run verify:zero` itself (that runs this directory's tests for one
 * version: it would start itself again).
 */

const command = stepsFor(readWorkflow('release-chart.yml').workflow, { name: 'schedule' }).find((s) => s.uses === './')!.with[
  'verify-command'
]

function verify(appVersion: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', command], {
      cwd: CHART_DIR.replace(/\/charts\/zero-cache$/, ''),
      env: { ...process.env, GITHUB_WORKSPACE: ROOT, APP_VERSION: appVersion, CHART_DIR, CHART_NAME: 'zero-cache' },
    })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    child.on('close', (code) => resolve({ code, output }))
  })
}

describe.skipIf(ONE_VERSION)("release-chart.yml's verify-command (npm run verify:zero)", () => {
  it('fails for a release that does not exist', { timeout: 5 * 60_000 }, async () => {
    const r = await verify('0.0.0-no-such-release')
    expect(r.code).not.toBe(0)
  })
})
