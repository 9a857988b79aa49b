/** What `pullRepo` reports while it works; the CLI draws them (lib/cli/pull-progress.ts). */
import type { SkippedFile } from './select-files.js';

export type PullEvent =
  | { type: 'resolved'; repo: string; revision: string; commit: string; dir: string }
  | { type: 'skipped'; repo: string; files: SkippedFile[] }
  /** A file already in place is being hashed. */
  | { type: 'verify'; repo: string; path: string; size: number }
  /** What is left to fetch, after the files already in place were verified. */
  | { type: 'plan'; repo: string; files: { path: string; size: number }[]; bytes: number }
  /** `offset` bytes come from an earlier run's partial. */
  | { type: 'file-start'; repo: string; path: string; size: number; offset: number }
  | { type: 'bytes'; repo: string; path: string; delta: number; have: number; size: number }
  | { type: 'retry'; repo: string; path?: string; attempt: number; delayMs: number; reason: string }
  | { type: 'file-done'; repo: string; path: string; size: number }
  | { type: 'up-to-date'; repo: string; commit: string; dir: string };
