/**
 * Log formats (issue 15, SMIME_LOG_FORMAT): JSON lines when the destination is not a terminal or with json, one
 * readable line (time, level, message, key=value) on a terminal or with pretty, colour only on a terminal; in every
 * format the redacted paths stay redacted.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { parseCheckpointLine, signCheckpoint } from './audit/checkpoints.ts';
import { generateSigningKeyPem, parseSigningKey } from './audit/keys.ts';
import { loadConfig } from './config.ts';
import { createLogger, formatLogLine, type LogFormat } from './log.ts';

const ESC = String.fromCharCode(0x1b);
const PASSPHRASE = 'correct horse battery staple 42';
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.secret-token-body.sig';

/** A destination that keeps what it is given; `tty` makes it look like a terminal. */
function sink(tty: boolean): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  if (tty) Object.assign(stream, { isTTY: true });
  return { stream, text: () => text };
}

function logSome(format: LogFormat, tty: boolean): string {
  const out = sink(tty);
  const log = createLogger('info', out.stream, format);
  log.info(
    { user: 'alice@example.com', passphrase: PASSPHRASE, body: { newPassphrase: PASSPHRASE, token: TOKEN }, n: 3 },
    'key unlocked',
  );
  log.warn({ setting: 'LDAP_STARTTLS' }, 'cleartext directory');
  return out.text();
}

const PRETTY_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z INFO {2}key unlocked user=alice@example.com /;

describe('log formats', () => {
  // Each way of choosing the format, and what comes out.
  const CASES: { format: LogFormat; tty: boolean; expect: 'json' | 'pretty'; colour: boolean }[] = [
    { format: 'auto', tty: false, expect: 'json', colour: false },
    { format: 'auto', tty: true, expect: 'pretty', colour: true },
    { format: 'json', tty: true, expect: 'json', colour: false },
    { format: 'pretty', tty: false, expect: 'pretty', colour: false },
    { format: 'pretty', tty: true, expect: 'pretty', colour: true },
  ];
  for (const c of CASES)
    test(`${c.format} ${c.tty ? 'on a terminal' : 'into a pipe'}: ${c.expect}${c.colour ? ', coloured' : ''}`, () => {
      const text = logSome(c.format, c.tty);
      const lines = text.trimEnd().split('\n');
      assert.equal(lines.length, 2);
      assert.ok(!text.includes(PASSPHRASE), 'the passphrase is redacted');
      assert.ok(!text.includes(TOKEN), 'the token is redacted');
      assert.equal(text.includes(`${ESC}[`), c.colour);
      if (c.expect === 'json') {
        const first = JSON.parse(lines[0]!) as Record<string, unknown>;
        assert.equal(first.msg, 'key unlocked');
        assert.equal(first.passphrase, '[redacted]');
        assert.deepEqual(first.body, { newPassphrase: '[redacted]', token: '[redacted]' });
      } else {
        const plain = lines.map((l) => l.replaceAll(new RegExp(`${ESC}\\[\\d+m`, 'g'), ''));
        assert.match(plain[0]!, PRETTY_LINE);
        assert.ok(
          plain[0]!.endsWith(' passphrase=[redacted] body={"newPassphrase":"[redacted]","token":"[redacted]"} n=3'),
          plain[0],
        );
        assert.match(plain[1]!, / WARN {2}cleartext directory setting=LDAP_STARTTLS$/);
      }
    });

  test('a readable line cannot be split: newlines in the message and in values are escaped', () => {
    const line = formatLogLine(
      JSON.stringify({ level: 30, time: 0, msg: 'a\nWARN fake entry', who: 'x\ny', text: 'two words' }),
    );
    assert.equal(line.split('\n').length, 2, 'one line and its newline');
    assert.equal(line, '1970-01-01 00:00:00.000Z INFO  "a\\nWARN fake entry" who="x\\ny" text="two words"\n');
  });

  test('an error prints as its type and message, with its code', () => {
    const out = sink(false);
    const err = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    createLogger('info', out.stream, 'pretty').error({ err }, 'pool failed');
    assert.match(out.text(), / ERROR pool failed err="Error: connect ECONNREFUSED" err\.code=ECONNREFUSED\n$/);
  });

  test('an audit checkpoint logged in the readable format can still be read back from the log', () => {
    const key = parseSigningKey(generateSigningKeyPem());
    const cp = signCheckpoint({ seq: 7, hash: 'ab'.repeat(32), entries: 7 }, key);
    const out = sink(true);
    createLogger('info', out.stream, 'pretty').info({ auditCheckpoint: cp }, 'audit checkpoint');
    const parsed = parseCheckpointLine(out.text());
    assert.ok(parsed && 'checkpoint' in parsed, out.text());
    assert.deepEqual(parsed.checkpoint, cp);
  });

  test('SMIME_LOG_FORMAT is a setting: auto by default, json or pretty, nothing else', () => {
    assert.equal(loadConfig({}).SMIME_LOG_FORMAT, 'auto');
    assert.equal(loadConfig({ SMIME_LOG_FORMAT: 'pretty' }).SMIME_LOG_FORMAT, 'pretty');
    assert.throws(() => loadConfig({ SMIME_LOG_FORMAT: 'xml' }), /SMIME_LOG_FORMAT/);
  });
});
