/**
 * The one ES module a host webmail loads (`<script type="module">import { createSmimePlugin } from
 * '/plugin/smime-plugin.js'</script>`): the host contract, its implementation, and the components and API client
 * underneath for hosts that want to compose them themselves. Importing it registers the custom elements.
 */
export * from '../../frontend/src/index.ts';
export * from './contract.ts';
export { createSmimePlugin } from './plugin.ts';
