/**
 * The host contract (issue 5): what a webmail implements to host the S/MIME plugin, and what the plugin gives back.
 * A host loads one ES module (`/plugin/smime-plugin.js`, served by the backend), calls `createSmimePlugin(host)` and
 * then mounts components where it wants them and routes messages through the plugin:
 *
 *   compose:  mountComposeControls(el) -> setRecipients([...]) as the user types -> before sending,
 *             protect(rawMessage) -> send what it returns (one copy, or one per Bcc recipient)
 *   reading:  mountMessageStatus(el) -> show(rawReceivedMessage) -> render `content` (the innermost MIME entity)
 *   settings: mountSettings(el)
 *   toolbar:  mountUnlockControl(el) (lock/unlock button; the unlock prompt opens by itself whenever a key is needed)
 *
 * Everything travels through the backend's documented HTTP API with the token the host signs for its user.
 */
import type {
  ComposeState,
  Defaults,
  IncomingAnalysis,
  PreferenceStore,
  SmimeApiClient,
} from '../../frontend/src/index.ts';

export interface SmimeHost {
  /** Base URL of the S/MIME backend; '' or absent = the page's own origin. */
  apiBase?: string;
  /**
   * A valid user token: a short-lived JWT the host signs for the logged-in user (`sub` = email). Called before
   * every request; cache and renew it host-side.
   */
  getToken(): Promise<string>;
  /** The logged-in user's address (keys their stored defaults). */
  userEmail: string;
  /** Where the sign/encrypt defaults live; default: the browser's localStorage. */
  preferences?: PreferenceStore;
}

/** The result of protecting a composed message. */
export interface ProtectResult {
  /** False when neither Sign nor Encrypt was on: `messages` holds the host's message unchanged. */
  protected: boolean;
  /** What to send: one entry for To/Cc (also the Sent copy), plus one per Bcc recipient when encrypting. */
  messages: { bcc: string | null; raw: Uint8Array }[];
}

/** Why protect() refused: nothing was produced and nothing may be sent as is. */
export class SmimeSendBlocked extends Error {
  override name = 'SmimeSendBlocked';
  constructor(
    /** 'missing-certificates' (see `missing`), 'locked' (the user cancelled the unlock prompt), or the backend's code. */
    readonly reason: string,
    message: string,
    readonly missing: string[] = [],
  ) {
    super(message);
  }
}

export interface ComposeHandle {
  readonly element: HTMLElement;
  /** Tell the plugin the current To, Cc and Bcc addresses. */
  setRecipients(emails: string[]): void;
  state(): ComposeState;
  /** Protect the composed message (RFC 5322 bytes) as the toggles say. Throws SmimeSendBlocked. */
  protect(raw: Uint8Array): Promise<ProtectResult>;
  destroy(): void;
}

export interface ReadResult {
  analysis: IncomingAnalysis;
  /** The innermost MIME entity to render (headers + body), decrypted when it could be. */
  content: Uint8Array;
}

export interface MessageStatusHandle {
  readonly element: HTMLElement;
  /** Analyse a received message, show its status, and return what to render. */
  show(raw: Uint8Array): Promise<ReadResult>;
  /** Called again with the new result whenever the analysis is redone (after the user unlocks to read). */
  onResult(listener: (r: ReadResult) => void): void;
  /**
   * Show an analysis the host's own server obtained (a server-side host such as the Roundcube plugin posts the raw
   * message to /messages/incoming itself and renders the content with its own MIME renderer). Its `content` is not
   * used and may be empty.
   */
  present(analysis: IncomingAnalysis): void;
  /**
   * Called after the reader unlocked from this banner ("Unlock to read") on a message shown with present(): the host
   * asks its server again and re-renders the message.
   */
  onUnlocked(listener: () => void): void;
  destroy(): void;
}

export interface SettingsHandle {
  readonly element: HTMLElement;
  reload(): Promise<void>;
  destroy(): void;
}

export interface UnlockHandle {
  readonly element: HTMLElement;
  destroy(): void;
}

export interface SmimePlugin {
  readonly client: SmimeApiClient;
  mountComposeControls(target: HTMLElement): ComposeHandle;
  mountMessageStatus(target: HTMLElement): MessageStatusHandle;
  mountSettings(target: HTMLElement): SettingsHandle;
  mountUnlockControl(target: HTMLElement): UnlockHandle;
  /** Analyse a received message without showing anything. */
  readMessage(raw: Uint8Array): Promise<ReadResult>;
  /** Open the unlock prompt; true once unlocked. */
  unlock(reason?: 'sign' | 'decrypt' | 'manage'): Promise<boolean>;
  lock(): Promise<void>;
  /** The user's defaults for new messages. */
  defaults(): Defaults;
  /** Remove everything the plugin mounted (e.g. at logout or user switch). */
  destroy(): void;
}
