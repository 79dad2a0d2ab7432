/**
 * `npm run demo`: the whole pipeline on this machine, on throwaway parts it sets up itself — a
 * docker-registry on loopback (with token auth, as Docker Hub and ghcr.io have) holding
 * `rocicorp/zero` tags from its real release history, a bare git remote holding this repository's
 * chart, and the real helm. It runs the bundled dist/index.js exactly as a GitHub runner would.
 *
 * Pass --verbose to see each run's full log.
 */
import { execFileSync } from 'node:child_process'
import { createRemote } from '../test/support/git.js'
import { REGISTRY_PASSWORD, REGISTRY_USER, releaseHistory, startRegistry, NOISE_TAGS } from '../test/support/registry.js'
import { runAction, type ActionRun } from '../test/support/runner.js'

const verbose = process.argv.includes('--verbose')

function need(command: string, hint: string) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
  } catch {
    console.error(`${command} is missing: ${hint}`)
    process.exit(1)
  }
}
need('docker-registry', 'install it with: sudo apt-get install -y docker-registry')
need('git', 'install git')

const history = releaseHistory()
const until = (date: string) => [...history.filter((h) => h.date <= date).map((h) => h.tag), ...NOISE_TAGS]

const registry = await startRegistry()
const remote = createRemote({ version: '1.0.0', appVersion: '1.6.2' })
try {
  console.log(`registry: http://${registry.host} (token auth)   git remote: ${remote.url}\n`)
  await registry.seedTags('rocicorp/zero', until('2026-06-30'))
  console.log(
    `upstream ${registry.host}/rocicorp/zero has ${until('2026-06-30').length} tags (newest stable: 1.7.0); chart: version 1.0.0, ` +
      `appVersion 1.6.2\n`,
  )

  const run = async (title: string, inputs: Record<string, string> = {}) => {
    const r = await runAction({
      workspace: remote.checkout(),
      home: remote.home,
      context: { actor: REGISTRY_USER, token: REGISTRY_PASSWORD },
      inputs: {
        image: `${registry.host}/rocicorp/zero`,
        'oci-repo': `oci://${registry.host}/acme/zero-cache-chart`,
        'plain-http': 'true',
        'registry-username': REGISTRY_USER,
        'registry-password': REGISTRY_PASSWORD,
        ...inputs,
      },
    })
    show(title, r)
    return r
  }

  await run('1. dry run: what would happen', { 'dry-run': 'true' })
  await run('2. the hourly run: upstream 1.7.0 is new')
  await run('3. the next hour: nothing new, nothing written')
  console.log('   … upstream publishes 1.8.0 and 1.9.0 …\n')
  await registry.seedTags('rocicorp/zero', ['1.8.0', '1.9.0'])
  const last = await run('4. the next hour: 1.9.0 is new')

  console.log('== state after the demo')
  console.log(
    `git log (remote main):\n${remote
      .log()
      .map((l) => `   ${l.slice(0, 12)} ${l.slice(41)}`)
      .join('\n')}`,
  )
  console.log(`git tags: ${[...remote.tags().keys()].join(', ')}`)
  console.log(
    `registry ${registry.host}/acme/zero-cache-chart/zero-cache tags: ` +
      `${(await registry.listTags('acme/zero-cache-chart/zero-cache')).join(', ')}`,
  )
  console.log(`\njob summary of run 4 (markdown):\n${last.summary.replace(/^/gm, '   ')}`)
} finally {
  await registry.stop()
  remote.cleanup()
}

function show(title: string, r: ActionRun) {
  console.log(`== ${title}  (exit ${r.exitCode})`)
  const plan = r.log.split('\n').filter((l) => /^(would|will): |^nothing to do|^pushed |^::(warning|error|notice)::/.test(l))
  for (const line of verbose ? r.log.split('\n') : plan) console.log(`   ${line}`)
  const o = r.outputs
  console.log(
    `   outputs: updated=${o.updated} app-version=${o['app-version']} chart-version=${o['chart-version']} tag=${o.tag} pushed=${o.pushed}`,
  )
  console.log(`            chart-ref=${o['chart-ref']} chart-digest=${o['chart-digest'] || '-'}\n`)
}
