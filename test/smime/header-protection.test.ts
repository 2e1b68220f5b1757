// Header protection (RFC 9788, issue 14): what protectMessage writes with `protectHeaders` (hp="clear" signed,
// hp="cipher" encrypted with HP-Outer and the baseline policy's "[...]" Subject outside), checked by OpenSSL as well
// as by our reader; what the reader reports (protected fields in place of the outer ones, a changed outer field
// flagged, hp="cipher" without encryption read as clear, legacy display parts found); and RFC 9788's own examples.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rejectsWith } from '../helpers/assert.ts';
import { analyzeMessage } from '../../backend/src/smime/message/incoming.ts';
import { protectMessage, type ProtectOptions } from '../../backend/src/smime/message/outgoing.ts';
import { hideLegacyDisplay, readHeaderProtection } from '../../backend/src/smime/message/header-protection.ts';
import { getHeader, parseEntity } from '../../backend/src/smime/mime/index.ts';
import { certificateToPem, pemToDer } from '../../backend/src/smime/x509/pem.ts';
import { FIXTURE_CA_PEM, fixtureRsaSigner, outgoingMessage } from '../fixtures/outgoing/signers.ts';

const rsa = fixtureRsaSigner();
const NOW = new Date('2026-12-01T00:00:00Z');
const anchors = pemToDer(FIXTURE_CA_PEM);
const keys = async () => [{ keyId: 'k1', certificate: rsa.certificate, privateKey: rsa.privateKey }];

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'smime-hp-'));
  writeFileSync(join(work, 'ca.pem'), FIXTURE_CA_PEM);
  writeFileSync(join(work, 'rsa.crt'), certificateToPem(rsa.certificate));
  writeFileSync(join(work, 'rsa.key'), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
});
after(() => rmSync(work, { recursive: true, force: true }));

function openssl(args: string[], input: Uint8Array): { ok: boolean; out: Buffer; err: string } {
  const r = spawnSync('openssl', ['cms', ...args], { input, maxBuffer: 1 << 28, timeout: 30_000 });
  return { ok: r.status === 0, out: r.stdout, err: r.stderr.toString() };
}

const MESSAGE = Buffer.from(
  [
    'From: RSA Test User <rsa-user@example.com>',
    'To: Bob <bob@example.com>',
    'Cc: carol@example.com',
    'Bcc: dave@example.com',
    'Subject: The quarterly figures',
    'Keywords: finance',
    'Comments: internal only',
    'Date: Mon, 23 Nov 2026 10:05:00 +0000',
    'Message-ID: <hp-test@example.com>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'The figures are in.',
    '',
  ].join('\r\n'),
);

const signOnly: ProtectOptions = { sign: { signer: rsa }, protectHeaders: true };
const signAndEncrypt: ProtectOptions = {
  sign: { signer: rsa },
  encrypt: { recipients: [{ certificate: rsa.certificate }] },
  protectHeaders: true,
};

const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

