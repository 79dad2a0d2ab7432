/**
 * `npm run readme:zero`: writes the chart README's list of tested zero-cache versions (between the
 * zero-versions markers) from test/zero/versions.json. A test fails when the README is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CHART_DIR } from '../support/chart.js'
import { versionsBlock } from './support.js'

const file = join(CHART_DIR, 'README.md')
const readme = readFileSync(file, 'utf8')
const marker = /<!-- zero-versions:start[\s\S]*?<!-- zero-versions:end -->/
if (!marker.test(readme)) throw new Error(`${file} has no zero-versions markers`)
writeFileSync(file, readme.replace(marker, versionsBlock()))
console.log(`wrote the tested zero-cache versions into ${file}`)
