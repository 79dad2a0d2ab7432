/**
 * A preload for `npm run bench` (`NODE_OPTIONS=--import=<this file>`): records, from outside the
 * product, where one run of the action spends its time, so any bundle (today's, or an older one via
 * ZCC_DIST) is measured the same way.
 *
 * - HTTP: undici's diagnostics channels (`undici:request:create`, `:headers`, `:trailers`,
 *   `:error`; undici docs, "Diagnostics Channel"), which every bundled copy of undici publishes to,
 *   give each request's start, its response headers and the end of its body.
 * - Subprocesses: `child_process.spawn` (what `@actions/exec` calls) is wrapped to record each
 *   command's start and exit.
 * - The process: Node's bootstrap up to this preload, and the exit.
 *
 * Times are ms since the process's time origin (`performance.now()`). At exit the record is written
 * as JSON to `ZCC_TRACE_FILE`.
 */
import childProcess from 'node:child_process'
import diagnostics from 'node:diagnostics_channel'
import { writeFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'

const preloaded = performance.now()
/** @type {{ kind: 'http' | 'exec', label: string, start: number, headers?: number, end?: number, status?: number }[]} */
const events = []
const requests = new WeakMap()

diagnostics.subscribe('undici:request:create', ({ request }) => {
  const event = { kind: 'http', label: `${request.method} ${request.origin}${request.path.split('?')[0]}`, start: performance.now() }
  requests.set(request, event)
  events.push(event)
})
diagnostics.subscribe('undici:request:headers', ({ request, response }) => {
  const event = requests.get(request)
  if (event) Object.assign(event, { headers: performance.now(), status: response.statusCode })
})
diagnostics.subscribe('undici:request:trailers', ({ request }) => {
  const event = requests.get(request)
  if (event) event.end = performance.now()
})
diagnostics.subscribe('undici:request:error', ({ request }) => {
  const event = requests.get(request)
  if (event && event.end === undefined) event.end = performance.now()
})

const spawn = childProcess.spawn
childProcess.spawn = function tracedSpawn(command, args, options) {
  const argv = Array.isArray(args) ? args : []
  const words = argv.filter((a) => !a.startsWith('-')).slice(0, 1)
  const event = { kind: 'exec', label: [command.split('/').pop(), ...words].join(' '), start: performance.now() }
  events.push(event)
  const child = spawn.call(this, command, args, options)
  child.once('exit', () => (event.end = performance.now()))
  return child
}

// The last line the action logs (its job summary and outputs are written just before), and the
// moment its event loop runs dry (open sockets and timers keep it alive until then).
let lastLog = 0
const write = process.stdout.write
process.stdout.write = function tracedWrite(...args) {
  lastLog = performance.now()
  return write.apply(this, args)
}
let beforeExit = 0
process.once('beforeExit', () => (beforeExit = performance.now()))

process.once('exit', () => {
  if (!process.env.ZCC_TRACE_FILE) return
  writeFileSync(process.env.ZCC_TRACE_FILE, JSON.stringify({ preloaded, lastLog, beforeExit, exit: performance.now(), events }))
})
