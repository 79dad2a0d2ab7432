import type { HttpError, Repository } from './repository.js'

/** Releases of the repository and their assets ("Releases", "Release assets"). */

/** A GitHub Release, as far as the pipeline reads it. */
export interface Release {
  id: number
  url: string
  tag: string
  body: string
  /** A draft: not found by tag (`GET /releases/tags/{tag}`), only by listing. */
  draft: boolean
  /** Published under the immutable releases setting: its assets and tag can no longer change. */
  immutable: boolean
  /** The RFC 6570 template assets are uploaded to (`https://uploads.github.com/…/assets{?name,label}`). */
  uploadUrl: string
  /** Asset names. */
  assets: string[]
}

function toRelease(raw: unknown): Release {
  const r = raw as {
    id: number
    html_url: string
    tag_name: string
    body?: string | null
    draft?: boolean
    immutable?: boolean
    upload_url: string
    assets?: { name: string }[]
  }
  return {
    id: r.id,
    url: r.html_url,
    tag: r.tag_name,
    body: r.body ?? '',
    draft: r.draft === true,
    immutable: r.immutable === true,
    uploadUrl: r.upload_url,
    assets: (r.assets ?? []).map((a) => a.name),
  }
}

/**
 * GitHub's 422 "Validation Failed" whose error code is `already_exists` (Octokit puts the errors in
 * the message): a concurrent run made the Release, or the asset, first.
 */
function alreadyExists(error: unknown): boolean {
  const e = error as HttpError
  return e.status === 422 && /already_exists/.test(e.message ?? '')
}

/** Releases: by tag, drafts, create, notes, assets. */
export class ReleasesApi {
  constructor(private readonly r: Repository) {}

  /** The Release of `tag`: `GET /repos/{owner}/{repo}/releases/tags/{tag}` (200), or undefined (404). */
  async releaseByTag(tag: string): Promise<Release | undefined> {
    try {
      const res = await this.r.octokit.request('GET /repos/{owner}/{repo}/releases/tags/{tag}', {
        owner: this.r.owner,
        repo: this.r.repo,
        tag,
      })
      return toRelease(res.data)
    } catch (error) {
      if ((error as HttpError).status === 404) return undefined
      this.r.fail(error, `read the release of tag ${tag}`)
    }
  }

  /**
   * Draft Releases of `tag`, which `GET /releases/tags/{tag}` does not find: `GET
   * /repos/{owner}/{repo}/releases` (first page of 100, newest first, drafts included for a token
   * with push access).
   */
  async draftReleases(tag: string): Promise<Release[]> {
    return this.r.call('list the releases', async () => {
      const res = await this.r.octokit.request('GET /repos/{owner}/{repo}/releases', {
        owner: this.r.owner,
        repo: this.r.repo,
        per_page: 100,
      })
      return res.data.map(toRelease).filter((r) => r.draft && r.tag === tag)
    })
  }

  /**
   * Creates a draft Release of an existing tag: `POST /repos/{owner}/{repo}/releases` (201) with
   * `draft: true`. A draft takes assets whatever the immutable releases setting; {@link publish}
   * makes it the tag's Release (GitHub's guidance for immutable releases: draft, assets, publish).
   */
  async createDraft(p: { tag: string; name: string; body: string; prerelease: boolean }): Promise<Release> {
    return this.r.call(`create a draft release of tag ${p.tag}`, async () => {
      const res = await this.r.octokit.request('POST /repos/{owner}/{repo}/releases', {
        owner: this.r.owner,
        repo: this.r.repo,
        tag_name: p.tag,
        name: p.name,
        body: p.body,
        draft: true,
        prerelease: p.prerelease,
      })
      return toRelease(res.data)
    })
  }

  /**
   * Sets a Release's notes: `PATCH /repos/{owner}/{repo}/releases/{release_id}` (200). The tag is
   * sent along: an update of a draft without `tag_name` detaches it from its tag (GitHub renames it
   * `untagged-…`; TRC-Loop/Pelton#348).
   */
  async updateReleaseNotes(release: Release, body: string): Promise<Release> {
    return this.r.call(`update the notes of the release of ${release.tag}`, async () => {
      const res = await this.r.octokit.request('PATCH /repos/{owner}/{repo}/releases/{release_id}', {
        owner: this.r.owner,
        repo: this.r.repo,
        release_id: release.id,
        tag_name: release.tag,
        body,
      })
      return toRelease(res.data)
    })
  }

  /**
   * Publishes a draft: `PATCH /repos/{owner}/{repo}/releases/{release_id}` with `draft: false` and
   * its tag (200). When the tag has a published Release by now (422 `already_exists`: a concurrent
   * run published its own draft), this draft is deleted (`DELETE …/releases/{release_id}`, 204)
   * and that Release returned: one Release per tag.
   */
  async publish(draft: Release): Promise<Release> {
    try {
      const res = await this.r.octokit.request('PATCH /repos/{owner}/{repo}/releases/{release_id}', {
        owner: this.r.owner,
        repo: this.r.repo,
        release_id: draft.id,
        tag_name: draft.tag,
        draft: false,
      })
      return toRelease(res.data)
    } catch (error) {
      if (alreadyExists(error)) {
        const existing = await this.releaseByTag(draft.tag)
        if (existing) {
          await this.r.call(`delete the duplicate draft release ${draft.id}`, () =>
            this.r.octokit.request('DELETE /repos/{owner}/{repo}/releases/{release_id}', {
              owner: this.r.owner,
              repo: this.r.repo,
              release_id: draft.id,
            }),
          )
          return existing
        }
      }
      this.r.fail(error, `publish the draft release of ${draft.tag}`)
    }
  }

  /**
   * Uploads a file to a Release: `POST {upload_url}?name=…` ("Upload a release asset", 201; the
   * host is the one `upload_url` names, uploads.github.com on github.com). An asset of that name
   * that exists by now (422 `already_exists`, a concurrent run) counts as done.
   */
  async uploadAsset(release: Release, name: string, data: Buffer, contentType: string): Promise<void> {
    try {
      await this.r.octokit.request({
        method: 'POST',
        url: release.uploadUrl,
        name,
        data,
        headers: { 'content-type': contentType },
      })
    } catch (error) {
      if (alreadyExists(error)) return
      this.r.fail(error, `upload ${name} to the release of ${release.tag}`)
    }
  }
}
