/**
 * Image and OCI repository references, normalised the way Docker and the OCI distribution spec do.
 *
 * Grammar: distribution/reference (`[host[:port]/]path`), where the first path component is a host
 * when it contains `.` or `:` or is `localhost`; Docker Hub names get `docker.io` and, for single
 * names, the `library/` namespace. Repository path components follow the OCI distribution spec,
 * section "Pulling manifests": `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
 */

/** One repository path component (OCI distribution spec, "Pulling manifests"). */
export const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/
/** A DNS label (RFC 1123). */
const LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?'
/** A registry host: DNS labels or a bracketed IPv6 address, with an optional port. */
const HOST = new RegExp(`^${LABEL}(?:\\.${LABEL})*(?::[0-9]+)?$|^\\[[0-9a-fA-F:.]+\\](?::[0-9]+)?$`)

/** Docker Hub's canonical name, and the host that actually serves its distribution API. */
export const DOCKER_HUB = 'docker.io'
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io'

/** A repository in a registry: `registry` as the user knows it, `repository` the path below `/v2/`. */
export interface RepositoryReference {
  /** Registry host as written (`docker.io`, `ghcr.io`, `127.0.0.1:5000`). */
  registry: string
  /** Host that serves the distribution API (`registry-1.docker.io` for Docker Hub). */
  apiHost: string
  /** Repository path, e.g. `library/redis`, `rocicorp/zero`. */
  repository: string
}

/** Why a reference was rejected. */
export class InvalidReferenceError extends Error {}

function isHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost'
}

function apiHostFor(registry: string): string {
  return registry === DOCKER_HUB || registry === 'index.docker.io' || registry === 'registry-1.docker.io' ? DOCKER_HUB_API_HOST : registry
}

function checkPath(path: string, original: string): void {
  if (!path) throw new InvalidReferenceError(`'${original}' names no repository`)
  for (const part of path.split('/')) {
    if (!COMPONENT.test(part)) {
      const hint = part.toLowerCase() !== part ? ' (repository names must be lowercase)' : ''
      throw new InvalidReferenceError(`'${original}': '${part}' is not a valid repository path component${hint}`)
    }
  }
}

/**
 * Parses an upstream image reference without tag or digest.
 *
 * `rocicorp/zero` → docker.io, `rocicorp/zero`; `redis` → docker.io, `library/redis`;
 * `ghcr.io/org/img` → ghcr.io, `org/img`; `host:5000/ns/img` → host:5000, `ns/img`.
 *
 * @throws InvalidReferenceError for an empty string, a tag or digest (the action chooses the tag),
 *   uppercase or otherwise invalid path components, or an invalid host.
 */
export function parseImageReference(input: string): RepositoryReference {
  const original = input
  const ref = input.trim()
  if (!ref) throw new InvalidReferenceError('the image reference is empty')
  if (ref.includes('://'))
    throw new InvalidReferenceError(`'${original}': an image reference has no scheme (write 'ghcr.io/org/img', not 'https://…')`)
  if (ref.includes('@'))
    throw new InvalidReferenceError(`'${original}' has a digest: give the repository only (e.g. 'rocicorp/zero'); the action picks the tag`)
  const slash = ref.indexOf('/')
  let registry = DOCKER_HUB
  let path = ref
  if (slash > 0 && isHost(ref.slice(0, slash))) {
    registry = ref.slice(0, slash)
    path = ref.slice(slash + 1)
  }
  if (path.includes(':'))
    throw new InvalidReferenceError(
      `'${original}' has a tag: give the repository only (e.g. '${ref.slice(0, ref.lastIndexOf(':'))}'); the action picks the tag`,
    )
  if (!HOST.test(registry)) throw new InvalidReferenceError(`'${original}': '${registry}' is not a valid registry host`)
  const apiHost = apiHostFor(registry)
  if (apiHost === DOCKER_HUB_API_HOST) {
    registry = DOCKER_HUB
    if (!path.includes('/')) path = `library/${path}`
  }
  checkPath(path, original)
  return { registry, apiHost, repository: path }
}

/** An OCI repository that charts are pushed to: `oci://host/namespace`. */
export interface OciRepository extends RepositoryReference {
  /** `oci://host/namespace`, normalised (lowercase path, no trailing slash). */
  url: string
  /** True when the path had uppercase letters that were lowercased (GitHub owner/repo names may). */
  lowercased: boolean
}

/**
 * Parses the `oci-repo` input: `oci://host/namespace` (the `oci://` is optional).
 *
 * The path is lowercased because OCI repository names must be lowercase while
 * `${{ github.repository }}` may not be. A chart then lands at `<url>/<chart name>:<chart version>`.
 *
 * @throws InvalidReferenceError for a missing namespace (`oci://ghcr.io`), another scheme, a tag or digest,
 *   or an invalid host or path.
 */
export function parseOciRepository(input: string): OciRepository {
  const original = input
  let rest = input.trim()
  if (!rest) throw new InvalidReferenceError('the OCI repository is empty')
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest)
  if (scheme) {
    if (scheme[1].toLowerCase() !== 'oci')
      throw new InvalidReferenceError(`'${original}': use the oci:// scheme, e.g. oci://ghcr.io/OWNER/REPO`)
    rest = rest.slice(scheme[0].length)
  }
  rest = rest.replace(/\/+$/, '')
  const slash = rest.indexOf('/')
  if (slash <= 0) throw new InvalidReferenceError(`'${original}' has no namespace: use oci://${rest || 'ghcr.io'}/OWNER/REPO`)
  const registry = rest.slice(0, slash).toLowerCase()
  const rawPath = rest.slice(slash + 1)
  if (!HOST.test(registry)) throw new InvalidReferenceError(`'${original}': '${registry}' is not a valid registry host`)
  if (rawPath.includes('@') || rawPath.includes(':'))
    throw new InvalidReferenceError(`'${original}': an OCI repository for charts has no tag or digest`)
  const path = rawPath.toLowerCase()
  checkPath(path, original)
  return {
    registry,
    apiHost: apiHostFor(registry),
    repository: path,
    url: `oci://${registry}/${path}`,
    lowercased: path !== rawPath,
  }
}

/** Formats a reference for logs: `docker.io/rocicorp/zero`. */
export function formatReference(ref: RepositoryReference, tag?: string): string {
  return `${ref.registry}/${ref.repository}${tag ? `:${tag}` : ''}`
}

/**
 * The OCI tag under which Helm stores a chart version: `+` (build metadata) is not allowed in
 * OCI tags, so Helm writes `_` instead (Helm docs, "Use OCI-based registries").
 */
export function chartVersionToTag(version: string): string {
  return version.replace(/\+/g, '_')
}
