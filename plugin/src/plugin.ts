/** The implementation of the host contract (contract.ts) over the components and the API client. */
import {
  fromBase64,
  isApiError,
  localPreferences,
  SmimeApiClient,
  type SmimeComposeControls,
  type SmimeMessageStatus,
  type SmimeSettings,
  type SmimeUnlockDialog,
} from '../../frontend/src/index.ts';
import {
  SmimeSendBlocked,
  type ComposeHandle,
  type MessageStatusHandle,
  type ProtectResult,
  type ReadResult,
  type SettingsHandle,
  type SmimeHost,
  type SmimePlugin,
  type UnlockHandle,
} from './contract.ts';

export function createSmimePlugin(host: SmimeHost): SmimePlugin {
  const client = new SmimeApiClient({ baseUrl: host.apiBase, getToken: () => host.getToken() });
  const prefs = host.preferences ?? localPreferences;
  const mounted = new Set<HTMLElement>();
  const composers = new Set<SmimeComposeControls>();
  const toolbars = new Set<SmimeUnlockDialog>();
  /** Open messages, asked to read themselves again once keys are unlocked (from any control: the header too). */
  const readers = new Set<() => void>();

  // One prompt for the whole page, opened whenever a key is needed.
  let prompt: SmimeUnlockDialog | undefined;
  let pending: Promise<boolean> | undefined;

  function unlockPrompt(): SmimeUnlockDialog {
    if (!prompt) {
      prompt = document.createElement('smime-unlock-dialog');
      prompt.dialogOnly = true;
      prompt.client = client;
      document.body.append(prompt);
    }
    return prompt;
  }

  function afterUnlockChange(): void {
    for (const t of toolbars) void t.refresh();
    for (const c of composers) c.keysUnlocked();
    // A message shown as locked is opened now, whichever control unlocked: the passphrase is asked once (issue 15).
    for (const r of readers) r();
  }

  function unlock(reason?: 'sign' | 'decrypt' | 'manage'): Promise<boolean> {
    pending ??= unlockPrompt()
      .open(reason)
      .then((ok) => {
        pending = undefined;
        if (ok) afterUnlockChange();
        return ok;
      });
    return pending;
  }

  function mount<T extends HTMLElement>(target: HTMLElement, el: T): T {
    target.append(el);
    mounted.add(el);
    el.addEventListener('smime-unlock-request', (e) => {
      // The plugin answers the request; a host listening above sees it as handled.
      e.preventDefault();
      void unlock(e.detail.reason);
    });
    el.addEventListener('smime-unlocked', afterUnlockChange);
    el.addEventListener('smime-locked', afterUnlockChange);
    return el;
  }

  function unmount(el: HTMLElement): void {
    el.remove();
    mounted.delete(el);
  }

  async function readMessage(raw: Uint8Array): Promise<ReadResult> {
    const analysis = await client.analyzeIncoming(raw);
    return { analysis, content: fromBase64(analysis.content) };
  }

  return {
    client,

    mountComposeControls(target): ComposeHandle {
      const el = mount(target, document.createElement('smime-compose-controls'));
      const d = prefs.load(host.userEmail);
      el.client = client;
      el.sign = d.sign;
      el.encrypt = d.encrypt;
      el.protectHeaders = d.protectHeaders ?? false;
      composers.add(el);

      async function attempt(raw: Uint8Array, retried: boolean): Promise<ProtectResult> {
        const st = el.state;
        try {
          const messages = await client.protectOutgoing(raw, {
            sign: st.sign,
            encrypt: st.encrypt,
            ...(st.protectHeaders ? { protectHeaders: true } : {}),
            ...(prefs.load(host.userEmail).cipher ? { cipher: prefs.load(host.userEmail).cipher } : {}),
          });
          return { protected: true, messages };
        } catch (e) {
          if (!retried && (isApiError(e, 'LOCKED') || isApiError(e, 'PASSPHRASE_CHANGE_REQUIRED'))) {
            if (!(await unlock('sign'))) throw new SmimeSendBlocked('locked', 'The keys stayed locked.');
            return attempt(raw, true);
          }
          if (isApiError(e, 'RECIPIENT_CERTIFICATE_MISSING')) {
            const missing = ((e.details.missing as { email: string }[] | undefined) ?? []).map((m) => m.email);
            throw new SmimeSendBlocked('missing-certificates', e.message, missing);
          }
          if (isApiError(e)) throw new SmimeSendBlocked(e.code, e.message);
          throw e;
        }
      }

      return {
        element: el,
        setRecipients(emails) {
          el.recipients = [...emails];
        },
        state: () => el.state,
        async protect(raw) {
          const st = el.state;
          if (!st.sign && !st.encrypt) return { protected: false, messages: [{ bcc: null, raw }] };
          if (st.encrypt) {
            // Fresh answer right before sending: a certificate may have expired or been deleted meanwhile.
            const fresh = await el.resolveNow();
            if (fresh.missing.length > 0)
              throw new SmimeSendBlocked(
                'missing-certificates',
                `No usable certificate for ${fresh.missing.join(', ')}.`,
                fresh.missing,
              );
          }
          return attempt(raw, false);
        },
        destroy() {
          composers.delete(el);
          unmount(el);
        },
      };
    },

    mountMessageStatus(target): MessageStatusHandle {
      const el: SmimeMessageStatus = mount(target, document.createElement('smime-message-status'));
      const listeners: ((r: ReadResult) => void)[] = [];
      const unlockedListeners: (() => void)[] = [];
      let last: Uint8Array | undefined;
      async function show(raw: Uint8Array): Promise<ReadResult> {
        last = raw;
        el.busy = true;
        try {
          const r = await readMessage(raw);
          if (last === raw) el.analysis = r.analysis;
          return r;
        } finally {
          el.busy = false;
        }
      }
      const redo = () => {
        if (!last) return;
        void show(last).then((r) => listeners.forEach((l) => l(r)));
      };
      const waitsForKeys = () =>
        (el.analysis?.layers ?? []).some((l) => l.kind === 'encrypted' && l.status === 'locked');
      const reread = () => {
        if (!waitsForKeys()) return;
        if (last) redo();
        else unlockedListeners.forEach((l) => l());
      };
      // "Unlock to read" goes to unlock() (mount), whose success re-reads every locked message, this one included.
      readers.add(reread);
      return {
        element: el,
        show,
        present(analysis) {
          last = undefined;
          el.busy = false;
          el.analysis = analysis;
        },
        onResult: (l) => void listeners.push(l),
        onUnlocked: (l) => void unlockedListeners.push(l),
        destroy: () => {
          readers.delete(reread);
          unmount(el);
        },
      };
    },

    mountSettings(target): SettingsHandle {
      const el: SmimeSettings = document.createElement('smime-settings');
      el.client = client;
      el.user = host.userEmail;
      el.preferences = prefs;
      mount(target, el);
      return { element: el, reload: () => el.reload(), destroy: () => unmount(el) };
    },

    mountUnlockControl(target): UnlockHandle {
      const el: SmimeUnlockDialog = document.createElement('smime-unlock-dialog');
      el.client = client;
      mount(target, el);
      toolbars.add(el);
      return {
        element: el,
        destroy() {
          toolbars.delete(el);
          unmount(el);
        },
      };
    },

    readMessage,
    unlock,
    async lock() {
      await client.lock();
      afterUnlockChange();
    },
    defaults: () => prefs.load(host.userEmail),
    destroy() {
      for (const el of [...mounted]) unmount(el);
      composers.clear();
      readers.clear();
      toolbars.clear();
      prompt?.remove();
      prompt = undefined;
    },
  };
}
