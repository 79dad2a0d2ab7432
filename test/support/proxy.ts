import { createServer, request, type Server } from 'node:http'
import { freePort } from './registry.js'

/** A pass-through HTTP proxy on loopback that counts requests, for measuring round trips. */
export interface CountingProxy {
  /** `127.0.0.1:<port>` */
  host: string
  /** Requests seen since the last reset, as `METHOD path-without-query`. */
  requests: string[]
  reset(): void
  stop(): Promise<void>
}

/** Starts a proxy that forwards every request unchanged to `target` (`127.0.0.1:<port>`). */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const [targetHost, targetPort] = target.split(':')
  const port = await freePort()
  const requests: string[] = []
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${(req.url ?? '').split('?')[0]}`)
    const upstream = request(
      { host: targetHost, port: Number(targetPort), method: req.method, path: req.url, headers: { ...req.headers, host: target } },
      (up) => {
        const headers = { ...up.headers }
        if (typeof headers.location === 'string') headers.location = headers.location.replace(`//${target}`, `//127.0.0.1:${port}`)
        res.writeHead(up.statusCode ?? 502, headers)
        up.pipe(res)
      },
    )
    upstream.on('error', (e) => {
      res.writeHead(502)
      res.end(String(e))
    })
    req.pipe(upstream)
  })
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  return {
    host: `127.0.0.1:${port}`,
    requests,
    reset: () => void requests.splice(0),
    stop: () => new Promise((r) => server.close(() => r())),
  }
}
