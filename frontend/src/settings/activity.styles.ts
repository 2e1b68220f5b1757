import { css } from 'lit';
import { styles as settingsStyles } from './settings.styles.ts';

/** The settings pane's look, and the warning tone for the entries a user must notice (key.recovered, issue 17). */
export const styles = [
  ...settingsStyles,
  css`
    tr.stands-out td {
      color: var(--_warn);
      background: var(--_warn-bg);
      font-weight: 600;
    }
  `,
];
