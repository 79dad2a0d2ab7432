#!/usr/bin/env node
/**
 * Runs under Node 22 inside a zero-cache package (`node check-options.mjs <package dir>`, the
 * environment to check as JSON on stdin). Parses it with that version's own option parser
 * (`parseOptionsAdvanced(zeroOptions, …)` from out/shared/src/options.js and
 * out/zero-cache/src/config/zero-config.js) and prints JSON: `defined`, every environment
 * variable name the version defines (its options, named as the parser names them: the package's
 * own `kasi` snake case of `<prefix><group>-<field>`), and `error`, what the parser refused, if
 * anything.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const pkg = process.argv[2]
const env = JSON.parse(readFileSync(0, 'utf8'))
const load = (file) => import(pathToFileURL(join(pkg, 'out', file)).href)
const { zeroOptions, ZERO_ENV_VAR_PREFIX } = await load('zero-cache/src/config/zero-config.js')
const { parseOptionsAdvanced } = await load('shared/src/options.js')
const { toKebabCase, toSnakeCase } = await import(pathToFileURL(createRequire(join(pkg, 'package.json')).resolve('kasi')).href)
const isType = (v) => typeof v?.toTerminals === 'function'
const defined = []
for (const [name, val] of Object.entries(zeroOptions)) {
  if (isType(val) || isType(val?.type)) defined.push(toKebabCase(name))
  else for (const field of Object.keys(val)) defined.push(toKebabCase(`${name}-${field}`))
}
const names = defined.map((flag) => toSnakeCase(`${ZERO_ENV_VAR_PREFIX}${flag}`).toUpperCase())
const messages = []
const logger = { error: (...a) => messages.push(a.join(' ')), warn: (...a) => messages.push(a.join(' ')), info() {}, debug() {} }
try {
  const result = parseOptionsAdvanced(zeroOptions, {
    argv: [],
    envNamePrefix: ZERO_ENV_VAR_PREFIX,
    env,
    logger,
    emitDeprecationWarnings: true,
    exit: (code) => {
      throw new Error(`the parser exited with code ${code}`)
    },
  })
  // The parser's own mapping must agree with the names derived above.
  const missing = Object.keys(result.env ?? {}).filter((n) => !names.includes(n))
  if (missing.length) throw new Error(`the parser maps names this script does not derive: ${missing.join(', ')}`)
  process.stdout.write(JSON.stringify({ defined: names, warnings: messages }))
} catch (error) {
  process.stdout.write(JSON.stringify({ defined: names, error: String(error?.message ?? error), warnings: messages }))
}
