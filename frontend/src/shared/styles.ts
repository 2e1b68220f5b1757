/**
 * Theme shared by every component. A host matches its look through these custom properties (set them on the
 * component or any ancestor) and through the parts each component documents.
 */
import { css } from 'lit';

export const theme = css`
  :host {
    --_font: var(--smime-font, system-ui, sans-serif);
    --_fg: var(--smime-color-text, #1f2328);
    --_muted: var(--smime-color-muted, #59636e);
    --_bg: var(--smime-color-surface, #ffffff);
    --_border: var(--smime-color-border, #d1d9e0);
    --_accent: var(--smime-color-accent, #0969da);
    /* Accent-coloured text (links, summaries) on the surface; a dark theme needs it lighter than button fills. */
    --_accent-text: var(--smime-color-accent-text, var(--_accent));
    --_ok: var(--smime-color-ok, #1a7f37);
    --_ok-bg: var(--smime-color-ok-bg, #dafbe1);
    --_info: var(--smime-color-info, #0969da);
    --_info-bg: var(--smime-color-info-bg, #ddf4ff);
    --_warn: var(--smime-color-warn, #9a6700);
    --_warn-bg: var(--smime-color-warn-bg, #fff8c5);
    --_bad: var(--smime-color-bad, #cf222e);
    --_bad-bg: var(--smime-color-bad-bg, #ffebe9);
    --_radius: var(--smime-radius, 6px);
    --_focus: var(--smime-focus-ring, 2px solid #0969da);
    font-family: var(--_font);
    color: var(--_fg);
    font-size: var(--smime-font-size, 14px);
  }
  button {
    font: inherit;
    padding: 0.35em 0.8em;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: var(--_bg);
    color: var(--_fg);
    cursor: pointer;
  }
  button.primary {
    background: var(--_accent);
    border-color: var(--_accent);
    color: #fff;
  }
  button.danger {
    color: var(--_bad);
    border-color: var(--_bad);
  }
  button:disabled {
    opacity: 0.6;
    cursor: not-allowed;
  }
  button:focus-visible,
  input:focus-visible,
  select:focus-visible,
  summary:focus-visible {
    outline: var(--_focus);
    outline-offset: 2px;
  }
  input,
  select {
    font: inherit;
    padding: 0.3em 0.5em;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    color: var(--_fg);
    background: var(--_bg);
  }
  .tone-ok {
    color: var(--_ok);
    background: var(--_ok-bg);
  }
  .tone-info {
    color: var(--_info);
    background: var(--_info-bg);
  }
  .tone-warn {
    color: var(--_warn);
    background: var(--_warn-bg);
  }
  .tone-bad {
    color: var(--_bad);
    background: var(--_bad-bg);
  }
  .error {
    color: var(--_bad);
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;
