import * as core from '@actions/core'
import { readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { tmpdir } from 'node:os'
import { InputError } from './errors.js'
import {
  parseImageReference,
  parseOciRepository,
  InvalidReferenceError,
  type OciRepository,
  type RepositoryReference,
} from './oci/reference.js'
import type { Credentials } from './oci/registry.js'
import { checkRange, compileTagPattern, type BumpKind } from './versions.js'
import { unknownPlaceholders } from './release/plan.js'
import { parseAge } from './release/cooldown.js'

/** Values of the `lint` input, `true` read as `default`. */
export type LintMode = 'off' | 'default' | 'strict'

/** The default commit message (and pull request title) for one chart, and for several (it names the chart). */
export const DEFAULT_COMMIT_MESSAGE = 'chore(chart): update appVersion to {app-version}'
export const DEFAULT_COMMIT_MESSAGE_SEVERAL = 'chore(chart): update {name} appVersion to {app-version}'

/** The run modes of the `mode` input. */
export type Mode = 'pipeline' | 'prune' | 'cleanup-all'

/** Every input of action.yml, validated and typed. Built once, at the top of `run()`. */
export interface Inputs {
  mode: Mode
  dryRun: boolean
  /**
   * The upstream image, when the `image` input is set. Otherwise each chart follows the image its
   * `artifacthub.io/images` annotation lists at `appVersion`, and a single chart without one
   * follows {@link DEFAULT_IMAGE}.
   */
  image?: RepositoryReference
  ociRepo: OciRepository
  /** Chart directory, absolute. */
  chartDir: string
  /** The `chart-path` input as given (its first entry when it lists several). */
  chartPath: string
  /** Every entry of `chart-path`: directories and globs (several charts in one step). */
  chartPaths: string[]
  /** True when the `tag-format` input was set (otherwise the default depends on the number of charts). */
  tagFormatSet: boolean
  includePrereleases: boolean
  versionRange: string
  /** `tag-pattern`: a regular expression with a named group `version`; strict semver tags when undefined. */
  tagPattern?: RegExp
  /** `values-images`: images kept current in values.yaml, besides the chart's own (appVersion). */
  valuesImages: ValuesImage[]
  /** `min-release-age` as given (`3d`) and in milliseconds: a version is a candidate once its image is that old; undefined: no cooldown. */
  minReleaseAge?: { text: string; ms: number }
  /** `min-release-age-undated`: `skip` (hold back, with a notice) or `take` a version whose image gives no date. */
  minReleaseAgeUndated: 'skip' | 'take'
  bump: BumpKind
  tagFormat: string
  commitMessage: string
  /** True when the `commit-message` input was set (otherwise the default names the chart when there are several). */
  commitMessageSet: boolean
  /** Branch to commit to; undefined → the workflow's branch. */
  branch?: string
  /** `push`: commit to the branch; `pull-request`: propose the update in a pull request. */
  commitMode: 'push' | 'pull-request'
  /** The pull request's head branch, a template (`{name}` …); `chart-update/{name}` by default. */
  pullRequestBranch: string
  /** Labels put on the pull request. */
  pullRequestLabels: string[]
  /** Reviewers requested when the pull request is opened: logins, or `org/team-slug`. */
  pullRequestReviewers: string[]
  /** Push each chart's `artifacthub-repo.yml` to its OCI repository (tag `artifacthub.io`) when it changed. */
  artifacthubRepo: boolean
  /** Make a GitHub Release for each release tag, with notes and the packaged chart attached. */
  githubRelease: boolean
  /** A workflow file (e.g. `deploy.yml`) sent `workflow_dispatch` after each release; empty for none. */
  dispatchWorkflow: string
  /** Sign each published chart version with Sigstore and attest its build provenance (needs `id-token: write`). */
  sign: boolean
  plainHttp: boolean
  /**
   * The lint gate before anything is written: `default` runs `helm lint` as chart-testing's `ct lint`
   * does (once per `ci/*-values.yaml`, warnings allowed); `strict` adds `--strict` (warnings fail);
   * `off` skips it.
   */
  lint: LintMode
  /**
   * Chart registry credentials: `registry-username`/`registry-password` when the password is set;
   * otherwise `github-token` for GitHub's own container registry (ghcr.io, or the GHES container
   * host), and nothing for any other registry (a token is only ever sent to the host it is for).
   */
  registryCredentials?: Credentials
  /**
   * Credentials for the upstream image's registry (`upstream-username`/`upstream-password`), sent
   * only to it (its token realm, or Basic); undefined when `upstream-password` is empty (anonymous).
   */
  upstreamCredentials?: Credentials
  githubToken: string
  githubApiUrl: string
  maxAgeDays: number
  confirm: string
  /** Whether oci-repo is a GitHub Packages registry: `auto` (ghcr.io, or a GHES container host), `true`, `false`. */
  githubPackages: 'auto' | 'true' | 'false'
  /**
   * A bash script run on each proposed update before anything is written (push mode) or onto the
   * pull request's head commit (pull-request mode); empty for none. See release/verify.ts.
   */
  verifyCommand: string
  /** How long `verifyCommand` may run, in minutes (then it is stopped and counts as failed). */
  verifyTimeoutMinutes: number
  /**
   * After publishing, read the chart version's manifest anonymously: `auto` (when the repository is
   * public: a warning when it is not readable), `true` (not readable fails the step), `false`.
   */
  checkPublic: 'auto' | 'true' | 'false'
  /** The event payload's `repository.private` (`GITHUB_EVENT_PATH`); undefined when it does not say. */
  repositoryPrivate?: boolean
  /** The event payload's `repository.owner.type`: `User` or `Organization`; undefined when it does not say. */
  repositoryOwnerType?: string
  /** `GITHUB_WORKSPACE`, or the current directory. */
  workspace: string
  /** `RUNNER_TEMP`, or the OS temp directory. */
  tempDir: string
  /** `GITHUB_REPOSITORY`, `OWNER/REPO`: where pull requests are opened (empty outside Actions). */
  repository: string
  /** `GITHUB_EVENT_NAME`: the event that started the workflow (empty outside Actions). */
  eventName: string
  /**
   * Divides every wait of the run (retry backoff, write pacing, `retry-after`), and registry
   * timeouts down to a floor. 1 in real runs; tests and benchmarks set {@link TIME_SCALE_ENV} so a
   * minute of GitHub's limits lasts milliseconds. Read once, here, and passed down.
   */
  timeScale: number
}

/** One line of `values-images`: a path in values.yaml holding the tag of `image`, and its own policy. */
export interface ValuesImage {
  /** The dotted path, e.g. `metrics.collector.image.tag`. */
  path: string
  image: RepositoryReference
  range: string
  includePrereleases: boolean
  pattern?: RegExp
}

/**
 * Parses `values-images`: one image per line, `<path>=<image>`, optionally followed by
 * space-separated `range=<semver range>`, `tag-pattern=<regex>`, `include-prereleases=true`.
 *
 * @throws InputError naming the line for anything that cannot be used.
 */
export function parseValuesImages(text: string): ValuesImage[] {
  const out: ValuesImage[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const [first, ...options] = line.split(/\s+/)
    const eq = first.indexOf('=')
    const path = first.slice(0, eq)
    if (eq <= 0 || !/^[\w-]+(\.[\w-]+)*$/.test(path)) {
      throw new InputError(
        'values-images',
        `'${line}' is not <path in values.yaml>=<image> (e.g. sidecar.image.tag=otel/opentelemetry-collector)`,
      )
    }
    if (out.some((e) => e.path === path)) throw new InputError('values-images', `${path} is listed twice: one image per path`)
    const image = reference('values-images', () => parseImageReference(first.slice(eq + 1)))
    const entry: ValuesImage = { path, image, range: '*', includePrereleases: false }
    for (const option of options) {
      const [key, ...rest] = option.split('=')
      const value = rest.join('=')
      if (key === 'range') {
        const error = checkRange(value)
        if (error) throw new InputError('values-images', `${path}: ${error}`)
        entry.range = value
      } else if (key === 'tag-pattern') {
        const compiled = compileTagPattern(value)
        if (typeof compiled === 'string') throw new InputError('values-images', `${path}: tag-pattern ${compiled}`)
        entry.pattern = compiled
      } else if (key === 'include-prereleases' && /^(true|false)$/.test(value)) entry.includePrereleases = value === 'true'
      else throw new InputError('values-images', `${path}: unknown option '${option}' (range=…, tag-pattern=…, include-prereleases=true)`)
    }
    out.push(entry)
  }
  return out
}

/** The image a single chart follows when neither the `image` input nor its annotations name one. */
export const DEFAULT_IMAGE = 'rocicorp/zero'

/** Environment variable for {@link Inputs.timeScale} — for tests and benchmarks only. */
export const TIME_SCALE_ENV = 'ZERO_CACHE_CHART_TIME_SCALE'

function input(name: string): string {
  return core.getInput(name).trim()
}

function bool(name: string): boolean {
  const raw = input(name)
  if (raw === '') return false
  if (/^(true|True|TRUE)$/.test(raw)) return true
  if (/^(false|False|FALSE)$/.test(raw)) return false
  throw new InputError(name, `'${raw}' is not a boolean (use true or false)`)
}

/** A list input: one item per line or comma-separated, blanks dropped. */
function list(name: string): string[] {
  return core
    .getInput(name)
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter(Boolean)
}

function oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const raw = input(name) || fallback
  if (!(allowed as readonly string[]).includes(raw)) throw new InputError(name, `'${raw}' is not one of ${allowed.join(', ')}`)
  return raw as T
}

