#!/usr/bin/env node
/**
 * `node scripts/release-action.mjs vX.Y.Z` — run by .github/workflows/release-action.yml when a
 * release of the action is published. Checks that the tag is `vX.Y.Z` (or `vX.Y.Z-pre`), that
 * package.json's `version` is `X.Y.Z`, and that CHANGELOG.md (Keep a Changelog) has a `## [X.Y.Z]`
 * section; prints that section's body (the release notes) on stdout. Exits 1 with a workflow
 * `::error::` annotation otherwise.
 *
 * Exported for tests: {@link releaseNotes}.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

/**
 * The release notes of `tag` from the CHANGELOG text, after checking the tag against `version`.
 * @param {string} tag e.g. `v1.2.0`
 * @param {string} version package.json's `version`
 * @param {string} changelog CHANGELOG.md's text
 * @returns {string} the body of the `## [X.Y.Z]` section, trimmed
 * @throws {Error} naming what does not match
 */
export function releaseNotes(tag, version, changelog) {
  const m = /^v(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/.exec(tag)
  if (/^zero-cache-/.test(tag)) {
    throw new Error(`release tag '${tag}' is a chart release tag (release-chart.yml), not a release of the action: nothing is moved`)
  }
  if (!m) throw new Error(`release tag '${tag}' is not vX.Y.Z (e.g. v1.2.0)`)
  if (m[1] !== version) {
    throw new Error(
      `release tag ${tag} does not match package.json version ${version}: it is not a release of the action (bump package.json ` +
        `first; the chart's own releases are tagged zero-cache-<version>)`,
    )
  }
  const lines = changelog.split('\n')
  const start = lines.findIndex((l) => new RegExp(`^## \\[${m[1].replace(/\./g, '\\.')}\\]`).test(l))
  if (start < 0) {
    throw new Error(`CHANGELOG.md has no '## [${m[1]}]' section: ${tag} is not a release of the action; add the release's notes there`)
  }
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l))
  const body = lines
    .slice(start + 1, end < 0 ? undefined : end)
    .join('\n')
    .trim()
  if (!body) throw new Error(`CHANGELOG.md's '## [${m[1]}]' section is empty`)
  return body
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..')
  try {
    const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version
    process.stdout.write(releaseNotes(process.argv[2] ?? '', version, readFileSync(join(root, 'CHANGELOG.md'), 'utf8')) + '\n')
  } catch (error) {
    console.log(`::error::${error.message}`)
    process.exit(1)
  }
}
