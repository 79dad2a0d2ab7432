import semver from 'semver'

/**
 * GitHub Release notes, the pure part: which tag was the previous release, and the Markdown body.
 * The git reads and API calls are in apply.ts (release/) and github/repo.ts.
 */

/**
 * The release tag before `version`: among `tags` (name → commit), those that `tagFormat` makes for
 * chart `name` and some chart version, the one with the highest version below `version` (SemVer
 * precedence). `{app-version}` in the format matches anything.
 *
 * @returns the tag, its commit and chart version, or undefined for the first release.
 */
export function previousReleaseTag(
  tags: Map<string, string>,
  tagFormat: string,
  name: string,
  version: string,
): { tag: string; commit: string; version: string } | undefined {
  const escape = (text: string) => text.replace(/[.*+?^$()|[\]\\]/g, '\\$&')
  const pattern = tagFormat
    .split(/(\{version\}|\{app-version\}|\{name\})/)
    .map((part) =>
      part === '{version}'
        ? '(?<version>[0-9A-Za-z.+-]+?)'
        : part === '{app-version}'
          ? '.+?'
          : part === '{name}'
            ? escape(name)
            : escape(part),
    )
    .join('')
  const re = new RegExp(`^${pattern}$`)
  let best: { tag: string; commit: string; version: string } | undefined
  for (const [tag, commit] of tags) {
    const v = re.exec(tag)?.groups?.version
    if (!v || !semver.valid(v) || !semver.lt(v, version)) continue
    if (!best || semver.gt(v, best.version)) best = { tag, commit, version: v }
  }
  return best
}

/** What the notes describe. */
export interface ReleaseNotesInput {
  name: string
  version: string
  appVersion: string
  /** The upstream image, e.g. `docker.io/rocicorp/zero`. */
  image?: string
  previous?: { tag: string; appVersion?: string }
  /** values-images this release moved. */
  images?: readonly { image: string; from: string; to: string; path: string }[]
  /** The first release tag's upstream change: `appVersion` before the release commit (no previous tag to read it from). */
  previousAppVersion?: string
  /** Commits to the chart directory since the previous tag, newest first; undefined when the history could not be read. */
  commits?: { sha: string; subject: string }[]
  chartDir: string
  /** `oci://host/namespace`: the chart is `<ociRepo>/<name>`. */
  ociRepo: string
  digest?: string
}

/** The Release's body (Markdown): upstream change, install line, digest, commits to the chart since the previous tag. */
export function releaseNotes(n: ReleaseNotesInput): string {
  const before = n.previous?.appVersion ?? n.previousAppVersion
  const upstream =
    before && before !== n.appVersion
      ? `\`appVersion\` \`${before}\` → \`${n.appVersion}\``
      : `\`appVersion\` \`${n.appVersion}\`${before ? ' (unchanged)' : ''}`
  const lines = [
    `Chart **${n.name}** \`${n.version}\`: ${upstream}${n.image ? ` (upstream image \`${n.image}\`)` : ''}.`,
    '',
    ...(n.images?.length ? [...n.images.map((i) => `- \`${i.image}\` \`${i.from}\` → \`${i.to}\` (values.yaml \`${i.path}\`)`), ''] : []),
    '```sh',
    `helm install ${n.name} ${n.ociRepo}/${n.name} --version ${n.version}`,
    '```',
    '',
    ...(n.digest ? [`Manifest digest: \`${n.digest}\``, ''] : []),
    `### Changes to \`${n.chartDir}\`${n.previous ? ` since ${n.previous.tag}` : ''}`,
    '',
  ]
  if (n.commits === undefined) lines.push('_The history could not be read._')
  else if (n.commits.length === 0) lines.push('_No commits._')
  else lines.push(...n.commits.map((c) => `- ${noMentions(c.subject.replace(/[<>]/g, ''))} (${c.sha.slice(0, 12)})`))
  return lines.join('\n')
}

/**
 * A commit subject with every `@login` and `@org/team` put in a code span, where GitHub does not
 * turn it into a mention (a Release body notifies whoever it mentions). Backticks already in the
 * subject are kept; an address (`a@b.c`) is not a mention and stays as it is.
 */
export function noMentions(subject: string): string {
  return subject.replace(/(^|[^\w`/.@])(@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\/[A-Za-z0-9_.-]+)?)(?!`)/g, '$1`$2`')
}
