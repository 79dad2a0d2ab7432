import { describe, expect, it } from 'vitest'
import { parseDocument } from 'yaml'
import { artifactHubImages, setArtifactHubAnnotations } from '../../src/chart/chart-file.js'
import { ChartError } from '../../src/errors.js'

const CHART = `# top comment
apiVersion: v2
name: zero-cache
version: 2.0.0 # kept
appVersion: '0.26.1'
annotations:
  # Artifact Hub
  artifacthub.io/images: |
    - name: zero-cache
      image: docker.io/rocicorp/zero:0.26.1   # the server
    - name: sidecar
      image: "docker.io/otel/opentelemetry-collector:0.26.1-other"
    - name: pinned
      image: ghcr.io/acme/tool:0.26.1@sha256:${'a'.repeat(64)}
  artifacthub.io/changes: |
    - kind: added
      description: Something old
  artifacthub.io/license: MIT # after
keywords: [zero]
`
const update = { from: '0.26.1', to: '1.9.0', change: { description: 'Update zero-cache to 1.9.0' } }

describe('Artifact Hub annotations', () => {
  it('lists the images', () => {
    expect(artifactHubImages(CHART).map((i) => i.name)).toEqual(['zero-cache', 'sidecar', 'pinned'])
    expect(artifactHubImages('apiVersion: v2\nname: c\nversion: 1.0.0\nappVersion: "1"\n')).toEqual([])
    expect(() => artifactHubImages(CHART.replace('- name: zero-cache\n      image:', '- name: zero-cache\n      img:'))).toThrow(ChartError)
  })

  it('moves the tag of images at appVersion, drops a stale digest, replaces the changes; every other byte stays', () => {
    const { text, changed } = setArtifactHubAnnotations(CHART, {
      ...update,
      change: { ...update.change, link: { name: 'Upstream releases', url: 'https://github.com/rocicorp/mono/releases' } },
    })
    expect(text).toBe(
      CHART.replace('zero:0.26.1   # the server', 'zero:1.9.0   # the server')
        .replace(`tool:0.26.1@sha256:${'a'.repeat(64)}`, 'tool:1.9.0')
        .replace(
          '    - kind: added\n      description: Something old\n',
          '    - kind: changed\n      description: "Update zero-cache to 1.9.0"\n      links:\n' +
            '        - name: "Upstream releases"\n          url: "https://github.com/rocicorp/mono/releases"\n',
        ),
    )
    expect(text).toContain('opentelemetry-collector:0.26.1-other') // another tag that only starts alike
    expect(changed).toEqual(['artifacthub.io/images: tag 0.26.1 → 1.9.0', 'artifacthub.io/changes: Update zero-cache to 1.9.0'])
  })

  it('adds the changes after the images when the chart has none', () => {
    const without = CHART.replace('  artifacthub.io/changes: |\n    - kind: added\n      description: Something old\n', '')
    const { text } = setArtifactHubAnnotations(without, update)
    expect(text).toContain(
      '      image: ghcr.io/acme/tool:1.9.0\n  artifacthub.io/changes: |\n    - kind: changed\n' +
        '      description: "Update zero-cache to 1.9.0"\n  artifacthub.io/license: MIT # after\n',
    )
  })

  it('leaves a chart without Artifact Hub annotations as it is', () => {
    const plain = 'apiVersion: v2\nname: c # c\nversion: 1.0.0\nappVersion: "0.26.1"\nannotations:\n  other: x\n'
    expect(setArtifactHubAnnotations(plain, update)).toEqual({ text: plain, changed: [] })
  })

  it('re-writes changes written as a one-line string as a literal block (issue 18, item 7)', () => {
    const text = CHART.replace(/ {2}artifacthub\.io\/changes: \|\n.*\n.*\n/, "  artifacthub.io/changes: '[]' # kept\n")
    const out = setArtifactHubAnnotations(text, update).text
    expect(out).toMatch(/ {2}artifacthub\.io\/changes: \| # kept\n {4}- kind: changed\n/)
    expect(parseDocument(out).errors).toEqual([])
  })

  it.each([
    ['double-quoted', '"- name: demo\\n  image: example.com/demo:1.0.0\\n"'],
    ['single-quoted flow JSON', `'[{"name": "demo", "image": "example.com/demo:1.0.0"}]'`],
  ])('edits an images annotation written %s, never breaking the file', (_form, value) => {
    const head = 'apiVersion: v2\nname: demo\nversion: 1.0.0\nappVersion: 1.0.0\nannotations:\n'
    const text = `${head}  artifacthub.io/images: ${value}\n  other: x\n`
    const r = setArtifactHubAnnotations(text, { from: '1.0.0', to: '1.1.0', change: { description: 'Update demo to 1.1.0' } })
    expect(artifactHubImages(r.text)).toEqual([{ name: 'demo', image: 'example.com/demo:1.1.0' }])
    expect((parseDocument(r.text).toJS() as { annotations: Record<string, string> }).annotations).toMatchObject({
      other: 'x',
      'artifacthub.io/changes': '- kind: changed\n  description: "Update demo to 1.1.0"\n',
    })
  })

  it('keeps CRLF line endings throughout (issue 18, item 15)', () => {
    const text = CHART.replace(/\n/g, '\r\n')
    const out = setArtifactHubAnnotations(text, update).text
    expect(out).not.toMatch(/[^\r]\n/)
  })
})
