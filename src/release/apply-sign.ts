import * as core from '@actions/core'
import { ActionError, GitHubApiError } from '../errors.js'
import { attachReferrer, findReferrers } from '../oci/referrers.js'
import { withOutcome, type Outcome } from './apply.js'
import type { ChartPlan, Step } from './plan.js'
import { chartClient, repoClient, type ChartRuntime } from './runtime.js'
import {
  attestationsIn,
  BUNDLE_MEDIA_TYPE,
  PREDICATE_ANNOTATION,
  PREDICATE_TYPES,
  PROVENANCE_PREDICATE_TYPE,
  provenancePredicate,
  SigstoreSigner,
  sigstoreInstance,
  statementOf,
  type AttestationKind,
} from './sign.js'

/**
 * The sign step: each missing Sigstore bundle of the published chart version is made and attached
 * to its manifest as a referrer. The provenance is recorded with GitHub's attestations API first,
 * then attached: a run that stopped in between finds it there (one GET, only when the registry
 * lacks it) and attaches that bundle rather than making a second one.
 */

/** The run's signer (one per chart runtime), with the instance chosen from the environment. */
export function signerOf(rt: ChartRuntime): SigstoreSigner {
  rt.signer ??= new SigstoreSigner(sigstoreInstance(process.env, rt.inputs.repositoryPrivate))
  return rt.signer
}

/**
 * Preflight of `sign`, before the first write: the OIDC token can be had (the job has `id-token:
 * write`) and the instance's settings are usable, so a run never publishes a chart it then cannot sign.
 *
 * @throws ActionError saying what to set.
 */
export async function checkSigning(rt: ChartRuntime, plan: ChartPlan): Promise<void> {
  if (!plan.steps.some((s) => s.kind === 'sign')) return
  const signer = signerOf(rt)
  try {
    await signer.identity()
  } catch (error) {
    if (!(error instanceof ActionError)) throw error
    throw new ActionError(`${error.message}. Nothing was written`)
  }
  core.info(`sign: OIDC token in hand; signing with ${signer.instance.name}`)
}

/**
 * The dry run's view of {@link checkSigning}, without asking for a token: a real run would stop
 * when the job has no OIDC token to ask for (no `id-token: write`).
 *
 * @returns the warning (logged), or nothing.
 */
export function signingWarnings(plan: ChartPlan): string[] {
  if (!plan.steps.some((s) => s.kind === 'sign')) return []
  if (process.env.ACTIONS_ID_TOKEN_REQUEST_URL && process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) return []
  const w = 'a real run would stop here: sign: true needs an OIDC token, and this job has none (permissions: id-token: write)'
  core.warning(w)
  return [w]
}

/** Whether this run can use GitHub's attestations API (a token and the repository). */
function attestationsApi(rt: ChartRuntime): boolean {
  return rt.inputs.githubToken !== '' && /^[^/\s]+\/[^/\s]+$/.test(rt.inputs.repository)
}

/**
 * Applies a sign step for the version at `digest`.
 *
 * @throws ActionError when the digest is unknown, Sigstore refuses, or the registry refuses the referrer.
 */
export async function applySign(
  rt: ChartRuntime,
  plan: ChartPlan,
  step: Extract<Step, { kind: 'sign' }>,
  digest?: string,
): Promise<Outcome> {
  const { release } = plan
  if (!digest) throw new ActionError(`sign: the digest of ${release.chartRef} is not known; the next run signs it`)
  const client = chartClient(rt, release.name)
  const head = await client.headManifest(digest)
  if (!head?.mediaType || !head.size) {
    throw new ActionError(
      `sign: ${release.chartRef} (${digest}) cannot be read back from the registry (its size and media type are needed)`,
    )
  }
  // Last look before writing: another run may have signed it since we observed.
  const found = attestationsIn(await findReferrers(client, digest))
  const missing = step.missing.filter((k) => !found.includes(k))
  const facts = step.missing.filter((k) => found.includes(k)).map((k) => `${release.chartRef}: its ${k} was attached by another run`)
  const warnings: string[] = []
  const subject = { digest, mediaType: head.mediaType, size: head.size }
  const attached: AttestationKind[] = []
  const outcome = (): Outcome => ({ done: attached.length ? [{ ...step, missing: [...attached] }] : [], facts, warnings })
  try {
    for (const kind of missing) {
      const bundle = await bundleFor(rt, kind, { name: `${client.ref.registry}/${client.ref.repository}`, digest }, warnings)
      const referrer = await attachReferrer(client, subject, {
        artifactType: BUNDLE_MEDIA_TYPE,
        data: Buffer.from(JSON.stringify(bundle)),
        annotations: {
          'dev.sigstore.bundle.content': 'dsse-envelope',
          [PREDICATE_ANNOTATION]: PREDICATE_TYPES[kind],
          'org.opencontainers.image.created': new Date().toISOString(),
        },
      })
      attached.push(kind)
      core.info(`${release.chartRef}: ${kind} attached (${referrer}, referring to ${digest})`)
    }
  } catch (error) {
    // What was attached before the failure stays, and is reported; the next run adds the rest.
    throw withOutcome(error, outcome())
  }
  return outcome()
}

/**
 * The bundle of one kind: for the provenance, one GitHub already holds for this digest (a run that
 * stopped after recording it), else a new one, recorded there; for the signature, a new one.
 */
async function bundleFor(
  rt: ChartRuntime,
  kind: AttestationKind,
  subject: { name: string; digest: string },
  warnings: string[],
): Promise<Record<string, unknown>> {
  const signer = signerOf(rt)
  const useApi = kind === 'provenance' && attestationsApi(rt)
  if (kind === 'provenance' && !useApi) {
    core.notice('no github-token or GITHUB_REPOSITORY: the provenance is attached in the registry only, not recorded with GitHub')
  }
  if (useApi) {
    const [recorded] = await (await repoClient(rt)).attestations.find(subject.digest, PROVENANCE_PREDICATE_TYPE)
    if (recorded) {
      core.info(`the provenance of ${subject.digest} is recorded with GitHub already: attaching that bundle`)
      return recorded
    }
  }
  const serverUrl = process.env.GITHUB_SERVER_URL || 'https://github.com'
  const predicate = kind === 'signature' ? {} : provenancePredicate(await signer.identity(), serverUrl)
  const bundle = await signer.sign(kind, statementOf(subject, PREDICATE_TYPES[kind], predicate))
  // With SIGSTORE_TRUSTED_ROOT, a bundle that does not verify is never recorded or attached.
  await signer.check(bundle, subject.digest, serverUrl)
  const { json } = bundle
  if (useApi) {
    try {
      const id = await (await repoClient(rt)).attestations.create(json)
      core.info(`provenance of ${subject.digest} recorded with GitHub (attestation ${id})`)
    } catch (error) {
      if (!(error instanceof GitHubApiError) || (error.status !== 403 && error.status !== 404)) throw error
      const w = `${error.message}; the provenance is attached in the registry only (gh attestation verify --bundle-from-oci reads it there)`
      core.warning(w)
      warnings.push(w)
    }
  }
  return json
}
