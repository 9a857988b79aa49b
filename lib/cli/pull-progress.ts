/**
 * How `higgs-audio pull` shows its work on stderr: on a terminal, short lines and one redrawn
 * bar with bytes, rate and ETA; anywhere else, JSON log lines (lib/common/log.ts) with the same
 * facts, a progress line per file at every tenth, so logs stay short and parseable.
 */
import { createLogger, type Logger } from '../common/log.js';
import { formatBytes } from '../hub/format-bytes.js';
import type { PullEvent } from '../hub/pull-events.js';
import type { PullResult } from '../hub/pull-repo.js';
import { describeSkipped } from '../hub/select-files.js';
import type { ProgressStream } from './progress.js';

export interface PullReporter {
  event(event: PullEvent): void;
  done(result: PullResult): void;
  /** A line of information or, with `warning`, of advice that needs acting on. */
  note(text: string, warning?: boolean): void;
  finish(): void;
}

export function createPullReporter(stream: ProgressStream, bar: boolean): PullReporter {
  return bar ? new TerminalReporter(stream) : new LogReporter(createLogger({ destination: { write: (line: string) => void stream.write(line) } }));
}

/** Bytes a second since the plan, and the seconds left at that rate. */
class Rate {
  private started = Date.now();
  private fetched = 0;
  private total = 0;

  start(total: number): void {
    this.started = Date.now();
    this.fetched = 0;
    this.total = total;
  }

  add(bytes: number): void {
    this.fetched += bytes;
  }

  get done(): number {
    return this.fetched;
  }

  get planned(): number {
    return this.total;
  }

  perSecond(): number {
    const seconds = (Date.now() - this.started) / 1000;
    return seconds > 0.5 ? this.fetched / seconds : 0;
  }

  secondsLeft(): number | null {
    const rate = this.perSecond();
    return rate > 0 ? Math.max(0, this.total - this.fetched) / rate : null;
  }
}

const CLEAR_LINE = '\r\x1b[2K';
const short = (commit: string): string => commit.slice(0, 12);

class TerminalReporter implements PullReporter {
  private readonly rate = new Rate();
  /** Bytes before the plan (the weights index, read to choose the shards) are shown per file. */
  private planned = false;
  private shown = '';
  private drawnAt = 0;

  constructor(private readonly stream: ProgressStream) {}

  event(event: PullEvent): void {
    switch (event.type) {
      case 'resolved':
        this.planned = false;
        return this.note(`${event.repo}: ${event.revision} is commit ${short(event.commit)}, into ${event.dir}`);
      case 'skipped':
        return this.note(`${event.repo}: skipped ${event.files.length} file(s): ${describeSkipped(event.files)}`);
      case 'verify':
        return this.draw(`checking ${event.path} (${formatBytes(event.size)})`, true);
      case 'plan':
        this.rate.start(event.bytes);
        this.planned = true;
        if (event.files.length) this.note(`${event.repo}: fetching ${event.files.length} file(s), ${formatBytes(event.bytes)}`);
        return;
      case 'file-start':
        if (event.offset > 0) this.note(`${event.path}: resuming at ${formatBytes(event.offset)} of ${formatBytes(event.size)}`);
        return;
      case 'bytes':
        if (!this.planned) return this.draw(`${event.path} ${formatBytes(event.have)}/${formatBytes(event.size)}`, event.have === event.size);
        this.rate.add(event.delta);
        return this.draw(this.barLine(event.path), event.have === event.size);
      case 'retry':
        return this.note(`${event.path ?? event.repo}: ${event.reason}; retry ${event.attempt} in ${(event.delayMs / 1000).toFixed(1)} s`);
      case 'file-done':
        return;
      case 'up-to-date':
        return this.note(`${event.repo}: already up to date (commit ${short(event.commit)}, every file verified)`);
    }
  }

  done(result: PullResult): void {
    this.finish(); // the bar belongs to this repository
    if (!result.upToDate) this.note(`${result.repo}: done, ${result.files.length} files in ${result.dir} (${formatBytes(result.fetchedBytes)} fetched)`);
  }

  note(text: string): void {
    this.stream.write(`${this.shown ? CLEAR_LINE : ''}${text}\n${this.shown}`);
  }

