// Canonical form before signing (RFC 8551 sections 3.1 and 3.1.1, issue 3): a message with an 8-bit UTF-8 body, LF
// line endings, trailing whitespace, a `From ` line and a 1200-character line is signed; OpenSSL verifies it; and it
// still verifies after what relays do to the outer message (CRLF to LF and back, whitespace at line ends stripped),
// because the signed part is 7-bit quoted-printable already. A control shows the relay really changed bytes and
// that a change inside the signed part is caught.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeBody, parseEntity, splitMessageHeaders, toSignable } from '../../backend/src/smime/mime/index.ts';
import { protectMessage } from '../../backend/src/smime/message/outgoing.ts';
import { FIXTURE_CA_PEM, fixtureEcSigner, fixtureRsaSigner, outgoingMessage } from '../fixtures/outgoing/signers.ts';

// The fixture, plus a transport field with trailing whitespace: it stays outside, unsigned, and relays may strip it.
const INPUT = Buffer.concat([Buffer.from('X-Note: spaces at the end   \n'), outgoingMessage('utf8-lf.eml')]);
const CANONICAL = Buffer.from(toSignable(splitMessageHeaders(INPUT).entity));

let ca: string;
let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'smime-canonical-'));
  ca = join(work, 'ca.pem');
  writeFileSync(ca, FIXTURE_CA_PEM);
});
after(() => rmSync(work, { recursive: true, force: true }));

function verify(message: Uint8Array): { ok: boolean; content: Buffer; err: string } {
  const r = spawnSync('openssl', ['cms', '-verify', '-CAfile', ca], { input: message });
  return { ok: r.status === 0, content: r.stdout, err: r.stderr.toString() };
}

/**
 * What relays do to a whole message: CRLF to LF and back, and whitespace at the end of every line stripped.
 * `changes`: whether the relay alters our output at all (the CRLF round trip is the identity on a CRLF-only message).
 */
const RELAYS: { label: string; changes: boolean; apply: (text: string) => string }[] = [
  { label: 'CRLF -> LF', changes: true, apply: (t) => t.replace(/\r\n/g, '\n') },
  { label: 'CRLF -> LF -> CRLF', changes: false, apply: (t) => t.replace(/\r\n/g, '\n').replace(/\n/g, '\r\n') },
  { label: 'trailing whitespace stripped', changes: true, apply: (t) => t.replace(/[ \t]+(?=\r?\n)/g, '') },
  {
    label: 'all of it',
    changes: true,
    apply: (t) =>
      t
        .replace(/\r\n/g, '\n')
        .replace(/[ \t]+$/gm, '')
        .replace(/\n/g, '\r\n'),
  },
];

test('the fixture really is hostile: 8-bit, LF only, trailing whitespace, a 1200-character line, a From line', () => {
  const text = INPUT.toString('utf8');
  assert.ok(!text.includes('\r'), 'LF only');
  assert.match(text, /[\u0080-\u{10ffff}]/u, '8-bit UTF-8');
  assert.match(text, /\u{1f389}/u, 'an emoji');
  assert.match(text, /[ \t]\n/, 'trailing whitespace');
  assert.match(text, /^From /m, 'a From line');
  assert.ok(
    text.split('\n').some((l) => l.length >= 1200),
    'a 1200-character line',
  );
  assert.match(text, /\n\n[^]*[ \t]\n/, 'trailing whitespace in the body, not only in a header');
});

describe('signed, then mangled by relays: still verifies', () => {
  for (const [label, signer] of [
    ['RSA', fixtureRsaSigner()],
    ['EC P-256', fixtureEcSigner()],
  ] as const) {
    for (const format of ['multipart-signed', 'opaque'] as const) {
      test(`${label}, ${format}`, async () => {
        const out = Buffer.from(await protectMessage(INPUT, { sign: { signer, format } }));
        // What is signed is 7-bit, CRLF, no trailing whitespace, lines within 76 (quoted-printable soft breaks).
        const signedBytes = format === 'multipart-signed' ? Buffer.from(parseEntity(out).children[0]!.raw) : CANONICAL;
        assert.ok(signedBytes.equals(CANONICAL));
        const text = CANONICAL.toString('latin1');
        assert.ok(!/[\x80-\xff]/.test(text) && !/[ \t]\r\n/.test(text) && !/\r\nFrom /.test(text));
        assert.ok(text.split('\r\n').every((l) => l.length <= 76));
        assert.match(text, /Content-Transfer-Encoding: quoted-printable/);
        // ... and says the same as the host's text, with CRLF line breaks.
        const decoded = Buffer.from(decodeBody(parseEntity(CANONICAL))).toString('utf8');
        const original = INPUT.toString('utf8').split('\n\n').slice(1).join('\n\n');
        assert.equal(decoded, original.replace(/\n/g, '\r\n'));

        const direct = verify(out);
        assert.ok(direct.ok, direct.err);
        assert.ok(direct.content.equals(CANONICAL), 'OpenSSL outputs exactly the canonical content');

        for (const relay of RELAYS) {
          const mangled = Buffer.from(relay.apply(out.toString('latin1')), 'latin1');
          assert.equal(!mangled.equals(out), relay.changes, `${relay.label} changes the message`);
          const r = verify(mangled);
          assert.ok(r.ok, `${relay.label}: ${r.err}`);
          // OpenSSL reads the signed part line by line and re-terminates with CRLF, so the content is the same.
          assert.ok(r.content.equals(CANONICAL), relay.label);
        }
      });
    }
  }

  test('control: without canonical form a relay would break the signature; a changed signed byte is caught', async () => {
    // What a signer that skipped canonicalisation would sign: the host's entity with CRLF line endings. A relay
    // strips its trailing whitespace, so its signature would break; our signed part has nothing to strip.
    const naive = Buffer.from(
      Buffer.from(splitMessageHeaders(INPUT).entity).toString('latin1').replace(/\n/g, '\r\n'),
      'latin1',
    );
    const relay = RELAYS[3]!.apply;
    assert.notEqual(relay(naive.toString('latin1')), naive.toString('latin1'));
    assert.equal(relay(CANONICAL.toString('latin1')), CANONICAL.toString('latin1'));

    const out = Buffer.from(await protectMessage(INPUT, { sign: { signer: fixtureRsaSigner() } }));
    const i = out.indexOf('Gr=C3=BC=C3=9Fe aus K=C3=B6ln');
    assert.ok(i > out.indexOf('\r\n\r\n'), 'found in the body, not in the encoded-word Subject');
    const tampered = Buffer.from(out);
    tampered[i] = 'g'.charCodeAt(0);
    assert.ok(!verify(tampered).ok, 'a changed byte in the signed part must not verify');
  });
});
