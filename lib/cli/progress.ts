/**
 * Progress on stderr: a redrawn bar on a terminal, plain lines at 25% steps anywhere else, so
 * logs and pipes never receive escape codes or carriage returns.
 */

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Progress {
  /** `fraction` of `label` (0..1) is done. */
  update(label: string, fraction: number): void;
  /** A line of information, printed without disturbing the bar. */
  note(text: string): void;
  /** Removes the bar; later notes print as plain lines. */
  finish(): void;
}

/** A bar only for a real terminal that understands it. */
export function wantsBar(stream: ProgressStream, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export function createProgress(stream: ProgressStream, bar: boolean): Progress {
  return bar ? new BarProgress(stream) : new LineProgress(stream);
}

const CLEAR_LINE = '\r\x1b[2K';

class BarProgress implements Progress {
  private shown = '';

  constructor(private readonly stream: ProgressStream) {}

  update(label: string, fraction: number): void {
    const percent = toPercent(fraction);
    const width = Math.max(10, Math.min(40, (this.stream.columns || 80) - 24));
    const filled = Math.round((percent / 100) * width);
    const line = `${label.padEnd(9)} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(percent).padStart(3)}%`;
    if (line === this.shown) return; // redraw only on change: stderr stays cheap at every step
    this.shown = line;
    this.stream.write(CLEAR_LINE + line);
  }

  note(text: string): void {
    this.stream.write(`${this.shown ? CLEAR_LINE : ''}${text}\n${this.shown}`);
  }

  finish(): void {
    if (this.shown) this.stream.write(CLEAR_LINE);
    this.shown = '';
  }
}

class LineProgress implements Progress {
  private label = '';
  private nextPercent = 0;

  constructor(private readonly stream: ProgressStream) {}

  update(label: string, fraction: number): void {
    const percent = toPercent(fraction);
    if (label !== this.label) {
      this.label = label;
      this.nextPercent = 0;
    }
    if (percent < this.nextPercent) return;
    this.stream.write(`${label} ${percent}%\n`);
    this.nextPercent = percent >= 100 ? Infinity : (Math.floor(percent / 25) + 1) * 25;
  }

  note(text: string): void {
    this.stream.write(`${text}\n`);
  }

  finish(): void {}
}

function toPercent(fraction: number): number {
  return Math.max(0, Math.min(100, Math.floor((Number.isFinite(fraction) ? fraction : 0) * 100)));
}
