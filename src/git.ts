import * as core from '@actions/core'
import { runCommand, type CommandResult } from './exec.js'
import { ActionError, CommandError } from './errors.js'

/**
 * A typed wrapper over the git CLI for one work tree whose remote is `origin` (as actions/checkout
 * sets it up, with credentials in git's config: no token ever appears in a URL or argv here).
 *
 * Commands that cross the network (`fetch`, `ls-remote`, `push`) are retried on transport errors
 * — a dropped connection, a 5xx or 429 from the host, a DNS or TLS hiccup — up to
 * {@link TRANSPORT_ATTEMPTS} attempts with a growing, jittered pause, as actions/checkout retries
 * its fetches. A refusal (a rejected push, a declined hook, 401/403/404) is never retried: it says
 * something the caller must act on. Repeating a push is safe: it names an exact commit, so a push
 * whose answer was lost finds the ref already there.
 */

/** Attempts of a network git command before its transport error is final. */
export const TRANSPORT_ATTEMPTS = 3
/** Pause before the 2nd and 3rd attempt, in ms (each from here to 1.5× here; divided by the time scale in tests). */
const TRANSPORT_BACKOFF_MS = [2_000, 6_000]

/** Messages of git and curl that mean the conversation broke, not that the remote said no. */
const TRANSIENT = new RegExp(
  [
    'RPC failed',
    'remote end hung up',
    'early EOF',
    'unexpected disconnect',
    'Connection (?:reset|refused|timed out|closed)',
    'Operation timed out',
    'Failed to connect',
    'Could not resolve host',
    'Temporary failure in name resolution',
    'Empty reply from server',
    'returned error: (?:5\\d\\d|429)',
    'HTTP (?:5\\d\\d|429)',
    'gnutls_handshake',
    'SSL_ERROR',
    'TLS connection was non-properly terminated',
    'index-pack failed',
  ].join('|'),
  'i',
)
/** …unless one of these says the remote refused us. */
const REFUSAL = new RegExp(
  [
    'returned error: 4(?!29)\\d\\d',
    'Authentication failed',
    'Permission denied',
    'Repository not found',
    'could not read Username',
    'terminal prompts disabled',
  ].join('|'),
  'i',
)

/** True when a failed network git command's output shows a transport error worth retrying. */
export function isTransportError(output: string): boolean {
  return TRANSIENT.test(output) && !REFUSAL.test(output)
}

/** Options of {@link Git}. */
export interface GitOptions {
  /** Divides the transport retry pauses; 1 in real runs (see `Inputs.timeScale`). */
  timeScale?: number
}

/** The identity used for commits and tags when the repository has none configured. */
export const BOT_IDENTITY = {
  name: 'github-actions[bot]',
  email: '41898282+github-actions[bot]@users.noreply.github.com',
}

/** Outcome of a push. `rejected` covers non-fast-forward, hook declines and lost ref races. */
export interface PushResult {
  ok: boolean
  stderr: string
}

export class Git {
  private identity?: { name: string; email: string }

  constructor(
    readonly cwd: string,
    private readonly options: GitOptions = {},
  ) {}

  /** The same repository through another of its work trees (see {@link addWorktree}). */
  at(dir: string): Git {
    const git = new Git(dir, this.options)
    git.identity = this.identity
    return git
  }

  /**
   * Runs a network git command, retrying transport errors (see the module comment). Returns the
   * last attempt's result; throws CommandError only when `allowFailure` is not set.
   */
  private async transport(args: string[], options: { allowFailure?: boolean } = {}): Promise<CommandResult> {
    for (let attempt = 1; ; attempt++) {
      const res = await this.git(args, { allowFailure: true })
      const output = `${res.stderr}\n${res.stdout}`
      const rejected = /^!\t/m.test(res.stdout) // `push --porcelain`: a ref the remote refused
      if (res.exitCode === 0 || rejected || attempt >= TRANSPORT_ATTEMPTS || !isTransportError(output)) {
        if (res.exitCode !== 0 && !options.allowFailure)
          throw new CommandError(['git', ...args].join(' '), res.exitCode, res.stderr || res.stdout)
        return res
      }
      const base = TRANSPORT_BACKOFF_MS[attempt - 1] / (this.options.timeScale ?? 1)
      const pause = Math.round(base * (1 + Math.random() / 2))
      const reason = output.trim().split('\n').filter(Boolean).pop() ?? `exit code ${res.exitCode}`
      core.info(
        `git ${args[0]} failed with a transport error (${reason}); attempt ${attempt + 1} of ${TRANSPORT_ATTEMPTS} in ` +
          `${(pause / 1000).toFixed(1)} s`,
      )
      await new Promise((resolve) => setTimeout(resolve, pause))
    }
  }

