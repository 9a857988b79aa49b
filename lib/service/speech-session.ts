/**
 * Text-in streaming speech: text arrives in pieces of any size (an LLM's tokens), each sentence is
 * cut as soon as its end arrives (lib/text/sentence-stream.ts) and spoken while more text keeps
 * coming. Sentences are spoken one after another, in order, each a stream of its own whose prompt
 * carries the audio of the sentences before it as context (RequestOptions.history, as long-form
 * chunks carry the earlier chunks), so the voice stays the same; with one seed for every sentence
 * the same text cut the same way gives the same audio. A sentence's generation starts only when
 * the reader asks for it, so a reader that falls behind pauses the generation instead of letting
 * audio pile up. Text waiting to be spoken, the sentences queued and the session's text are
 * bounded (SPEECH_SESSION_LIMITS); a service that is busy makes a sentence wait and try again.
 *
 * `serve`'s WebSocket (lib/server/websocket-session.ts) is this session's protocol; Node programs
 * (voice agents) use it directly: createSpeechSession(tts, request).
 */
import { HiggsError, errorCode, type ErrorCode } from '../common/errors.js';
import { parseRequest } from '../request/schema.js';
import { MAX_CONTEXT_CHUNKS } from '../speech/synthesis.js';
import type { HistoryTurn } from '../text/prompt/render.js';
import { SentenceSplitter, type SentenceBounds } from '../text/sentence-stream.js';
import { hasSomethingToSay } from '../text/speaking-time.js';
import type { HiggsAudio } from './higgs-audio.js';
import type { StreamDone } from './request-types.js';

export interface SpeechSessionLimits {
  /** Characters taken but not yet spoken (the pending sentence and the queued ones); one push at most this. */
  maxBufferedChars: number;
  /** Sentences waiting for their turn to be spoken. */
  maxQueuedSentences: number;
  /** Characters one session takes in all. */
  maxSessionChars: number;
  /** How long a sentence the service refused as busy (E_BUSY) waits before it tries again ... */
  busyRetryMs: number;
  /** ... and how long it may go on trying before it fails with E_BUSY. */
  maxBusyWaitMs: number;
}

/** One HTTP request's transcript (10,000 characters) may wait at once; ten of them make a session. */
export const SPEECH_SESSION_LIMITS: Readonly<SpeechSessionLimits> = {
  maxBufferedChars: 10_000,
  maxQueuedSentences: 128,
  maxSessionChars: 100_000,
  busyRetryMs: 200,
  maxBusyWaitMs: 120_000,
};

/** One sentence's audio as a stream gives it: encoded bytes as windows decode, then what it was. */
export interface SentenceStream {
  chunks: AsyncIterable<Buffer>;
  /** Once `chunks` is done: the finished stream (undefined if it failed or was cancelled). */
  done(): StreamDone | undefined;
}

/** Starts speaking one sentence with the earlier sentences' turns as context. */
export type SpeakSentence = (text: string, context: { history: readonly HistoryTurn[]; signal: AbortSignal }) => SentenceStream;

export interface SentenceReport {
  index: number;
  text: string;
  /** done: all its audio was given; cancelled: cancel() or close() stopped it; failed: see error. */
  status: 'done' | 'cancelled' | 'failed';
  /** The finished stream: seed, chunks and their stop reasons, truncated, turns (status done). */
  summary?: StreamDone;
  error?: { code: ErrorCode; message: string };
  /** Bytes of audio given for it. */
  bytes: number;
  /** Where its audio lies in the session's output, seconds: sentences are back to back. */
  startSeconds: number;
  endSeconds: number;
  timing: {
    /** From the sentence's end arriving to the session starting it (the sentences before it were spoken meanwhile). */
    queuedSeconds: number;
    /** From the sentence's end arriving to its first audio byte (a busy service's wait included); null without audio. */
    firstByteSeconds: number | null;
    /** From its generation starting to its last byte. */
    generateSeconds: number;
  };
}

export type SpeechSessionEvent =
  | { type: 'sentence.start'; index: number; text: string }
  | { type: 'sentence.audio'; index: number; bytes: Buffer }
  | ({ type: 'sentence.done' } & SentenceReport)
  /** After cancel(): everything before it has been given; `droppedSentences` were never started. */
  | { type: 'cancelled'; droppedSentences: number }
  | { type: 'session.done'; sentences: number; audioSeconds: number };

export interface SpeechSessionOptions {
  limits?: Partial<SpeechSessionLimits>;
  bounds?: Partial<SentenceBounds>;
  /** Seconds that `bytes` of a sentence cut short hold (its timeline end); 0 when absent (pcmSeconds). */
  partialSeconds?: (bytes: number) => number;
}

