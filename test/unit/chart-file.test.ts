import { describe, expect, it } from 'vitest'
import { parseChart, setChartVersions } from '../../src/chart/chart-file.js'
import { pattern } from '../support/pattern.js'

const chart = `# A comment at the top
apiVersion: v2
name: zero-cache   # trailing comment
description: >
  folded text
version: 1.4.2 # the chart's version
# before appVersion
appVersion: "0.26.1"

keywords: [zero, cache]
dependencies: []
`

describe('setChartVersions', () => {
  it('changes only the two scalars, keeping comments, order, quoting and blank lines', () => {
    const out = setChartVersions(chart, { version: '2.0.0', appVersion: '1.9.0' })
    expect(out).toBe(chart.replace('version: 1.4.2 #', 'version: 2.0.0 #').replace('appVersion: "0.26.1"', 'appVersion: "1.9.0"'))
  })

  it.each([
    ["appVersion: '0.26.1'", "appVersion: '1.9.0'"],
    ['appVersion: 0.26.1', 'appVersion: 1.9.0'],
    ['appVersion: "0.26.1"', 'appVersion: "1.9.0"'],
  ])('keeps the style of %s', (line, expected) => {
    const text = `apiVersion: v2\nname: x\nversion: 1.0.0\n${line}\n`
    expect(setChartVersions(text, { version: '1.0.1', appVersion: '1.9.0' })).toBe(`apiVersion: v2\nname: x\nversion: 1.0.1\n${expected}\n`)
  })

  it('quotes a plain value that would not read back as a string', () => {
    const text = 'apiVersion: v2\nname: x\nversion: 1.0.0\nappVersion: 1.0.0\n'
    // "1.10.0" is fine plain; a hypothetical value like "1e3" would turn into a number.
    expect(setChartVersions(text, { version: '1.0.1', appVersion: '1.10.0' })).toContain('appVersion: 1.10.0\n')
  })

  it.each([
    ['>-', '  '],
    ['|-', '    '],
    ['>- # the upstream tag', '  '],
    ['>2-', '  '],
  ])('edits a one-line block scalar %s in place, keeping header and indentation', (header, indent) => {
    const text = `apiVersion: v2\nname: x\nversion: >-\n  1.0.0\nappVersion: ${header}\n${indent}0.26.1\ndescription: d\n`
    expect(setChartVersions(text, { version: '1.0.1', appVersion: '1.9.0' })).toBe(
      `apiVersion: v2\nname: x\nversion: >-\n  1.0.1\nappVersion: ${header}\n${indent}1.9.0\ndescription: d\n`,
    )
  })

  it('edits a block scalar at the end of the file and with CRLF', () => {
    expect(setChartVersions('name: x\nversion: 1.0.0\nappVersion: |-\n  0.26.1', { version: '1.0.1', appVersion: '1.9.0' })).toBe(
      'name: x\nversion: 1.0.1\nappVersion: |-\n  1.9.0',
    )
    expect(setChartVersions('name: x\r\nversion: 1.0.0\r\nappVersion: >-\r\n  0.26.1\r\n', { version: '1.0.1', appVersion: '1.9.0' })).toBe(
      'name: x\r\nversion: 1.0.1\r\nappVersion: >-\r\n  1.9.0\r\n',
    )
  })

  it('refuses a block scalar over several lines, naming the form', () => {
    // A folded scalar over two lines ("0.26 .1"): refused by name, never mangled.
    const text = 'name: x\nversion: 1.0.0\nappVersion: >-\n  0.26\n  .1\n'
    expect(() => setChartVersions(text, { version: '1.0.1', appVersion: '1.9.0' })).toThrow(
      /'appVersion' is written as a folded block scalar \('>-'\) over several lines/,
    )
  })

  it('keeps CRLF line endings', () => {
    const text = 'apiVersion: v2\r\nname: x\r\nversion: 1.0.0\r\nappVersion: "1.0.0"\r\n'
    expect(setChartVersions(text, { version: '1.0.1', appVersion: '1.1.0' })).toBe(
      'apiVersion: v2\r\nname: x\r\nversion: 1.0.1\r\nappVersion: "1.1.0"\r\n',
    )
  })
})

describe('parseChart', () => {
  it('reads name, version and appVersion', () => {
    expect(parseChart(chart)).toEqual({ name: 'zero-cache', version: '1.4.2', appVersion: '0.26.1' })
  })

  it.each([
    ['apiVersion: v2\nname: x\nversion: 1.0.0\nappVersion: "1.0.0"\n  bad: [\n', /is not valid YAML at line \d+, column \d+/],
    ['- a\n- b\n', /must be a YAML mapping/],
    ['apiVersion: v2\nversion: 1.0.0\nappVersion: "1"\n', /has no 'name'/],
    ['apiVersion: v2\nname: x\nappVersion: "1.0.0"\n', /has no 'version'/],
    ['apiVersion: v2\nname: x\nversion: 1.0.0\n', /has no 'appVersion': set it to the upstream image tag/],
    ['apiVersion: v2\nname: x\nversion: 1.0\nappVersion: "1.0.0"\n', /version '1' is not a semantic version/],
    ['apiVersion: v2\nname: x\nversion: v1.0.0\nappVersion: "1.0.0"\n', /version 'v1.0.0' is not a semantic version/],
    ['apiVersion: v2\nname: x\nversion: 1.0.0\nappVersion: latest\n', /appVersion 'latest' is not a semantic version/],
    ['apiVersion: v2\nname: x\nversion: 1.0.0\nappVersion: [1]\n', /'appVersion' must be a string/],
    // Clip and keep chomping put a line break into the value: Helm would render "0.26.1\n" as the image tag.
    [
      'apiVersion: v2\nname: x\nversion: 1.0.0\nappVersion: >\n  0.26.1\n',
      pattern(
        `'appVersion' is "0.26.1\\n", with white space around the version`,
        " (written as a folded block scalar ('>'), whose value ends in a line break)",
      ),
    ],
    [
      'apiVersion: v2\nname: x\nversion: |+\n  1.0.0\n\nappVersion: "1"\n',
      /'version' is "1.0.0\\n\\n", .*a literal block scalar \('\|\+'\)/,
    ],
    [
      'apiVersion: v2\nname: x\nversion: 1.0.0\nappVersion: " 0.26.1"\n',
      /'appVersion' is " 0.26.1", with white space around the version; write it as a plain or quoted scalar, e.g. appVersion: "0.26.1"/,
    ],
  ])('rejects %j', (text, message) => {
    expect(() => parseChart(text, 'Chart.yaml')).toThrow(message)
  })
})