  /** Runs `git <args>` in the work tree; throws CommandError on failure unless `allowFailure`. */
  async git(args: string[], options: { allowFailure?: boolean; stdin?: string } = {}): Promise<CommandResult> {
    return runCommand('git', args, { cwd: this.cwd, allowFailure: options.allowFailure, stdin: options.stdin })
  }

  private async out(args: string[]): Promise<string> {
    return (await this.git(args)).stdout.trim()
  }

  /**
   * The work tree's root and its HEAD commit, in one `git rev-parse --show-toplevel HEAD`.
   *
   * @throws ActionError when the workspace is not a git work tree, or has no commit checked out.
   */
  async checkout(): Promise<{ top: string; head: string }> {
    const res = await this.git(['rev-parse', '--show-toplevel', 'HEAD'], { allowFailure: true })
    const [top, head] = res.stdout.trim().split('\n')
    if (res.exitCode === 0 && top && /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(head ?? '')) return { top, head }
    const inside = await this.git(['rev-parse', '--is-inside-work-tree'], { allowFailure: true })
    if (inside.exitCode !== 0 || inside.stdout.trim() !== 'true') {
      throw new ActionError(`${this.cwd} is not a git work tree: run actions/checkout before this action`)
    }
    throw new ActionError(`the repository in ${this.cwd} has no commit checked out: run actions/checkout before this action`)
  }

  /** The checked-out branch, or undefined on a detached HEAD. */
  async currentBranch(): Promise<string | undefined> {
    const res = await this.git(['symbolic-ref', '--quiet', '--short', 'HEAD'], { allowFailure: true })
    return res.exitCode === 0 ? res.stdout.trim() : undefined
  }

