import { css } from 'lit';
import { theme } from '../shared/styles.ts';

export const styles = [
  theme,
  css`
    :host {
      display: block;
    }
    [part='banner'] {
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      overflow: hidden;
    }
    [part~='layer'] {
      display: flex;
      align-items: flex-start;
      gap: 0.5em;
      padding: 0.5em 0.8em;
    }
    [part~='layer'] + [part~='layer'] {
      border-top: 1px solid var(--_border);
    }
    .line {
      flex: 1;
    }
    .title {
      font-weight: 600;
    }
    .who {
      color: var(--_fg);
    }
    .warning {
      margin-top: 0.2em;
      color: var(--_fg);
      font-style: italic;
    }
    details {
      margin-top: 0.3em;
      color: var(--_fg);
    }
    summary {
      cursor: pointer;
      color: var(--_accent-text);
    }
    dl {
      display: grid;
      grid-template-columns: max-content 1fr;
      gap: 0.2em 1em;
      margin: 0.5em 0;
    }
    dt {
      color: var(--_muted);
    }
    dd {
      margin: 0;
      overflow-wrap: anywhere;
    }
    ul.checks {
      margin: 0.3em 0;
      padding-left: 1.2em;
    }
    .check-fail {
      color: var(--_bad);
    }
    .check-unknown {
      color: var(--_warn);
    }
    .note {
      padding: 0.4em 0.8em;
      border-top: 1px solid var(--_border);
      color: var(--_muted);
      font-size: 0.92em;
    }
  `,
];
