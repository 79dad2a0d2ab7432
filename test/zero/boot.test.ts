import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CHART_DIR, find, render, type K8sObject } from '../support/chart.js'
import { freePort } from '../support/registry.js'
import {
  BOOT_VERSIONS,
  containerEnvironment,
  litestream,
  node22,
  startPostgres,
  startZero,
  zeroPackage,
  type Postgres,
  type ZeroProcess,
} from './support.js'

/**
 * zero-cache started with exactly the environment the chart renders (Secrets decoded), on
 * PostgreSQL with logical replication, at the chart's appVersion and at the newest 1.x release.
 * Only what cannot be the same outside a cluster is rewritten: service hostnames (to loopback),
 * volume paths (to temporary directories), the S3 backup URL (to a file:// URL), and where the
 * image provides litestream. Every process is stopped by its id when the test ends.
 */

const SINGLE = join(CHART_DIR, 'ci/single-node-values.yaml')
const MULTI = join(CHART_DIR, 'ci/multi-node-s3-values.yaml')

/** The parts of an OTLP/JSON metrics export the test reads (OTLP "ExportMetricsServiceRequest"). */
interface OtlpMetrics {
  resourceMetrics?: {
    resource?: { attributes?: { key: string; value: { intValue?: string | number; stringValue?: string } }[] }
    scopeMetrics?: { metrics: { name: string }[] }[]
  }[]
}

/** What the cluster has and loopback has not: hostnames, the data volume, the backup bucket. */
interface Rewrite {
  hosts: Record<string, string>
  dataDir: string
  backupUrl?: string
  /** Ports other than the rendered ones, where two roles share one host (loopback). */
  env?: Record<string, string>
}

function rewrite(env: Record<string, string>, r: Rewrite): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, raw] of Object.entries(env)) {
    let value = raw
    for (const [from, to] of Object.entries(r.hosts)) value = value.split(from).join(to)
    if (value.startsWith('/data/') || value === '/data') value = r.dataDir + value.slice('/data'.length)
    if (name === 'ZERO_LITESTREAM_BACKUP_URL' && r.backupUrl) value = r.backupUrl
    out[name] = value
  }
  return { ...out, ...r.env }
}

