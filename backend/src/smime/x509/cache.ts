// Memoisation of what is read from a certificate's DER (issue 6): the same few certificates (the sender's, the
// recipients') come back for every message, and parsing one with asn1js costs more than the RSA signature itself. The
// values are derived from the bytes alone, so a cached value is exactly what parsing again would give. Internal.

/**
 * Certificates remembered per cache: enough for the working set of a busy server (each user's own certificate and
 * their frequent correspondents), small enough that a flood of distinct certificates costs a bounded few MB.
 */
export const CERTIFICATE_CACHE_ENTRIES = 512;

/** A least-recently-used map from certificate DER to a value computed from it. */
export class CertificateCache<V> {
  readonly #entries = new Map<string, V>();
  /**
   * The same Uint8Array passed again (a certificate object the caller keeps): found without building the string key,
   * after comparing its bytes with a copy, so a caller that changed the bytes in place gets a fresh value.
   */
  readonly #byObject = new WeakMap<Uint8Array, { bytes: Buffer; value: V }>();
  readonly #limit: number;

  constructor(limit: number = CERTIFICATE_CACHE_ENTRIES) {
    this.#limit = limit;
  }

  /** The value for `der`, computed by `make` when absent; a `make` that throws caches nothing. */
  get(der: Uint8Array, make: () => V): V {
    const view = Buffer.from(der.buffer, der.byteOffset, der.length);
    const known = this.#byObject.get(der);
    if (known !== undefined && known.bytes.equals(view)) return known.value;
    const key = view.toString('latin1');
    let value = this.#entries.get(key);
    if (value !== undefined) {
      // Move to the most recent end: Map keeps insertion order.
      this.#entries.delete(key);
    } else {
      value = make();
      if (this.#entries.size >= this.#limit) this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(key, value);
    this.#byObject.set(der, { bytes: Buffer.from(view), value });
    return value;
  }
}
