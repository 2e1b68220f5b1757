// A 25 MB attachment (issue 3): signs in both forms, and OpenSSL verifies the result and hands back the content. No
// timing assertion: this is about the opaque form writing a 34 MB eContent without an ASN.1 tree around it, and about
// the detached form not choking on a large first part. (bench/smime.ts measures time and memory.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { splitMessageHeaders, toSignable } from '../../backend/src/smime/mime/index.ts';
import { protectMessage } from '../../backend/src/smime/message/outgoing.ts';
import { FIXTURE_CA_PEM, fixtureRsaSigner } from '../fixtures/outgoing/signers.ts';

const ATTACHMENT_BYTES = 25 * 1024 * 1024;

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'smime-large-'));
  writeFileSync(join(work, 'ca.pem'), FIXTURE_CA_PEM);
});
after(() => rmSync(work, { recursive: true, force: true }));

function message(): Buffer {
  const attachment = randomBytes(ATTACHMENT_BYTES).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    'From: rsa-user@example.com\r\nTo: bob@example.com\r\nSubject: large\r\nMIME-Version: 1.0\r\n' +
      'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nThe file.\r\n' +
      '--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n' +
      'Content-Disposition: attachment; filename="large.bin"\r\n\r\n' +
      `${attachment}\r\n--b1--\r\n`,
  );
}

test('a 25 MB attachment signs, detached and opaque, and OpenSSL verifies both', async () => {
  const input = message();
  const canonical = Buffer.from(toSignable(splitMessageHeaders(input).entity));
  assert.ok(canonical.length > 34_000_000);
  for (const format of ['multipart-signed', 'opaque'] as const) {
    const out = await protectMessage(input, { sign: { signer: fixtureRsaSigner(), format } });
    assert.ok(out.length > canonical.length);
    const r = spawnSync('openssl', ['cms', '-verify', '-CAfile', join(work, 'ca.pem')], {
      input: out,
      maxBuffer: 1 << 27,
    });
    assert.equal(r.status, 0, `${format}: ${r.stderr.toString()}`);
    assert.ok(r.stdout.equals(canonical), `${format}: OpenSSL hands back the canonical content`);
  }
});