  /** Full commit id of a revision. */
  async revParse(rev: string): Promise<string> {
    return this.out(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`])
  }

  /** The committer time of `rev`, in seconds since the Unix epoch (`git show -s --format=%ct`). */
  async commitTime(rev: string): Promise<number> {
    return Number(await this.out(['show', '-s', '--format=%ct', `${rev}^{commit}`]))
  }

  /** The tree id of `path` (a directory, relative to the repository root) at `rev`: equal trees hold the same files. */
  async treeOf(rev: string, path: string): Promise<string> {
    return this.out(['rev-parse', '--verify', '--quiet', `${rev}:${path}`])
  }

  /** `git fetch origin <branch>` into `refs/remotes/origin/<branch>`; returns the remote tip. */
  async fetchBranch(branch: string): Promise<string> {
    const res = await this.transport(['fetch', '--no-tags', '--quiet', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`], {
      allowFailure: true,
    })
    if (res.exitCode !== 0) {
      const detail = (res.stderr || res.stdout).trim()
      const missing = /couldn't find remote ref/i.test(detail)
      throw new ActionError(
        missing
          ? `the remote has no branch '${branch}': set the branch input to a branch that exists`
          : `git fetch of ${branch} from origin ` +
              `failed${isTransportError(detail) ? ` after ${TRANSPORT_ATTEMPTS} attempts` : ''}:\n${detail}`,
      )
    }
    return this.revParse(`refs/remotes/origin/${branch}`)
  }

  /** True when `ancestor` is an ancestor of (or equal to) `descendant`. */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const res = await this.git(['merge-base', '--is-ancestor', ancestor, descendant], { allowFailure: true })
    if (res.exitCode > 1) throw new ActionError(`git merge-base failed: ${res.stderr.trim()}`)
    return res.exitCode === 0
  }

  /**
   * Moves this work tree from `from` to `to` when its HEAD is exactly `from` and it is on `branch`
   * or detached, so that later steps of the job see what was pushed; `git reset --keep` keeps
   * uncommitted changes and refuses rather than lose them. Returns false (and changes nothing) in
   * every other case: a checkout of other commits is never moved.
   */
  async fastForward(branch: string, from: string, to: string): Promise<boolean> {
    if ((await this.revParse('HEAD')) !== from) return false
    const current = await this.currentBranch()
    if (current !== undefined && current !== branch) return false
    const res = await this.git(['reset', '--quiet', '--keep', to], { allowFailure: true })
    return res.exitCode === 0
  }

  /** True when the repository is a shallow clone (actions/checkout's default `fetch-depth: 1`). */
  async isShallow(): Promise<boolean> {
    return (await this.out(['rev-parse', '--is-shallow-repository'])) === 'true'
  }

  /** Fetches the full history of `branch` (only needed on rare recovery paths). */
  async unshallow(branch: string): Promise<void> {
    if (await this.isShallow()) {
      await this.transport([
        'fetch',
        '--no-tags',
        '--quiet',
        '--unshallow',
        'origin',
        `+refs/heads/${branch}:refs/remotes/origin/${branch}`,
      ])
    }
  }

  /**
   * The newest commit reachable from `rev` whose diff touches a line of `file` matching `pattern`
   * (`git log -G`), or undefined.
   */
  async lastCommitTouching(rev: string, file: string, pattern: string): Promise<string | undefined> {
    const res = await this.out(['log', '-n', '1', '--format=%H', `-G${pattern}`, rev, '--', file])
    return res || undefined
  }

  /**
   * The content of `file` (relative to the repository root) at commit `rev`: `{ text }`, with `text`
   * undefined when the commit has no such file; undefined when this clone does not have the commit
   * (fetch it first). One `git show` when the file is there; a `git cat-file -e` more when not.
   */
  async showAt(rev: string, file: string): Promise<{ text?: string } | undefined> {
    const res = await this.git(['show', `${rev}:${file}`], { allowFailure: true })
    if (res.exitCode === 0) return { text: res.stdout }
    const commit = await this.git(['cat-file', '-e', `${rev}^{commit}`], { allowFailure: true })
    return commit.exitCode === 0 ? {} : undefined
  }

  private async ensureIdentity(): Promise<{ name: string; email: string }> {
    if (!this.identity) {
      const name = (await this.git(['config', 'user.name'], { allowFailure: true })).stdout.trim()
      const email = (await this.git(['config', 'user.email'], { allowFailure: true })).stdout.trim()
      this.identity = name && email ? { name, email } : BOT_IDENTITY
    }
    return this.identity
  }

  /** The name and e-mail the run commits and tags as: the repository's git config, else {@link BOT_IDENTITY}. */
  async commitIdentity(): Promise<{ name: string; email: string }> {
    return this.ensureIdentity()
  }

  /**
   * What a commit is, for telling the action's own commits from a person's: its parents, author
   * and committer e-mail, subject, and the files it changes against its first parent
   * (`git show -s` and `git diff-tree`). Fetches `branch` first when this clone lacks the commit.
   */
  async commitInfo(
    commit: string,
    branch: string,
  ): Promise<{ parents: string[]; authorEmail: string; committerEmail: string; subject: string; files: string[] }> {
    if ((await this.git(['cat-file', '-e', `${commit}^{commit}`], { allowFailure: true })).exitCode !== 0) await this.fetchBranch(branch)
    const [parents, authorEmail, committerEmail, ...subject] = (
      await this.out(['show', '-s', '--format=%P%x00%ae%x00%ce%x00%s', commit])
    ).split('\0')
    const parentList = parents.split(' ').filter(Boolean)
    const files =
      parentList.length === 1
        ? (await this.out(['diff-tree', '--no-commit-id', '--name-only', '-r', parentList[0], commit])).split('\n').filter(Boolean)
        : []
    return { parents: parentList, authorEmail, committerEmail, subject: subject.join(' '), files }
  }

  private async identityArgs(): Promise<string[]> {
    const id = await this.ensureIdentity()
    return ['-c', `user.name=${id.name}`, '-c', `user.email=${id.email}`]
  }

  /** Commits exactly `files` with `message`; returns the new commit id. */
  async commit(files: string[], message: string): Promise<string> {
    await this.git(['add', '--', ...files])
    await this.git([...(await this.identityArgs()), 'commit', '--quiet', '--no-verify', '-F', '-', '--', ...files], { stdin: message })
    return this.revParse('HEAD')
  }

  /** `git push origin <commit>:refs/heads/<branch>` without force (transport errors retried). */
  async pushBranch(commit: string, branch: string): Promise<PushResult> {
    const res = await this.transport(['push', '--porcelain', 'origin', `${commit}:refs/heads/${branch}`], { allowFailure: true })
    return { ok: res.exitCode === 0, stderr: `${res.stderr}\n${res.stdout}`.trim() }
  }

  /**
   * The tip of `branch` and the tags on origin, in one round trip:
   * `git ls-remote origin refs/heads/<branch> refs/tags/*` (transport errors retried). Annotated
   * tags are peeled to the commit they point to.
   *
   * @returns `tip` undefined when the remote has no such branch.
   * @throws ActionError when there is no `origin` remote, or the remote cannot be read.
   */
  async remoteRefs(branch: string): Promise<{ tip?: string; tags: Map<string, string> }> {
    const res = await this.transport(['ls-remote', 'origin', `refs/heads/${branch}`, 'refs/tags/*'], { allowFailure: true })
    if (res.exitCode !== 0) {
      const remote = await this.git(['remote', 'get-url', 'origin'], { allowFailure: true })
      if (remote.exitCode !== 0) throw new ActionError(`the repository in ${this.cwd} has no 'origin' remote`)
      const detail = (res.stderr || res.stdout).trim()
      throw new ActionError(
        `git ls-remote of ${branch} and the tags from origin failed` +
          `${isTransportError(detail) ? ` after ${TRANSPORT_ATTEMPTS} attempts` : ''}:\n${detail}`,
      )
    }
    const refs = parseRefs(res.stdout)
    return { tip: refs.heads.get(branch), tags: refs.tags }
  }

  /** The tip of `branch` on origin (`git ls-remote origin refs/heads/<branch>`), or undefined when it has none. */
  async remoteBranchTip(branch: string): Promise<string | undefined> {
    const res = await this.transport(['ls-remote', 'origin', `refs/heads/${branch}`])
    return parseRefs(res.stdout).heads.get(branch)
  }

  /**
   * True when `tip` (a commit of origin's `branch`) is `parent` plus exactly the tree of `commit`:
   * the pull request branch already holds this update, so pushing it again would change nothing
   * but the commit's date. Fetches `branch` when this clone lacks `tip`.
   */
  async sameChange(tip: string, branch: string, parent: string, commit: string): Promise<boolean> {
    if ((await this.git(['cat-file', '-e', `${tip}^{commit}`], { allowFailure: true })).exitCode !== 0) await this.fetchBranch(branch)
    const res = await this.git(['rev-parse', `${tip}^{tree}`, `${commit}^{tree}`, `${tip}^@`], { allowFailure: true })
    const [tipTree, tree, ...parents] = res.stdout.trim().split('\n')
    return res.exitCode === 0 && tipTree === tree && parents.length === 1 && parents[0] === parent
  }

  /**
   * `git push --force-with-lease=refs/heads/<branch>:<expected> origin <commit>:refs/heads/<branch>`:
   * replaces the branch only while it is still at `expected` (absent when undefined), so a
   * concurrent run's push is never overwritten blindly. Transport errors retried.
   */
  async forcePushBranch(commit: string, branch: string, expected: string | undefined): Promise<PushResult> {
    const ref = `refs/heads/${branch}`
    const res = await this.transport(['push', '--porcelain', `--force-with-lease=${ref}:${expected ?? ''}`, 'origin', `${commit}:${ref}`], {
      allowFailure: true,
    })
    return { ok: res.exitCode === 0, stderr: `${res.stderr}\n${res.stdout}`.trim() }
  }

  /**
   * Commits reachable from `to` and not from `from` that touch `path`, newest first, at most 200:
   * `git log --format=%H%x09%s [from..]to -- path`. Undefined when git cannot tell (a commit this
   * clone lacks).
   */
  async commitsTouching(from: string | undefined, to: string, path: string): Promise<{ sha: string; subject: string }[] | undefined> {
    const range = from ? `${from}..${to}` : to
    const res = await this.git(['log', '-n', '200', '--format=%H%x09%s', range, '--', path], { allowFailure: true })
    if (res.exitCode !== 0) return undefined
    return res.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [sha, ...subject] = line.split('\t')
        return { sha, subject: subject.join('\t') }
      })
  }

  /** The tags on origin (`git ls-remote --tags origin`) as tag name → commit id, peeled. */
  async remoteTags(): Promise<Map<string, string>> {
    return parseRefs((await this.transport(['ls-remote', '--tags', 'origin'])).stdout).tags
  }

  /**
   * Creates an annotated tag `name` at `commit` (replacing a stale local tag of that name: local
   * tags are not the record, the remote is) and pushes it without force. Returns the push result;
   * a rejection means the remote already has the tag.
   */
  async createAndPushTag(name: string, commit: string, message: string): Promise<PushResult> {
    await this.git([...(await this.identityArgs()), 'tag', '--force', '--annotate', '--file', '-', name, commit], { stdin: message })
    const res = await this.transport(['push', '--porcelain', 'origin', `refs/tags/${name}:refs/tags/${name}`], { allowFailure: true })
    return { ok: res.exitCode === 0, stderr: `${res.stderr}\n${res.stdout}`.trim() }
  }

  /**
   * Adds a detached worktree of `commit` at `dir` (which must not exist or be empty) and returns a
   * Git for it: the run edits, lints, commits and packages there, never in the user's checkout.
   */
  async addWorktree(dir: string, commit: string): Promise<Git> {
    await this.git(['worktree', 'add', '--quiet', '--detach', dir, commit])
    return this.at(dir)
  }

  /** Removes a worktree added by {@link addWorktree} (its directory and git's record of it). */
  async removeWorktree(dir: string): Promise<void> {
    await this.git(['worktree', 'remove', '--force', dir], { allowFailure: true })
  }
}

