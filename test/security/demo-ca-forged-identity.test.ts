/**
 * Attack: a forged identity from the demo CA. In demo mode the server trusts the demo CA, and the CA's private key
 * lies in the data folder (SMIME_DATA_DIR/demo), where a copied data folder, a backup or another local user can take
 * it. Until issue 12 the CA could certify any address: with its key, an attacker made a certificate for
 * ceo@bank.example, signed mail with it, and the server showed that mail as validly signed by the CEO (and harvested
 * the certificate as the CEO's, for encrypting to them).
 *
 * Defence: the demo CA is name-constrained to demo.example (RFC 5280 section 4.2.1.10: a critical nameConstraints
 * with the permitted rfc822Name subtree "demo.example", backend/src/demo/pki.ts and seed.ts), and the engine enforces
 * name constraints on every certificate below a CA, trust anchors included (backend/src/smime/x509/chain.ts with
 * lib/name-constraints.ts): a certificate outside the subtree fails the chain. The demo issues certificates for demo
 * addresses only.
 *
 * What the test proves: against a real demo server (`npm start` with nothing configured), the CA it created states
 * the constraint; a message signed with a certificate the stolen key made for ceo@bank.example is reported untrusted
 * through POST /api/v1/messages/incoming, naming the name constraints, and its certificate is not harvested; a
 * certificate the same key made for a demo address verifies as valid (sanity: the check can see a pass).
 */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { issueUser, loadCa, type DemoCa } from '../../backend/src/demo/pki.ts';
import { demoCaPaths } from '../../backend/src/demo/seed.ts';
import { protectMessage } from '../../backend/src/smime/message/outgoing.ts';
import { parsedCertificate } from '../../backend/src/smime/x509/certificate.ts';
import { startDemoServer, type DemoServer } from '../e2e/server.ts';

function mail(from: string, text: string): Uint8Array {
  return Buffer.from(
    `From: ${from}\r\nTo: bob@demo.example\r\nSubject: wire the money\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\n\r\n${text}\r\n`,
  );
}

async function signedBy(ca: DemoCa, email: string): Promise<Uint8Array> {
  const issued = await issueUser(ca, { name: email, email });
  const signer = {
    certificate: issued.certificate,
    chain: [ca.certificate],
    privateKey: createPrivateKey({ key: Buffer.from(issued.pkcs8), format: 'der', type: 'pkcs8' }),
  };
  return protectMessage(mail(email, `Please wire 1,000,000 EUR. -- ${email}`), { sign: { signer } });
}

describe('a forged identity from the demo CA', { concurrency: false, timeout: 600_000 }, () => {
  let srv: DemoServer;
  let ca: DemoCa;
  let bob: string;

  before(async () => {
    srv = await startDemoServer();
    // What an attacker with a copy of the data folder has: the CA certificate and its private key.
    const p = demoCaPaths(srv.dataDir);
    const pem = readFileSync(p.certificate, 'utf8');
    ca = await loadCa(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'), readFileSync(p.key));
    const login = await fetch(`${srv.url}/demo/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bob@demo.example' }),
    });
    bob = ((await login.json()) as { token: string }).token;
  });
  after(async () => {
    await srv?.stop();
  });

  const read = async (raw: Uint8Array) => {
    const r = await fetch(`${srv.url}/api/v1/messages/incoming`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bob}`, 'content-type': 'message/rfc822' },
      body: new Blob([new Uint8Array(raw)]),
    });
    assert.equal(r.status, 200);
    return (await r.json()) as {
      layers: {
        kind: string;
        status: string;
        signatures?: { status: string; checks: { name: string; outcome: string; detail: string }[] }[];
      }[];
      harvested: unknown[];
    };
  };

  test('the demo CA states its name constraint: demo.example only', () => {
    const facts = parsedCertificate(new Uint8Array(ca.certificate));
    assert.ok(facts?.nameConstraints, 'the demo CA has nameConstraints');
    assert.deepEqual(
      facts.nameConstraints.permitted.map((s) => s.value),
      ['demo.example'],
    );
    assert.deepEqual(facts.nameConstraints.excluded, []);
  });

  test('mail signed with a certificate the stolen key made for another domain is untrusted, and not harvested', async () => {
    const body = await read(await signedBy(ca, 'ceo@bank.example'));
    const layer = body.layers.find((l) => l.kind === 'signed');
    assert.ok(layer, JSON.stringify(body));
    assert.equal(layer.status, 'untrusted', JSON.stringify(layer));
    const chain = layer.signatures![0]!.checks.find((c) => c.name === 'chain')!;
    assert.equal(chain.outcome, 'fail');
    assert.match(chain.detail, /ceo@bank\.example is outside the permitted subtrees \(rfc822Name:demo\.example\)/);
    assert.deepEqual(body.harvested, []);
  });

  test('sanity: a certificate the same key made for a demo address verifies', async () => {
    const body = await read(await signedBy(ca, 'erin@demo.example'));
    assert.equal(body.layers.find((l) => l.kind === 'signed')?.status, 'valid', JSON.stringify(body));
  });
});