function template(name: string, fallback: string, required: string[] = []): string {
  const raw = core.getInput(name) || fallback
  const unknown = unknownPlaceholders(raw)
  if (unknown.length)
    throw new InputError(
      name,
      `unknown placeholder${unknown.length > 1 ? 's' : ''} ${unknown.map((p) => `{${p}}`).join(', ')}; use {version}, {app-version} or ` +
        `{name}`,
    )
  for (const placeholder of required) {
    if (!raw.includes(`{${placeholder}}`)) {
      throw new InputError(
        name,
        `'${raw}' has no {${placeholder}}: every chart version needs a tag of its own (e.g. v{version} or {name}-{version})`,
      )
    }
  }
  return raw
}

/** The longest `max-age-days` accepted: ten years, longer than GitHub Packages has existed. */
export const MAX_AGE_DAYS_LIMIT = 3650

/**
 * The host of GitHub's own container registry for this workflow: `ghcr.io` on github.com, and
 * `containers.<host>` on GitHub Enterprise Server (from `GITHUB_SERVER_URL`; GitHub docs, "Working
 * with the Container registry"). The only host the workflow's token is sent to by default.
 */
export function githubContainerHost(env: NodeJS.ProcessEnv = process.env): string {
  try {
    const server = new URL(env.GITHUB_SERVER_URL || 'https://github.com').hostname
    if (server !== 'github.com') return `containers.${server}`
  } catch {
    // a malformed GITHUB_SERVER_URL: github.com's registry
  }
  return 'ghcr.io'
}