/** `git ls-remote` output (`<id>\t<ref>` lines) as branch and tag maps; `^{}` lines peel annotated tags. */
function parseRefs(out: string): { heads: Map<string, string>; tags: Map<string, string> } {
  const heads = new Map<string, string>()
  const tags = new Map<string, string>()
  const peeled = new Map<string, string>()
  for (const line of out.split('\n')) {
    const [sha, ref] = line.trim().split('\t')
    if (!sha || !ref) continue
    if (ref.startsWith('refs/heads/')) heads.set(ref.slice('refs/heads/'.length), sha)
    else if (ref.startsWith('refs/tags/')) {
      const name = ref.slice('refs/tags/'.length)
      if (name.endsWith('^{}')) peeled.set(name.slice(0, -3), sha)
      else tags.set(name, sha)
    }
  }
  for (const [name, sha] of peeled) tags.set(name, sha)
  return { heads, tags }
}

/**
 * True when `refs/tags/<name>` is a valid ref name, by the rules of `git check-ref-format` (its
 * manual, rules 1–10; checked in the tests against git itself): no component that starts with `.`
 * or ends with `.lock`, no `..`, no control characters, space, `~ ^ : ? * [ \`, no empty
 * component or leading, trailing or doubled `/`, no trailing `.`, no `@{`, not `@` alone; and no
 * component over {@link MAX_REF_COMPONENT_BYTES} bytes.
 */
export function isValidTagName(name: string): boolean {
  const ref = `refs/tags/${name}`
  if (ref.includes('..') || ref.includes('@{') || ref.endsWith('.') || ref.endsWith('/')) return false
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(ref)) return false
  return ref
    .split('/')
    .every((part) => part !== '' && !part.startsWith('.') && !part.endsWith('.lock') && Buffer.byteLength(part) <= MAX_REF_COMPONENT_BYTES)
}

/**
 * The longest component of a ref name, in bytes: git stores loose refs as files, and a file name
 * longer than the file system's limit (255 bytes on ext4, APFS and NTFS) cannot be created, so
 * `git tag` and `git push` fail on it.
 */
export const MAX_REF_COMPONENT_BYTES = 255
