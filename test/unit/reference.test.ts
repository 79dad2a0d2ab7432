import { describe, expect, it } from 'vitest'
import { chartVersionToTag, parseImageReference, parseOciRepository } from '../../src/oci/reference.js'
import { nextLink, parseChallenge } from '../../src/oci/registry.js'

describe('parseImageReference', () => {
  it.each([
    ['rocicorp/zero', 'docker.io', 'registry-1.docker.io', 'rocicorp/zero'],
    ['redis', 'docker.io', 'registry-1.docker.io', 'library/redis'],
    ['docker.io/library/redis', 'docker.io', 'registry-1.docker.io', 'library/redis'],
    ['docker.io/redis', 'docker.io', 'registry-1.docker.io', 'library/redis'],
    ['index.docker.io/rocicorp/zero', 'docker.io', 'registry-1.docker.io', 'rocicorp/zero'],
    ['ghcr.io/org/img', 'ghcr.io', 'ghcr.io', 'org/img'],
    ['ghcr.io/org/team/img', 'ghcr.io', 'ghcr.io', 'org/team/img'],
    ['127.0.0.1:5000/ns/img', '127.0.0.1:5000', '127.0.0.1:5000', 'ns/img'],
    ['localhost/img', 'localhost', 'localhost', 'img'],
    ['localhost:5000/a/b-c_d.e__f', 'localhost:5000', 'localhost:5000', 'a/b-c_d.e__f'],
    ['  rocicorp/zero  ', 'docker.io', 'registry-1.docker.io', 'rocicorp/zero'],
  ])('%s → %s %s', (input, registry, apiHost, repository) => {
    expect(parseImageReference(input)).toEqual({ registry, apiHost, repository })
  })

  it.each([
    ['', /empty/],
    ['Rocicorp/zero', /'Rocicorp' is not a valid repository path component \(repository names must be lowercase\)/],
    ['rocicorp/zero:latest', /has a tag/],
    ['ghcr.io:443/org/img:1.0', /has a tag/],
    ['rocicorp/zero@sha256:abc', /has a digest/],
    ['https://ghcr.io/org/img', /no scheme/],
    ['ghcr.io/', /names no repository/],
    ['rocicorp//zero', /not a valid repository path component/],
    ['rocicorp/-zero', /not a valid repository path component/],
    ['bad_host.io:port/x', /not a valid registry host/],
  ])('rejects %j', (input, message) => {
    expect(() => parseImageReference(input)).toThrow(message)
  })
})

describe('parseOciRepository', () => {
  it.each([
    ['oci://ghcr.io/acme/zero-cache-chart', 'oci://ghcr.io/acme/zero-cache-chart', 'acme/zero-cache-chart', false],
    ['ghcr.io/acme/zero-cache-chart', 'oci://ghcr.io/acme/zero-cache-chart', 'acme/zero-cache-chart', false],
    ['oci://ghcr.io/Synapdeck/Zero-Cache-Chart/', 'oci://ghcr.io/synapdeck/zero-cache-chart', 'synapdeck/zero-cache-chart', true],
    ['oci://127.0.0.1:5000/charts', 'oci://127.0.0.1:5000/charts', 'charts', false],
  ])('%s', (input, url, repository, lowercased) => {
    expect(parseOciRepository(input)).toMatchObject({ url, repository, lowercased })
  })

  it.each([
    ['oci://ghcr.io', /has no namespace: use oci:\/\/ghcr.io\/OWNER\/REPO/],
    ['ghcr.io', /has no namespace/],
    ['https://ghcr.io/acme/x', /use the oci:\/\/ scheme/],
    ['oci://ghcr.io/acme/x:1.0.0', /no tag or digest/],
    ['', /empty/],
  ])('rejects %j', (input, message) => {
    expect(() => parseOciRepository(input)).toThrow(message)
  })
})

describe('chartVersionToTag', () => {
  it('replaces build metadata separators as Helm does', () => {
    expect(chartVersionToTag('1.2.3+build.5')).toBe('1.2.3_build.5')
    expect(chartVersionToTag('1.2.3')).toBe('1.2.3')
  })
})

describe('parseChallenge', () => {
  it.each([
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/redis:pull"',
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/redis:pull' },
      },
    ],
    [
      'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull"',
      { scheme: 'bearer', params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:a/b:pull' } },
    ],
    ['Basic realm="Registry Realm"', { scheme: 'basic', params: { realm: 'Registry Realm' } }],
    [
      'Bearer realm="x", error="insufficient_scope" , scope="a:b:pull,push"',
      { scheme: 'bearer', params: { realm: 'x', error: 'insufficient_scope', scope: 'a:b:pull,push' } },
    ],
    ['Bearer realm="quoted \\"q\\""', { scheme: 'bearer', params: { realm: 'quoted "q"' } }],
  ])('%s', (header, expected) => {
    expect(parseChallenge(header)).toEqual(expected)
  })
})

describe('nextLink', () => {
  it.each([
    ['</v2/a/tags/list?last=x&n=100>; rel="next"', '/v2/a/tags/list?last=x&n=100'],
    ['<https://quay.io/v2/a/tags/list?next_page=gAAA%3D&n=50>; rel="next"', 'https://quay.io/v2/a/tags/list?next_page=gAAA%3D&n=50'],
    ['</prev>; rel="prev", </next>; rel=next', '/next'],
    ['</first>; rel="first"', undefined],
    [null, undefined],
  ])('%s', (header, expected) => {
    expect(nextLink(header)).toBe(expected)
  })
})
