// RequestQueue: admission, E_BUSY, cancellation while waiting, and changing the limit while
// requests run and wait (the limit takes the engine's slots after load, with requests possibly queued).
import { describe, expect, it } from 'vitest';
import { RequestQueue } from '../../lib/service/queue.js';

/** A task that runs until finish() is called; `started` tells whether the queue let it in. */
function gate() {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const state = { started: false, finish, task: async () => ((state.started = true), await done) };
  return state;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('RequestQueue', () => {
  it('runs up to the limit, queues the rest in order, and rejects beyond the queue with E_BUSY', async () => {
    const queue = new RequestQueue(2, 2);
    const order: number[] = [];
    const gates = [0, 1, 2, 3].map(() => gate());
    const runs = gates.map((g, i) => queue.run(async () => (order.push(i), g.task())));
    await expect(queue.run(async () => 'late')).rejects.toMatchObject({ code: 'E_BUSY' });
    await settle();
    expect([queue.active, queue.queued]).toEqual([2, 2]);
    gates[1]!.finish();
    await settle();
    expect(order).toEqual([0, 1, 2]);
    for (const g of gates) g.finish();
    await Promise.all(runs);
    expect(order).toEqual([0, 1, 2, 3]);
    expect([queue.active, queue.queued]).toEqual([0, 0]);
  });

  it('raising the limit starts queued requests at once, up to the new limit', async () => {
    const queue = new RequestQueue(1, 8);
    const gates = Array.from({ length: 5 }, () => gate());
    const runs = gates.map((g) => queue.run(g.task));
    await settle();
    expect(gates.map((g) => g.started)).toEqual([true, false, false, false, false]);
    queue.setMaxConcurrent(3);
    await settle();
    expect(queue.maxConcurrent).toBe(3);
    expect(gates.map((g) => g.started)).toEqual([true, true, true, false, false]);
    expect([queue.active, queue.queued]).toEqual([3, 2]);
    for (const g of gates) g.finish();
    await Promise.all(runs);
    expect(gates.every((g) => g.started)).toBe(true);
    expect([queue.active, queue.queued]).toEqual([0, 0]);
  });

  it('lowering the limit never cancels running requests and holds back new starts until below it', async () => {
    const queue = new RequestQueue(3, 8);
    const gates = Array.from({ length: 5 }, () => gate());
    const runs = gates.map((g) => queue.run(g.task));
    await settle();
    queue.setMaxConcurrent(1);
    await settle();
    expect(gates.map((g) => g.started)).toEqual([true, true, true, false, false]);
    expect([queue.active, queue.queued]).toEqual([3, 2]);
    gates[0]!.finish();
    gates[1]!.finish();
    await settle();
    expect(gates[3]!.started).toBe(false); // still one running: at the new limit
    expect([queue.active, queue.queued]).toEqual([1, 2]);
    gates[2]!.finish();
    await settle();
    expect(gates.map((g) => g.started)).toEqual([true, true, true, true, false]);
    expect([queue.active, queue.queued]).toEqual([1, 1]);
    gates[3]!.finish();
    gates[4]!.finish();
    await Promise.all(runs);
    expect([queue.active, queue.queued]).toEqual([0, 0]);
  });

  it('a request cancelled while waiting leaves no hole when the limit is raised', async () => {
    const queue = new RequestQueue(1, 8);
    const first = gate();
    const running = queue.run(first.task);
    const controller = new AbortController();
    const cancelled = queue.run(async () => 'never', controller.signal);
    const waiting = gate();
    const next = queue.run(waiting.task);
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ code: 'E_CANCELLED' });
    queue.setMaxConcurrent(2);
    await settle();
    expect(waiting.started).toBe(true);
    first.finish();
    waiting.finish();
    await Promise.all([running, next]);
    expect([queue.active, queue.queued]).toEqual([0, 0]);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a limit of %s', (limit) => {
    const queue = new RequestQueue(2, 2);
    expect(() => queue.setMaxConcurrent(limit)).toThrow(expect.objectContaining({ code: 'E_INPUT', message: expect.stringContaining('maxConcurrent') }));
    expect(queue.maxConcurrent).toBe(2);
  });
});
