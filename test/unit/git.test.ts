import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { isTransportError, isValidTagName } from '../../src/git.js'

/** What git and curl print when a network command fails: retried only when the conversation broke. */
describe('isTransportError', () => {
  it.each([
    "fatal: unable to access 'https://github.com/acme/charts/': The requested URL returned error: 503",
    "fatal: unable to access 'https://github.com/acme/charts/': The requested URL returned error: 429",
    "fatal: unable to access 'https://github.com/acme/charts/': Could not resolve host: github.com",
    "fatal: unable to access 'https://github.com/acme/charts/': Failed to connect to github.com port 443 after 130 ms: Connection refused",
    "fatal: unable to access 'https://github.com/acme/charts/': Recv failure: Connection reset by peer",
    "fatal: unable to access 'https://github.com/acme/charts/': gnutls_handshake() failed: The TLS connection was non-properly terminated.",
    'error: RPC failed; HTTP 502 curl 22 The requested URL returned error: 502\nfatal: the remote end hung up unexpectedly',
    'error: RPC failed; curl 52 Empty reply from server\n' +
      'send-pack: unexpected disconnect while reading sideband packet\nfatal: the remote end hung up unexpectedly',
    'fatal: early EOF\nfatal: index-pack failed',
    'ssh: connect to host github.com port 22: Connection timed out\nfatal: Could not read from remote repository.',
  ])('retries: %s', (output) => {
    expect(isTransportError(output)).toBe(true)
  })

  it.each([
    'remote: Permission to acme/charts.git denied to github-actions[bot].\n' +
      "fatal: unable to access 'https://github.com/acme/charts/': The requested URL returned error: 403",
    "remote: Repository not found.\nfatal: repository 'https://github.com/acme/nope/' not found",
    "fatal: unable to access 'https://github.com/acme/charts/': The requested URL returned error: 404",
    "fatal: Authentication failed for 'https://github.com/acme/charts/'",
    "fatal: could not read Username for 'https://github.com': terminal prompts disabled",
    'To https://github.com/acme/charts\n!\trefs/heads/main:refs/heads/main\t[remote rejected] (protected branch hook declined)\n' +
      'remote: error: GH006: Protected branch update failed for refs/heads/main.',
    "fatal: couldn't find remote ref refs/heads/nope",
    'git@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.',
  ])('does not retry: %s', (output) => {
    expect(isTransportError(output)).toBe(false)
  })
})

/** The tag name check in code, against `git check-ref-format refs/tags/<name>` itself. */
describe('isValidTagName agrees with git check-ref-format', () => {
  const names = [
    'v1.2.3',
    'zero-cache-1.2.3',
    'charts/zero-cache/v1.2.3',
    'v1.2.3-rc.1',
    'release_2025.11',
    'ünïcødé-1.0',
    '@',
    'a@b',
    '-leading-dash',
    'v1..2',
    'v1.2.',
    '.hidden',
    'dir/.hidden',
    'v1.lock',
    'dir.lock/v1',
    'v1 2',
    'v1~2',
    'v1^2',
    'v1:2',
    'v1?2',
    'v1*2',
    'v1[2',
    'v1\\2',
    'v1@{2',
    'v1/',
    '/v1',
    'a//b',
    '',
    'tab\there',
    'bell\u0007',
    'del\u007f',
    'dots...',
    'a.b.c',
    'v1{2}',
    'x]y',
  ]
  it.each(names)('%j', (name) => {
    let git: boolean
    try {
      execFileSync('git', ['check-ref-format', `refs/tags/${name}`], { stdio: 'ignore' })
      git = true
    } catch {
      git = false
    }
    expect(isValidTagName(name)).toBe(git)
  })
})
