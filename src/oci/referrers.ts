import { RegistryError } from '../errors.js'
import {
  artifactManifest,
  isIndexMediaType,
  OCI_MANIFEST as MANIFEST,
  sha256Digest,
  type ManifestDescriptor,
  type OciManifest,
  type RegistryClient,
} from './registry.js'

/** The registry calls referrers need. */
export type ReferrerRegistry = Pick<RegistryClient, 'ref' | 'getManifest' | 'referrers' | 'uploadBlobs' | 'pushManifest'>

/**
 * OCI referrers (image-spec v1.1 `subject`, distribution-spec v1.1 "Listing Referrers"): artifacts
 * that point at a manifest — here Sigstore bundles that sign and attest a chart version — found
 * and attached the way `cosign` v3 and `gh attestation verify --bundle-from-oci` expect.
 *
 * Registries without the referrers API (Debian's docker-registry; ghcr.io answers its endpoint
 * 404, ../shared/FACTS.md) get the "referrers tag schema" fallback: an image index tagged
 * `sha256-<hex of the subject>` that lists the referrers' descriptors, with their `artifactType` and
 * annotations (distribution-spec "Referrers Tag Schema").
 */

/** One referrer of a manifest, as an index lists it. */
export type Referrer = NonNullable<OciManifest['manifests']>[number]

const INDEX = 'application/vnd.oci.image.index.v1+json'
/** The empty config of an artifact manifest (image-spec "Guidance for an Empty Descriptor"). */
const EMPTY_CONFIG = { mediaType: 'application/vnd.oci.empty.v1+json', data: Buffer.from('{}') }

/**
 * The fallback tag of a subject: `<alg>:<ref>` → `<alg>-<ref>`, the algorithm cut to 32 characters
 * and the reference to 64 (distribution-spec "Referrers Tag Schema"): `sha256:<hex>` → `sha256-<hex>`.
 */
export function referrersTag(digest: string): string {
  const m = /^([a-z0-9]+):([a-f0-9]+)$/.exec(digest)
  if (!m) throw new RegistryError(`'${digest}' is not a digest`)
  return `${m[1].slice(0, 32)}-${m[2].slice(0, 64)}`
}

/**
 * The referrers of `digest`: the fallback tag's index first (one GET; where this action and cosign
 * write on registries without the referrers API, ghcr.io among them), then the referrers API when
 * that tag does not exist (a second GET).
 *
 * @returns the referrers' descriptors (empty when there are none).
 * @throws RegistryError when the registry fails, or the referrers tag holds something that is not an index.
 */
export async function findReferrers(client: ReferrerRegistry, digest: string): Promise<Referrer[]> {
  const tag = referrersTag(digest)
  const tagged = await client.getManifest(tag)
  if (tagged && !isIndexMediaType(tagged.mediaType)) throw notAnIndex(client, tag, tagged.mediaType, digest)
  if (tagged) return tagged.manifest.manifests ?? []
  return (await client.referrers(digest)) ?? []
}

/** The referrers tag holds someone else's content (not an index): it is never overwritten, and nothing is signed until it moves. */
function notAnIndex(client: ReferrerRegistry, tag: string, mediaType: string | undefined, subject: string): RegistryError {
  return new RegistryError(
    `tag ${tag} of ${client.ref.registry}/${client.ref.repository} holds a ${mediaType ?? 'manifest'}, not the referrers index of ` +
      `${subject}: it is left as it is, and nothing is signed until that tag is moved away`,
  )
}

/**
 * Attaches an artifact to `subject` as a referrer: its blob and the empty config are uploaded, the
 * artifact manifest (with `artifactType`, `subject` and `annotations`) is pushed by digest, and,
 * unless the registry answered with `OCI-Subject` (it keeps a referrers index itself), the fallback
 * tag's index gets the manifest's descriptor (read, added unless present, pushed).
 *
 * @param subject the subject manifest's digest, media type and size (a HEAD of it).
 * @returns the referrer manifest's digest.
 * @throws RegistryError when the registry refuses a step, or the referrers tag holds something
 *   that is not an index (never overwritten).
 */
export async function attachReferrer(
  client: ReferrerRegistry,
  subject: Required<Pick<ManifestDescriptor, 'digest' | 'mediaType' | 'size'>>,
  artifact: { artifactType: string; data: Buffer; annotations: Record<string, string> },
): Promise<string> {
  const layer = { mediaType: artifact.artifactType, data: artifact.data }
  await client.uploadBlobs([EMPTY_CONFIG, layer])
  const manifest = artifactManifest({
    artifactType: artifact.artifactType,
    config: EMPTY_CONFIG,
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: artifact.annotations,
  })
  const digest = sha256Digest(manifest)
  const pushed = await client.pushManifest(digest, manifest, MANIFEST)
  if (pushed.subject === subject.digest) return digest
  const tag = referrersTag(subject.digest)
  const current = await client.getManifest(tag)
  if (current && !isIndexMediaType(current.mediaType)) throw notAnIndex(client, tag, current.mediaType, subject.digest)
  const manifests = current?.manifest.manifests ?? []
  if (manifests.some((m) => m.digest === digest)) return digest
  const index = {
    schemaVersion: 2,
    mediaType: INDEX,
    manifests: [
      ...manifests,
      { mediaType: MANIFEST, digest, size: manifest.length, artifactType: artifact.artifactType, annotations: artifact.annotations },
    ],
  }
  await client.pushManifest(tag, Buffer.from(JSON.stringify(index)), INDEX)
  return digest
}
