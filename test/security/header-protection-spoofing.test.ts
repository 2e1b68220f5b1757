// Attacks on header protection (RFC 9788, issue 14): protected headers are believed only where a layer protects
// them. An unprotected message that declares hp="clear", or a signed part with protected headers placed beside
// unprotected text, must not make the reader show "protected" fields; a changed outer field of a real protected
// message must be flagged, never silently preferred.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyzeMessage } from '../../backend/src/smime/message/incoming.ts';
import { protectMessage } from '../../backend/src/smime/message/outgoing.ts';
import { pemToDer } from '../../backend/src/smime/x509/pem.ts';
import { FIXTURE_CA_PEM, fixtureRsaSigner } from '../fixtures/outgoing/signers.ts';

const rsa = fixtureRsaSigner();
const NOW = new Date('2026-12-01T00:00:00Z');
const options = {
  verify: { trustAnchors: pemToDer(FIXTURE_CA_PEM), now: NOW },
  keys: async () => [{ keyId: 'k', certificate: rsa.certificate, privateKey: rsa.privateKey }],
};
const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'), 'latin1');

describe('header protection cannot be faked', { timeout: 60_000 }, () => {
  test('an unprotected message declaring hp="clear" gets no headerProtection', async () => {
    const forged = crlf([
      'From: mallory@example.org',
      'Subject: Urgent',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; hp="clear"',
      '',
      'body',
      '',
    ]);
    const a = await analyzeMessage(forged, options);
    assert.deepEqual(a.layers, []);
    assert.equal(a.headerProtection, undefined);
  });

  test('a signed part with protected headers beside unprotected text protects nothing of the message', async () => {
    const signed = await protectMessage(
      crlf([
        'From: RSA Test User <rsa-user@example.com>',
        'To: bob@example.com',
        'Subject: Genuine',
        'MIME-Version: 1.0',
        'Content-Type: text/plain',
        '',
        'genuine text',
        '',
      ]),
      { sign: { signer: rsa }, protectHeaders: true },
    );
    const signedPart = Buffer.from(signed).subarray(Buffer.from(signed).indexOf('Content-Type: multipart/signed'));
    const wrapper = Buffer.concat([
      crlf([
        'From: RSA Test User <rsa-user@example.com>',
        'Subject: Pay mallory',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="w"',
        '',
        '--w',
        'Content-Type: text/plain',
        '',
        'Pay mallory now.',
        '--w',
        '',
      ]),
      signedPart,
      crlf(['', '--w--', '']),
    ]);
    const a = await analyzeMessage(wrapper, options);
    assert.deepEqual(a.layers, [], 'the message itself is not protected');
    assert.equal(a.parts.length, 1, `the signed part is reported on its own: ${JSON.stringify(a.parts)}`);
    assert.equal(a.headerProtection, undefined, "the part's protected Subject is not the message's");
  });

  test('a protected message whose outer Subject was changed: the change is flagged, the protected one is reported', async () => {
    const signed = Buffer.from(
      await protectMessage(
        crlf([
          'From: RSA Test User <rsa-user@example.com>',
          'Subject: Lunch at noon',
          'MIME-Version: 1.0',
          'Content-Type: text/plain',
          '',
          'see you',
          '',
        ]),
        { sign: { signer: rsa }, protectHeaders: true },
      ),
    ).toString('latin1');
    const altered = Buffer.from(signed.replace('Subject: Lunch at noon', 'Subject: Wire the money today'));
    const a = await analyzeMessage(altered, options);
    assert.equal(a.layers[0]!.status, 'valid');
    const hp = a.headerProtection!;
    assert.equal(hp.fields.find((f) => f.name === 'Subject')?.value, 'Lunch at noon');
    assert.deepEqual(hp.mismatches, [{ field: 'subject', outer: 'Wire the money today', expected: 'Lunch at noon' }]);
  });
});
