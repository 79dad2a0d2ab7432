import { describe, expect, it } from 'vitest'
import {
  decideUpdate,
  describeStep,
  firstFreeVersion,
  formatTemplate,
  planRelease,
  unknownPlaceholders,
  type ReleaseState,
  type UpdateDecision,
} from '../../src/release/plan.js'
import { selectVersion } from '../../src/versions.js'

const chart = { name: 'zero-cache', version: '1.4.2', appVersion: '0.26.1' }
const stable = { includePrereleases: false, range: '*' }
const C1 = 'a'.repeat(40)
const C2 = 'b'.repeat(40)

describe('decideUpdate', () => {
  it.each([
    [['0.26.1', '1.9.0'], 'update', '1.9.0', '2.0.0'],
    [['0.26.1'], 'current', undefined, undefined],
    [['0.26.0'], 'ahead', undefined, undefined],
    [['latest'], 'none-allowed', undefined, undefined],
  ])('%j → %s', (tags, kind, appVersion, version) => {
    const d = decideUpdate(chart, selectVersion(tags, stable), 'auto')
    expect(d.kind).toBe(kind)
    if (d.kind === 'update') expect([d.appVersion, d.version]).toEqual([appVersion, version])
  })
})

describe('appVersion keeps the chart form', () => {
  it.each([
    ['1.2.3', 'v1.2.4', '1.2.4'],
    ['v1.2.3', 'v1.2.4', 'v1.2.4'],
    ['1.2.3', '1.2.4', '1.2.4'],
    ['v1.2.3', '1.2.4', '1.2.4'],
  ])('appVersion %s, tag %s → %s', (current, tag, expected) => {
    const d = decideUpdate({ ...chart, appVersion: current }, selectVersion([tag], stable), 'auto')
    expect(d.kind === 'update' && d.appVersion).toBe(expected)
  })
})

const release = (over: Partial<ReleaseState>): ReleaseState => ({
  version: '2.0.0',
  appVersion: '1.9.0',
  name: 'zero-cache',
  tag: 'v2.0.0',
  releaseCommit: 'new',
  published: false,
  chartRef: 'oci://ghcr.io/acme/r/zero-cache:2.0.0',
  ...over,
})
const update: UpdateDecision = { kind: 'update', from: chart, appVersion: '1.9.0', version: '2.0.0', releaseType: 'major', breaking: true }
const current: UpdateDecision = { kind: 'current', chart: { ...chart, version: '2.0.0', appVersion: '1.9.0' } }
const kinds = (p: ReturnType<typeof planRelease>) => p.steps.map((s) => s.kind)
const plan = (decision: UpdateDecision, state: Partial<ReleaseState>, lint = true) =>
  planRelease({ decision, release: release(state), branch: 'main', commitMessage: 'chore: x', lint })

describe('planRelease: the release state machine', () => {
  it.each([
    ['update from scratch', update, {}, true, ['update', 'lint', 'commit', 'tag', 'publish']],
    ['update, no lint', update, {}, false, ['update', 'commit', 'tag', 'publish']],
    ['all in place: nothing', current, { releaseCommit: C1, remoteTagCommit: C1, published: true }, true, []],
    ['died after push: tag, lint, publish', current, { releaseCommit: C1, published: false }, true, ['tag', 'lint', 'publish']],
    ['died after tag: lint, publish', current, { releaseCommit: C1, remoteTagCommit: C1, published: false }, true, ['lint', 'publish']],
    ['published, tag missing: tag', current, { releaseCommit: C1, published: true }, true, ['tag']],
  ] as const)('%s', (_name, decision, state, lint, expected) => {
    expect(kinds(plan(decision, state, lint))).toEqual(expected)
  })

  it('never moves a tag that points elsewhere, and says so', () => {
    const p = plan(current, { releaseCommit: C1, remoteTagCommit: C2, published: true })
    expect(p.steps).toEqual([])
    expect(p.warnings[0]).toMatch(/tag v2\.0\.0 already exists at bbbbbbbbbbbb, not at aaaaaaaaaaaa/)
  })

  it('describes each step in one line', () => {
    expect(plan(update, {}).steps.map(describeStep)).toEqual([
      'update Chart.yaml: appVersion 0.26.1 → 1.9.0, version 1.4.2 → 2.0.0 (major, breaking upstream change)',
      'helm lint the chart at the new commit',
      'commit "chore: x" and push to main',
      'create tag v2.0.0 at the new commit and push it',
      'helm package and helm push oci://ghcr.io/acme/r/zero-cache:2.0.0 (from the new commit)',
    ])
  })
})

describe('firstFreeVersion', () => {
  it('skips taken versions by patch', () => {
    const taken = new Set(['2.0.0', '2.0.1'])
    expect(firstFreeVersion('2.0.0', (v) => taken.has(v))).toEqual({ version: '2.0.2', skipped: ['2.0.0', '2.0.1'] })
  })
  it('gives up after the limit', () => {
    expect(() => firstFreeVersion('1.0.0', () => true, 3)).toThrow('chart versions 1.0.0 to 1.0.2 are all taken')
  })
})

describe('templates', () => {
  it('formats placeholders', () => {
    expect(formatTemplate('{name}-v{version} ({app-version})', { name: 'zc', version: '1.0.0', 'app-version': '0.25.1' })).toBe(
      'zc-v1.0.0 (0.25.1)',
    )
  })
  it('finds unknown placeholders', () => {
    expect(unknownPlaceholders('v{version}{chart}{ x }')).toEqual(['chart', ' x '])
  })
})
