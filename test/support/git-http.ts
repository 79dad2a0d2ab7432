import { spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { basename, dirname } from 'node:path'
import { freePort } from './registry.js'

/**
 * A git remote over smart HTTP, as GitHub serves one: git's own `git-http-backend` (CGI) behind a
 * small Node server on loopback, with fault injection at the HTTP boundary. Server-side hooks of
 * the bare repository run as usual (receive-pack runs them).
 */

/** One request, the service it asked for, and the status it got (0 for a reset). */
export interface GitExchange {
  method: string
  path: string
  /** `git-upload-pack` (fetch, ls-remote) or `git-receive-pack` (push). */
  service: string
  status: number
  fault?: string
}

export interface GitFault {
  name: string
  /** Which service's requests: upload-pack serves fetch and ls-remote, receive-pack serves push. */
  service?: 'git-upload-pack' | 'git-receive-pack'
  method?: 'GET' | 'POST'
  /** Matching requests to let through first. */
  skip?: number
  times?: number
  do:
    /** Answer this status without running git. */
    | { answer: number; body?: string }
    /** Drop the connection without an answer; git never sees the request. */
    | { reset: 'before' }
    /** Run git (the push lands), then drop the connection instead of answering: a lost answer. */
    | { reset: 'after' }
}

export interface GitHttpServer {
  /** `http://127.0.0.1:<port>/<repo>.git` */
  url: string
  exchanges: GitExchange[]
  inject(fault: GitFault): void
  applied(): Record<string, number>
  reset(): void
  stop(): Promise<void>
}

/** Serves the bare repository `bareDir` over smart HTTP, push included. */
export async function serveGit(bareDir: string): Promise<GitHttpServer> {
  const port = await freePort()
  const exchanges: GitExchange[] = []
  let faults: (GitFault & { seen: number; used: number })[] = []
  const applied: Record<string, number> = {}
  const sockets = new Set<Socket>()

  const server: Server = createServer((req, res) => {
    // Faults tear connections down on purpose: a write to a dead socket is expected, not a test error.
    req.on('error', () => undefined)
    res.on('error', () => undefined)
    void handle(req, res).catch(() => req.socket.destroy())
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x')
    const method = req.method ?? 'GET'
    const service = url.searchParams.get('service') ?? basename(url.pathname)
    const exchange: GitExchange = { method, path: url.pathname, service, status: 0 }
    exchanges.push(exchange)
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)

    const fault = faults.find(
      (f) =>
        (!f.service || f.service === service) && (!f.method || f.method === method) && ++f.seen > (f.skip ?? 0) && f.used < (f.times ?? 1),
    )
    if (fault) {
      fault.used++
      applied[fault.name] = (applied[fault.name] ?? 0) + 1
      exchange.fault = fault.name
      if ('answer' in fault.do) {
        exchange.status = fault.do.answer
        res.writeHead(fault.do.answer, { 'Content-Type': 'text/plain' }).end(fault.do.body ?? '')
        return
      }
      if (fault.do.reset === 'before') {
        req.socket.destroy()
        return
      }
    }

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GIT_PROJECT_ROOT: dirname(bareDir),
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: url.pathname,
      REQUEST_METHOD: method,
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      CONTENT_LENGTH: String(body.length),
      REMOTE_USER: 'ci-user', // enables receive-pack (http.receivepack defaults to on for authenticated users)
      REMOTE_ADDR: '127.0.0.1',
      ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
      ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
    }
    const cgi = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    cgi.stdout.on('data', (d: Buffer) => out.push(d))
    cgi.stderr.resume()
    // git may answer (a declined push, an error) before it has read the whole request body.
    cgi.stdin.on('error', () => undefined)
    cgi.stdin.end(body)
    await new Promise((r) => cgi.on('close', r))
    if (fault && 'reset' in fault.do) {
      req.socket.destroy() // git did the work; the client never hears of it
      return
    }
    const raw = Buffer.concat(out)
    const split = raw.indexOf('\r\n\r\n') >= 0 ? raw.indexOf('\r\n\r\n') : raw.indexOf('\n\n')
    const sep = raw.indexOf('\r\n\r\n') >= 0 ? 4 : 2
    const head = raw.subarray(0, split).toString()
    const headers: Record<string, string> = {}
    let status = 200
    for (const line of head.split(/\r?\n/)) {
      const at = line.indexOf(':')
      if (at < 0) continue
      const name = line.slice(0, at).trim()
      const value = line.slice(at + 1).trim()
      if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0])
      else headers[name] = value
    }
    exchange.status = status
    res.writeHead(status, headers)
    res.end(raw.subarray(split + sep))
  }

  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${port}/${basename(bareDir)}`,
    exchanges,
    inject: (fault) => void faults.push({ ...fault, seen: 0, used: 0 }),
    applied: () => ({ ...applied }),
    reset: () => {
      exchanges.splice(0)
      faults = []
      for (const key of Object.keys(applied)) delete applied[key]
    },
    stop: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
}
