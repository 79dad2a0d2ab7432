import { describe, expect, it } from 'vitest'
import type { PullRequest } from '../../src/github/repo.js'
import { decidePullRequest, proposalMarker, pullRequestBody, readProposal } from '../../src/release/pull-request.js'

const pr = (over: Partial<PullRequest>): PullRequest => ({
  number: 1,
  url: 'https://github.com/acme/charts/pull/1',
  state: 'open',
  merged: false,
  title: 't',
  body: '',
  head: 'chart-update/zero-cache',
  requestedReviewers: [],
  requestedTeams: [],
  headSha: 'a'.repeat(40),
  labels: [],
  ...over,
})
const proposing = (appVersion: string, chart = 'zero-cache') => proposalMarker({ chart, appVersion, version: '2.0.0' })

describe('proposal marker', () => {
  it('round-trips through a body, and a hand-written body has none', () => {
    const body = `text\n\n${proposing('1.9.0')}\n`
    expect(readProposal(body)).toEqual({ chart: 'zero-cache', appVersion: '1.9.0', version: '2.0.0' })
    expect(readProposal('Bumps the chart by hand')).toBeUndefined()
    expect(readProposal('<!-- zero-cache-chart {"chart":1} -->')).toBeUndefined()
    expect(readProposal('<!-- zero-cache-chart {not json} -->')).toBeUndefined()
  })
})

describe('decidePullRequest', () => {
  it('opens one when the branch has no pull request', () => {
    expect(decidePullRequest([], 'zero-cache', '1.9.0')).toEqual({ kind: 'open' })
  })
  it('updates the open one, whatever older closed ones say', () => {
    const open = pr({ number: 3 })
    expect(decidePullRequest([open, pr({ number: 2, state: 'closed', body: proposing('9.9.9') })], 'zero-cache', '1.9.0')).toEqual({
      kind: 'update',
      pullRequest: open,
    })
  })
  it.each([
    ['the same version', '1.9.0', 'hold'],
    ['a newer version', '1.10.0', 'hold'],
    ['an older version', '1.8.0', 'open'],
  ])('a pull request closed unmerged that proposed %s: %s', (_what, closedAt, kind) => {
    const closed = pr({ state: 'closed', body: proposing(closedAt) })
    expect(decidePullRequest([closed], 'zero-cache', '1.9.0').kind).toBe(kind)
  })
  it('a merged pull request never holds; nor one for another chart, nor one opened by hand', () => {
    expect(decidePullRequest([pr({ state: 'closed', merged: true, body: proposing('1.9.0') })], 'zero-cache', '1.9.0').kind).toBe('open')
    expect(decidePullRequest([pr({ state: 'closed', body: proposing('1.9.0', 'other') })], 'zero-cache', '1.9.0').kind).toBe('open')
    expect(decidePullRequest([pr({ state: 'closed', body: 'by hand' })], 'zero-cache', '1.9.0').kind).toBe('open')
  })
  it('only the newest closed one counts: a later merge lifts an older hold', () => {
    const pulls = [pr({ number: 2, state: 'closed', merged: true }), pr({ number: 1, state: 'closed', body: proposing('1.9.0') })]
    expect(decidePullRequest(pulls, 'zero-cache', '1.9.0').kind).toBe('open')
  })
})

describe('pullRequestBody', () => {
  const update = {
    kind: 'update' as const,
    from: { version: '1.4.2', appVersion: '0.26.1' },
    to: { version: '2.0.0', appVersion: '1.9.0' },
    releaseType: 'major',
    breaking: true,
    skippedVersions: [],
  }
  it('says what changes, why, where the notes are and what the merge leads to, and carries the marker', () => {
    const body = pullRequestBody({
      chart: 'zero-cache',
      image: 'docker.io/rocicorp/zero',
      update,
      releaseNotes: 'https://github.com/rocicorp/mono/releases',
      tag: 'v2.0.0',
      chartRef: 'oci://ghcr.io/acme/charts/zero-cache:2.0.0',
      base: 'main',
    })
    expect(body).toContain('| `appVersion` | `0.26.1` | `1.9.0` |')
    expect(body).toContain('| chart `version` | `1.4.2` | `2.0.0` |')
    expect(body).toContain('major: the upstream change is breaking')
    expect(body).toContain('Upstream release notes: https://github.com/rocicorp/mono/releases')
    expect(body).toContain('tags `v2.0.0` on main and publishes `oci://ghcr.io/acme/charts/zero-cache:2.0.0`')
    expect(readProposal(body)).toEqual({ chart: 'zero-cache', appVersion: '1.9.0', version: '2.0.0' })
  })
  it('leaves the notes line out when the image names no source', () => {
    const body = pullRequestBody({
      chart: 'c',
      image: 'i',
      update: { ...update, breaking: false, releaseType: 'patch' },
      tag: 't',
      chartRef: 'r',
      base: 'b',
    })
    expect(body).not.toContain('release notes')
    expect(body).toContain('patch: the upstream change is not breaking')
  })
})