  finish(): void {
    if (this.shown) this.stream.write(CLEAR_LINE);
    this.shown = '';
  }

  private barLine(path: string): string {
    const { done, planned } = this.rate;
    const fraction = planned > 0 ? Math.min(1, done / planned) : 1;
    const filled = Math.round(fraction * 20);
    const rate = this.rate.perSecond();
    const left = this.rate.secondsLeft();
    const eta = left === null ? '--:--' : clock(left);
    return `[${'#'.repeat(filled)}${'-'.repeat(20 - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ` +
      `${formatBytes(done)}/${formatBytes(planned)} ${rate > 0 ? `${formatBytes(rate)}/s` : '--/s'} ETA ${eta} ${path}`;
  }

  /** Redrawn at most ten times a second (and always when `force`): the terminal stays cheap. */
  private draw(line: string, force: boolean): void {
    const now = Date.now();
    if (!force && now - this.drawnAt < 100) return;
    this.drawnAt = now;
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    this.shown = line.length > width ? `${line.slice(0, width - 1)}…` : line;
    this.stream.write(CLEAR_LINE + this.shown);
  }
}

/** Files smaller than this log no progress lines of their own: they take a moment. */
const LOGGED_PROGRESS_MIN_BYTES = 64 * 1024 * 1024;

class LogReporter implements PullReporter {
  private readonly rate = new Rate();
  private nextTenth = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  event(event: PullEvent): void {
    switch (event.type) {
      case 'resolved':
        return this.log.info({ repo: event.repo, revision: event.revision, commit: event.commit, dir: event.dir }, 'resolved');
      case 'skipped':
        return this.log.info({ repo: event.repo, skipped: event.files.map((file) => file.path) }, `skipped ${describeSkipped(event.files)}`);
      case 'verify':
        return this.log.debug({ repo: event.repo, file: event.path, size: event.size }, 'checking the file in place');
      case 'plan':
        this.rate.start(event.bytes);
        return this.log.info({ repo: event.repo, files: event.files.map((file) => file.path), bytes: event.bytes }, `fetching ${formatBytes(event.bytes)}`);
      case 'file-start':
        this.nextTenth.set(event.path, Math.floor((event.offset / Math.max(1, event.size)) * 10) + 1);
        return this.log.info({ repo: event.repo, file: event.path, size: event.size, resumeFrom: event.offset }, event.offset > 0 ? 'resuming' : 'downloading');
      case 'bytes': {
        this.rate.add(event.delta);
        if (event.size < LOGGED_PROGRESS_MIN_BYTES) return;
        const tenth = Math.floor((event.have / Math.max(1, event.size)) * 10);
        if (tenth < (this.nextTenth.get(event.path) ?? 1) || event.have === event.size) return;
        this.nextTenth.set(event.path, tenth + 1);
        const left = this.rate.secondsLeft();
        return this.log.info(
          { repo: event.repo, file: event.path, bytes: event.have, size: event.size, bytesPerSecond: Math.round(this.rate.perSecond()), etaSeconds: left === null ? null : Math.round(left) },
          `${tenth * 10}%`,
        );
      }
      case 'retry':
        return this.log.warn({ repo: event.repo, file: event.path, attempt: event.attempt, delayMs: event.delayMs }, `retrying: ${event.reason}`);
      case 'file-done':
        return this.log.info({ repo: event.repo, file: event.path, size: event.size }, 'verified');
      case 'up-to-date':
        return this.log.info({ repo: event.repo, commit: event.commit, dir: event.dir }, 'already up to date');
    }
  }

  done(result: PullResult): void {
    if (!result.upToDate) {
      this.log.info({ repo: result.repo, commit: result.commit, dir: result.dir, files: result.files.length, fetchedBytes: result.fetchedBytes }, 'done');
    }
  }

  note(text: string, warning = false): void {
    if (warning) this.log.warn(text);
    else this.log.info(text);
  }

  finish(): void {}
}

/** "1:05:09" or "4:05". */
function clock(seconds: number): string {
  const s = Math.round(seconds);
  const parts = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const [, m, sec] = parts.map((n) => String(n).padStart(2, '0'));
  return parts[0] ? `${parts[0]}:${m}:${sec}` : `${parts[1]}:${sec}`;
}