describe('header protection: writing (RFC 9788 section 2)', { timeout: 60_000 }, () => {
  test('signed only: the fields go inside with hp="clear", the outside stays, OpenSSL verifies', async () => {
    const out = await protectMessage(MESSAGE, signOnly);
    const message = parseEntity(out);
    assert.equal(getHeader(message, 'subject'), 'The quarterly figures', 'nothing is hidden in a signed-only message');
    assert.equal(getHeader(message, 'keywords'), 'finance');
    assert.equal(getHeader(message, 'bcc'), undefined);
    const verified = openssl(['-verify', '-CAfile', join(work, 'ca.pem')], out);
    assert.ok(verified.ok, verified.err);
    const payload = parseEntity(verified.out);
    assert.equal(payload.contentType.params['hp'], 'clear');
    assert.equal(getHeader(payload, 'subject'), 'The quarterly figures');
    assert.equal(getHeader(payload, 'from'), 'RSA Test User <rsa-user@example.com>');
    assert.equal(getHeader(payload, 'message-id'), '<hp-test@example.com>');
    assert.equal(getHeader(payload, 'bcc'), undefined, 'a Bcc inside would show blind recipients to everyone');
    assert.equal(getHeader(payload, 'hp-outer'), undefined, 'HP-Outer is for encrypted messages only');
    assert.match(text(verified.out), /\r\n\r\nThe figures are in\.\r\n/);
  });

  test('signed and encrypted: hp="cipher", HP-Outer, the outer Subject "[...]", Keywords and Comments gone; OpenSSL decrypts and verifies', async () => {
    const out = await protectMessage(MESSAGE, signAndEncrypt);
    const message = parseEntity(out);
    assert.equal(getHeader(message, 'subject'), '[...]');
    assert.equal(getHeader(message, 'keywords'), undefined);
    assert.equal(getHeader(message, 'comments'), undefined);
    assert.equal(getHeader(message, 'from'), 'RSA Test User <rsa-user@example.com>', 'relays need From, To, Cc');
    assert.equal(getHeader(message, 'to'), 'Bob <bob@example.com>');
    assert.ok(!text(out).includes('quarterly'), 'the real Subject is nowhere outside the ciphertext');
    const decrypted = openssl(['-decrypt', '-recip', join(work, 'rsa.crt'), '-inkey', join(work, 'rsa.key')], out);
    assert.ok(decrypted.ok, decrypted.err);
    const verified = openssl(['-verify', '-CAfile', join(work, 'ca.pem')], decrypted.out);
    assert.ok(verified.ok, verified.err);
    const payload = parseEntity(verified.out);
    assert.equal(payload.contentType.params['hp'], 'cipher');
    assert.equal(getHeader(payload, 'subject'), 'The quarterly figures');
    assert.equal(getHeader(payload, 'keywords'), 'finance', 'what is removed outside is kept inside');
    const hpOuter = payload.headers.filter((h) => h.name.toLowerCase() === 'hp-outer').map((h) => h.value);
    assert.deepEqual(hpOuter, [
      'From: RSA Test User <rsa-user@example.com>',
      'To: Bob <bob@example.com>',
      'Cc: carol@example.com',
      'Subject: [...]',
      'Date: Mon, 23 Nov 2026 10:05:00 +0000',
      'Message-ID: <hp-test@example.com>',
    ]);
  });

  test('without protectHeaders nothing changes: no hp, no fields inside, the Subject outside', async () => {
    const out = await protectMessage(MESSAGE, { sign: { signer: rsa }, encrypt: signAndEncrypt.encrypt! });
    assert.equal(getHeader(parseEntity(out), 'subject'), 'The quarterly figures');
    const a = await analyzeMessage(out, { verify: { trustAnchors: anchors, now: NOW }, keys });
    assert.equal(a.headerProtection, undefined);
  });

  test('a body that is already multipart/signed cannot take an hp parameter: OUTGOING_INVALID_OPTION', async () => {
    const signed = await protectMessage(MESSAGE, { sign: { signer: rsa } });
    await rejectsWith(protectMessage(signed, signOnly), 'OUTGOING_INVALID_OPTION');
    await rejectsWith(
      protectMessage(MESSAGE, { sign: { signer: rsa }, protectHeaders: 1 as never }),
      'OUTGOING_INVALID_OPTION',
    );
  });

  test('a multipart message with an attachment keeps its structure inside the payload', async () => {
    const out = await protectMessage(outgoingMessage('mixed-attachment.eml'), signAndEncrypt);
    const a = await analyzeMessage(out, { verify: { trustAnchors: anchors, now: NOW }, keys });
    assert.deepEqual(
      a.layers.map((l) => l.status),
      ['decrypted', 'valid'],
    );
    const payload = parseEntity(a.content);
    assert.equal(payload.contentType.mediaType, 'multipart/mixed');
    assert.equal(payload.children.length, 2);
    assert.equal(a.headerProtection?.mode, 'cipher');
  });
});

