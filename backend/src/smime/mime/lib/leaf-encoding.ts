// Choosing and applying a transfer encoding for one leaf body (RFC 8551 sections 3.1.1 to 3.1.3). Internal.
import { encodeBase64Lines, encodeQuotedPrintable } from '../transfer-encoding.ts';
import { canonicalizeLineEndings, isTransportSafe, scanBody } from './body-scan.ts';

export interface EncodedLeaf {
  encoding: '7bit' | 'quoted-printable' | 'base64';
  body: Uint8Array;
}

/**
 * Text (RFC 8551 section 3.1.1): line endings to CRLF, then 7bit when the text is safe as it is, else
 * quoted-printable. Other data: 7bit only when it is already safe CRLF text, else base64, byte for byte.
 */
export function encodeLeaf(content: Uint8Array, isText: boolean): EncodedLeaf {
  if (isText) {
    const canonical = canonicalizeLineEndings(content);
    if (isTransportSafe(scanBody(canonical))) return { encoding: '7bit', body: canonical };
    return { encoding: 'quoted-printable', body: encodeQuotedPrintable(canonical) };
  }
  const scan = scanBody(content);
  if (isTransportSafe(scan) && !scan.bareLf) return { encoding: '7bit', body: content };
  return { encoding: 'base64', body: encodeBase64Lines(content) };
}
