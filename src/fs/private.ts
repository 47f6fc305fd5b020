/**
 * Files Strongroom creates are private to the user it runs as: folders 0700, files 0600,
 * from the moment they are created (PostgreSQL's `initdb` holds its data folder to the same
 * rule). Everything that writes under DATA_DIR goes through these helpers:
 *
 * - {@link usePrivateUmask} once at the start of a process, so that whatever a library
 *   creates by itself (PGlite's folders, Chromium's) is private too;
 * - {@link ensurePrivateDir} and {@link writePrivateFile} for our own folders and files;
 * - {@link repairPrivateTree} for folders made before this rule (or by a library that sets
 *   wider modes itself: PGlite chmods the files of a new database to 0666).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, openSync, readdirSync, realpathSync, type Stats } from 'node:fs';
import { chmod, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

/** Mode of every folder Strongroom creates. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every file Strongroom creates. */
export const PRIVATE_FILE_MODE = 0o600;
/** Permission bits for the group and for others: none of them may be set. */
const SHARED_BITS = 0o077;

/**
 * Sets the process umask to 077, so that every file and folder this process creates,
 * through our code or a library's, gets no permission for the group or for others.
 * PGlite creates its folders itself (with mode 0777, trimmed only by the umask); this
 * is the only way to make them private as they are made. Call it at the top of a
 * process's entry point (the server, each CLI), never from a worker thread (Node refuses).
 */
export function usePrivateUmask(): void {
  process.umask(SHARED_BITS);
}

/**
 * Creates `dir` (and any missing parent) with mode 0700; when it exists, removes any
 * permission it gives the group or others. Resolves to the folder's path.
 */
export async function ensurePrivateDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const { mode } = await stat(dir);
  if ((mode & SHARED_BITS) !== 0) await chmod(dir, mode & 0o7700);
  return dir;
}

export interface WritePrivateFileOptions {
  /**
   * Refuse to replace an existing file (O_EXCL): the promise rejects with an error whose
   * `code` is `EEXIST`. For files that must never be overwritten, such as a generated key.
   * The file is written in place; if writing fails it is removed.
   * Default false: the content goes to a new private file beside it, which then replaces
   * `file` in one rename, so a reader never sees half a file and a symlink at `file` is
   * replaced, never written through.
   */
  readonly exclusive?: boolean;
}

/** Writes `data` to `file` with mode 0600 from creation, and flushes it to disk. The folder must exist ({@link ensurePrivateDir}). */
export async function writePrivateFile(file: string, data: string | Uint8Array, options: WritePrivateFileOptions = {}): Promise<void> {
  const target = options.exclusive ? file : path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx' is O_CREAT | O_EXCL: never an existing file, never through a symlink.
  const handle = await open(target, 'wx', PRIVATE_FILE_MODE);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (!options.exclusive) await rename(target, file);
  } catch (err) {
    await unlink(target).catch(() => {});
    throw err;
  }
}

/** An entry whose permissions {@link repairPrivateTree} narrowed. */
export interface RepairedEntry {
  /** Path relative to the root (`.` for the root itself). */
  readonly path: string;
  readonly from: number;
  readonly to: number;
}

/** An entry {@link repairPrivateTree} left as it was, and why. */
export interface SkippedEntry {
  readonly path: string;
  /** `symlink`: never followed nor changed; `not-owner`: belongs to another user; `unreadable`: could not be opened. */
  readonly reason: 'symlink' | 'not-owner' | 'unreadable';
}

export interface RepairReport {
  /** Entries looked at, the root included. */
  readonly entries: number;
  readonly changed: readonly RepairedEntry[];
  readonly skipped: readonly SkippedEntry[];
}

/** Thrown by {@link repairPrivateTree} when the tree holds more entries than allowed; nothing was changed. */
export class PrivateTreeTooLargeError extends Error {
  constructor(
    readonly root: string,
    readonly maxEntries: number,
  ) {
    super(
      `${root} holds more than ${maxEntries} files and folders, which is more than a Strongroom data folder should; nothing was changed. Check that DATA_DIR names Strongroom's own folder.`,
    );
    this.name = 'PrivateTreeTooLargeError';
  }
}

export interface RepairOptions {
  /** Stop, change nothing and throw {@link PrivateTreeTooLargeError} past this many entries. Default 1 000 000. */
  readonly maxEntries?: number;
}

interface Change {
  readonly absolute: string;
  readonly relative: string;
  readonly dev: number;
  readonly ino: number;
  readonly from: number;
  readonly to: number;
}