/**
 * The default of `oci-repo`: the GitHub container registry of the repository the workflow runs in,
 * `oci://ghcr.io/<owner>/<repo>` (lowercased by parseOciRepository, as OCI names must be), so the
 * same workflow publishes to each fork's own registry. On GitHub Enterprise Server the container
 * registry is `containers.<host>` (GitHub docs, "Working with the Container registry"). Empty
 * outside Actions (no `GITHUB_REPOSITORY`).
 */
export function defaultOciRepo(env: NodeJS.ProcessEnv = process.env): string {
  const repository = env.GITHUB_REPOSITORY
  if (!repository) return ''
  return `oci://${githubContainerHost(env)}/${repository}`
}

/** The `lint` input: `true` (or empty) → `default`, `false` → `off`, `strict`. */
function lintMode(): LintMode {
  const raw = input('lint')
  if (raw === '' || /^(true|True|TRUE|default)$/.test(raw)) return 'default'
  if (/^(false|False|FALSE|off)$/.test(raw)) return 'off'
  if (raw === 'strict') return 'strict'
  throw new InputError('lint', `'${raw}' is not one of true, false, strict`)
}

/**
 * The chart registry's credentials (see {@link Inputs.registryCredentials}). The user name
 * defaults to `GITHUB_ACTOR` (ghcr.io accepts any name with a token).
 */
function registryCredentials(ociRepo: OciRepository, username: string, password: string, githubToken: string): Credentials | undefined {
  const user = username || process.env.GITHUB_ACTOR || 'oauth2'
  if (password) return { username: user, password }
  if (githubToken && ociRepo.registry === githubContainerHost()) return { username: user, password: githubToken }
  return undefined
}

/**
 * The upstream registry's credentials: `upstream-password` (a Docker Hub access token, a
 * `GITHUB_TOKEN` for a private ghcr.io image …) with `upstream-username`, required with it.
 *
 * @throws InputError when a password is given without a user name.
 */
function upstreamCredentials(password: string): Credentials | undefined {
  const username = input('upstream-username')
  if (!password) {
    if (username) throw new InputError('upstream-password', `empty, but upstream-username is '${username}': set both, or neither`)
    return undefined
  }
  if (!username) throw new InputError('upstream-username', 'required with upstream-password (e.g. your Docker Hub user name)')
  return { username, password }
}

