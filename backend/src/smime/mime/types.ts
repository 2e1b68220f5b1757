// The data model of the MIME layer. Every byte array in a parsed entity is a view (subarray) of the caller's input:
// nothing is copied, normalised or re-encoded, so a signature can be checked over exactly the bytes that arrived.
// Treat all of them as read-only.

/** One header field (RFC 5322 section 2.2). */
export interface MimeHeader {
  /** The field name as written (case kept; whitespace before the colon removed). Compare case-insensitively. */
  readonly name: string;
  /**
   * The field body, unfolded (RFC 5322 section 2.2.3: line breaks before whitespace removed) and trimmed. Bytes are
   * read as UTF-8 when valid, else as latin1. RFC 2047 encoded words are left as written (see decodeEncodedWords).
   */
  readonly value: string;
  /** The exact bytes of the field: its first line through its last continuation line, with the final line break. */
  readonly raw: Uint8Array;
}

/** A parsed Content-Type (RFC 2045 section 5.1). */
export interface ContentType {
  /** Lowercase, e.g. 'multipart'. */
  readonly type: string;
  /** Lowercase, e.g. 'signed'. */
  readonly subtype: string;
  /** Lowercase `type/subtype`, e.g. 'multipart/signed'. */
  readonly mediaType: string;
  /**
   * Parameters with lowercase names; values unquoted, RFC 2231 continuations joined and charsets decoded. A
   * null-prototype object, so a parameter named `constructor` or `__proto__` is just a parameter.
   */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Something wrong but survivable in the input, recorded instead of thrown so a reader can still show the message
 * while a verifier may refuse it. Stable strings, like error codes.
 */
export type MimeDefect =
  /** A first line `From ...` (mbox separator) before the header fields; skipped. */
  | 'MBOX_FROM_LINE'
  /** A line in the header block that is neither a field nor a continuation; skipped. */
  | 'INVALID_HEADER_LINE'
  /** The header block ended at a line that is not a header field, with no blank line before the body. */
  | 'MISSING_HEADER_BODY_SEPARATOR'
  /** Content-Type could not be parsed; the default applies (RFC 2045 section 5.2). */
  | 'INVALID_CONTENT_TYPE'
  /** More than one Content-Type field; the first one is used. Different readers may pick differently. */
  | 'DUPLICATE_CONTENT_TYPE'
  /** More than one Content-Transfer-Encoding field; the first one is used. */
  | 'DUPLICATE_TRANSFER_ENCODING'
  /** A parameter appears twice; the first one is used. */
  | 'DUPLICATE_PARAMETER'
  /** A parameter could not be parsed and was skipped. */
  | 'INVALID_PARAMETER'
  /** A multipart without a usable boundary parameter; read as a leaf. */
  | 'MISSING_BOUNDARY'
  /** A multipart or message with base64 or quoted-printable encoding (RFC 2045 section 6.4 forbids it); read as a leaf. */
  | 'ENCODED_COMPOSITE'
  /** A multipart whose body holds no boundary delimiter at all. */
  | 'NO_PARTS'
  /** No close delimiter: the last part runs to the end of the body (`truncated` is set). */
  | 'MISSING_CLOSE_DELIMITER'
  /** Text after the close delimiter on the same line; kept as part of the epilogue. */
  | 'TEXT_AFTER_CLOSE_DELIMITER';

/** A MIME entity (RFC 2045 section 2.4): header fields, a blank line, a body. */
export interface MimeEntity {
  /** The exact bytes of this entity: `headerBytes`, then the blank line (if any), then `body`. */
  readonly raw: Uint8Array;
  /** Where `raw` starts in the input given to parseEntity. */
  readonly offset: number;
  /** Depth in the tree: 0 for the top-level entity. */
  readonly depth: number;
  /** The exact header block, including the line break of its last field, without the blank line. */
  readonly headerBytes: Uint8Array;
  /** The exact body after the blank line, still transfer-encoded. */
  readonly body: Uint8Array;
  /** Header fields in order. */
  readonly headers: readonly MimeHeader[];
  /** From the first Content-Type field, or the default: text/plain; charset=us-ascii (message/rfc822 in a digest). */
  readonly contentType: ContentType;
  /** Lowercase Content-Transfer-Encoding, '7bit' when absent. */
  readonly transferEncoding: string;
  /**
   * For multipart/*: the body parts, in order, each with its exact bytes between the delimiters (RFC 2046 section
   * 5.1.1: the line break before a delimiter belongs to the delimiter). For message/rfc822 (and message/global) with
   * an identity transfer encoding: the embedded message. Otherwise empty.
   */
  readonly children: readonly MimeEntity[];
  /** Multipart only: bytes before the first delimiter (without the line break that precedes it), when there are any. */
  readonly preamble?: Uint8Array;
  /** Multipart only: bytes after the close delimiter's line, when the close delimiter is followed by a line break. */
  readonly epilogue?: Uint8Array;
  /** Multipart only: the boundary in use. */
  readonly boundary?: string;
  /** Multipart only: true when the close delimiter is missing, so the last part may be cut short. */
  readonly truncated: boolean;
  /** Survivable problems found in this entity (not in its children). */
  readonly defects: readonly MimeDefect[];
}
