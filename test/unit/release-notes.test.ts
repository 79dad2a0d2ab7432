import { describe, expect, it } from 'vitest'
import { previousReleaseTag, releaseNotes } from '../../src/release/notes.js'

const tags = (...names: string[]) => new Map(names.map((n, i) => [n, `${i}`.repeat(40).slice(0, 40)]))

describe('previousReleaseTag', () => {
  it('is the highest chart version below this one, by SemVer precedence, not by string order', () => {
    const t = tags('v1.9.0', 'v1.10.0', 'v2.0.0', 'v2.0.1', 'latest', 'v3.0.0-rc.1')
    expect(previousReleaseTag(t, 'v{version}', 'zero-cache', '2.0.1')?.tag).toBe('v2.0.0')
    expect(previousReleaseTag(t, 'v{version}', 'zero-cache', '2.0.0')?.tag).toBe('v1.10.0')
    expect(previousReleaseTag(t, 'v{version}', 'zero-cache', '1.9.0')).toBeUndefined()
    expect(previousReleaseTag(t, 'v{version}', 'zero-cache', '3.0.0')?.tag).toBe('v3.0.0-rc.1')
  })
  it('follows the tag format, the chart name and {app-version}', () => {
    const t = tags('zero-cache-1.0.0', 'other-1.5.0', 'zero-cache-1.2.0', 'chart-1.3.0+app-0.26.1')
    expect(previousReleaseTag(t, '{name}-{version}', 'zero-cache', '2.0.0')?.tag).toBe('zero-cache-1.2.0')
    expect(previousReleaseTag(t, 'chart-{version}+app-{app-version}', 'zero-cache', '2.0.0')?.version).toBe('1.3.0')
  })
  it('treats regular-expression characters in the format as text', () => {
    expect(previousReleaseTag(tags('v1.0.0', 'v1x0x0'), 'v{version}', 'c', '2.0.0')?.tag).toBe('v1.0.0')
    expect(previousReleaseTag(tags('(c).1.0.0'), '(c).{version}', 'c', '2.0.0')?.tag).toBe('(c).1.0.0')
  })
})

describe('releaseNotes', () => {
  const base = {
    name: 'zero-cache',
    version: '2.0.1',
    appVersion: '1.9.0',
    chartDir: 'charts/zero-cache',
    ociRepo: 'oci://ghcr.io/acme/charts',
  }
  it("lists the values-images changes of the release (issue 21), and the first tag's upstream change (issue 20)", () => {
    const notes = releaseNotes({
      ...base,
      previousAppVersion: '1.6.1',
      images: [{ image: 'docker.io/otel/opentelemetry-collector', from: '0.138.0', to: '0.139.0', path: 'metrics.collector.image.tag' }],
      commits: [],
    })
    expect(notes).toContain('`appVersion` `1.6.1` → `1.9.0`')
    expect(notes).toContain('- `docker.io/otel/opentelemetry-collector` `0.138.0` → `0.139.0` (values.yaml `metrics.collector.image.tag`)')
  })

  it('gives the upstream change, install line, digest and commits since the previous tag', () => {
    const notes = releaseNotes({
      ...base,
      image: 'docker.io/rocicorp/zero',
      previous: { tag: 'v2.0.0', appVersion: '1.6.1' },
      commits: [{ sha: 'a'.repeat(40), subject: 'chore(chart): update appVersion to 1.9.0' }],
      digest: 'sha256:abc',
    })
    expect(notes).toContain('`appVersion` `1.6.1` → `1.9.0` (upstream image `docker.io/rocicorp/zero`)')
    expect(notes).toContain('helm install zero-cache oci://ghcr.io/acme/charts/zero-cache --version 2.0.1')
    expect(notes).toContain('Manifest digest: `sha256:abc`')
    expect(notes).toContain('### Changes to `charts/zero-cache` since v2.0.0')
    expect(notes).toContain(`- chore(chart): update appVersion to 1.9.0 (${'a'.repeat(12)})`)
  })
  it('says so when the history could not be read, or holds no commit', () => {
    expect(releaseNotes({ ...base })).toContain('_The history could not be read._')
    expect(releaseNotes({ ...base, commits: [] })).toContain('_No commits._')
    expect(releaseNotes({ ...base, previous: { tag: 'v2.0.0', appVersion: '1.9.0' }, commits: [] })).toContain('`1.9.0` (unchanged)')
  })
})
