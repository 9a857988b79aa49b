// One writer at a time per voice name inside this process: adding and removing a preset are
// several file operations, and a removal that ran between an upload's claim and its publish would
// take the upload's files. Across processes the file-level claim (presets.ts) still decides who
// owns a name.

const tails = new Map<string, Promise<void>>();

/** Runs `work` after every earlier call with the same `key` has finished (in call order). */
export async function withNameLock<T>(key: string, work: () => Promise<T>): Promise<T> {
  const before = tails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = before.then(() => mine);
  tails.set(key, tail);
  await before;
  try {
    return await work();
  } finally {
    release();
    if (tails.get(key) === tail) tails.delete(key); // the last in line: nothing to keep
  }
}
