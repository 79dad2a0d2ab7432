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
    upload_url: string
    assets?: { name: string }[]
  }
  return {
    id: r.id,
    url: r.html_url,
    tag: r.tag_name,
    body: r.body ?? '',
    draft: r.draft === true,
    uploadUrl: r.upload_url,
    assets: (r.assets ?? []).map((a) => a.name),
  }
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
   * Creates the Release of an existing tag: `POST /repos/{owner}/{repo}/releases` (201). When
   * GitHub answers 422 because the tag has a Release by now (`already_exists`: a concurrent run),
   * that one is returned.
   */
  async createRelease(p: { tag: string; name: string; body: string; prerelease: boolean }): Promise<Release> {
    try {
      const res = await this.r.octokit.request('POST /repos/{owner}/{repo}/releases', {
        owner: this.r.owner,
        repo: this.r.repo,
        tag_name: p.tag,
        name: p.name,
        body: p.body,
        draft: false,
        prerelease: p.prerelease,
      })
      return toRelease(res.data)
    } catch (error) {
      if ((error as HttpError).status === 422 && /already_exists/.test((error as HttpError).message ?? '')) {
        const existing = await this.releaseByTag(p.tag)
        if (existing) return existing
      }
      this.r.fail(error, `create the release of tag ${p.tag}`)
    }
  }

  /** Sets a Release's notes: `PATCH /repos/{owner}/{repo}/releases/{release_id}` (200). */
  async updateReleaseNotes(id: number, body: string): Promise<Release> {
    return this.r.call(`update release ${id}`, async () => {
      const res = await this.r.octokit.request('PATCH /repos/{owner}/{repo}/releases/{release_id}', {
        owner: this.r.owner,
        repo: this.r.repo,
        release_id: id,
        body,
      })
      return toRelease(res.data)
    })
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
      if ((error as HttpError).status === 422 && /already_exists/.test((error as HttpError).message ?? '')) return
      this.r.fail(error, `upload ${name} to the release of ${release.tag}`)
    }
  }
}
