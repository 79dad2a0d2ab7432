import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../support/runner.js'

/**
 * Prettier wraps code at its printWidth but never breaks a string, a regex or a comment: this
 * keeps those within the width too, in every source file git tracks (dist/ is generated).
 */
describe('line width', () => {
  const { printWidth } = JSON.parse(readFileSync(join(ROOT, '.prettierrc.json'), 'utf8')) as { printWidth: number }
  const files = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '--', 'src', 'test', 'bench', 'scripts', '*.js'],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  )
    .split('\n')
    .filter((f) => /\.(ts|mjs|js)$/.test(f) && !f.startsWith('dist/'))

  it(`no line of ${files.length} source files is over ${printWidth} characters`, () => {
    const long = files.flatMap((file) =>
      readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .flatMap((line, i) => (line.length > printWidth ? [`${file}:${i + 1} (${line.length})`] : [])),
    )
    expect(long).toEqual([])
  })
})
