/**
 * `npm run build`: the bundle GitHub runs (dist/), after a typecheck.
 *
 * 1. `ncc build src/index.ts`, minified, with source maps and without ncc's source-map-support
 *    loader (src/index.ts turns Node's own source maps on instead). The action's code is split into
 *    chunks at its dynamic imports (the observe path, the write path, the GitHub API client), so a
 *    run loads only what it uses.
 * 2. ncc minifies only the entry file; each chunk is minified here with terser, the same way (names
 *    of functions and classes kept, so stack traces and error names stay readable), carrying its
 *    source map through.
 *
 * Prints each file's size and the total of the code (source maps and the licence file not counted).
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { minify } from 'terser'

const root = new URL('..', import.meta.url).pathname
const dist = join(root, 'dist')

execFileSync('npx', ['tsc', '-p', '.'], { cwd: root, stdio: 'inherit' })
rmSync(dist, { recursive: true, force: true })
execFileSync(
  'npx',
  [
    'ncc',
    'build',
    'src/index.ts',
    '-o',
    'dist',
    '--minify',
    '--source-map',
    '--no-source-map-register',
    '--license',
    'licenses.txt',
    '--quiet',
  ],
  { cwd: root, stdio: 'inherit' },
)

for (const name of readdirSync(dist).filter((n) => /^\d+\.index\.js$/.test(n))) {
  const file = join(dist, name)
  const result = await minify(readFileSync(file, 'utf8'), {
    module: true,
    compress: false,
    mangle: { keep_classnames: true, keep_fnames: true },
    sourceMap: { content: readFileSync(`${file}.map`, 'utf8'), filename: name, url: `${name}.map` },
  })
  if (result.code === undefined || typeof result.map !== 'string') throw new Error(`terser gave nothing for ${name}`)
  writeFileSync(file, result.code)
  writeFileSync(`${file}.map`, result.map)
}

let code = 0
for (const name of readdirSync(dist).sort()) {
  const size = statSync(join(dist, name)).size
  if (name.endsWith('.js')) code += size
  console.log(`${(size / 1024).toFixed(0).padStart(6)} kB  dist/${name}`)
}
console.log(`${(code / 1024).toFixed(0).padStart(6)} kB  of code in dist/ (source maps and licences not counted)`)