/** Rows of `sql` in a zero-cache replica (SQLite), read with that version's own SQLite binding under Node 22. */
async function replicaRows(version: string, file: string, sql: string): Promise<unknown[]> {
  const [node, pkg] = await Promise.all([node22(), zeroPackage(version)])
  const binding = createRequire(join(pkg, 'package.json')).resolve('@rocicorp/zero-sqlite3')
  const script =
    `const D=require(${JSON.stringify(binding)});const db=new D(${JSON.stringify(file)},{readonly:true,fileMustExist:true});` +
    `process.stdout.write(JSON.stringify(db.prepare(${JSON.stringify(sql)}).all()))`
  return new Promise((resolve) => {
    const child = spawn(node, ['-e', script])
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.on('close', () => {
      try {
        resolve(JSON.parse(out) as unknown[])
      } catch {
        resolve([]) // not created yet
      }
    })
  })
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

async function status(url: string): Promise<number> {
  const res = await fetch(url)
  await res.arrayBuffer()
  return res.status
}

/** The HTTP probes of a workload's zero-cache container, with named ports resolved. */
function probes(workload: K8sObject): { kind: string; path: string; port: number; periodSeconds: number }[] {
  const container = workload.spec.template.spec.containers.find((c: { name: string }) => c.name === 'zero-cache')
  const ports = new Map<string, number>(
    (container.ports ?? []).map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
  )
  return ['startupProbe', 'readinessProbe', 'livenessProbe'].flatMap((kind) => {
    const get = container[kind]?.httpGet as { path: string; port: number | string } | undefined
    const port = typeof get?.port === 'number' ? get.port : ports.get(String(get?.port))!
    return get ? [{ kind, path: get.path, port, periodSeconds: container[kind].periodSeconds ?? 10 }] : []
  })
}

/**
 * What the kubelet does for a running pod: its readiness and liveness probes at their rendered
 * periods. zero-cache's change streamer counts them as heartbeats and drains itself after 20 s
 * without one, so a test that does not probe sees a manager stop (and the chart's periods must be
 * shorter than that). `portMap` maps a rendered port to the one used on loopback.
 */
function kubelet(workload: K8sObject, portMap: Record<number, number> = {}): { failures: string[]; stop(): void } {
  const failures: string[] = []
  const timers = probes(workload)
    .filter((p) => p.kind !== 'startupProbe')
    .map((p) =>
      setInterval(() => {
        const url = `http://127.0.0.1:${portMap[p.port] ?? p.port}${p.path}`
        status(url).then(
          (code) => code !== 200 && failures.push(`${p.kind} ${url}: ${code}`),
          (error: Error) => failures.push(`${p.kind} ${url}: ${error.message}`),
        )
      }, p.periodSeconds * 1000),
    )
  return { failures, stop: () => timers.forEach(clearInterval) }
}

describe.each(BOOT_VERSIONS)("zero-cache %s booted with the chart's environment", (version) => {
  let pg: Postgres
  const processes: ZeroProcess[] = []
  const stoppers: (() => void)[] = []
  const dirs: string[] = []
  const tmp = () => {
    const dir = mkdtempSync(join(tmpdir(), 'zcc-zero-'))
    dirs.push(dir)
    return dir
  }

  beforeAll(async () => {
    await Promise.all([node22(), zeroPackage(version), litestream()])
    pg = await startPostgres()
    await pg.sql('postgres', "CREATE ROLE zero LOGIN SUPERUSER PASSWORD 'zero'")
  }, 15 * 60_000)
  beforeEach(async () => {
    // The database the rendered URLs name, fresh for each test (the last test's slots go first).
    await pg.sql('postgres', "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots WHERE database = 'app'")
    await pg.sql('postgres', 'DROP DATABASE IF EXISTS app WITH (FORCE)')
    await pg.sql('postgres', 'CREATE DATABASE app OWNER zero')
    await pg.sql('app', "CREATE TABLE item (id text PRIMARY KEY, name text NOT NULL); INSERT INTO item VALUES ('a', 'before start')")
  })
  afterEach(async () => {
    for (const stop of stoppers.splice(0)) stop()
    for (const p of processes.splice(0)) await p.stop()
  })
  afterAll(async () => {
    await pg?.stop()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  const hosts = () => ({ 'postgres.db.svc:5432': `127.0.0.1:${pg.port}`, 'pgbouncer.db.svc:6432': `127.0.0.1:${pg.port}` })

  it('single node: serves, answers its probes, and replicates a row inserted after start', { timeout: 180_000 }, async () => {
    const rendered = await render({ files: [SINGLE], setString: { 'image.tag': version } })
    expect(rendered.ok, rendered.stderr).toBe(true)
    const deployment = find(rendered.objects, 'Deployment', '-single-node')
    const dataDir = tmp()
    const env = rewrite(containerEnvironment(rendered.objects, deployment, 'zc-zero-cache-single-node-0'), { hosts: hosts(), dataDir })
    const port = Number(env.ZERO_PORT)
    const started = Date.now()
    const zero = await startZero(version, env, `http://127.0.0.1:${port}/`)
    processes.push(zero)
    const probing = kubelet(deployment)
    stoppers.push(probing.stop)
    console.log(`zero-cache ${version} single node ready in ${Date.now() - started} ms`)
    expect(await status(`http://127.0.0.1:${port}/`)).toBe(200)
    expect(await status(`http://127.0.0.1:${port}/keepalive`)).toBe(200)
    const rendereredProbes = probes(deployment)
    expect(rendereredProbes.map((p) => p.kind)).toEqual(['startupProbe', 'readinessProbe', 'livenessProbe'])
    for (const p of rendereredProbes) expect(await status(`http://127.0.0.1:${p.port}${p.path}`), `${p.kind} ${p.path}:${p.port}`).toBe(200)
    await pg.sql('app', "INSERT INTO item VALUES ('b', 'after start')")
    const rows = await waitFor('the row in the replica', async () => {
      const r = await replicaRows(version, env.ZERO_REPLICA_FILE, "SELECT id, name FROM item WHERE id = 'b'")
      return r.length ? r : undefined
    })
    expect(rows).toEqual([{ id: 'b', name: 'after start' }])
    expect(probing.failures).toEqual([])
    // The task ID is the pod's namespace and name, never zero-cache's random one.
    expect(env.ZERO_TASK_ID).toBe('apps.zc-zero-cache-single-node-0')
    expect(zero.log()).toContain('apps.zc-zero-cache-single-node-0')
  })

  it("metrics: every worker's metrics reach the collector sidecar (a stand-in receives the OTLP)", { timeout: 120_000 }, async () => {
    // The sidecar's OTLP/HTTP receiver, stood in for by a server that keeps what arrives.
    const received: { pid: string; names: string[] }[] = []
    const sidecar = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        try {
          const payload = JSON.parse(body) as OtlpMetrics
          for (const rm of payload.resourceMetrics ?? []) {
            const pid = rm.resource?.attributes?.find((a) => a.key === 'process.pid')?.value
            received.push({
              pid: String(pid?.intValue ?? pid?.stringValue),
              names: (rm.scopeMetrics ?? []).flatMap((sm) => sm.metrics.map((m) => m.name)),
            })
          }
        } catch {
          // not OTLP JSON: ignored, and the assertions below will say nothing arrived
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      })
    })
    const port = await freePort()
    await new Promise<void>((r) => sidecar.listen(port, '127.0.0.1', r))
    try {
      const rendered = await render({
        files: [SINGLE],
        set: { 'metrics.enabled': true, 'metrics.exportIntervalSeconds': 1 },
        setString: { 'image.tag': version },
      })
      expect(rendered.ok, rendered.stderr).toBe(true)
      const deployment = find(rendered.objects, 'Deployment', '-single-node')
      // The sidecar listens on the pod's loopback; here on a free port of the test's.
      const env = rewrite(containerEnvironment(rendered.objects, deployment, 'zc-zero-cache-single-node-0'), {
        hosts: { ...hosts(), 'localhost:4318': `127.0.0.1:${port}` },
        dataDir: tmp(),
      })
      const zero = await startZero(version, env, `http://127.0.0.1:${env.ZERO_PORT}/`)
      processes.push(zero)
      const probing = kubelet(deployment)
      stoppers.push(probing.stop)
      const pids = await waitFor('metrics from three worker processes', async () => {
        const byPid = new Set(received.filter((r) => r.names.length).map((r) => r.pid))
        return byPid.size >= 3 ? byPid : undefined
      })
      const names = new Set(received.flatMap((r) => r.names))
      expect(pids.size).toBeGreaterThanOrEqual(3)
      expect(
        [...names].some((n) => n.startsWith('zero.server.')),
        [...names].join(' '),
      ).toBe(true)
      expect(
        [...names].some((n) => n.startsWith('zero.replication.')),
        [...names].join(' '),
      ).toBe(true)
      expect(zero.log()).not.toContain('EADDRINUSE')
    } finally {
      await new Promise((r) => sidecar.close(r))
    }
  })

  it('a task ID that looks like a flag kills the workers (why the chart sets ZERO_TASK_ID)', { timeout: 120_000 }, async () => {
    if (version !== BOOT_VERSIONS[0]) return // the mechanism, shown once
    const rendered = await render({ files: [SINGLE], setString: { 'image.tag': version } })
    const env = rewrite(containerEnvironment(rendered.objects, find(rendered.objects, 'Deployment', '-single-node'), 'x'), {
      hosts: hosts(),
      dataDir: tmp(),
      // A random task ID like this one (nanoid: "-" then no digit or "-") is read as flags by the workers.
      env: { ZERO_TASK_ID: '-kTqLzWb' },
    })
    const started = startZero(version, env, `http://127.0.0.1:${env.ZERO_PORT}/`, 30_000)
    started.then(
      (z) => processes.push(z),
      () => undefined,
    ) // stopped after the test even if it did start
    await expect(started).rejects.toThrow(/Expected string at taskID/)
  })

  it(
    'multi node: a replication manager backs up, a view syncer restores from it, serves and replicates',
    { timeout: 300_000 },
    async () => {
      const rendered = await render({ files: [MULTI], setString: { 'image.tag': version } })
      expect(rendered.ok, rendered.stderr).toBe(true)
      const objects = rendered.objects
      const manager = find(objects, 'StatefulSet', '-replication-manager')
      const syncer = find(objects, 'StatefulSet', '-view-syncer')
      const backup = `file://${tmp()}/backup`
      const image = { ZERO_LITESTREAM_EXECUTABLE: await litestream() }
      const managerHost = `${manager.metadata.name}:`
      const common = { ...hosts(), [managerHost]: '127.0.0.1:' }
      const managerEnv = rewrite(containerEnvironment(objects, manager, `${manager.metadata.name}-0`), {
        hosts: common,
        dataDir: tmp(),
        backupUrl: backup,
        env: image,
      })
      const cs = probes(manager)[0]
      const started = Date.now()
      processes.push(await startZero(version, managerEnv, `http://127.0.0.1:${cs.port}${cs.path}`))
      const managerProbes = kubelet(manager)
      stoppers.push(managerProbes.stop)
      console.log(`zero-cache ${version} replication manager ready in ${Date.now() - started} ms`)
      for (const p of probes(manager)) expect(await status(`http://127.0.0.1:${p.port}${p.path}`), `manager ${p.kind}`).toBe(200)

      // The view syncer shares loopback with the manager, so it serves on another port than the rendered 4848.
      const syncerEnv = rewrite(containerEnvironment(objects, syncer, `${syncer.metadata.name}-0`), {
        hosts: common,
        dataDir: tmp(),
        env: { ...image, ZERO_PORT: '5848' },
      })
      expect(syncerEnv.ZERO_CHANGE_STREAMER_URI).toBe(`ws://127.0.0.1:${cs.port}/`)
      const syncerStarted = Date.now()
      const viewSyncer = await startZero(version, syncerEnv, 'http://127.0.0.1:5848/')
      processes.push(viewSyncer)
      const syncerProbes = kubelet(syncer, { 4848: 5848 })
      stoppers.push(syncerProbes.stop)
      console.log(`zero-cache ${version} view syncer ready in ${Date.now() - syncerStarted} ms`)
      expect(await status('http://127.0.0.1:5848/keepalive')).toBe(200)
      expect(viewSyncer.log()).toMatch(/restor/i)
      await pg.sql('app', "INSERT INTO item VALUES ('c', 'after the view syncer started')")
      const rows = await waitFor('the row in the view syncer replica', async () => {
        const r = await replicaRows(version, syncerEnv.ZERO_REPLICA_FILE, "SELECT id, name FROM item WHERE id = 'c'")
        return r.length ? r : undefined
      })
      expect(rows).toEqual([{ id: 'c', name: 'after the view syncer started' }])
      expect([...managerProbes.failures, ...syncerProbes.failures]).toEqual([])
    },
  )
})
