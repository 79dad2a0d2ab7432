/**
 * A RegExp from literal text and RegExp pieces: `pattern('version ', /\d+/, ' of acme/x')` matches
 * "version 42 of acme/x". Long expected messages read as text, without escaping, and fit the line.
 */
export function pattern(...parts: (string | RegExp)[]): RegExp {
  return new RegExp(parts.map((p) => (typeof p === 'string' ? p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&') : p.source)).join(''))
}
