/**
 * The seeding process of the stack (see seed.ts for why a process of its own):
 *   node --import tsx scripts/roundcube/lib/seed-process.ts INPUT.json RESULT.json
 * with the backend's environment. Exit status 0 and RESULT.json written, or 1 with the error on stderr.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { seedStack, type SeedInput } from './seed.ts';

const [inputFile, resultFile] = process.argv.slice(2);
try {
  if (!inputFile || !resultFile) throw new Error('usage: seed-process.ts INPUT.json RESULT.json');
  const input = JSON.parse(readFileSync(inputFile, 'utf8')) as SeedInput;
  const result = await seedStack(input, process.env);
  writeFileSync(resultFile, JSON.stringify(result));
  // Exit now: the vault's Argon2 worker would otherwise idle for a minute before the process ends.
  process.exit(0);
} catch (e) {
  console.error('seeding failed:', e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
}
