import { getOctokit } from '@actions/github'
import { retry } from '@octokit/plugin-retry'
import { throttling, type ThrottlingOptions } from '@octokit/plugin-throttling'

/**
 * The one place the action makes a GitHub REST client (API version 2022-11-28): Octokit with the
 * retry plugin (5xx retried; 4xx never, 429 left to the throttling plugin) and the throttling
 * plugin (GitHub's primary and secondary rate limits: wait for `retry-after`, as GitHub's "Best
 * practices for using the REST API" asks). Every wait is divided by the run's time scale (1 in
 * real runs; tests scale time down). The Packages client and the repository client differ only in
 * the options they pass.
 */

/** Statuses the retry plugin must not retry: refusals that say something (429 is the throttler's). */
const DO_NOT_RETRY = [400, 401, 403, 404, 410, 422, 429, 451]

/** Options of {@link githubClient}. */
export interface GitHubClientOptions {
  token: string
  /** `https://api.github.com`, or a GHES `https://HOST/api/v3`. */
  baseUrl: string
  /** Divides every wait; 1 in real runs. */
  timeScale?: number
  /** Retries of a 5xx (attempts = 1 + retries). */
  retries: number
  /** The throttling plugin's options beyond the time base: its handlers, and a write limiter. */
  throttle: Omit<Extract<ThrottlingOptions, { onRateLimit: unknown }>, 'retryAfterBaseValue'>
  /** Octokit plugins applied before retry and throttling (innermost: they see every attempt). */
  plugins?: Parameters<typeof getOctokit>[2][]
}

export type GitHubClient = ReturnType<typeof getOctokit>

/** A GitHub REST client with the action's request policy (see the module comment). */
export function githubClient(o: GitHubClientOptions): GitHubClient {
  const scale = o.timeScale ?? 1
  return getOctokit(
    o.token,
    {
      baseUrl: o.baseUrl,
      // Not `request.retries`: plugin-retry reads that as the retry count for every failed attempt,
      // even statuses in doNotRetry, which multiplied each rate-limit refusal.
      retry: { retries: o.retries, doNotRetry: DO_NOT_RETRY, retryAfterBaseValue: 1000 / scale },
      throttle: { ...o.throttle, retryAfterBaseValue: 1000 / scale },
    },
    ...(o.plugins ?? []),
    retry,
    throttling,
  )
}
