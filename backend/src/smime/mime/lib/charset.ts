// Charset decoding for RFC 2047 encoded words and RFC 2231 parameter values. Internal.
import { latin1 } from './bytes.ts';

const decoders = new Map<string, TextDecoder | null>();

/**
 * Decodes `bytes` in the named charset. An unknown or unsupported charset falls back to latin1, which keeps every
 * byte (RFC 2047 section 6.2 lets a reader show such words undecoded; losing bytes would be worse).
 */
export function decodeCharset(bytes: Uint8Array, charset: string): string {
  const label = charset.trim().toLowerCase();
  if (label === '' || label === 'us-ascii' || label === 'ascii') return latin1(bytes);
  let decoder = decoders.get(label);
  if (decoder === undefined) {
    try {
      decoder = new TextDecoder(label);
    } catch {
      decoder = null;
    }
    // Bounded: labels come from messages, and a crafted message could carry thousands of different ones.
    if (decoders.size < 64) decoders.set(label, decoder);
  }
  return decoder === null ? latin1(bytes) : decoder.decode(bytes);
}
