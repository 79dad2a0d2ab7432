import { execFile } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { CHART_DIR, HELMS, envOf, find, lint, podSpecs, render, scenarios, validateObject, type K8sObject } from '../support/chart.js'

const { valid, invalid } = scenarios()

const REQUIRED_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/managed-by',
  'app.kubernetes.io/part-of',
  'helm.sh/chart',
]

/** Environment variables that carry secrets: they must always come from a Secret (valueFrom). */
const SECRET_ENV = new RegExp(
  `^(${[
    'ZERO_(UPSTREAM|CVR|CHANGE)_DB',
    'ZERO_AUTH_(SECRET|JWK|JWKS_URL)',
    'ZERO_ADMIN_PASSWORD',
    'ZERO_\\w+_API_KEY',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'OTEL_EXPORTER_OTLP_HEADERS',
  ].join('|')})$`,
)

/** Every string under a `value:` key of a values file that sits in a secret-like {value} object. */
function secretLiterals(objects: K8sObject[]): string[] {
  const secret = objects.find((o) => o.kind === 'Secret')
  return Object.values((secret?.data ?? {}) as Record<string, string>).map((b64) => Buffer.from(b64, 'base64').toString('utf8'))
}

const MINIMAL = { 'common.database.upstream.url.value': 'postgres://u:p@db/app', 'common.adminPassword.value': 'pw' }
const SINGLE = { ...MINIMAL, 'singleNode.enabled': true }
const MULTI = { ...MINIMAL, 's3.enabled': true }

describe.each(Object.entries(HELMS))('chart scenarios with %s', (_label, helm) => {
  describe.each(valid)('%s', (file) => {
    it('passes helm lint --strict; renders valid Kubernetes objects, labelled, hardened, free of plaintext secrets', async () => {
      const l = await lint({ helm, files: [file] })
      expect(l.ok, l.output).toBe(true)
      const r = await render({ helm, files: [file] })
      expect(r.ok, r.stderr).toBe(true)
      expect(r.objects.length).toBeGreaterThan(3)
      const literals = secretLiterals(r.objects)

      for (const o of r.objects) {
        const where = `${o.kind}/${o.metadata.name}`
        await expect(validateObject(o), where).resolves.toBeUndefined()
        for (const l of REQUIRED_LABELS) expect(o.metadata.labels?.[l], `${where} label ${l}`).toBeTruthy()
        if (o.kind !== 'Secret') {
          const text = JSON.stringify(o)
          for (const s of literals) expect(text.includes(s), `${where} contains a secret in plain text`).toBe(false)
        }
      }

      for (const { owner, spec } of podSpecs(r.objects)) {
        const where = `${owner.kind}/${owner.metadata.name}`
        expect(spec.securityContext?.runAsNonRoot, where).toBe(true)
        expect(spec.securityContext?.seccompProfile?.type, where).toBe('RuntimeDefault')
        for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
          const sc = c.securityContext ?? {}
          expect(sc.allowPrivilegeEscalation, `${where} ${c.name}`).toBe(false)
          expect(sc.capabilities?.drop, `${where} ${c.name}`).toEqual(['ALL'])
          expect(sc.readOnlyRootFilesystem, `${where} ${c.name}`).toBe(true)
          expect(sc.runAsNonRoot, `${where} ${c.name}`).toBe(true)
          expect(sc.seccompProfile?.type, `${where} ${c.name}`).toBe('RuntimeDefault')
          for (const e of c.env ?? []) {
            if (SECRET_ENV.test(e.name)) {
              expect(e.value, `${where} ${c.name} ${e.name} must not be a plain value`).toBeUndefined()
              expect(e.valueFrom, `${where} ${c.name} ${e.name}`).toBeTruthy()
            }
          }
        }
        const main = spec.containers.find((c: { name: string }) => c.name === 'zero-cache')
        if (main) {
          // zero-cache writes the replica and temporary files: both are writable volumes.
          const mounts = main.volumeMounts.map((m: { mountPath: string }) => m.mountPath)
          expect(mounts, where).toEqual(expect.arrayContaining(['/data', '/tmp']))
          expect(main.livenessProbe.httpGet.path, where).toBe('/keepalive')
          const budget = main.startupProbe.periodSeconds * main.startupProbe.failureThreshold
          expect(budget, `${where} startup budget (s)`).toBeGreaterThanOrEqual(600)
          expect(spec.terminationGracePeriodSeconds, where).toBeGreaterThanOrEqual(600)
        }
      }
    })
  })

  it.each(invalid)('$file fails to render with its message', async ({ file, expect: message }) => {
    const r = await render({ helm, files: [file] })
    expect(r.ok).toBe(false)
    expect(r.stderr).toMatch(message)
  })
})

