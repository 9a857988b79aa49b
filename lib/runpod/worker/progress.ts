/**
 * Progress updates of one job (docs/runpod-protocol.md#progress): posted one at a time, at most one per
 * interval, only the newest waiting update kept, and none once the result is due (runpod-python
 * #250: a late progress post left finished jobs showing IN_PROGRESS).
 */
export class ProgressPoster {
  private inflight: Promise<void> | null = null;
  private waiting: Record<string, unknown> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private last = -Infinity;
  private closed = false;

  constructor(
    private readonly send: (update: Record<string, unknown>) => Promise<void>,
    private readonly minIntervalMs: number,
  ) {}

  push(update: Record<string, unknown>): void {
    if (this.closed) return;
    this.waiting = update;
    this.pump();
  }

  /** No more updates: drops the waiting one and resolves when the post in flight is done. */
  async close(): Promise<void> {
    this.closed = true;
    this.waiting = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inflight;
  }

  private pump(): void {
    if (this.closed || this.inflight || this.timer || this.waiting === null) return;
    const wait = this.last + this.minIntervalMs - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, wait);
      return;
    }
    const next = this.waiting;
    this.waiting = null;
    this.last = Date.now();
    this.inflight = this.send(next)
      .catch(() => undefined) // a lost progress update is not worth failing the job for
      .finally(() => {
        this.inflight = null;
        this.pump();
      });
  }
}
