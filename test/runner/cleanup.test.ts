/**
 * The cleanup the suites rely on (issue 13): cleanUp() runs every step even when one fails, and a setup helper that
 * fails half way releases what it already holds, because its caller has nothing to close yet.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cleanUp } from '../helpers/cleanup.ts';
import type { Database } from '../../backend/src/store/db.ts';
import type { DbTarget } from '../helpers/db.ts';
import { startServerOn, startServerTrusting } from '../security/world.ts';

describe('cleanUp', () => {
  test('runs every step, in order, and throws the failure afterwards', async () => {
    const ran: string[] = [];
    const boom = new Error('browser would not close');
    await assert.rejects(
      cleanUp(
        () => ran.push('browser') && Promise.reject(boom),
        async () => ran.push('server'),
        () => ran.push('database'),
      ),
      (e) => e === boom,
    );
    assert.deepEqual(ran, ['browser', 'server', 'database']);
  });

  test('several failures: an AggregateError with each of them', async () => {
    const a = new Error('a');
    const b = new Error('b');
    await assert.rejects(
      cleanUp(
        () => {
          throw a;
        },
        () => Promise.reject(b),
      ),
      (e) => e instanceof AggregateError && e.errors[0] === a && e.errors[1] === b,
    );
  });

  test('no failure: resolves', async () => {
    await cleanUp(
      () => undefined,
      async () => undefined,
    );
  });
});

describe('startServerTrusting / startServerOn', () => {
  /** A database target that counts what it opens and drops. */
  function countingTarget(): { target: DbTarget; opened: () => number; dropped: () => number } {
    let opened = 0;
    let dropped = 0;
    const target: DbTarget = {
      name: 'pglite',
      open: async () => {
        opened++;
        return {
          db: {} as Database,
          drop: async () => {
            dropped++;
          },
        };
      },
    };
    return { target, opened: () => opened, dropped: () => dropped };
  }

  test('an anchor file that cannot be read: no database is left open when the error is thrown', async () => {
    const t = countingTarget();
    await assert.rejects(startServerTrusting(t.target, ['/nonexistent/anchors.pem']), /ENOENT/);
    assert.equal(t.dropped(), t.opened(), 'every database opened was dropped');
  });

  test('a server that does not start: the database it opened is dropped before the error is thrown', async () => {
    const t = countingTarget();
    await assert.rejects(startServerOn(t.target, { SMIME_TRUST_ANCHORS: '/nonexistent/anchors.pem' }), /ENOENT/);
    assert.equal(t.opened(), 1);
    assert.equal(t.dropped(), 1);
  });
});
