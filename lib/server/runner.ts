/**
 * Runs the local server's jobs through the TTS handler, a fixed number at a time: jobs beyond
 * that wait IN_QUEUE (as on the platform) instead of hitting the engine's E_BUSY admission limit.
 */
import type { Logger } from '../common/log.js';
import type { TtsHandler } from '../runpod/handler.js';
import { isTerminal, type Job, type JobTable } from './job-table.js';

export class JobRunner {
  private running = 0;
  private readonly waiting: Job[] = [];
  private readonly active = new Set<Promise<void>>();

  constructor(
    private readonly handler: TtsHandler,
    private readonly table: JobTable,
    private readonly concurrency: number,
    private readonly log?: Logger,
  ) {}

  /** Queues the job; it starts as soon as a slot is free. */
  submit(job: Job): void {
    this.waiting.push(job);
    this.pump();
  }

  get busy(): number {
    return this.running;
  }

  /** Resolves once every started job has settled (after close() cancelled them). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.active]);
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      const started = this.table.start(job);
      if (!started) continue; // cancelled or purged while it waited
      this.running += 1;
      const work = this.execute(job, started.input).finally(() => {
        this.running -= 1;
        this.active.delete(work);
        this.pump();
      });
      this.active.add(work);
    }
  }

  private async execute(job: Job, input: unknown): Promise<void> {
    const ctx = { id: job.id, signal: job.controller.signal, route: job.route, s3Config: job.s3Config };
    try {
      if (job.stream) {
        // Parts go to /stream pollers as they come; the output aggregates them, as the Python
        // local server's runsync does for generator handlers.
        const parts: Record<string, unknown>[] = [];
        for await (const part of this.handler.stream(input, ctx)) {
          if (isTerminal(job.status)) break; // cancelled: stop generating
          parts.push(part);
          this.table.pushPart(job, { output: part });
        }
        this.table.complete(job, parts);
      } else {
        this.table.complete(job, await this.handler.run(input, ctx));
      }
    } catch (error) {
      if (job.status === 'CANCELLED') return; // the abort surfaced as an error: already reported
      // debug: the engine already logs its own request failures as warnings
      this.log?.debug({ requestId: job.id, event: 'job.failed', code: (error as { code?: string }).code }, (error as Error).message);
      this.table.fail(job, error);
    }
  }
}