function timeScale(): number {
  const n = Number(process.env[TIME_SCALE_ENV] ?? '1')
  return Number.isFinite(n) && n > 0 ? n : 1
}

/** A reference parsed by `parse`, its error reported as the input's. */
function reference<T>(name: string, parse: () => T): T {
  try {
    return parse()
  } catch (error) {
    if (error instanceof InvalidReferenceError) throw new InputError(name, error.message)
    throw error
  }
}

/** `oci-repo`, or the default (this repository's ghcr.io). */
function ociRepoInput(): OciRepository {
  const rawRepo = input('oci-repo') || defaultOciRepo()
  if (!rawRepo) {
    throw new InputError(
      'oci-repo',
      'not set, and GITHUB_REPOSITORY is not either (outside Actions): set it, e.g. oci://ghcr.io/OWNER/REPO',
    )
  }
  return reference('oci-repo', () => parseOciRepository(rawRepo))
}

/** `max-age-days`: 0 to {@link MAX_AGE_DAYS_LIMIT}, fractions allowed. */
function maxAgeDaysInput(): number {
  const rawAge = input('max-age-days') || '7'
  const maxAgeDays = /^\d+(\.\d+)?$/.test(rawAge) ? Number(rawAge) : NaN
  if (!(maxAgeDays >= 0 && maxAgeDays <= MAX_AGE_DAYS_LIMIT)) {
    throw new InputError('max-age-days', `'${rawAge}' is not a number of days from 0 to ${MAX_AGE_DAYS_LIMIT} (e.g. 7 or 0.5)`)
  }
  return maxAgeDays
}

/** `tag-pattern`, compiled; undefined when empty. @throws InputError when it does not compile or has no `version` group. */
function tagPatternInput(): RegExp | undefined {
  const raw = core.getInput('tag-pattern').trim()
  if (!raw) return undefined
  const compiled = compileTagPattern(raw)
  if (typeof compiled === 'string') throw new InputError('tag-pattern', compiled)
  return compiled
}

/** `min-release-age` (`72h`, `3d`, `90m`) and its milliseconds; undefined when empty. @throws InputError for any other form. */
function minReleaseAgeInput(): { text: string; ms: number } | undefined {
  const raw = input('min-release-age')
  if (!raw) return undefined
  const ms = parseAge(raw)
  if (ms === undefined) throw new InputError('min-release-age', `'${raw}' is not an age (e.g. 72h, 3d, 90m)`)
  return { text: raw, ms }
}

/** `verify-timeout-minutes`: more than 0, at most 360 (a GitHub-hosted job's limit), fractions allowed. */
function verifyTimeoutInput(): number {
  const raw = input('verify-timeout-minutes') || '30'
  const minutes = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN
  if (!(minutes > 0 && minutes <= 360)) {
    throw new InputError('verify-timeout-minutes', `'${raw}' is not a number of minutes above 0 and at most 360 (e.g. 30)`)
  }
  return minutes
}

/**
 * What the event payload the runner writes to `GITHUB_EVENT_PATH` says of the repository:
 * `repository.private` and `repository.owner.type` (every repository event carries them); empty
 * when there is no payload or it does not say (a local run).
 */
function repositoryFacts(): { private?: boolean; ownerType?: string } {
  const path = process.env.GITHUB_EVENT_PATH
  if (!path) return {}
  try {
    const payload = JSON.parse(readFileSync(path, 'utf8')) as { repository?: { private?: unknown; owner?: { type?: unknown } } }
    const flag = payload.repository?.private
    const type = payload.repository?.owner?.type
    return { private: typeof flag === 'boolean' ? flag : undefined, ownerType: typeof type === 'string' ? type : undefined }
  } catch {
    return {}
  }
}

/** The features that call the GitHub API need a token and `GITHUB_REPOSITORY`. */
function checkApiUsers(commitMode: string, githubRelease: boolean, dispatchWorkflow: string, githubToken: string): void {
  const apiUsers = [
    ...(commitMode === 'pull-request' ? ['commit-mode pull-request'] : []),
    ...(githubRelease ? ['github-release'] : []),
    ...(dispatchWorkflow ? ['dispatch-workflow'] : []),
  ]
  if (!apiUsers.length) return
  if (!githubToken) throw new InputError('github-token', `required with ${apiUsers.join(', ')} (the GitHub API is called with it)`)
  if (!/^[^/\s]+\/[^/\s]+$/.test(process.env.GITHUB_REPOSITORY ?? '')) {
    throw new InputError(apiUsers[0].split(' ')[0], 'needs GITHUB_REPOSITORY (OWNER/REPO), which GitHub Actions sets')
  }
}