describe('multi-node topology', () => {
  it('runs one replication manager and N view syncers that reach it through ZERO_CHANGE_STREAMER_URI at its Service', async () => {
    const r = await render({ files: ['ci/multi-node-s3-values.yaml'] })
    expect(r.ok, r.stderr).toBe(true)
    const rm = find(r.objects, 'StatefulSet', '-replication-manager')
    const vs = find(r.objects, 'StatefulSet', '-view-syncer')
    expect(rm.spec.replicas).toBe(1)
    expect(vs.spec.replicas).toBe(3)
    expect(r.objects.filter((o) => o.kind === 'Deployment')).toHaveLength(0)

    const rmSvc = find(r.objects, 'Service', '-replication-manager')
    const vsSvc = find(r.objects, 'Service', '-view-syncer')
    const headless = r.objects.filter((o) => o.kind === 'Service' && o.spec.clusterIP === 'None').map((o) => o.metadata.name)
    expect(headless.sort()).toEqual([rm.spec.serviceName, vs.spec.serviceName].sort())
    expect(rmSvc.spec.selector).toEqual(rm.spec.selector.matchLabels)
    expect(vsSvc.spec.selector).toEqual(vs.spec.selector.matchLabels)
    expect(vsSvc.spec.sessionAffinity).toBe('ClientIP')

    const rmEnv = envOf(rm)
    const vsEnv = envOf(vs)
    expect(rmEnv.get('ZERO_NUM_SYNC_WORKERS')?.value).toBe('0')
    expect(rmEnv.get('ZERO_LITESTREAM_BACKUP_URL')?.value).toBe('s3://zero-backups/v1')
    // Backup location only on the replication manager (as zero-cache's docs say); S3 endpoint,
    // region and credentials on both, because view syncers restore from the same bucket.
    expect(vsEnv.has('ZERO_LITESTREAM_BACKUP_URL')).toBe(false)
    for (const env of [rmEnv, vsEnv]) {
      expect(env.get('ZERO_LITESTREAM_ENDPOINT')?.value).toBe('https://minio.storage.svc:9000')
      expect(env.get('AWS_ACCESS_KEY_ID')?.valueFrom?.secretKeyRef).toBeTruthy()
    }
    const port = rmEnv.get('ZERO_CHANGE_STREAMER_PORT')?.value
    expect(rmSvc.spec.ports[0].port).toBe(Number(port))
    expect(vsEnv.get('ZERO_CHANGE_STREAMER_URI')?.value).toBe(`ws://${rmSvc.metadata.name}:${port}/`)
    expect(vsEnv.has('ZERO_CHANGE_STREAMER_MODE')).toBe(false)
    // Serving settings only where clients are served.
    expect(vsEnv.get('ZERO_MUTATE_URL')?.value).toBe('https://api.example.com/api/zero/mutate')
    expect(rmEnv.has('ZERO_MUTATE_URL')).toBe(false)

    // View syncers wait for the replication manager's /keepalive before starting.
    const init = vs.spec.template.spec.initContainers[0]
    expect(init.env[0].value).toBe(`http://${rmSvc.metadata.name}:${port}/keepalive`)
    expect(init.image).toBe(vs.spec.template.spec.containers[0].image)

    // PDB and topology spread protect view-syncer capacity.
    const pdb = find(r.objects, 'PodDisruptionBudget')
    expect(pdb.spec.selector.matchLabels).toEqual(vs.spec.selector.matchLabels)
    expect(pdb.spec.minAvailable).toBe(1)
    const spread = vs.spec.template.spec.topologySpreadConstraints
    expect(spread.map((s: { topologyKey: string }) => s.topologyKey)).toContain('kubernetes.io/hostname')
    expect(spread[0].labelSelector.matchLabels).toEqual(vs.spec.selector.matchLabels)
    expect(vs.spec.template.spec.containers[0].lifecycle.preStop.exec.command.join(' ')).toMatch(/sleep 10/)
    expect(vs.spec.podManagementPolicy).toBe('Parallel')
    expect(vs.spec.minReadySeconds).toBeGreaterThan(0)

    // Ingress goes to the view syncers; ServiceMonitor and NetworkPolicies when asked.
    const ing = find(r.objects, 'Ingress')
    expect(ing.spec.rules[0].http.paths[0].backend.service.name).toBe(vsSvc.metadata.name)
    const sm = find(r.objects, 'ServiceMonitor')
    expect(sm.spec.endpoints[0].port).toBe('metrics')
    expect(sm.metadata.labels?.release).toBe('prometheus')
    const rmPolicy = find(r.objects, 'NetworkPolicy', '-replication-manager')
    expect(rmPolicy.spec.ingress[0].ports[0].port).toBe('change-stream')
    expect(rmPolicy.spec.ingress[0].from[0].podSelector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'zero-cache',
      'app.kubernetes.io/instance': 'zc',
    })
    // helm test checks both the client Service and the change stream.
    const test = r.objects.find((o) => o.kind === 'Pod')!
    expect(test.metadata.annotations?.['helm.sh/hook']).toBe('test')
    expect(test.spec.containers[0].env[0].value).toBe(
      `http://${vsSvc.metadata.name}:4848/keepalive http://${rmSvc.metadata.name}:${port}/keepalive`,
    )
  })

  it('keeps discover mode as an option, and uses it (with an advertised address) for zero-cache before 0.22.2025070800', async () => {
    const discover = await render({ set: { ...MULTI, 'viewSyncer.changeStreamerMode': 'discover' } })
    expect(discover.ok, discover.stderr).toBe(true)
    const vs = envOf(find(discover.objects, 'StatefulSet', '-view-syncer'))
    expect(vs.get('ZERO_CHANGE_STREAMER_MODE')?.value).toBe('discover')
    expect(vs.has('ZERO_CHANGE_STREAMER_URI')).toBe(false)

    // 0.22.2025070200 rejects ZERO_CHANGE_STREAMER_URI outright; the replication manager advertises its Service instead.
    const old = await render({ set: MULTI, setString: { 'image.tag': '0.22.2025070200' } })
    expect(old.ok, old.stderr).toBe(true)
    const oldVs = envOf(find(old.objects, 'StatefulSet', '-view-syncer'))
    const oldRm = envOf(find(old.objects, 'StatefulSet', '-replication-manager'))
    expect(oldVs.get('ZERO_CHANGE_STREAMER_MODE')?.value).toBe('discover')
    expect(oldVs.has('ZERO_CHANGE_STREAMER_URI')).toBe(false)
    expect(oldRm.get('ZERO_CHANGE_STREAMER_ADDRESS')?.value).toBe('zc-zero-cache-replication-manager:4849')
    const recent = envOf(
      find((await render({ set: MULTI, setString: { 'image.tag': '0.22.2025070800' } })).objects, 'StatefulSet', '-view-syncer'),
    )
    expect(recent.has('ZERO_CHANGE_STREAMER_URI')).toBe(true)
  })

  it('hands replicas to the HPA and falls back to emptyDir volumes when persistence is off', async () => {
    const r = await render({ files: ['ci/autoscaling-values.yaml'] })
    expect(r.ok, r.stderr).toBe(true)
    const vs = find(r.objects, 'StatefulSet', '-view-syncer')
    const rm = find(r.objects, 'StatefulSet', '-replication-manager')
    expect('replicas' in vs.spec).toBe(false)
    const hpa = find(r.objects, 'HorizontalPodAutoscaler')
    expect(hpa.apiVersion).toBe('autoscaling/v2')
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: vs.metadata.name })
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([3, 12])
    expect(hpa.spec.metrics.map((m: { resource: { name: string } }) => m.resource.name)).toEqual(['cpu'])
    for (const w of [vs, rm]) {
      expect(w.spec.volumeClaimTemplates).toBeUndefined()
      expect(w.spec.persistentVolumeClaimRetentionPolicy).toBeUndefined()
      const data = w.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data')
      expect(data).toEqual({ name: 'data', emptyDir: {} })
    }
    expect(find(r.objects, 'PodDisruptionBudget').spec).toMatchObject({ maxUnavailable: 1 })
    expect(find(r.objects, 'PodDisruptionBudget').spec.minAvailable).toBeUndefined()
  })

  it('sets the PVC retention policy from persistentVolumeClaimRetentionPolicy, or from the reference chart’s retainPolicy', async () => {
    const legacy = await render({ set: { ...MULTI, 'replicationManager.persistence.retainPolicy': 'Retain' } })
    expect(find(legacy.objects, 'StatefulSet', '-replication-manager').spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: 'Retain',
      whenScaled: 'Delete',
    })
    const explicit = await render({
      set: {
        ...MULTI,
        'viewSyncer.persistentVolumeClaimRetentionPolicy.whenScaled': 'Retain',
        'viewSyncer.persistentVolumeClaimRetentionPolicy.whenDeleted': 'Retain',
      },
    })
    const vs = find(explicit.objects, 'StatefulSet', '-view-syncer')
    expect(vs.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' })
    expect(vs.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('10Gi')
  })
})

