import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { GitHubApiDouble } from './github-api.js'
import type { TestRemote } from './git.js'
import { startRegistry, type TestRegistry } from './registry.js'

/**
 * The loopback parts a describe block shares, with their lifecycle in one place: a registry
 * started before its tests (and seeded), stopped after them with every remote the tests made; and
 * a fresh GitHub API double per test, whose violations must be none when the test ends.
 */

/** A registry for the enclosing describe block; `seed` runs on it once it is up. */
export function useRegistry(
  seed: (registry: TestRegistry) => Promise<unknown> = async () => undefined,
  options: Parameters<typeof startRegistry>[0] = {},
): { readonly registry: TestRegistry; readonly remotes: TestRemote[] } {
  let registry: TestRegistry | undefined
  const remotes: TestRemote[] = []
  beforeAll(async () => {
    registry = await startRegistry(options)
    await seed(registry)
  })
  afterAll(async () => {
    await registry?.stop()
    for (const r of remotes) r.cleanup()
  })
  return {
    get registry() {
      if (!registry) throw new Error('the registry is not started yet (use it inside a test)')
      return registry
    },
    remotes,
  }
}

/** A GitHub API double per test of the enclosing describe block: `start()` makes it. */
export function useApiDouble(): { readonly api: GitHubApiDouble; start(): Promise<GitHubApiDouble> } {
  let api: GitHubApiDouble | undefined
  afterEach(async () => {
    if (!api) return
    const current = api
    api = undefined
    expect(current.violations).toEqual([])
    await current.stop()
  })
  return {
    get api() {
      if (!api) throw new Error('the API double is not started (call start() in the test)')
      return api
    },
    async start() {
      api = await new GitHubApiDouble({ timeScale: 1000 }).start()
      return api
    },
  }
}
