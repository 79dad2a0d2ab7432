import * as core from '@actions/core'
import { RegistryError } from '../errors.js'
import type { Inputs } from '../inputs.js'
import { chartVersionToTag, parseOciRepository } from '../oci/reference.js'
import { RegistryClient } from '../oci/registry.js'
import { resolvePackage } from '../github/prune.js'

/**
 * `check-public`: can anyone pull the published chart? A chart pushed to ghcr.io for the first time
 * is a private package, so `helm pull` fails with 401/403 for everyone but its owners, and GitHub
 * has no API to change a package's visibility (cli/cli#6820): the check reads the version's
 * manifest as an anonymous client does (no credentials; the registry's anonymous token flow),
 * and says what to do when it cannot.
 */

/** What the anonymous read found. */
export interface PublicRead {
  readable: boolean
  /** One line for the job summary. */
  detail: string
}

/** Whether the check runs: `true` always, `auto` when the event payload says the repository is public, `false` never. */
export function checkPublicApplies(inputs: Pick<Inputs, 'checkPublic' | 'repositoryPrivate'>): boolean {
  return inputs.checkPublic === 'true' || (inputs.checkPublic === 'auto' && inputs.repositoryPrivate === false)
}

/**
 * Reads `<oci-repo>/<name>:<version>`'s manifest anonymously: one `HEAD /v2/<name>/manifests/<tag>`
 * (distribution-spec "Checking if content exists"), after an anonymous token when the registry
 * challenges for one ("Token Authentication Specification": a token request without credentials).
 *
 * @returns readable, or not readable with what to do; undefined when the registry could not be
 *   asked (a network error or 5xx: a warning of its own, the next run asks again).
 */
export async function readAnonymously(inputs: Inputs, name: string, version: string): Promise<PublicRead | undefined> {
  const ref = parseOciRepository(`${inputs.ociRepo.url}/${name}`)
  const anonymous = new RegistryClient(ref, { plainHttp: inputs.plainHttp, timeScale: inputs.timeScale, maxRetries: 2 })
  const chartRef = `${inputs.ociRepo.url}/${name}:${version}`
  let status: number | undefined
  try {
    const found = await anonymous.headManifest(chartVersionToTag(version))
    if (found) return { readable: true, detail: `${chartRef} can be pulled anonymously` }
    status = 404
  } catch (error) {
    if (!(error instanceof RegistryError) || ![401, 403, 404].includes(error.status ?? 0)) {
      core.warning(`check-public: could not read ${chartRef} anonymously: ${(error as Error).message}; the next run asks again`)
      return undefined
    }
    status = error.status
  }
  return { readable: false, detail: `${chartRef} cannot be pulled anonymously (HTTP ${status}): ${whatToDo(inputs, name)}` }
}

/**
 * What the user does to make the chart pullable: on GitHub's container registry, the package's
 * settings page ("Change visibility" → Public; GitHub offers no API for it), and "Manage Actions
 * access" when the package was made elsewhere; on another registry, its own settings.
 */
function whatToDo(inputs: Inputs, name: string): string {
  const pkg = resolvePackage(inputs, name)
  if ('skip' in pkg) {
    return (
      `make the repository readable without credentials in the registry's settings (helm pull has none), or set check-public: false ` +
      `if the chart is meant to be private`
    )
  }
  const server = (process.env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '')
  const kind = inputs.repositoryOwnerType === 'Organization' ? 'orgs' : 'users'
  const settings = `${server}/${kind}/${pkg.owner}/packages/container/${encodeURIComponent(pkg.name)}/settings`
  return (
    `the package ${pkg.name} is private (a package pushed for the first time is, and GitHub has no API to change that). Open ` +
    `${settings}, "Danger Zone" → "Change visibility" → Public. If the package existed before this workflow pushed to it, check ` +
    `"Manage Actions access" there too: this repository needs the Write role`
  )
}