describe('single-node topology', () => {
  it('runs one Deployment with Recreate on its own PVC, and the Ingress points at its Service', async () => {
    const r = await render({ files: ['ci/single-node-values.yaml'] })
    expect(r.ok, r.stderr).toBe(true)
    expect(r.objects.filter((o) => o.kind === 'StatefulSet')).toHaveLength(0)
    const d = find(r.objects, 'Deployment', '-single-node')
    expect(d.spec.replicas).toBe(1)
    expect(d.spec.strategy).toEqual({ type: 'Recreate' })
    const pvc = find(r.objects, 'PersistentVolumeClaim')
    expect(d.spec.template.spec.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: pvc.metadata.name } })
    const svc = find(r.objects, 'Service', '-single-node')
    expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels)
    expect(find(r.objects, 'Ingress').spec.rules[0].http.paths[0].backend.service).toEqual({
      name: svc.metadata.name,
      port: { name: 'http' },
    })
    expect(find(r.objects, 'Ingress').spec.tls[0]).toEqual({ hosts: ['zero.example.com'], secretName: 'zero-tls' })
    const env = envOf(d)
    expect(env.has('ZERO_NUM_SYNC_WORKERS')).toBe(false)
    expect(env.has('ZERO_CHANGE_STREAMER_URI')).toBe(false)
    expect(r.objects.some((o) => o.kind === 'PodDisruptionBudget' || o.kind === 'HorizontalPodAutoscaler')).toBe(false)
  })

  it('without persistence uses an emptyDir and a surge rollout that never drops below one pod', async () => {
    const r = await render({ set: { ...SINGLE, 'singleNode.persistence.enabled': false } })
    const d = find(r.objects, 'Deployment')
    expect(d.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } })
    expect(d.spec.template.spec.volumes).toContainEqual({ name: 'data', emptyDir: {} })
    expect(r.objects.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false)
  })

  it('keeps a retained PVC on uninstall and can use an existing claim', async () => {
    const kept = await render({ set: { ...SINGLE, 'singleNode.persistence.retainPolicy': 'Retain' } })
    expect(find(kept.objects, 'PersistentVolumeClaim').metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' })
    const existing = await render({ set: { ...SINGLE, 'singleNode.persistence.existingClaim': 'my-data' } })
    expect(existing.objects.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false)
    expect(find(existing.objects, 'Deployment').spec.template.spec.volumes).toContainEqual({
      name: 'data',
      persistentVolumeClaim: { claimName: 'my-data' },
    })
  })
})