/** Ignores an entry that disappeared while we looked at it. */
const gone = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** Entries handled between two turns of the event loop. */
const ENTRIES_PER_TURN = 2000;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Removes every permission for the group and for others from `root` and everything under
 * it (the owner's permissions are kept: 0666 becomes 0600, 0755 becomes 0700). A missing
 * `root` is not an error. When `root` is a symlink, the folder it names is repaired.
 *
 * One walk, each entry visited once (lstat), with an explicit stack: linear in the size of
 * the tree and bounded by `maxEntries`. The changes are made after the walk, so a tree over
 * the bound is refused untouched. Symlinks inside the tree are neither followed nor changed,
 * so nothing outside it is touched; entries of another user are left to them. Each change
 * goes through a descriptor opened with O_NOFOLLOW and checked to be the entry walked, so
 * an entry swapped for a symlink meanwhile is not followed either.
 *
 * The file system calls are synchronous, in slices of {@link ENTRIES_PER_TURN} entries with
 * a turn of the event loop between them: ten times faster than awaiting each call (a
 * thousand-file embedded database in ~15 ms), without holding the loop for long.
 */
export async function repairPrivateTree(root: string, options: RepairOptions = {}): Promise<RepairReport> {
  const maxEntries = options.maxEntries ?? 1_000_000;
  let top: string;
  try {
    top = realpathSync(root);
  } catch (err) {
    if (gone(err)) return { entries: 0, changed: [], skipped: [] };
    throw err;
  }
  const uid = process.getuid?.();
  const changes: Change[] = [];
  const skipped: SkippedEntry[] = [];
  const stack: string[] = ['.'];
  let entries = 0;
  while (stack.length > 0) {
    if (entries % ENTRIES_PER_TURN === ENTRIES_PER_TURN - 1) await nextTurn();
    const relative = stack.pop()!;
    const absolute = path.join(top, relative);
    let info: Stats;
    try {
      info = lstatSync(absolute);
    } catch (err) {
      if (gone(err)) continue;
      throw err;
    }
    if (++entries > maxEntries) throw new PrivateTreeTooLargeError(top, maxEntries);
    if (info.isSymbolicLink()) {
      skipped.push({ path: relative, reason: 'symlink' });
      continue;
    }
    if (uid !== undefined && info.uid !== uid) skipped.push({ path: relative, reason: 'not-owner' });
    else if ((info.mode & SHARED_BITS) !== 0) {
      changes.push({ absolute, relative, dev: info.dev, ino: info.ino, from: info.mode & 0o7777, to: info.mode & 0o7700 });
    }
    if (info.isDirectory()) {
      let names: string[];
      try {
        names = readdirSync(absolute);
      } catch (err) {
        if (gone(err)) continue;
        skipped.push({ path: relative, reason: 'unreadable' });
        continue;
      }
      for (const name of names) stack.push(relative === '.' ? name : path.join(relative, name));
    }
  }
  const changed: RepairedEntry[] = [];
  for (const [i, change] of changes.entries()) {
    if (i % ENTRIES_PER_TURN === ENTRIES_PER_TURN - 1) await nextTurn();
    if (narrow(change)) changed.push({ path: change.relative, from: change.from, to: change.to });
    else skipped.push({ path: change.relative, reason: 'unreadable' });
  }
  return { entries, changed, skipped };
}

/** chmod through a descriptor that cannot be a symlink and is the entry walked; false when it could not be opened. */
function narrow(change: Change): boolean {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    fd = openSync(change.absolute, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    return gone(err);
  }
  try {
    const now = fstatSync(fd);
    if (now.dev !== change.dev || now.ino !== change.ino) return false;
    fchmodSync(fd, change.to);
    return true;
  } finally {
    closeSync(fd);
  }
}

/** Where {@link makeDataDirPrivate} reports what it changed (a pino logger fits). */
export interface RepairLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** How many changed entries a log line names; the rest are counted. */
const LOGGED_ENTRIES = 20;

/**
 * Repairs DATA_DIR at start ({@link repairPrivateTree}) and logs what it changed, once, as a
 * warning: whatever those files held was readable by other users of the machine until now.
 */
export async function makeDataDirPrivate(dataDir: string, log: RepairLog, options: RepairOptions = {}): Promise<RepairReport> {
  const report = await repairPrivateTree(dataDir, options);
  if (report.changed.length > 0) {
    log.warn(
      {
        dataDir,
        changed: report.changed.length,
        entries: report.changed.slice(0, LOGGED_ENTRIES).map((c) => `${c.from.toString(8)}→${c.to.toString(8)} ${c.path}`),
      },
      'made the files and folders under DATA_DIR private to this user (they were readable by others)',
    );
  }
  const foreign = report.skipped.filter((s) => s.reason !== 'symlink');
  if (foreign.length > 0) {
    log.warn(
      { dataDir, skipped: foreign.length, entries: foreign.slice(0, LOGGED_ENTRIES).map((s) => `${s.reason} ${s.path}`) },
      'some entries under DATA_DIR belong to another user or could not be opened, and were left as they are',
    );
  }
  return report;
}
