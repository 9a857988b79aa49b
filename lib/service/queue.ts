/**
 * Admission in front of the engine: at most `maxConcurrent` requests run, at most `maxQueued`
 * wait; beyond that a request fails at once with E_BUSY. A waiting request whose AbortSignal
 * fires leaves the queue with E_CANCELLED. Slots are released in `finally`, so a failed or
 * cancelled request never blocks the next one. The limit may change at any time (it takes the
 * engine's slots after the model loads): raising it starts waiting requests at once,
 * lowering it lets running ones finish and only holds back new starts.
 */
import { HiggsError } from '../common/errors.js';

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
  cleanup: () => void;
}

export class RequestQueue {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private limit: number;

  constructor(
    maxConcurrent: number,
    readonly maxQueued: number,
  ) {
    if (!(maxConcurrent >= 1) || !(maxQueued >= 0)) throw new HiggsError('E_INPUT', 'queue: maxConcurrent >= 1 and maxQueued >= 0');
    this.limit = maxConcurrent;
  }

  get maxConcurrent(): number {
    return this.limit;
  }

  /** Changes the number of requests that may run at once; queued requests keep their place. */
  setMaxConcurrent(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1) throw new HiggsError('E_INPUT', `queue: maxConcurrent must be a whole number >= 1 (got ${limit})`);
    this.limit = limit;
    this.drain();
  }

  get active(): number {
    return this.running;
  }
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `task` when a slot is free. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await task();
    } finally {
      release();
    }
  }

  /** Waits for a slot; the returned function gives it back (call it exactly once, in `finally`). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    await this.admit(signal);
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.release();
      }
    };
  }

  private admit(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new HiggsError('E_CANCELLED', 'the request was cancelled'));
    if (this.running < this.limit) {
      this.running += 1;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.maxQueued) {
      return Promise.reject(
        new HiggsError('E_BUSY', `busy: ${this.running} requests running and ${this.waiting.length} waiting; try again later`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(new HiggsError('E_CANCELLED', 'the request was cancelled while waiting'));
      };
      const waiter: Waiter = { resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort) };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private release(): void {
    this.running -= 1;
    this.drain();
  }

  /** Starts waiting requests while slots are free (in order). */
  private drain(): void {
    while (this.running < this.limit) {
      const next = this.waiting.shift();
      if (!next) return;
      this.running += 1;
      next.cleanup();
      next.resolve();
    }
  }
}