describe('configuration', () => {
  it('emits only what is set or needed, so the image defaults stay in force', async () => {
    const r = await render({ set: SINGLE })
    expect([...envOf(find(r.objects, 'Deployment')).keys()].sort()).toEqual([
      'POD_NAME',
      'POD_NAMESPACE',
      'ZERO_ADMIN_PASSWORD',
      'ZERO_PORT',
      'ZERO_REPLICA_FILE',
      'ZERO_TASK_ID',
      'ZERO_UPSTREAM_DB',
    ])
    const multi = await render({ set: MULTI })
    expect([...envOf(find(multi.objects, 'StatefulSet', '-view-syncer')).keys()].sort()).toEqual([
      'POD_NAME',
      'POD_NAMESPACE',
      'ZERO_ADMIN_PASSWORD',
      'ZERO_CHANGE_STREAMER_URI',
      'ZERO_PORT',
      'ZERO_REPLICA_FILE',
      'ZERO_TASK_ID',
      'ZERO_UPSTREAM_DB',
    ])
    expect([...envOf(find(multi.objects, 'StatefulSet', '-replication-manager')).keys()].sort()).toEqual([
      'POD_NAME',
      'POD_NAMESPACE',
      'ZERO_ADMIN_PASSWORD',
      'ZERO_CHANGE_STREAMER_PORT',
      'ZERO_LITESTREAM_BACKUP_URL',
      'ZERO_NUM_SYNC_WORKERS',
      'ZERO_REPLICA_FILE',
      'ZERO_TASK_ID',
      'ZERO_UPSTREAM_DB',
    ])
  })

  it('puts every inline secret in the chart’s Secret and passes existing Secrets through', async () => {
    const inline = await render({ files: ['ci/multi-node-s3-values.yaml'] })
    const secret = find(inline.objects, 'Secret')
    expect(Object.keys(secret.data).sort()).toEqual([
      'admin-password',
      'change-db',
      'cvr-db',
      'mutate-api-key',
      'otel-headers',
      's3-access-key',
      's3-secret-key',
      'upstream-db',
    ])
    expect(envOf(find(inline.objects, 'StatefulSet', '-view-syncer')).get('ZERO_CVR_DB')?.valueFrom).toEqual({
      secretKeyRef: { name: secret.metadata.name, key: 'cvr-db' },
    })

    const existing = await render({ files: ['ci/existing-secrets-values.yaml'] })
    expect(existing.ok, existing.stderr).toBe(true)
    expect(existing.objects.some((o) => o.kind === 'Secret')).toBe(false)
    const vs = find(existing.objects, 'StatefulSet', '-view-syncer')
    const env = envOf(vs)
    expect(env.get('ZERO_UPSTREAM_DB')?.valueFrom).toEqual({ secretKeyRef: { name: 'zero-db', key: 'upstream-url' } })
    expect(env.get('ZERO_AUTH_JWKS_URL')?.valueFrom).toEqual({ secretKeyRef: { name: 'zero-auth', key: 'jwks-url' } })
    expect(env.get('AWS_SECRET_ACCESS_KEY')?.valueFrom).toEqual({ secretKeyRef: { name: 'zero-s3', key: 'secret-key' } })
    expect(vs.spec.template.spec.containers[0].envFrom).toEqual([{ configMapRef: { name: 'zero-extra' } }])
  })

  it('rejects a secret given both as value and valueFrom', async () => {
    const r = await render({
      set: { ...SINGLE, 'common.adminPassword.valueFrom.secretKeyRef.name': 'x', 'common.adminPassword.valueFrom.secretKeyRef.key': 'y' },
    })
    expect(r.ok).toBe(false)
    expect(r.stderr).toContain('common.adminPassword: set either value or valueFrom, not both')
  })

  it('rolls the pods when a secret value changes (checksum annotation), and only then', async () => {
    const checksums = async (set: Record<string, string | boolean>) => {
      const r = await render({ set })
      return r.objects.filter((o) => o.kind === 'StatefulSet').map((o) => o.spec.template.metadata.annotations['checksum/secret'] as string)
    }
    const a = await checksums(MULTI)
    const same = await checksums({ ...MULTI, 'viewSyncer.replicas': '4' })
    const changed = await checksums({ ...MULTI, 'common.adminPassword.value': 'rotated' })
    expect(a).toHaveLength(2)
    expect(a[0]).toMatch(/^[0-9a-f]{64}$/)
    expect(same).toEqual(a)
    expect(changed[0]).not.toBe(a[0])
    expect(changed[1]).not.toBe(a[1])
  })

  it('adds extraEnv globally and per role, after the chart’s own variables', async () => {
    const r = await render({
      set: {
        ...MULTI,
        'extraEnv[0].name': 'ZERO_KEEPALIVE_TIMEOUT_MS',
        'extraEnv[0].value': '5000',
        'viewSyncer.extraEnv[0].name': 'ZERO_NUM_SYNC_WORKERS',
        'viewSyncer.extraEnv[0].value': '4',
      },
    })
    const vs = envOf(find(r.objects, 'StatefulSet', '-view-syncer'))
    const rm = envOf(find(r.objects, 'StatefulSet', '-replication-manager'))
    expect(vs.get('ZERO_KEEPALIVE_TIMEOUT_MS')?.value).toBe('5000')
    expect(rm.get('ZERO_KEEPALIVE_TIMEOUT_MS')?.value).toBe('5000')
    expect(vs.get('ZERO_NUM_SYNC_WORKERS')?.value).toBe('4')
    expect(rm.get('ZERO_NUM_SYNC_WORKERS')?.value).toBe('0')
  })

  it('lets every probe be overridden and disabled', async () => {
    const r = await render({
      set: { ...SINGLE, 'singleNode.startupProbe.failureThreshold': 360, 'singleNode.readinessProbe.enabled': false },
    })
    const c = find(r.objects, 'Deployment').spec.template.spec.containers[0]
    expect(c.startupProbe.failureThreshold).toBe(360)
    expect(c.readinessProbe).toBeUndefined()
    expect(c.livenessProbe.httpGet).toEqual({ path: '/keepalive', port: 'http' })
  })

  it('builds the image reference from tag and digest, and reads the version from the tag when it has one', async () => {
    const digest = `sha256:${'a'.repeat(64)}`
    const image = async (setString: Record<string, string>) =>
      find((await render({ set: SINGLE, setString })).objects, 'Deployment').spec.template.spec.containers[0].image
    expect(await image({})).toMatch(/^docker\.io\/rocicorp\/zero:\d+\.\d+\.\d+$/)
    expect(await image({ 'image.tag': '1.9.0', 'image.digest': digest })).toBe(`docker.io/rocicorp/zero:1.9.0@${digest}`)
    expect(await image({ 'image.digest': digest })).toBe(`docker.io/rocicorp/zero@${digest}`)
  })
})

