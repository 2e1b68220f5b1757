/** The test message of the S/MIME benchmarks (smime.ts, smime-rate.ts). */
import { randomBytes } from 'node:crypto';

/** A test message: a short text part and a random attachment of `size` bytes, base64 in 76-character lines. */
export function benchMessage(size: number): Buffer {
  const attachment = randomBytes(size).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    'From: alice@example.com\r\nTo: bob@example.com\r\nSubject: bench\r\nMIME-Version: 1.0\r\n' +
      'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n' +
      '--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
      attachment +
      '\r\n--b1--\r\n',
  );
}
