/**
 * The bundle's entry (dist/index.js). The run loads further chunks only when it needs them: the
 * GitHub API client (Octokit and its plugins) for prune and cleanup-all.
 */
import { run } from './main.js'
import { failUnexpected } from './stack.js'

// An error that escapes run() (or a promise nobody awaited) must not reach Node's own handler,
// which prints the offending source line: in a bundle, one line of some 700 KB of minified code.
// One `::error::` line instead, with the stack mapped to src/.
process.on('uncaughtException', failUnexpected)
process.on('unhandledRejection', failUnexpected)

try {
  await run()
} catch (error) {
  failUnexpected(error)
}
// Everything the run started has been awaited: outputs and job summary written (synchronously, or
// awaited), connections closed, scratch removed. Exit now rather than let Node wait for V8's
// background work (optimising compilers, concurrent GC) to drain, 10 to 70 ms of an idle event
// loop per run as measured by `npm run bench`. Writes to a pipe are asynchronous on macOS (Node
// docs, "A note on process I/O"), so the log is flushed first: a write's callback runs once it and
// everything queued before it is out. The exit code is the one `core.setFailed` set.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((flushed) => stream.write('', () => flushed(undefined)))))
process.exit()