/**
 * The per-version environment table. Each row was read from zero-cache's option definitions
 * (packages/zero-cache/src/config/zero-config.ts and its --help snapshot) at rocicorp/mono's
 * zero/v* release tags: `present` versions define the variable, `absent` ones do not (or, for
 * renamed variables, use the other name). `since` names the first tag that has it.
 */
const VERSION_TABLE: Array<{ env: string; since: string; present: string[]; absent: string[] }> = [
  {
    env: 'ZERO_PUSH_URL',
    since: '(until 0.22.2025071900)',
    present: ['0.22.2025063000', '0.22.2025071101'],
    absent: ['0.22.2025071900', '0.24.2025101500', '1.9.0'],
  },
  {
    env: 'ZERO_MUTATE_URL',
    since: '0.22.2025071900',
    present: ['0.22.2025071900', '0.23.2025090500', '0.24.2025101500', '1.9.0', '1.10.0-canary.3'],
    absent: ['0.22.2025063000', '0.22.2025071101'],
  },
  { env: 'ZERO_MUTATE_API_KEY', since: '0.22.2025071900', present: ['0.22.2025071900', '1.9.0'], absent: ['0.22.2025071101'] },
  { env: 'ZERO_PUSH_API_KEY', since: '(until 0.22.2025071900)', present: ['0.22.2025071101'], absent: ['0.22.2025071900'] },
  { env: 'ZERO_PULL_URL', since: '(until 0.22.2025071900)', present: ['0.22.2025063000', '0.22.2025071101'], absent: ['0.22.2025071900'] },
  {
    env: 'ZERO_QUERY_URL',
    since: '0.22.2025071900; renamed 0.23.2025082300–0.25.0; back in 0.25.1',
    present: ['0.22.2025071900', '0.23.2025081901', '0.25.1', '0.26.1', '1.9.0', '1.10.0-canary.3'],
    absent: ['0.22.2025071101', '0.23.2025082300', '0.23.2025090500', '0.24.2025101500', '0.25.0'],
  },
  {
    env: 'ZERO_QUERY_API_KEY',
    since: 'as ZERO_QUERY_URL',
    present: ['0.22.2025071900', '0.25.1', '1.9.0'],
    absent: ['0.23.2025090500', '0.25.0'],
  },
  { env: 'ZERO_QUERY_FORWARD_COOKIES', since: 'as ZERO_QUERY_URL', present: ['0.22.2025071900', '0.25.1'], absent: ['0.24.2025101500'] },
  {
    env: 'ZERO_GET_QUERIES_URL',
    since: '0.23.2025082300 until 0.25.1',
    present: ['0.23.2025082300', '0.23.2025090500', '0.24.2025101500', '0.25.0', '0.25.0-canary.27'],
    absent: ['0.23.2025081901', '0.25.1', '1.9.0'],
  },
  { env: 'ZERO_GET_QUERIES_API_KEY', since: '0.23.2025082300 until 0.25.1', present: ['0.24.2025101500'], absent: ['0.25.1'] },
  { env: 'ZERO_GET_QUERIES_FORWARD_COOKIES', since: '0.23.2025082300 until 0.25.1', present: ['0.24.2025101500'], absent: ['0.25.1'] },
  { env: 'ZERO_ENABLE_TELEMETRY', since: '0.22.2025072500', present: ['0.22.2025072500', '1.9.0'], absent: ['0.22.2025071900'] },
  { env: 'DO_NOT_TRACK', since: '(every version)', present: ['0.22.2025063000', '1.9.0'], absent: [] },
  {
    env: 'ZERO_CVR_GARBAGE_COLLECTION_INACTIVITY_THRESHOLD_HOURS',
    since: '0.23.2025081900',
    present: ['0.23.2025081900', '1.9.0'],
    absent: ['0.23.2025081401'],
  },
  {
    env: 'ZERO_CVR_GARBAGE_COLLECTION_INITIAL_BATCH_SIZE',
    since: '0.24.2025091100',
    present: ['0.24.2025091100'],
    absent: ['0.24.2025090402'],
  },
  {
    env: 'ZERO_CVR_GARBAGE_COLLECTION_INITIAL_INTERVAL_SECONDS',
    since: '0.24.2025091100',
    present: ['0.24.2025091100'],
    absent: ['0.24.2025090402'],
  },
  { env: 'ZERO_WEBSOCKET_COMPRESSION', since: '0.24.3000000000', present: ['0.24.3000000000', '0.25.0'], absent: ['0.24.2025102200'] },
  { env: 'ZERO_WEBSOCKET_COMPRESSION_OPTIONS', since: '0.24.3000000000', present: ['0.25.0'], absent: ['0.24.2025102200'] },
  { env: 'ZERO_ENABLE_QUERY_PLANNER', since: '0.25.0', present: ['0.25.0', '1.9.0'], absent: ['0.24.3000000000'] },
  { env: 'ZERO_YIELD_THRESHOLD_MS', since: '0.25.1', present: ['0.25.1', '1.9.0'], absent: ['0.25.0'] },
  {
    env: 'ZERO_REPLICA_PAGE_CACHE_SIZE_KIB',
    since: '0.25.1 until 0.26.0',
    present: ['0.25.1', '0.25.13'],
    absent: ['0.25.0', '0.26.0', '1.9.0'],
  },
  { env: 'ZERO_LITESTREAM_ENDPOINT', since: '0.25.7', present: ['0.25.7', '1.9.0'], absent: ['0.25.6'] },
  { env: 'AWS_ENDPOINT_URL', since: '(fallback before 0.25.7)', present: ['0.25.6'], absent: ['0.25.7'] },
  { env: 'ZERO_MUTATE_ALLOWED_CLIENT_HEADERS', since: '0.26.0', present: ['0.26.0', '1.9.0'], absent: ['0.25.13'] },
  { env: 'ZERO_QUERY_ALLOWED_CLIENT_HEADERS', since: '0.26.0', present: ['0.26.0'], absent: ['0.25.13'] },
  { env: 'ZERO_WEBSOCKET_MAX_PAYLOAD_BYTES', since: '0.26.0', present: ['0.26.0', '1.9.0'], absent: ['0.25.13'] },
  { env: 'ZERO_ENABLE_CRUD_MUTATIONS', since: '1.3.0', present: ['1.3.0', '1.9.0'], absent: ['1.2.0'] },
  { env: 'ZERO_LITESTREAM_REGION', since: '1.6.0', present: ['1.6.0', '1.9.0'], absent: ['1.5.0'] },
  { env: 'ZERO_MUTATE_ALLOWED_REQUEST_HEADERS', since: '1.8.0', present: ['1.8.0', '1.10.0-canary.3'], absent: ['1.7.0'] },
  { env: 'ZERO_QUERY_ALLOWED_REQUEST_HEADERS', since: '1.8.0', present: ['1.8.0'], absent: ['1.7.0'] },
  // Litestream v5 backups: opt-in in 1.10, the default in 1.11 (Zero's 1.10 and 1.11 release notes; 1.10 canary options).
  { env: 'ZERO_LITESTREAM_BACKUP_USING_V5', since: '1.10.0', present: ['1.10.0-canary.2', '1.11.0'], absent: ['1.9.0'] },
  { env: 'ZERO_LITESTREAM_INCREMENTAL_BACKUP_INTERVAL_SECONDS', since: '1.10.0', present: ['1.10.0'], absent: ['1.9.0'] },
]

