import { css } from 'lit';
import { theme } from '../shared/styles.ts';

export const styles = [
  theme,
  css`
    :host {
      display: block;
    }
    [part='controls'] {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 0.5em;
    }
    [part~='toggle'] {
      display: inline-flex;
      align-items: center;
      gap: 0.35em;
    }
    [part~='toggle'][aria-checked='true'] {
      background: var(--smime-toggle-on-bg, var(--_accent));
      border-color: var(--smime-toggle-on-bg, var(--_accent));
      color: var(--smime-toggle-on-color, #fff);
    }
    .box {
      width: 0.9em;
      height: 0.9em;
      border: 1.5px solid currentColor;
      border-radius: 3px;
      display: inline-grid;
      place-items: center;
      font-size: 0.8em;
      line-height: 1;
    }
    [part='recipients'] {
      list-style: none;
      margin: 0.4em 0 0;
      padding: 0;
      font-size: 0.92em;
    }
    [part='recipients'] li {
      display: flex;
      align-items: center;
      gap: 0.3em;
      padding: 0.1em 0.4em;
      border-radius: var(--_radius);
      width: fit-content;
      margin: 0.15em 0;
    }
    [part='summary'] {
      margin: 0.4em 0 0;
      padding: 0.35em 0.6em;
      border-radius: var(--_radius);
      display: flex;
      gap: 0.4em;
      align-items: flex-start;
    }
  `,
];