describe('header protection: reading (RFC 9788 section 4)', { timeout: 60_000 }, () => {
  test('our own signed and encrypted message: the protected fields, the HP-Outer copy, no mismatch', async () => {
    const out = await protectMessage(MESSAGE, signAndEncrypt);
    const a = await analyzeMessage(out, { verify: { trustAnchors: anchors, now: NOW }, keys });
    assert.deepEqual(
      a.layers.map((l) => l.status),
      ['decrypted', 'valid'],
    );
    const hp = a.headerProtection!;
    assert.equal(hp.mode, 'cipher');
    const subject = hp.fields.find((f) => f.name.toLowerCase() === 'subject');
    assert.equal(subject?.value, 'The quarterly figures');
    assert.ok(hp.outer?.some((f) => f.name === 'Subject' && f.value === '[...]'));
    assert.deepEqual(hp.mismatches, []);
    assert.deepEqual(hp.legacyDisplay, []);
  });

  test("an outer field changed on the way is flagged: a signed-only Subject, an encrypted message's Cc", async () => {
    const signed = text(await protectMessage(MESSAGE, signOnly));
    const altered = Buffer.from(
      signed.replace('Subject: The quarterly figures', 'Subject: Pay this invoice'),
      'latin1',
    );
    const a = await analyzeMessage(altered, { verify: { trustAnchors: anchors, now: NOW }, keys });
    assert.equal(a.layers[0]!.status, 'valid', 'the signature does not cover the outer header');
    assert.equal(a.headerProtection?.mode, 'clear');
    assert.deepEqual(a.headerProtection?.mismatches, [
      { field: 'subject', outer: 'Pay this invoice', expected: 'The quarterly figures' },
    ]);

    // A replay with an added Cc (RFC 9788 section 10: a reply would go to the attacker too).
    const encrypted = text(await protectMessage(MESSAGE, signAndEncrypt));
    const replayed = Buffer.from(
      encrypted.replace('Cc: carol@example.com', 'Cc: carol@example.com, mallory@example.org'),
      'latin1',
    );
    const b = await analyzeMessage(replayed, { verify: { trustAnchors: anchors, now: NOW }, keys });
    assert.equal(b.headerProtection?.mode, 'cipher');
    assert.deepEqual(b.headerProtection?.mismatches, [
      { field: 'cc', outer: 'carol@example.com, mallory@example.org', expected: 'carol@example.com' },
    ]);
  });

  test('hp="cipher" in a message that was only signed is read as clear (RFC 9788 section 4.2)', () => {
    const outer = parseEntity(Buffer.from('From: a@example.com\r\nSubject: [...]\r\n\r\n'));
    const payload = parseEntity(
      Buffer.from('From: a@example.com\r\nSubject: Real\r\nContent-Type: text/plain; hp="cipher"\r\n\r\nbody\r\n'),
    );
    const hp = readHeaderProtection(outer, payload, false)!;
    assert.equal(hp.mode, 'clear');
    assert.deepEqual(hp.mismatches, [{ field: 'subject', outer: '[...]', expected: 'Real' }]);
  });

  test('no hp parameter: no header protection, even with header fields in the payload', () => {
    const outer = parseEntity(Buffer.from('From: a@example.com\r\n\r\n'));
    const payload = parseEntity(Buffer.from('Subject: x\r\nContent-Type: text/plain\r\n\r\nbody\r\n'));
    assert.equal(readHeaderProtection(outer, payload, true), undefined);
  });
});