/** Values that set every version-dependent setting, so the table decides what appears. */
const EVERYTHING = {
  ...SINGLE,
  'common.api.mutateUrl': 'https://api/m',
  'common.api.queryUrl': 'https://api/q',
  'common.api.mutateApiKey.value': 'mk',
  'common.api.queryApiKey.value': 'qk',
  'common.api.queryForwardCookies': true,
  'common.api.mutateAllowedClientHeaders[0]': 'x-a',
  'common.api.queryAllowedClientHeaders[0]': 'x-b',
  'common.api.mutateAllowedRequestHeaders[0]': 'x-c',
  'common.api.queryAllowedRequestHeaders[0]': 'x-d',
  'common.api.enableCrudMutations': false,
  'common.advanced.enableTelemetry': false,
  'common.advanced.enableQueryPlanner': false,
  'common.advanced.yieldThresholdMs': 20,
  'common.advanced.replicaPageCacheSizeKib': 4096,
  'common.advanced.websocketCompression': true,
  'common.advanced.websocketCompressionOptions': 'level:1',
  'common.advanced.websocketMaxPayloadBytes': 1048576,
  'common.database.cvr.garbageCollection.inactivityThresholdHours': 48,
  'common.database.cvr.garbageCollection.initialBatchSize': 25,
  'common.database.cvr.garbageCollection.initialIntervalSeconds': 60,
  's3.enabled': true,
  's3.region': 'us-gov-west-1',
  's3.endpoint': 'https://s3.example.com',
  'common.litestream.backupUsingV5': true,
  'common.litestream.incrementalBackupIntervalSeconds': 15,
}

describe('version awareness', () => {
  const versions = [...new Set(VERSION_TABLE.flatMap((r) => [...r.present, ...r.absent]))]
  const envByVersion = new Map<string, Promise<Set<string>>>()
  const envAt = (version: string) => {
    if (!envByVersion.has(version)) {
      envByVersion.set(
        version,
        render({ set: EVERYTHING, setString: { 'image.tag': version } }).then((r) => {
          if (!r.ok) throw new Error(`render at ${version}: ${r.stderr}`)
          return new Set(envOf(find(r.objects, 'Deployment')).keys())
        }),
      )
    }
    return envByVersion.get(version)!
  }

  it.each(VERSION_TABLE)('$env ($since)', async ({ env, present, absent }) => {
    for (const v of present) expect((await envAt(v)).has(env), `${env} at zero-cache ${v}`).toBe(true)
    for (const v of absent) expect((await envAt(v)).has(env), `${env} must not be set at zero-cache ${v}`).toBe(false)
  })

  it('covers versions from 0.22 to 1.x with one chart version', () => {
    expect(versions.some((v) => v.startsWith('0.22.'))).toBe(true)
    expect(versions.some((v) => v.startsWith('1.10.0-canary'))).toBe(true)
  })

  it('requires an admin password from 0.24.2025091200, when zero-cache starts refusing to run without one', async () => {
    const noPassword = { 'common.database.upstream.url.value': 'postgres://u@db/x', 'singleNode.enabled': true }
    expect((await render({ set: noPassword, setString: { 'image.tag': '0.24.2025091100' } })).ok).toBe(true)
    const r = await render({ set: noPassword, setString: { 'image.tag': '0.24.2025091200' } })
    expect(r.ok).toBe(false)
    expect(r.stderr).toContain('common.adminPassword is required: zero-cache 0.24.2025091200')
  })

  it('reads the version from tags with build numbers, prereleases and a v prefix; falls back to appVersion otherwise', async () => {
    const queryEnv = async (setString: Record<string, string>) => {
      const env = envOf(find((await render({ set: { ...SINGLE, 'common.api.queryUrl': 'https://q' }, setString })).objects, 'Deployment'))
      return [...env.keys()].filter((k) => k.endsWith('_URL') && k !== 'ZERO_UPSTREAM_DB')
    }
    expect(await queryEnv({ 'image.tag': '0.24.2025101500' })).toEqual(['ZERO_GET_QUERIES_URL'])
    expect(await queryEnv({ 'image.tag': 'v0.24.2025101500' })).toEqual(['ZERO_GET_QUERIES_URL'])
    expect(await queryEnv({ 'image.tag': '1.10.0-canary.3' })).toEqual(['ZERO_QUERY_URL'])
    // Non-semver tags and digest-only images follow the chart's appVersion (0.26.x or later here).
    expect(await queryEnv({ 'image.tag': 'canary' })).toEqual(['ZERO_QUERY_URL'])
    expect(await queryEnv({ 'image.digest': `sha256:${'b'.repeat(64)}` })).toEqual(['ZERO_QUERY_URL'])
  })

  it('renders each ci/zero-* scenario with that version’s variable names', async () => {
    const names = async (file: string) => {
      const r = await render({ files: [file] })
      expect(r.ok, r.stderr).toBe(true)
      return new Set(envOf(find(r.objects, 'StatefulSet', '-view-syncer')).keys())
    }
    const v022 = await names('ci/zero-0.22-values.yaml')
    expect(v022.has('ZERO_MUTATE_URL') && v022.has('ZERO_QUERY_URL') && !v022.has('ZERO_ENABLE_QUERY_PLANNER')).toBe(true)
    const v023 = await names('ci/zero-0.23-values.yaml')
    expect(v023.has('ZERO_GET_QUERIES_URL') && !v023.has('ZERO_QUERY_URL')).toBe(true)
    const v024 = await names('ci/zero-0.24-values.yaml')
    expect(v024.has('ZERO_GET_QUERIES_API_KEY') && !v024.has('ZERO_WEBSOCKET_COMPRESSION')).toBe(true)
    const v0251 = await names('ci/zero-0.25.1-values.yaml')
    expect(v0251.has('ZERO_QUERY_URL') && v0251.has('ZERO_REPLICA_PAGE_CACHE_SIZE_KIB') && v0251.has('ZERO_YIELD_THRESHOLD_MS')).toBe(true)
    const v1 = await names('ci/zero-1x-values.yaml')
    expect(
      v1.has('ZERO_ENABLE_CRUD_MUTATIONS') &&
        v1.has('ZERO_MUTATE_ALLOWED_CLIENT_HEADERS') &&
        v1.has('ZERO_WEBSOCKET_MAX_PAYLOAD_BYTES') &&
        !v1.has('ZERO_REPLICA_PAGE_CACHE_SIZE_KIB'),
    ).toBe(true)
  })
})

