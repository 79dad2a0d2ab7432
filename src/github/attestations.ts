import type { HttpError, Repository } from './repository.js'

/**
 * GitHub's artifact attestations store ("Attestations" REST docs, API version 2022-11-28): where
 * `gh attestation verify` finds a repository's attestations without reading the registry.
 */
export class AttestationsApi {
  constructor(private readonly r: Repository) {}

  /**
   * Records a Sigstore bundle: `POST /repos/{owner}/{repo}/attestations` (201 `{id}`; needs
   * `attestations: write`, and `id-token: write` for the bundle itself).
   *
   * @returns the attestation's id.
   * @throws GitHubApiError naming the missing permission for 403/404, GitHub's message otherwise.
   */
  async create(bundle: Record<string, unknown>): Promise<number> {
    return this.r.call(
      'record the provenance attestation',
      async () => {
        const res = await this.r.octokit.request('POST /repos/{owner}/{repo}/attestations', {
          owner: this.r.owner,
          repo: this.r.repo,
          bundle,
        })
        return res.data.id ?? 0
      },
      'attestations: write (artifact attestations in private repositories need GitHub Enterprise Cloud)',
    )
  }

  /**
   * The repository's attestations of a digest with one predicate type: `GET
   * /repos/{owner}/{repo}/attestations/{subject_digest}?predicate_type=…` (first page of 100).
   *
   * @returns their bundles.
   * @throws GitHubApiError for failures other than 404 (none).
   */
  async find(digest: string, predicateType: string): Promise<Record<string, unknown>[]> {
    try {
      const res = await this.r.octokit.request('GET /repos/{owner}/{repo}/attestations/{subject_digest}', {
        owner: this.r.owner,
        repo: this.r.repo,
        subject_digest: digest,
        predicate_type: predicateType,
        per_page: 100,
      })
      return (res.data.attestations ?? []).map((a) => a.bundle as Record<string, unknown>).filter(Boolean)
    } catch (error) {
      if ((error as HttpError).status === 404) return []
      this.r.fail(error, `read the attestations of ${digest}`)
    }
  }
}
