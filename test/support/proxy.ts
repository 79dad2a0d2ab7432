import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { freePort } from './registry.js'

/**
 * An HTTP proxy on loopback in front of a registry (and, optionally, its token service), for
 * counting round trips and for injecting faults at the network boundary: the action and helm talk
 * to the proxy exactly as they would to the registry, and nothing in the product knows.
 *
 * With `token`, requests under `/token` go to the token service and every `WWW-Authenticate`
 * realm is rewritten to the proxy, so token fetches cross the proxy too. `Location` headers are
 * rewritten to the proxy.
 */

/** One request the proxy saw, and the status it answered (0 when it reset the connection). */
export interface Exchange {
  method: string
  /** Path without the query. */
  path: string
  /** The query, without `?` (token requests carry their scope here). */
  query: string
  /** `registry` or `token`. */
  to: 'registry' | 'token'
  status: number
  /** The fault applied to it, by name, if any. */
  fault?: string
}

/** What a fault does to a matching request. */
export type FaultAction =
  /** Answer this status (and body) without forwarding the request. */
  | { answer: number; headers?: Record<string, string>; body?: string }
  /** Close the client's connection without an answer; the request is not forwarded. */
  | { reset: 'before-forwarding' }
  /** Forward the headers and half of the request body, then reset both connections (a torn upload). */
  | { reset: 'mid-request' }
  /** Forward, and hold the answer this long before relaying it (a slow registry). */
  | { delayMs: number }
  /** Forward, then answer with the upstream status and headers but this body (a truncated or HTML body). */
  | { replaceBody: string; contentType?: string }
  /** Forward; once the upstream has answered, call this before relaying the answer (a kill point). */
  | { then: (exchange: Exchange) => void | Promise<void> }

/** A fault rule: which requests, which of them (by count), and what happens. */
export interface Fault {
  name: string
  method?: string | RegExp
  path?: RegExp
  to?: 'registry' | 'token'
  /** Upstream status that a `then` fault waits for (e.g. 201 for a manifest PUT); others pass. */
  onStatus?: number
  /** Matching requests to let through before the fault applies (the Nth request: skip N-1). */
  skip?: number
  /** How many matching requests get the fault (default 1). */
  times?: number
  /**
   * Instead of `skip`/`times`: each matching request gets the fault with this probability, drawn
   * from `random` (a seeded generator, so a soak replays the same faults).
   */
  chance?: { p: number; random: () => number }
  do: FaultAction
}

export interface FaultProxy {
  /** `127.0.0.1:<port>` */
  host: string
  /** Requests seen since the last reset, as `METHOD path-without-query` (what the benchmark counts). */
  requests: string[]
  /** Requests seen since the last reset, with their answers. */
  exchanges: Exchange[]
  /** Adds a fault rule; rules are tried in the order added. */
  inject(fault: Fault): void
  /** Faults that have been applied, by name, with counts. */
  applied(): Record<string, number>
  /** Forgets requests and faults. */
  reset(): void
  stop(): Promise<void>
}

interface Rule extends Fault {
  seen: number
  used: number
}

const matches = (want: string | RegExp | undefined, value: string) =>
  want === undefined || (typeof want === 'string' ? want === value : want.test(value))

/**
 * Starts a proxy in front of `target` (`127.0.0.1:<port>` of a registry) and, optionally, of the
 * token service at `token` (its realm URL, `http://127.0.0.1:<port>/token`).
 */
