// The Argon2id worker process of kdf.ts (issue 6). Plain JavaScript so it starts with a bare `node`, without the
// TypeScript loader. It runs at a lower CPU priority than the server: node-argon2 runs one thread per lane (4 at the
// default cost), so a burst of unlocks would otherwise take every core from the event loop and the libuv threadpool
// that signing, encryption and decryption need. Unused CPU still goes to Argon2; only contention is decided for the
// server.
//
// Protocol (child_process IPC, advanced serialization): {id, password, salt, memoryCost, timeCost, parallelism,
// hashLength} in, {id, hash} or {id, error} out. The password and the hash are wiped here once sent.
import { Buffer } from 'node:buffer';
import { readdirSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import argon2 from 'argon2';

/** Nice value of every thread of this process (argv[2], SMIME_ARGON2_NICE; Linux: per thread, inherited). */
const PRIORITY = Math.min(19, Math.max(0, Number(process.argv[2] ?? constants.priority.PRIORITY_BELOW_NORMAL) || 0));

function lowerPriority() {
  if (PRIORITY === 0) return;
  try {
    setPriority(PRIORITY); // this thread; threads it creates later (libuv's pool, Argon2's lanes) inherit it
  } catch {
    /* not permitted: run at normal priority */
  }
  // Threads that exist already (V8's platform workers, a threadpool started early).
  let tasks;
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return; // not Linux: the process-wide setPriority above covered everything
  }
  for (const tid of tasks)
    try {
      setPriority(Number(tid), PRIORITY);
    } catch {
      /* a thread that ended meanwhile */
    }
}

lowerPriority();

process.on('message', async (m) => {
  const password = Buffer.from(m.password.buffer, m.password.byteOffset, m.password.byteLength);
  try {
    const hash = await argon2.hash(password, {
      type: argon2.argon2id,
      raw: true,
      salt: Buffer.from(m.salt),
      memoryCost: m.memoryCost,
      timeCost: m.timeCost,
      parallelism: m.parallelism,
      hashLength: m.hashLength,
    });
    process.send({ id: m.id, hash }, () => hash.fill(0));
  } catch (e) {
    process.send({ id: m.id, error: e instanceof Error ? e.message : String(e) });
  } finally {
    password.fill(0);
  }
});
// The server went away: so do we.
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
