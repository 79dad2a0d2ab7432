/**
 * The floor of the up-to-date run, for `npm run bench`: the least any correct implementation does
 * when nothing is new, with the least code — Node's own start, then, one after the other:
 *
 * 1. the upstream tags: `GET /v2/<repo>/tags/list?n=1000` (401 → token → again, following `Link`),
 *    parsed, and the newest semver tag picked;
 * 2. the release tags on the git remote: `git ls-remote --tags origin`;
 * 3. the published chart: `HEAD /v2/<chart repo>/manifests/<version>` (401 → token with Basic
 *    credentials → again).
 *
 * Plain `node:http` (no client library), plain HTTP on loopback, the same proxies as the action.
 *
 * Usage: node bench/floor.mjs <upstream host> <upstream repo> <chart host> <chart repo> <version> <user> <password> <git dir>
 */
import { execFile } from 'node:child_process'
import { request } from 'node:http'

const [upstreamHost, upstreamRepo, chartHost, chartRepo, version, user, password, gitDir] = process.argv.slice(2)

/** One HTTP exchange; resolves to the status, headers and body text. */
function send(method, url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** A request with the registry token flow (Docker Registry v2 "Token Authentication Specification"). */
async function read(method, url, credentials, headers = {}) {
  let res = await send(method, url, headers)
  if (res.status !== 401) return res
  const params = Object.fromEntries([...res.headers['www-authenticate'].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
  const realm = new URL(params.realm)
  realm.searchParams.set('service', params.service)
  realm.searchParams.set('scope', params.scope)
  const auth = credentials ? { Authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } : {}
  const { token } = JSON.parse((await send('GET', realm.toString(), auth)).body)
  return send(method, url, { ...headers, Authorization: `Bearer ${token}` })
}

const tags = []
for (let url = `http://${upstreamHost}/v2/${upstreamRepo}/tags/list?n=1000`; url;) {
  const res = await read('GET', url)
  if (res.status !== 200) throw new Error(`tags/list: HTTP ${res.status}`)
  tags.push(...JSON.parse(res.body).tags)
  const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.link ?? '')
  url = next ? new URL(next[1], url).toString() : undefined
}
const stable = tags.filter((t) => /^\d+\.\d+\.\d+$/.test(t)).map((t) => t.split('.').map(Number))
stable.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2])

const remote = await new Promise((resolve, reject) =>
  execFile('git', ['ls-remote', '--tags', 'origin'], { cwd: gitDir }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
)

const head = await read('HEAD', `http://${chartHost}/v2/${chartRepo}/manifests/${version}`, `${user}:${password}`, {
  Accept: 'application/vnd.oci.image.manifest.v1+json',
})
if (head.status !== 200) throw new Error(`HEAD manifest: HTTP ${head.status}`)
console.log(
  `${tags.length} tags, newest ${stable.at(-1).join('.')}; ${remote.split('\n').length - 1} remote refs; chart ${version} published`,
)