/**
 * Reads the `INPUT_*` environment into {@link Inputs}, masking every secret first.
 *
 * @throws InputError naming the input for any value that cannot be used.
 */
export function readInputs(): Inputs {
  const registryPassword = core.getInput('registry-password')
  const githubToken = core.getInput('github-token')
  if (registryPassword) core.setSecret(registryPassword)
  const upstreamPassword = core.getInput('upstream-password')
  if (upstreamPassword) core.setSecret(upstreamPassword)
  if (githubToken) core.setSecret(githubToken)

  const mode = oneOf<Mode>('mode', ['pipeline', 'prune', 'cleanup-all'], 'pipeline')
  const workspace = process.env.GITHUB_WORKSPACE || process.cwd()

  const rawImage = input('image')
  const image = rawImage ? reference('image', () => parseImageReference(rawImage)) : undefined
  const ociRepo = ociRepoInput()
  const chartPaths = list('chart-path')
  if (chartPaths.length === 0) chartPaths.push('charts/zero-cache')
  const chartPath = chartPaths[0]
  const versionRange = input('version-range') || '*'
  const rangeError = checkRange(versionRange)
  if (rangeError) throw new InputError('version-range', rangeError)
  const maxAgeDays = maxAgeDaysInput()
  const username = input('registry-username')
  const commitMode = oneOf<'push' | 'pull-request'>('commit-mode', ['push', 'pull-request'], 'push')
  const githubRelease = bool('github-release')
  const dispatchWorkflow = input('dispatch-workflow')
  if (dispatchWorkflow && !/^[\w.-]+\.ya?ml$|^\d+$/.test(dispatchWorkflow)) {
    throw new InputError('dispatch-workflow', `'${dispatchWorkflow}' is not a workflow file name (e.g. deploy.yml) or workflow id`)
  }
  if (mode === 'pipeline') checkApiUsers(commitMode, githubRelease, dispatchWorkflow, githubToken)
  return {
    mode,
    dryRun: bool('dry-run'),
    image,
    ociRepo,
    chartPath,
    chartPaths,
    tagFormatSet: core.getInput('tag-format') !== '',
    chartDir: isAbsolute(chartPath) ? chartPath : resolve(workspace, chartPath),
    includePrereleases: bool('include-prereleases'),
    versionRange,
    tagPattern: tagPatternInput(),
    valuesImages: parseValuesImages(core.getInput('values-images')),
    minReleaseAge: minReleaseAgeInput(),
    minReleaseAgeUndated: oneOf<'skip' | 'take'>('min-release-age-undated', ['skip', 'take'], 'skip'),
    bump: oneOf<BumpKind>('bump', ['auto', 'patch', 'minor', 'major'], 'auto'),
    tagFormat: template('tag-format', 'v{version}', ['version']),
    commitMessage: template('commit-message', DEFAULT_COMMIT_MESSAGE),
    commitMessageSet: core.getInput('commit-message') !== '',
    branch: input('branch') || undefined,
    commitMode,
    pullRequestBranch: template('pull-request-branch', 'chart-update/{name}'),
    pullRequestLabels: list('pull-request-labels'),
    pullRequestReviewers: list('pull-request-reviewers'),
    githubRelease,
    dispatchWorkflow,
    sign: bool('sign'),
    artifacthubRepo: bool('artifacthub-repo'),
    plainHttp: bool('plain-http'),
    lint: lintMode(),
    registryCredentials: registryCredentials(ociRepo, username, registryPassword, githubToken),
    upstreamCredentials: upstreamCredentials(upstreamPassword),
    githubToken,
    githubApiUrl: (input('github-api-url') || process.env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, ''),
    maxAgeDays,
    confirm: input('confirm'),
    githubPackages: oneOf<'auto' | 'true' | 'false'>('github-packages', ['auto', 'true', 'false'], 'auto'),
    verifyCommand: core.getInput('verify-command').trim(),
    verifyTimeoutMinutes: verifyTimeoutInput(),
    checkPublic: oneOf<'auto' | 'true' | 'false'>('check-public', ['auto', 'true', 'false'], 'auto'),
    repositoryPrivate: repositoryFacts().private,
    repositoryOwnerType: repositoryFacts().ownerType,
    workspace,
    tempDir: process.env.RUNNER_TEMP || tmpdir(),
    repository: process.env.GITHUB_REPOSITORY ?? '',
    eventName: process.env.GITHUB_EVENT_NAME ?? '',
    timeScale: timeScale(),
  }
}
