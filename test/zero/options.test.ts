import { beforeAll, describe, expect, it } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { CHART_DIR, find, render, type K8sObject } from '../support/chart.js'
import {
  ALL_VERSIONS,
  CHECK_VERSIONS,
  checkOptions,
  containerEnvironment,
  node22,
  ONE_VERSION,
  versionsBlock,
  zeroPackage,
} from './support.js'

/**
 * zero-cache silently ignores a ZERO_* name it does not define. For every version of
 * versions.json, the chart is rendered for that version with every option on, and each role's
 * environment is parsed by that version's own option parser: every rendered ZERO_* name must be
 * one the parser maps to an option, and the parser must accept the values.
 */

const ALL_ON = join(import.meta.dirname, 'all-options-values.yaml')
const ROLES = [
  { role: 'single node', set: { 'singleNode.enabled': true }, workload: ['Deployment', '-single-node'] },
  { role: 'replication manager', set: {}, workload: ['StatefulSet', '-replication-manager'] },
  { role: 'view syncer', set: {}, workload: ['StatefulSet', '-view-syncer'] },
] as const

describe('every ZERO_* name the chart renders is defined by that zero-cache version, and parses', () => {
  beforeAll(async () => {
    // One install of every version (minutes on a fresh machine, then cached).
    await Promise.all([node22(), zeroPackage(CHECK_VERSIONS[0])])
  }, 15 * 60_000)

  it.for(ALL_VERSIONS)('zero-cache %s', { timeout: 120_000 }, async (version, { expect }) => {
    const problems: string[] = []
    for (const { role, set, workload } of ROLES) {
      const rendered = await render({ files: [ALL_ON], set, setString: { 'image.tag': version } })
      expect(rendered.ok, rendered.stderr).toBe(true)
      const objects = rendered.objects as K8sObject[]
      const env = containerEnvironment(objects, find(objects, workload[0], workload[1]), 'zero-cache-0')
      const zeroNames = Object.keys(env).filter((n) => n.startsWith('ZERO_'))
      const empty = zeroNames.filter((n) => env[n] === '')
      if (empty.length) problems.push(`${role}: rendered empty ${empty.join(', ')}`)
      const result = await checkOptions(version, env)
      if (result.error) problems.push(`${role}: the parser refused the environment: ${result.error}`)
      const unknown = zeroNames.filter((n) => !result.defined.includes(n))
      if (unknown.length) problems.push(`${role}: not defined by ${version}: ${unknown.join(', ')}`)
    }
    expect(problems).toEqual([])
  })
})

// About the repository's lists, not one release: skipped when verifying one version (npm run verify:zero).
describe.skipIf(ONE_VERSION)("the chart's per-version ci scenarios", () => {
  const files = readdirSync(join(CHART_DIR, 'ci')).filter((f) => /^zero-.*-values\.yaml$/.test(f))
  it.each(files)('%s names a zero-cache release that the option check covers', (file) => {
    const values = parse(readFileSync(join(CHART_DIR, 'ci', file), 'utf8')) as { image: { tag: string } }
    expect(CHECK_VERSIONS).toContain(values.image.tag)
  })
})

describe.skipIf(ONE_VERSION)("the chart README's list of tested zero-cache versions", () => {
  it('matches test/zero/versions.json (run `npm run readme:zero` when this fails)', () => {
    const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8')
    const block = /<!-- zero-versions:start[\s\S]*?<!-- zero-versions:end -->/.exec(readme)?.[0]
    expect(block).toBe(versionsBlock())
  })
})