describe("RFC 9788's own examples", { timeout: 60_000 }, () => {
  // Appendix C.3.1.2: the payload of smime-signed-enc-hp-baseline once both layers are off, with its outer header
  // (the same fields, the Subject obscured).
  const RFC_PAYLOAD = [
    'MIME-Version: 1.0',
    'Content-Transfer-Encoding: 7bit',
    'Subject: smime-signed-enc-hp-baseline',
    'Message-ID: <smime-signed-enc-hp-baseline@example>',
    'From: Alice <alice@smime.example>',
    'To: Bob <bob@smime.example>',
    'Date: Sat, 20 Feb 2021 10:09:02 -0500',
    'User-Agent: Sample MUA Version 1.0',
    'HP-Outer: Subject: [...]',
    'HP-Outer: Message-ID: <smime-signed-enc-hp-baseline@example>',
    'HP-Outer: From: Alice <alice@smime.example>',
    'HP-Outer: To: Bob <bob@smime.example>',
    'HP-Outer: Date: Sat, 20 Feb 2021 10:09:02 -0500',
    'HP-Outer: User-Agent: Sample MUA Version 1.0',
    'Content-Type: text/plain; charset="utf-8"; hp="cipher"',
    '',
    'This is the',
    'smime-signed-enc-hp-baseline',
    'message.',
    '',
  ].join('\r\n');
  const RFC_OUTER = [
    'Subject: [...]',
    'Message-ID: <smime-signed-enc-hp-baseline@example>',
    'From: Alice <alice@smime.example>',
    'To: Bob <bob@smime.example>',
    'Date: Sat, 20 Feb 2021 10:09:02 -0500',
    'User-Agent: Sample MUA Version 1.0',
    'MIME-Version: 1.0',
    'Content-Type: application/pkcs7-mime; smime-type="enveloped-data"',
    '',
    '',
  ].join('\r\n');

  test('C.3.1.2 smime-signed-enc-hp-baseline: the protected Subject, six HP-Outer fields, no mismatch', () => {
    const hp = readHeaderProtection(parseEntity(Buffer.from(RFC_OUTER)), parseEntity(Buffer.from(RFC_PAYLOAD)), true)!;
    assert.equal(hp.mode, 'cipher');
    assert.equal(hp.fields.find((f) => f.name === 'Subject')?.value, 'smime-signed-enc-hp-baseline');
    assert.equal(hp.fields.find((f) => f.name === 'User-Agent')?.value, 'Sample MUA Version 1.0');
    assert.ok(!hp.fields.some((f) => /^(content-type|mime-version|content-transfer-encoding)$/i.test(f.name)));
    assert.equal(hp.outer?.length, 6);
    assert.deepEqual(hp.mismatches, []);
  });

  test('C.3.1.2 with the outer From replaced: a From mismatch (RFC 9788 section 10.1)', () => {
    const spoofed = RFC_OUTER.replace('From: Alice <alice@smime.example>', 'From: Alice <mallory@example.org>');
    const hp = readHeaderProtection(parseEntity(Buffer.from(spoofed)), parseEntity(Buffer.from(RFC_PAYLOAD)), true)!;
    assert.deepEqual(
      hp.mismatches.map((m) => m.field),
      ['from'],
    );
  });

  test('Appendix E.1: a text/plain part marked hp-legacy-display="1" is reported as a legacy display part', () => {
    const payload = readFileSync(new URL('../fixtures/hp/legacy-display-text.eml', import.meta.url));
    const outer = parseEntity(Buffer.from('From: Alice <alice@example.net>\r\nSubject: [...]\r\n\r\n'));
    const hp = readHeaderProtection(outer, parseEntity(payload), true)!;
    assert.deepEqual(hp.legacyDisplay, [[]]);
    assert.equal(hp.fields.find((f) => f.name === 'Subject')?.value, 'Dinner plans');
  });

  const legacy = (name: string) => readFileSync(new URL(`../fixtures/hp/${name}`, import.meta.url));

  test('Appendix E.1 and E.2: the legacy display element is left out of what is shown, the rest stays byte for byte', () => {
    for (const [name, kept, gone] of [
      [
        'legacy-display-text.eml',
        "Let's meet at Rama's Roti Shop at 8pm and go to the park\r\nfrom there.\r\n",
        'Subject: Dinner',
      ],
      ['legacy-display-html.eml', '<p>\r\nLet', '<pre>Subject: Dinner plans</pre>'],
    ] as const) {
      const bytes = legacy(name);
      const payload = parseEntity(bytes);
      const hp = readHeaderProtection(parseEntity(Buffer.from('Subject: [...]\r\n\r\n')), payload, true)!;
      const shown = text(hideLegacyDisplay(bytes, payload, hp.legacyDisplay));
      const body = shown.slice(shown.indexOf('\r\n\r\n') + 4);
      assert.ok(!body.includes(gone), `${name}: ${body}`);
      assert.ok(body.includes(kept), `${name}: ${body}`);
      assert.equal(shown.slice(0, shown.indexOf('\r\n\r\n')), text(bytes).slice(0, text(bytes).indexOf('\r\n\r\n')));
    }
  });

  test('a signed message carrying E.1 (signed by OpenSSL): analyzeMessage shows the body without the legacy lines', async () => {
    writeFileSync(join(work, 'legacy.eml'), legacy('legacy-display-text.eml'));
    const r = spawnSync(
      'openssl',
      [
        'cms',
        '-sign',
        '-binary',
        '-signer',
        join(work, 'rsa.crt'),
        '-inkey',
        join(work, 'rsa.key'),
        '-in',
        join(work, 'legacy.eml'),
      ],
      { timeout: 30_000 },
    );
    assert.equal(r.status, 0, r.stderr.toString());
    const message = Buffer.concat([
      Buffer.from('From: Alice <alice@example.net>\r\nTo: Bob <bob@example.net>\r\nSubject: Dinner plans\r\n'),
      Buffer.from(text(r.stdout).replace(/\r?\n/g, '\r\n'), 'latin1'),
    ]);
    const a = await analyzeMessage(message, { verify: { trustAnchors: anchors, now: NOW }, keys });
    assert.equal(a.layers[0]!.status, 'email-mismatch', 'signed by the fixture key, not by alice@example.net');
    assert.equal(a.headerProtection?.mode, 'clear', 'hp="cipher" but nothing was encrypted');
    assert.deepEqual(a.headerProtection?.legacyDisplay, [[]]);
    const shown = text(a.content);
    assert.ok(!shown.slice(shown.indexOf('\r\n\r\n')).includes('Subject: Dinner plans'), shown);
    assert.ok(shown.includes("Let's meet at Rama's Roti Shop"), shown);
  });
});
