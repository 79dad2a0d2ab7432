/** `@vercel/ncc`'s programmatic API, as far as bench/up-to-date.ts uses it (the package ships no types). */
declare module '@vercel/ncc' {
  /** Bundles `file` and its dependencies into one module's code; `minify` as `ncc build --minify`. */
  export default function ncc(file: string, options: { minify?: boolean; quiet?: boolean }): Promise<{ code: string }>
}