export async function startProxy(options: { target: string; token?: string }): Promise<FaultProxy> {
  const port = await freePort()
  const self = `127.0.0.1:${port}`
  const tokenUrl = options.token ? new URL(options.token) : undefined
  const requests: string[] = []
  const exchanges: Exchange[] = []
  let rules: Rule[] = []
  const applied: Record<string, number> = {}
  const sockets = new Set<Socket>()

  function pick(method: string, path: string, to: Exchange['to']): Rule | undefined {
    for (const rule of rules) {
      if (!matches(rule.method, method) || !matches(rule.path, path) || (rule.to && rule.to !== to)) continue
      rule.seen++
      if (rule.chance) {
        if (rule.chance.random() >= rule.chance.p) continue
        rule.used++
        return rule
      }
      if (rule.seen > (rule.skip ?? 0) && rule.used < (rule.times ?? 1)) {
        rule.used++ // reserved now: concurrent requests (helm uploads blobs in parallel) must not both match
        return rule
      }
    }
    return undefined
  }

  const server: Server = createServer((req, res) => {
    // Faults tear connections down on purpose: a write to a dead socket is expected, not a test error.
    req.on('error', () => undefined)
    res.on('error', () => undefined)
    void handle(req, res).catch(() => {
      req.socket.destroy()
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET'
    const path = (req.url ?? '/').split('?')[0]
    const to: Exchange['to'] = tokenUrl && path.startsWith(tokenUrl.pathname) ? 'token' : 'registry'
    const exchange: Exchange = { method, path, query: (req.url ?? '').split('?')[1] ?? '', to, status: 0 }
    requests.push(`${method} ${path}`)
    exchanges.push(exchange)
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)

    let rule = pick(method, path, to)
    const apply = (r: Rule) => {
      applied[r.name] = (applied[r.name] ?? 0) + 1
      exchange.fault = r.name
    }
    if (rule && 'answer' in rule.do) {
      apply(rule)
      exchange.status = rule.do.answer
      res.writeHead(rule.do.answer, { 'Content-Type': 'application/json', ...rule.do.headers })
      res.end(rule.do.body ?? '')
      return
    }
    if (rule && 'reset' in rule.do && rule.do.reset === 'before-forwarding') {
      apply(rule)
      req.socket.destroy()
      return
    }

    const target = to === 'token' ? tokenUrl!.host : options.target
    const [host, targetPort] = target.split(':')
    const headers = { ...req.headers, host: target }
    delete headers['transfer-encoding']
    headers['content-length'] = String(body.length)
    const upstream = request({ host, port: Number(targetPort), method, path: req.url, headers })
    if (rule && 'reset' in rule.do) {
      // A torn upload: half the body reaches the registry, then both connections drop.
      apply(rule)
      upstream.on('error', () => undefined)
      upstream.write(body.subarray(0, Math.floor(body.length / 2)), () => {
        setTimeout(() => {
          upstream.destroy()
          req.socket.destroy()
        }, 20)
      })
      return
    }
    const answer = await new Promise<IncomingMessage>((resolve, reject) => {
      upstream.on('response', resolve)
      upstream.on('error', reject)
      upstream.end(body)
    }).catch(() => undefined)
    if (!answer) {
      exchange.status = 502
      res.writeHead(502).end()
      return
    }
    const out = { ...answer.headers }
    if (typeof out.location === 'string') out.location = out.location.replace(`//${options.target}`, `//${self}`)
    if (tokenUrl && typeof out['www-authenticate'] === 'string')
      out['www-authenticate'] = out['www-authenticate'].replace(`//${tokenUrl.host}`, `//${self}`)
    exchange.status = answer.statusCode ?? 502
    // A rule with onStatus waits for an answer with that status (e.g. the 201 of a manifest PUT).
    if (rule?.onStatus !== undefined && rule.onStatus !== exchange.status) {
      rule.used--
      rule = undefined
    }
    if (rule && 'delayMs' in rule.do) {
      apply(rule)
      await new Promise((r) => setTimeout(r, (rule!.do as { delayMs: number }).delayMs))
    } else if (rule && 'then' in rule.do) {
      apply(rule)
      await rule.do.then(exchange)
    } else if (rule && 'replaceBody' in rule.do) {
      apply(rule)
      for await (const _ of answer) void _
      const replaced = Buffer.from(rule.do.replaceBody)
      delete out['transfer-encoding']
      out['content-length'] = String(replaced.length)
      if (rule.do.contentType) out['content-type'] = rule.do.contentType
      res.writeHead(exchange.status, out)
      res.end(replaced)
      return
    }
    res.writeHead(exchange.status, out)
    answer.on('error', () => res.destroy())
    answer.pipe(res)
  }

  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  return {
    host: self,
    requests,
    exchanges,
    inject: (fault) => void rules.push({ ...fault, seen: 0, used: 0 }),
    applied: () => ({ ...applied }),
    reset: () => {
      requests.splice(0)
      exchanges.splice(0)
      rules = []
      for (const key of Object.keys(applied)) delete applied[key]
    },
    stop: () =>
      new Promise((r) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => r())
      }),
  }
}

/** A proxy that forwards every request unchanged to `target` (`127.0.0.1:<port>`) and counts them. */
export async function startCountingProxy(target: string): Promise<FaultProxy> {
  return startProxy({ target })
}
