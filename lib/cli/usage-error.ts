/** Bad command-line syntax; the CLI prints it with a pointer to the help and exits 2. */
import type { Command } from './commands.js';

export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: Command,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}
