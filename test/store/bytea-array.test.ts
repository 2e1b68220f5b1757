// bytea[] read by store/db.ts's own parser (issue 16) gives exactly what node-postgres's generic parser gives, for
// what PostgreSQL really writes (empty, NULL elements, empty values, every byte value, long chains, two dimensions,
// bounds), and the PGlite half is untouched (it parses arrays itself).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { openPostgres, parseByteaArray } from '../../backend/src/store/db.ts';
import { TEST_DATABASE_URL } from '../helpers/db.ts';

const EXPRESSIONS = [
  `'{}'::bytea[]`,
  `NULL::bytea[]`,
  `ARRAY[NULL]::bytea[]`,
  `ARRAY[''::bytea]`,
  `ARRAY['\\x00ff10'::bytea, NULL, '\\x'::bytea]`,
  `ARRAY(SELECT decode(lpad(to_hex(i), 2, '0'), 'hex') FROM generate_series(0, 255) i)`,
  `ARRAY[decode(repeat('3082', 1200), 'hex'), decode(repeat('a5', 1500), 'hex')]`,
  `ARRAY[ARRAY['\\x01'::bytea, '\\x02'::bytea], ARRAY['\\x03'::bytea, NULL]]`,
  `'[0:1]={"\\\\x01","\\\\x02"}'::bytea[]`,
];

test('bytea[] from PostgreSQL: the same values as node-postgres gives', async (t) => {
  const plain = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await plain.connect();
  } catch (e) {
    if (process.env.CI === 'true') throw e;
    t.skip(`PostgreSQL at ${TEST_DATABASE_URL} is not reachable`);
    return;
  }
  const db = openPostgres(TEST_DATABASE_URL, 1);
  try {
    for (const expr of EXPRESSIONS) {
      const sql = `SELECT ${expr} AS v`;
      const [expected] = (await plain.query<{ v: unknown }>(sql)).rows;
      const [ours] = await db.query<{ v: unknown }>(sql);
      assert.deepEqual(ours!.v, expected!.v, expr);
    }
  } finally {
    await plain.end();
    await db.close();
  }
});

test('parseByteaArray: the fast path and the fallback agree with node-postgres', () => {
  const generic = (pg.types.getTypeParser as (oid: number, format: 'text') => (v: string) => unknown)(1001, 'text');
  for (const text of [
    '{}',
    '{NULL}',
    '{"\\\\x"}',
    '{"\\\\x00ff",NULL,"\\\\xdeadbeef"}',
    '{{"\\\\x01"},{"\\\\x02"}}',
    '[0:0]={"\\\\x01"}',
    '{"\\\\001\\\\002"}', // escape format (bytea_output = escape): the fallback
    '{"\\\\xABCD"}', // upper-case hex is not what PostgreSQL writes: the fallback
  ])
    assert.deepEqual(parseByteaArray(text), generic(text), text);
});
