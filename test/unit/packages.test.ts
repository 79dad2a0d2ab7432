import { describe, expect, it } from 'vitest'
import { rateLimitKind } from '../../src/github/packages.js'

/** GitHub's documented rate-limit signals ("Rate limits for the REST API", "Exceeding the rate limit"). */
describe('rateLimitKind', () => {
  const error = (status: number, message: string, headers: Record<string, string> = {}) => ({ status, message, response: { headers } })

  it.each([
    [
      'a secondary limit 403, by its message',
      error(403, 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', {
        'retry-after': '60',
        'x-ratelimit-remaining': '4000',
      }),
      'secondary',
    ],
    [
      'a secondary limit 429 without retry-after',
      error(429, 'You have exceeded a secondary rate limit', { 'x-ratelimit-remaining': '12' }),
      'secondary',
    ],
    ['a 429 with retry-after only', error(429, 'Too Many Requests', { 'retry-after': '30' }), 'secondary'],
    ['a primary limit 403', error(403, 'API rate limit exceeded for installation ID 1.', { 'x-ratelimit-remaining': '0' }), 'primary'],
    ['a primary limit 429', error(429, 'API rate limit exceeded', { 'x-ratelimit-remaining': '0' }), 'primary'],
    ['a permission 403', error(403, 'Resource not accessible by integration', { 'x-ratelimit-remaining': '4999' }), undefined],
    ['a 404', error(404, 'Not Found', { 'x-ratelimit-remaining': '0' }), undefined],
    ['a 502', error(502, 'Server Error', { 'retry-after': '5' }), undefined],
  ])('%s', (_name, e, kind) => {
    expect(rateLimitKind(e)).toBe(kind)
  })
})
