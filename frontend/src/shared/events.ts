/** Events shared by several components. Each is bubbles + composed, so a host listens on any ancestor. */

export interface UnlockRequestDetail {
  /** Why the key is needed. */
  reason: 'sign' | 'decrypt' | 'manage';
}

/** Dispatch a typed event from `el` that crosses shadow roots. */
export function emit<K extends keyof GlobalEventHandlersEventMap>(
  el: HTMLElement,
  type: K,
  detail: GlobalEventHandlersEventMap[K] extends CustomEvent<infer D> ? D : never,
): boolean {
  return el.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true, cancelable: true }));
}

declare global {
  interface GlobalEventHandlersEventMap {
    /** A component needs the user's keys unlocked; the plugin (or host) opens <smime-unlock-dialog>. */
    'smime-unlock-request': CustomEvent<UnlockRequestDetail>;
  }
}
