#!/usr/bin/env node
// The `higgs-audio` command: runs the compiled CLI (dist/lib/cli/main.js) and exits with its status.
// Exiting explicitly also ends a native generation that an interrupt left winding down.
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/lib/cli/main.js', import.meta.url);
let cli;
try {
  cli = await import(entry.href);
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes(fileURLToPath(entry))) {
    process.stderr.write(`higgs-audio: [E_NATIVE_MISSING] ${fileURLToPath(entry)} is not built: run \`npm run build:ts\`\n`);
    process.exit(1);
  }
  throw error;
}
process.exit(await cli.main(process.argv.slice(2)));
