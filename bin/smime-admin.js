#!/usr/bin/env node
// The admin command line (package.json "bin"). The TypeScript sources run through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';
register();
await import('../backend/src/cli/main.ts');
