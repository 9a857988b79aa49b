/**
 * Admission in front of the engine: at most `maxConcurrent` requests run, at most `maxQueued`
 * wait; beyond that a request fails at once with E_BUSY. A waiting request whose AbortSignal
 * fires leaves the queue with E_CANCELLED. Slots are released in `finally`, so a failed or
 * cancelled request never blocks the next one.
 */
import { HiggsError } from './errors.js';

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
  cleanup: () => void;
}

export class RequestQueue {
  private running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueued: number,
  ) {
    if (!(maxConcurrent >= 1) || !(maxQueued >= 0)) throw new HiggsError('E_INPUT', 'queue: maxConcurrent >= 1 and maxQueued >= 0');
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
    if (this.running < this.maxConcurrent) {
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
    const next = this.waiting.shift();
    if (next) {
      next.cleanup();
      next.resolve(); // the slot passes straight to the next request
    } else {
      this.running -= 1;
    }
  }
}
