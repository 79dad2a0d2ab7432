/**
 * `npm run zero:install`: installs what the zero-cache tests need into their cache (Node 22, every
 * zero-cache version of versions.json, litestream), so that .ci/run can download it in the background
 * while it lints, builds and runs the other tests. The tests themselves install whatever is missing.
 */
import { CACHE, CHECK_VERSIONS, litestream, node22, zeroPackage } from './support.js'

const started = Date.now()
await Promise.all([node22(), zeroPackage(CHECK_VERSIONS[0]), litestream()])
console.log(`zero-cache test dependencies ready in ${CACHE} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