interface QueuedSentence {
  text: string;
  /** performance.now() when its end arrived. */
  readyAt: number;
}

const seconds = (from: number, to = performance.now()) => Math.round(to - from) / 1000;

export class SpeechSession {
  readonly limits: SpeechSessionLimits;
  private splitter: SentenceSplitter;
  private readonly queue: QueuedSentence[] = [];
  private readonly notices: number[] = [];
  private readonly history: HistoryTurn[] = [];
  private current: AbortController | null = null;
  private wake: (() => void) | null = null;
  private ended = false;
  private closed = false;
  private reading = false;
  private sessionChars = 0;
  private announced = 0;
  private timeline = 0;

  constructor(
    private readonly speak: SpeakSentence,
    private readonly options: SpeechSessionOptions = {},
  ) {
    this.limits = { ...SPEECH_SESSION_LIMITS, ...options.limits };
    this.splitter = new SentenceSplitter(options.bounds);
  }

  /** A sentence is being spoken or waits to be. */
  get busy(): boolean {
    return this.current !== null || this.queue.length > 0;
  }

  /** Whether end() or close() was called. */
  get inputEnded(): boolean {
    return this.ended || this.closed;
  }

  /**
   * Takes more text; the sentences it completes are queued. A piece that cannot be taken is
   * refused whole (nothing of it is kept).
   * @throws HiggsError E_INPUT after end(), for a piece over maxBufferedChars or past
   *   maxSessionChars; E_BUSY while too much text or too many sentences wait (send it again later).
   */
  push(text: string): void {
    const { maxBufferedChars, maxQueuedSentences, maxSessionChars } = this.limits;
    if (this.inputEnded) throw new HiggsError('E_INPUT', 'text: the input has ended (input.done); open a new session for more');
    if (text.length > maxBufferedChars) throw new HiggsError('E_INPUT', `text: ${text.length} characters in one piece; at most ${maxBufferedChars}`);
    if (this.sessionChars + text.length > maxSessionChars) {
      throw new HiggsError('E_INPUT', `text: a session takes at most ${maxSessionChars} characters (${this.sessionChars} taken); open a new session for more`);
    }
    const buffered = this.splitter.pendingText.length + this.queue.reduce((n, s) => n + s.text.length, 0);
    if (buffered + text.length > maxBufferedChars) {
      throw new HiggsError('E_BUSY', `text: ${buffered} characters wait to be spoken and at most ${maxBufferedChars} may; send this again once more audio has come`);
    }
    const trial = this.splitter.clone();
    const sentences = trial.push(text).filter(hasSomethingToSay);
    if (this.queue.length + sentences.length > maxQueuedSentences) {
      const code = sentences.length > maxQueuedSentences ? 'E_INPUT' : 'E_BUSY';
      throw new HiggsError(code, `text: ${this.queue.length} sentences wait to be spoken and at most ${maxQueuedSentences} may; send it in smaller pieces as audio comes`);
    }
    this.splitter = trial;
    this.sessionChars += text.length;
    this.enqueue(sentences);
  }

  /** The input is complete: what is pending becomes the last sentences; events end with session.done. */
  end(): void {
    if (this.inputEnded) return;
    this.ended = true;
    this.enqueue(this.splitter.flush().filter(hasSomethingToSay));
  }

  /** Drops the pending text and the queued sentences and stops the one being spoken; the session goes on. */
  cancel(): void {
    if (this.closed) return;
    this.notices.push(this.queue.length);
    this.queue.length = 0;
    this.splitter = new SentenceSplitter(this.options.bounds);
    this.current?.abort();
    this.notify();
  }