describe('chart files', () => {
  it('NOTES.txt says how to reach the service and what is still unset', async () => {
    // helm template does not render NOTES.txt; helm install --dry-run=client does, without a cluster.
    const { stdout } = await promisify(execFile)(HELMS['Helm 4'], [
      'install',
      'zc',
      CHART_DIR,
      '--dry-run=client',
      '--namespace',
      'apps',
      '--set',
      'singleNode.enabled=true',
      '--set',
      'common.database.upstream.url.value=postgres://u@db/x',
      '--set',
      'common.adminPassword.value=pw',
    ])
    const notes = stdout.slice(stdout.indexOf('NOTES:'))
    expect(notes).toContain('kubectl port-forward --namespace apps svc/zc-zero-cache-single-node 4848:4848')
    expect(notes).toContain('helm test zc --namespace apps')
    expect(notes).toContain('common.api.mutateUrl / common.api.queryUrl')
    expect(notes).toContain('s3.enabled (or common.litestream.backupUrl)')
  })
})

/**
 * Runs readme-generator-for-helm on a copy of the committed README with the given values.yaml
 * (the chart's own by default) and returns the README it produces.
 */
async function generatedReadme(valuesText?: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'zcc-readme-'))
  const readme = join(dir, 'README.md')
  copyFileSync(join(CHART_DIR, 'README.md'), readme)
  let values = join(CHART_DIR, 'values.yaml')
  if (valuesText !== undefined) {
    values = join(dir, 'values.yaml')
    writeFileSync(values, valuesText)
  }
  const bin = join(CHART_DIR, '../../node_modules/.bin/readme-generator')
  await promisify(execFile)(bin, ['--values', values, '--readme', readme, '--config', join(CHART_DIR, 'readme-generator.json')])
  return readFileSync(readme, 'utf8')
}

describe('chart README', () => {
  const committed = readFileSync(join(CHART_DIR, 'README.md'), 'utf8')

  it('matches readme-generator-for-helm on the annotated values.yaml (run `npm run readme:chart` when this fails)', async () => {
    const generated = await generatedReadme()
    expect(generated === committed, 'charts/zero-cache/README.md is stale: run npm run readme:chart').toBe(true)
    // The table documents every top-level value.
    for (const key of [
      'common.database.upstream.url',
      'viewSyncer.autoscaling.enabled',
      's3.enabled',
      'singleNode.enabled',
      'networkPolicy.enabled',
    ]) {
      expect(committed).toContain(`\`${key}\``)
    }
  })

  it('fails the staleness check when values.yaml documents a value the README lacks', async () => {
    const values =
      readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8') +
      '\n## @param newKnob A value added without regenerating the README\nnewKnob: 1\n'
    expect(await generatedReadme(values)).not.toBe(committed)
  })
})

describe('numbers in the environment', () => {
  it('renders whole numbers from values files exactly, not in scientific notation', async () => {
    const big = join(mkdtempSync(join(tmpdir(), 'zcc-values-')), 'big.yaml')
    writeFileSync(
      big,
      [
        'common:',
        '  advanced: {websocketMaxPayloadBytes: 20971520}',
        '  litestream: {multipartSize: 16777216}',
        '  rateLimiting: {perUserMutationLimitWindowMs: 60000}',
        'extraEnv:',
        '  - {name: APP_LIMIT, value: 1000000}',
        '  - {name: APP_RATIO, value: 0.25}',
      ].join('\n'),
    )
    const r = await render({ files: ['ci/zero-1x-values.yaml', big] })
    expect(r.ok, r.stderr).toBe(true)
    const env = envOf(find(r.objects, 'StatefulSet', '-view-syncer'))
    expect(env.get('ZERO_WEBSOCKET_MAX_PAYLOAD_BYTES')?.value).toBe('20971520')
    expect(env.get('ZERO_PER_USER_MUTATION_LIMIT_WINDOW_MS')?.value).toBe('60000')
    expect(env.get('APP_LIMIT')?.value).toBe('1000000')
    expect(env.get('APP_RATIO')?.value).toBe('0.25')
    expect(envOf(find(r.objects, 'StatefulSet', '-replication-manager')).get('ZERO_LITESTREAM_MULTIPART_SIZE')?.value).toBe('16777216')
  })
})

