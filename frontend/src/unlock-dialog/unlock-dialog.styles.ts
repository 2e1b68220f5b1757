import { css } from 'lit';
import { theme } from '../shared/styles.ts';

export const styles = [
  theme,
  css`
    :host {
      display: inline-block;
    }
    [part='toggle'] {
      display: inline-flex;
      align-items: center;
      gap: 0.4em;
    }
    /* The dialog has its own opaque surface (issue 15): a host that styles the toggle for its header (white text on a
       transparent surface) must not make the dialog see-through, so the theme is set again for what is inside it. */
    dialog {
      --_fg: var(--smime-dialog-text, #1f2328);
      --_bg: var(--smime-dialog-surface, #ffffff);
      --_muted: var(--smime-dialog-muted, #59636e);
      --_border: var(--smime-dialog-border, #d1d9e0);
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      padding: 1.2em 1.4em;
      max-width: min(26em, calc(100vw - 2em));
      box-sizing: border-box;
      color: var(--_fg);
      background: var(--_bg);
      font-family: var(--_font);
      box-shadow: 0 8px 24px rgb(0 0 0 / 0.25);
    }
    dialog::backdrop {
      background: var(--smime-backdrop, rgb(0 0 0 / 0.35));
    }
    h2 {
      margin: 0 0 0.6em;
      font-size: 1.15em;
    }
    p {
      margin: 0.4em 0;
    }
    .muted {
      color: var(--_muted);
      font-size: 0.92em;
    }
    label {
      display: block;
      margin: 0.8em 0 0.2em;
      font-weight: 600;
    }
    input {
      width: 100%;
      box-sizing: border-box;
    }
    .buttons {
      display: flex;
      justify-content: flex-end;
      gap: 0.5em;
      margin-top: 1em;
    }
    [role='alert'] {
      margin-top: 0.6em;
    }
  `,
];
