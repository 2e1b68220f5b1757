/**
 * The KDF semaphore (issue 6): FIFO, never above its limit, even when a caller arrives in the instant between a
 * release and the wake-up of the first waiter (the slot is handed over, not freed and re-taken).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Semaphore } from '../../backend/src/vault/kdf.ts';

function gate(): { open: () => void; wait: Promise<void> } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { open, wait };
}

test('a released slot goes to the first waiter, not to a caller arriving at that moment', async () => {
  const s = new Semaphore(1);
  const order: string[] = [];
  let active = 0;
  let most = 0;
  const job = (name: string, g: Promise<void>, onEnd?: () => void) => async () => {
    active++;
    most = Math.max(most, active);
    order.push(`start ${name}`);
    await g;
    active--;
    onEnd?.();
  };
  const a = gate();
  const b = gate();
  const c = gate();
  let rc: Promise<void> | undefined;
  // C arrives two microtasks after A's job ends: after the semaphore released A's slot, before B has woken up.
  const arriveC = () =>
    queueMicrotask(() =>
      queueMicrotask(() => {
        rc = s.run(job('c', c.wait));
      }),
    );
  const ra = s.run(job('a', a.wait, arriveC));
  const rb = s.run(job('b', b.wait));
  assert.equal(s.queued, 1);
  a.open();
  await ra;
  await new Promise((r) => setImmediate(r));
  assert.ok(rc, 'C has arrived');
  assert.deepEqual(order, ['start a', 'start b'], 'C waits behind B');
  b.open();
  c.open();
  await Promise.all([rb, rc]);
  assert.deepEqual(order, ['start a', 'start b', 'start c']);
  assert.equal(most, 1, 'never two at once');
  assert.equal(s.queued, 0);
});

test('up to the limit run at once, the rest in arrival order', async () => {
  const s = new Semaphore(2);
  const started: number[] = [];
  const gates = Array.from({ length: 5 }, gate);
  const runs = gates.map((g, i) =>
    s.run(async () => {
      started.push(i);
      await g.wait;
    }),
  );
  await Promise.resolve();
  assert.deepEqual(started, [0, 1]);
  assert.equal(s.queued, 3);
  for (const g of gates) g.open();
  await Promise.all(runs);
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
});
