import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readInputs } from '../../src/inputs.js'

/** readInputs() reads INPUT_* as a runner sets them; each case sets a valid base plus one input. */
const BASE: Record<string, string> = { MODE: 'pipeline', IMAGE: 'rocicorp/zero', 'OCI-REPO': 'oci://ghcr.io/acme/charts' }

describe('readInputs', () => {
  let saved: NodeJS.ProcessEnv
  beforeEach(() => {
    saved = { ...process.env }
    for (const key of Object.keys(process.env)) if (key.startsWith('INPUT_')) delete process.env[key]
  })
  afterEach(() => {
    process.env = saved
  })
  const read = (inputs: Record<string, string>) => {
    for (const [k, v] of Object.entries({ ...BASE, ...inputs })) process.env[`INPUT_${k.toUpperCase()}`] = v
    return readInputs()
  }

  it.each([
    [{ 'tag-format': 'release' }, "input 'tag-format': 'release' has no {version}: every chart version needs a tag of its own"],
    [{ 'tag-format': '{name}-{app-version}' }, "input 'tag-format': '{name}-{app-version}' has no {version}"],
    [{ 'tag-format': 'v{chart}' }, "input 'tag-format': unknown placeholder {chart}"],
    [{ 'max-age-days': '1e9' }, "input 'max-age-days': '1e9' is not a number of days from 0 to 3650"],
    [{ 'max-age-days': '4000' }, "input 'max-age-days': '4000' is not a number of days from 0 to 3650"],
    [{ 'max-age-days': '-1' }, "input 'max-age-days': '-1' is not a number"],
    [{ 'max-age-days': 'Infinity' }, "input 'max-age-days': 'Infinity' is not a number"],
    [{ 'max-age-days': '0x10' }, "input 'max-age-days': '0x10' is not a number"],
    [{ 'dry-run': 'yes' }, "input 'dry-run': 'yes' is not a boolean"],
    [{ 'values-images': 'a.tag=x/y\na.tag=x/z' }, "input 'values-images': a.tag is listed twice"],
    [{ 'values-images': 'a.tag=x/y range=>>1' }, "input 'values-images': a.tag: '>>1' is not a valid semver range"],
    [
      { 'values-images': 'a.tag=x/y tag-pattern=^\\d+$' },
      "input 'values-images': a.tag: tag-pattern '^\\d+$' has no named group 'version'",
    ],
    [{ 'values-images': 'a.tag=x/y color=red' }, "input 'values-images': a.tag: unknown option 'color=red'"],
    [{ 'values-images': 'a.tag=' }, "input 'values-images'"],
    [{ 'tag-pattern': '(?<version>' }, "input 'tag-pattern': '(?<version>' is not a valid regular expression"],
    [{ 'min-release-age': '3 weeks' }, "input 'min-release-age': '3 weeks' is not an age"],
    [{ 'min-release-age-undated': 'maybe' }, "input 'min-release-age-undated': 'maybe' is not one of skip, take"],
    [{ 'verify-timeout-minutes': '0' }, "input 'verify-timeout-minutes': '0' is not a number of minutes above 0"],
    [{ 'verify-timeout-minutes': '1e3' }, "input 'verify-timeout-minutes': '1e3' is not a number of minutes"],
    [{ 'check-public': 'yes' }, "input 'check-public': 'yes' is not one of auto, true, false"],
    [{ 'upstream-password': 'secret' }, "input 'upstream-username': required with upstream-password"],
    [{ mode: 'everything' }, "input 'mode': 'everything' is not one of pipeline, prune, cleanup-all"],
  ])('rejects %o', (inputs, message) => {
    expect(() => read(inputs)).toThrow(message)
  })

  it.each([
    [{ GITHUB_REPOSITORY: 'Octo-Org/Zero-Cache-Chart' }, 'oci://ghcr.io/octo-org/zero-cache-chart'],
    [{ GITHUB_REPOSITORY: 'octo/charts', GITHUB_SERVER_URL: 'https://github.com' }, 'oci://ghcr.io/octo/charts'],
    [
      { GITHUB_REPOSITORY: 'octo/charts', GITHUB_SERVER_URL: 'https://github.example.com' },
      'oci://containers.github.example.com/octo/charts',
    ],
  ])("oci-repo defaults to the workflow repository's container registry: %o", (env, url) => {
    delete process.env.GITHUB_SERVER_URL
    Object.assign(process.env, env)
    const inputs = read({ 'OCI-REPO': '' })
    expect(inputs.ociRepo.url).toBe(url)
  })

  it('oci-repo is required outside Actions', () => {
    delete process.env.GITHUB_REPOSITORY
    expect(() => read({ 'OCI-REPO': '' })).toThrow("input 'oci-repo': not set, and GITHUB_REPOSITORY is not either")
  })

  it.each([
    [{ 'tag-format': '{name}-{version}' }, 'tagFormat', '{name}-{version}'],
    [{ 'max-age-days': '0.5' }, 'maxAgeDays', 0.5],
    [{ 'max-age-days': '3650' }, 'maxAgeDays', 3650],
    [{ 'max-age-days': '' }, 'maxAgeDays', 7],
  ])('accepts %o', (inputs, key, value) => {
    expect(read(inputs)[key as keyof ReturnType<typeof readInputs>]).toEqual(value)
  })
})
