/** The components (registered on import), the API client, the strings module and the shared types. */
export { SmimeComposeControls, type ComposeState } from './compose-controls/compose-controls.ts';
export { SmimeUnlockDialog, type UnlockedDetail } from './unlock-dialog/unlock-dialog.ts';
export { SmimeMessageStatus } from './message-status/message-status.ts';
export { SmimeSettings } from './settings/settings.ts';
export { SmimeActivity } from './settings/activity.ts';
export {
  SmimeApiClient,
  ApiError,
  isApiError,
  toBase64,
  fromBase64,
  type ClientOptions,
  type OutgoingOptions,
} from './api/client.ts';
export type * from './api/types.ts';
export {
  msg,
  setMessages,
  statusText,
  type ActivityDetails,
  type Messages,
  type StatusText,
  type Tone,
} from './messages.ts';
export { localPreferences, type Defaults, type PreferenceStore } from './shared/prefs.ts';
export type { UnlockRequestDetail } from './shared/events.ts';
