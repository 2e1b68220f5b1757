import { css } from 'lit';
import { theme } from '../shared/styles.ts';

export const styles = [
  theme,
  css`
    :host {
      display: block;
    }
    section {
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      padding: 0.8em 1em;
      margin-bottom: 1em;
      background: var(--_bg);
    }
    h2 {
      font-size: 1.2em;
      margin: 0 0 0.6em;
    }
    h3 {
      font-size: 1.05em;
      margin: 0 0 0.6em;
    }
    table {
      border-collapse: collapse;
      width: 100%;
    }
    th,
    td {
      text-align: left;
      padding: 0.35em 0.5em;
      border-bottom: 1px solid var(--_border);
      vertical-align: top;
    }
    th {
      color: var(--_muted);
      font-weight: 600;
    }
    .badge {
      display: inline-flex;
      align-items: center;
      gap: 0.2em;
      padding: 0 0.4em;
      border-radius: var(--_radius);
      font-size: 0.9em;
    }
    form {
      display: grid;
      grid-template-columns: max-content minmax(10em, 22em);
      gap: 0.4em 0.8em;
      align-items: center;
    }
    form .full {
      grid-column: 1 / -1;
    }
    .muted {
      color: var(--_muted);
      font-size: 0.92em;
    }
    .actions {
      display: flex;
      gap: 0.4em;
      flex-wrap: wrap;
    }
    [role='status'],
    [role='alert'] {
      min-height: 1.2em;
    }
    .ok {
      color: var(--_ok);
    }
    code {
      overflow-wrap: anywhere;
    }
    .confirm {
      margin-top: 0.4em;
      padding: 0.5em;
      border-radius: var(--_radius);
    }
    /* A phone (issue 15): each key or certificate becomes a card of its own, forms one column; nothing scrolls
       sideways. */
    @media (max-width: 600px) {
      table,
      tbody,
      tr,
      td {
        display: block;
        width: 100%;
        box-sizing: border-box;
      }
      thead {
        position: absolute;
        width: 1px;
        height: 1px;
        overflow: hidden;
        clip: rect(0 0 0 0);
      }
      tr {
        border-bottom: 1px solid var(--_border);
        padding: 0.4em 0;
      }
      td {
        border: 0;
        padding: 0.2em 0;
      }
      form {
        grid-template-columns: minmax(0, 1fr);
      }
      input,
      select {
        max-width: 100%;
        box-sizing: border-box;
      }
    }
  `,
];
