/**
 * The bytes of the demo's stored messages (issue 12): one file per mailbox row in SMIME_DATA_DIR/demo/mail, named by
 * the row's id, mode 0600. Written into the embedded database instead, a 28 MB message blocked the server for 16-23 s
 * (PGlite runs in the server's own thread and serialises a bytea parameter slowly) and grew the database by 85 MB per
 * send. Files are written and read with node's asynchronous I/O, off the event loop; the copies of one send (each
 * recipient's inbox, the sender's Sent) are hard links to one file, so a send stores its bytes once.
 */
import { randomUUID } from 'node:crypto';
import { chmod, link, mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SUFFIX = '.eml';

export class DemoMailFiles {
  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<DemoMailFiles> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    return new DemoMailFiles(dir);
  }

  private path(id: string): string {
    // Ids come from the database (uuid column) or randomUUID; checked anyway, since they become file names.
    if (!UUID.test(id)) throw new Error('demo mail: not a message id');
    return join(this.dir, `${id}${SUFFIX}`);
  }

  /** Store `bytes` under every id in `ids` (one file, the others hard links to it). */
  async write(ids: readonly string[], bytes: Uint8Array): Promise<void> {
    const [first, ...rest] = ids;
    if (!first) return;
    await writeFile(this.path(first), bytes, { mode: 0o600, flag: 'wx' });
    for (const id of rest) await link(this.path(first), this.path(id));
  }

  async read(id: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(id));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Replace one copy's bytes (the tamper button) without touching the copies it shares a file with. */
  async replace(id: string, bytes: Uint8Array): Promise<void> {
    const tmp = join(this.dir, `${randomUUID()}.tmp`);
    await writeFile(tmp, bytes, { mode: 0o600, flag: 'wx' });
    await rename(tmp, this.path(id)); // a new inode: the other links keep the original
  }

  async remove(ids: readonly string[]): Promise<void> {
    for (const id of ids) await unlink(this.path(id)).catch(() => {});
  }

  /** Delete files no mailbox row names (a crash between writing a file and committing its row). */
  async sweep(keep: ReadonlySet<string>): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.dir)) {
      const id = name.endsWith(SUFFIX) ? name.slice(0, -SUFFIX.length) : undefined;
      if (id && keep.has(id)) continue;
      await unlink(join(this.dir, name)).catch(() => {});
      removed++;
    }
    return removed;
  }
}