  /** Ends the session now: the sentence being spoken stops and events end without session.done. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.current?.abort();
    this.notify();
  }

  /** The session's events, in order (one reader). Leaving the loop early closes the session. */
  async *events(): AsyncGenerator<SpeechSessionEvent> {
    if (this.reading) throw new HiggsError('E_INTERNAL', 'a speech session has one reader');
    this.reading = true;
    try {
      for (;;) {
        if (this.closed) return;
        const dropped = this.notices.shift();
        if (dropped !== undefined) {
          yield { type: 'cancelled', droppedSentences: dropped };
          continue;
        }
        const next = this.queue.shift();
        if (next) {
          yield* this.speakOne(next);
          continue;
        }
        if (this.ended) {
          yield { type: 'session.done', sentences: this.announced, audioSeconds: round(this.timeline) };
          return;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      this.close();
    }
  }

  private enqueue(sentences: readonly string[]): void {
    const readyAt = performance.now();
    for (const text of sentences) this.queue.push({ text, readyAt });
    this.notify();
  }

  private notify(): void {
    this.wake?.();
    this.wake = null;
  }

  private async *speakOne(sentence: QueuedSentence): AsyncGenerator<SpeechSessionEvent> {
    const index = this.announced++;
    const abort = new AbortController();
    this.current = abort;
    const startedAt = performance.now();
    let bytes = 0;
    let firstByteAt: number | null = null;
    let summary: StreamDone | undefined;
    let failure: unknown;
    yield { type: 'sentence.start', index, text: sentence.text };
    try {
      for (let busySince = performance.now(); ; ) {
        const stream = this.speak(sentence.text, { history: this.history.slice(), signal: abort.signal });
        const chunks = stream.chunks[Symbol.asyncIterator]();
        try {
          for (let next = await chunks.next(); !next.done && !abort.signal.aborted; next = await chunks.next()) {
            bytes += next.value.length;
            firstByteAt ??= performance.now();
            yield { type: 'sentence.audio', index, bytes: next.value };
          }
          summary = abort.signal.aborted ? undefined : stream.done();
          break;
        } catch (error) {
          const waited = performance.now() - busySince;
          if (errorCode(error) !== 'E_BUSY' || bytes > 0 || abort.signal.aborted || waited >= this.limits.maxBusyWaitMs) throw error;
          await pause(this.limits.busyRetryMs, abort.signal); // every slot is taken: this session's turn comes later
        } finally {
          await chunks.return?.();
        }
      }
    } catch (error) {
      failure = error;
    } finally {
      this.current = null;
    }
    const status = summary ? 'done' : abort.signal.aborted ? 'cancelled' : 'failed';
    if (summary) this.remember(summary.turns);
    const startSeconds = this.timeline;
    this.timeline += summary ? summary.durationSeconds : (this.options.partialSeconds?.(bytes) ?? 0);
    yield {
      type: 'sentence.done',
      index,
      text: sentence.text,
      status,
      ...(summary ? { summary } : {}),
      ...(status === 'failed' ? { error: describeError(failure ?? new HiggsError('E_INTERNAL', 'the sentence ended without a summary')) } : {}),
      bytes,
      startSeconds: round(startSeconds),
      endSeconds: round(this.timeline),
      timing: {
        queuedSeconds: seconds(sentence.readyAt, startedAt),
        firstByteSeconds: firstByteAt === null ? null : seconds(sentence.readyAt, firstByteAt),
        generateSeconds: seconds(startedAt),
      },
    };
  }

  /** The newest turns are the context of the next sentence: at most what one chunk may carry. */
  private remember(turns: readonly HistoryTurn[]): void {
    this.history.push(...turns);
    this.history.splice(0, Math.max(0, this.history.length - MAX_CONTEXT_CHUNKS));
  }
}

/** Seconds to the microsecond, as chunk spans are given (lib/speech/timestamps.ts). */
function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function describeError(error: unknown): { code: ErrorCode; message: string } {
  return { code: errorCode(error), message: error instanceof Error ? error.message : String(error) };
}

/** Waits `ms`; an abort ends the wait early (the caller sees the signal). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Seconds held by `bytes` of a PCM16 stream (pcm; wav after its 44-byte header); 0 for other formats. */
export function pcmSeconds(format: string, sampleRate: number): (bytes: number) => number {
  if (format === 'pcm') return (bytes) => bytes / 2 / sampleRate;
  if (format === 'wav') return (bytes) => Math.max(0, bytes - 44) / 2 / sampleRate;
  return () => 0;
}

/**
 * A session over `tts`: `request` is a HiggsAudio request without its transcript (voice,
 * output_format, sample_rate, speed, sampling...), validated now; every sentence is a tts.stream
 * of it with the same seed (the request's, or one drawn now: `seed`).
 * @throws HiggsError E_INPUT for a request that is not valid.
 */
export function createSpeechSession(
  tts: HiggsAudio,
  request: Record<string, unknown>,
  options: SpeechSessionOptions & { requestId?: string } = {},
): SpeechSession & { readonly seed: number } {
  const { transcript: _transcript, ...fields } = request;
  const validated = parseRequest({ ...fields, transcript: 'A sentence.' });
  const seed = validated.seed ?? Math.floor(Math.random() * 2 ** 32);
  let count = 0;
  const speak: SpeakSentence = (text, { history, signal }) => {
    let summary: StreamDone | undefined;
    const requestId = options.requestId === undefined ? undefined : `${options.requestId}.${count++}`;
    const chunks = tts.stream({ ...fields, transcript: text, seed }, { history, signal, requestId, onDone: (s) => (summary = s) });
    return { chunks, done: () => summary };
  };
  const session = new SpeechSession(speak, { partialSeconds: pcmSeconds(validated.output_format, validated.sample_rate), ...options });
  return Object.assign(session, { seed });
}
