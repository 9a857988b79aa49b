/** The CLI's commands: the one list that parsing, help and errors share. */
export const COMMANDS = ['speak', 'voices', 'pull', 'quantize', 'setup', 'serve', 'worker', 'help'] as const;
export type Command = (typeof COMMANDS)[number];

export function isCommand(word: string): word is Command {
  return (COMMANDS as readonly string[]).includes(word);
}
