/**
 * The user's defaults for new messages (sign/encrypt by default, cipher). The backend has no preferences API, so they
 * live in the browser's localStorage per user address; a host can supply its own store through the plugin contract.
 */
import type { ContentCipher } from '../api/types.ts';

export interface Defaults {
  sign: boolean;
  encrypt: boolean;
  /**
   * Header protection (RFC 9788): off unless chosen, since Outlook and older Thunderbird show an encrypted message's
   * protected subject as "[...]".
   */
  protectHeaders?: boolean;
  /** undefined: the server's choice (SMIME_DEFAULT_CIPHER, GCM when every recipient announced it). */
  cipher?: ContentCipher;
}

export interface PreferenceStore {
  load(user: string): Defaults;
  save(user: string, d: Defaults): void;
}

export const FALLBACK_DEFAULTS: Defaults = { sign: true, encrypt: false };

export const localPreferences: PreferenceStore = {
  load(user) {
    try {
      const raw = globalThis.localStorage?.getItem(`smime-defaults:${user}`);
      if (raw) return { ...FALLBACK_DEFAULTS, ...(JSON.parse(raw) as Partial<Defaults>) };
    } catch {
      /* storage disabled or corrupt: fall back */
    }
    return { ...FALLBACK_DEFAULTS };
  },
  save(user, d) {
    try {
      globalThis.localStorage?.setItem(`smime-defaults:${user}`, JSON.stringify(d));
    } catch {
      /* storage disabled: the defaults last for this page only */
    }
  },
};