describe('ZERO_TASK_ID', () => {
  const ids = async (files: string[], set: Record<string, string | boolean> = {}) => {
    const r = await render({ files, set })
    expect(r.ok, r.stderr).toBe(true)
    return r.objects
      .filter((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment')
      .map((w) => {
        const names = [...envOf(w).keys()]
        return { names, task: envOf(w).get('ZERO_TASK_ID') }
      })
  }

  it('is the pod namespace and name on every role, after the variables it references', async () => {
    for (const files of [['ci/single-node-values.yaml'], ['ci/multi-node-s3-values.yaml']]) {
      for (const { names, task } of await ids(files)) {
        expect(task?.value).toBe('$(POD_NAMESPACE).$(POD_NAME)')
        expect(names.indexOf('POD_NAME')).toBeLessThan(names.indexOf('ZERO_TASK_ID'))
        expect(names.indexOf('POD_NAMESPACE')).toBeLessThan(names.indexOf('ZERO_TASK_ID'))
      }
    }
  })

  it("is the user's own when extraEnv sets it", async () => {
    const [w] = await ids(['ci/single-node-values.yaml'], { 'extraEnv[0].name': 'ZERO_TASK_ID', 'extraEnv[0].value': 'my-task' })
    expect(w.names.filter((n) => n === 'ZERO_TASK_ID')).toHaveLength(1)
    expect(w.task?.value).toBe('my-task')
  })
})

describe('metrics: every worker through one collector sidecar', () => {
  it('pushes OTLP from zero-cache to the sidecar, which serves Prometheus on the port the Service and ServiceMonitor use', async () => {
    const r = await render({ files: ['ci/multi-node-s3-values.yaml'], set: { 'metrics.exportIntervalSeconds': 45 } })
    expect(r.ok, r.stderr).toBe(true)
    const configMap = find(r.objects, 'ConfigMap', '-otel-collector')
    const config = parse(configMap.data['config.yaml']) as {
      receivers: { otlp: { protocols: { http: { endpoint: string } } } }
      exporters: { prometheus: { endpoint: string; resource_to_telemetry_conversion: { enabled: boolean } } }
      service: { pipelines: { metrics: { receivers: string[]; exporters: string[] } } }
    }
    expect(config.service.pipelines.metrics).toMatchObject({ receivers: ['otlp'], exporters: ['prometheus'] })
    expect(config.exporters.prometheus).toEqual({ endpoint: '0.0.0.0:9464', resource_to_telemetry_conversion: { enabled: true } })
    for (const role of ['-replication-manager', '-view-syncer']) {
      const workload = find(r.objects, 'StatefulSet', role)
      const spec = workload.spec.template.spec
      const env = envOf(workload)
      // The workers push to the sidecar's receiver, and nothing opens a Prometheus port in zero-cache.
      const endpoint = new URL(env.get('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT')!.value!)
      expect(`${endpoint.hostname}:${endpoint.port}`).toBe(config.receivers.otlp.protocols.http.endpoint)
      expect(env.get('OTEL_METRICS_EXPORTER')?.value).toBe('otlp')
      expect(env.has('OTEL_EXPORTER_PROMETHEUS_PORT')).toBe(false)
      expect([env.get('OTEL_METRIC_EXPORT_INTERVAL')?.value, env.get('OTEL_METRIC_EXPORT_TIMEOUT')?.value]).toEqual(['45000', '30000'])
      const zero = spec.containers.find((c: { name: string }) => c.name === 'zero-cache')
      const sidecar = spec.containers.find((c: { name: string }) => c.name === 'otel-collector')
      expect(zero.ports.map((p: { name: string }) => p.name)).not.toContain('metrics')
      expect(sidecar.ports).toEqual([{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }])
      expect(sidecar.image).toBe('docker.io/otel/opentelemetry-collector:0.138.0')
      expect(spec.volumes.find((v: { name: string }) => v.name === 'otel-collector-config').configMap.name).toBe(configMap.metadata.name)
      expect(workload.spec.template.metadata.annotations['checksum/otel-collector']).toMatch(/^[a-f0-9]{64}$/)
    }
    const monitor = find(r.objects, 'ServiceMonitor')
    expect(monitor.spec.endpoints[0]).toMatchObject({ port: 'metrics', path: '/metrics' })
    const metricsServices = r.objects.filter(
      (o) => o.kind === 'Service' && o.spec.ports.some((p: { name: string }) => p.name === 'metrics'),
    )
    expect(metricsServices.length).toBeGreaterThan(0)
    for (const s of metricsServices)
      expect(s.spec.ports.find((p: { name: string }) => p.name === 'metrics')).toMatchObject({ port: 9464, targetPort: 'metrics' })
  })

  it('renders no sidecar, ConfigMap or OTEL metric variables when metrics are off', async () => {
    const r = await render({ files: ['ci/single-node-values.yaml'] })
    expect(r.objects.some((o) => o.kind === 'ConfigMap')).toBe(false)
    const workload = find(r.objects, 'Deployment', '-single-node')
    expect(workload.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['zero-cache'])
    expect([...envOf(workload).keys()].filter((n) => n.startsWith('OTEL_'))).toEqual([])
  })
})
