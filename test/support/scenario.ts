import { createRemote, type TestRemote } from './git.js'
import type { GitHubApiDouble } from './github-api.js'
import { NOISE_TAGS, REGISTRY_PASSWORD, REGISTRY_USER, releaseHistory, type TestRegistry } from './registry.js'
import { HELM4_DIR, runAction, type ActionRun } from './runner.js'

/**
 * Shared setup of the end-to-end suites: a git remote with the chart and a chart namespace in a
 * registry per test, and a `run()` that drives dist/index.js against them.
 */

/** Every rocicorp/zero release of the fixture history, plus tags that selection must ignore. */
export const ALL_UPSTREAM_TAGS = [...releaseHistory().map((h) => h.tag), ...NOISE_TAGS]

/** The log as a reader of the run sees it: `::add-mask::` commands are consumed by the runner. */
export const visibleLog = (run: ActionRun) =>
  run.log
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n')

/** Exit code, outputs, the remote's state and the log tail: what a failing assertion should show. */
export function explain(run: ActionRun, remote?: TestRemote): string {
  const state = remote ? `\nremote log:\n${remote.log().join('\n')}\nremote tags: ${[...remote.tags().keys()].join(', ')}` : ''
  return `exit ${run.exitCode}\noutputs: ${JSON.stringify(run.outputs)}${state}\nlog tail:\n${run.log.split('\n').slice(-40).join('\n')}`
}

export type RunOptions = Omit<Parameters<typeof runAction>[0], 'workspace' | 'inputs' | 'home'> & { workspace?: string }

/** One test's chart: its git remote, its registry namespace, and a runner bound to both. */
export interface Scenario {
  remote: TestRemote
  /** `acme/charts-N` */
  ns: string
  /** `acme/charts-N/zero-cache` */
  chartRepo: string
  inputs: Record<string, string>
  run(extra?: Record<string, string>, options?: RunOptions): Promise<ActionRun>
}

let counter = 0

/**
 * A fresh git remote holding the chart at `version`/`appVersion`, and a fresh chart namespace on
 * `registryHost` (which may be a proxy in front of the registry). `image` defaults to
 * `<registryHost>/rocicorp/zero`.
 */
export function scenario(
  registryHost: string,
  chart: { version: string; appVersion: string; chartYaml?: string },
  options: { image?: string; helmDir?: string; remotes?: TestRemote[] } = {},
): Scenario {
  const remote = createRemote(chart)
  options.remotes?.push(remote)
  const ns = `acme/charts-${process.pid}-${++counter}`
  const inputs = {
    image: options.image ?? `${registryHost}/rocicorp/zero`,
    'oci-repo': `oci://${registryHost}/${ns}`,
    'plain-http': 'true',
    // Not ghcr.io: the workflow's token is not sent here by default, so the credentials are given.
    'registry-username': REGISTRY_USER,
    'registry-password': REGISTRY_PASSWORD,
  }
  const context = { actor: REGISTRY_USER, token: REGISTRY_PASSWORD }
  return {
    remote,
    ns,
    chartRepo: `${ns}/zero-cache`,
    inputs,
    run: (extra = {}, runOptions = {}) =>
      runAction({
        helmDir: options.helmDir ?? HELM4_DIR,
        context,
        ...runOptions,
        workspace: runOptions.workspace ?? remote.checkout(),
        inputs: { ...inputs, ...extra },
        home: remote.home,
      }),
  }
}

/** Seeds `rocicorp/zero` with every fixture tag, once per registry. */
export async function seedUpstream(registry: TestRegistry): Promise<void> {
  await registry.seedTags('rocicorp/zero', ALL_UPSTREAM_TAGS)
}

/** `GITHUB_REPOSITORY` as test/support/runner.ts sets it: the repository the API double serves. */
export const REPOSITORY = 'acme/zero-cache-chart'

/**
 * Makes the scenario's git remote the API double's {@link REPOSITORY}: its branches and tags are
 * what GitHub would see. Returns a lookup of a ref's commit on the remote (undefined when absent).
 */
export function linkRemote(api: GitHubApiDouble, remote: TestRemote): (ref: string) => string | undefined {
  const rev = (ref: string) => {
    try {
      return remote.git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], remote.dir).trim() || undefined
    } catch {
      return undefined
    }
  }
  api.linkRepository(
    REPOSITORY,
    (branch) => rev(`refs/heads/${branch}`),
    (tag) => rev(`refs/tags/${tag}`),
  )
  return rev
}
