// A real `ws` client of serve's text-in WebSocket for the tests: it keeps every message and frame
// in order, waits for the ones a test names, and groups a session's frames into its sentences.
import WebSocket from 'ws';
import type { RunningServer } from '../../lib/server/server.js';

export type Message = Record<string, any>;

export interface Sentence {
  start: Message;
  audio: Buffer;
  /** The frames, as they came. */
  frames: Buffer[];
  done?: Message;
}

export class SpeechSocket {
  /** JSON messages (parsed) and binary frames, in the order they came. */
  readonly received: Array<Message | Buffer> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.received.push(isBinary ? data : (JSON.parse(data.toString('utf8')) as Message));
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    void this.closed.then(() => this.waiters.splice(0).forEach((wake) => wake()));
  }

  /** Opens a session; rejects with the HTTP status of a refused upgrade. */
  static open(server: RunningServer, { path = '/v1/audio/speech/stream', key, query = '' }: { path?: string; key?: string; query?: string } = {}): Promise<SpeechSocket> {
    const url = `${server.url.replace(/^http/, 'ws')}${path}${query}`;
    const ws = new WebSocket(url, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } });
    const socket = new SpeechSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(socket));
      ws.once('unexpected-response', (_req, res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body: Buffer.concat(parts).toString('utf8') })));
      });
      ws.once('error', reject);
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message));
  }

  /** The JSON messages so far. */
  messages(type?: string): Message[] {
    return this.received.filter((m): m is Message => !Buffer.isBuffer(m) && (type === undefined || m.type === type));
  }

  /** Waits for a JSON message (the first that matches, counting those already here). */
  async next(match: string | ((m: Message) => boolean), ms = 60_000): Promise<Message> {
    const test = typeof match === 'string' ? (m: Message) => m.type === match : match;
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.messages().find(test);
      if (found) return found;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`closed before ${String(match)}: ${JSON.stringify(this.messages())}`);
      if (Date.now() > deadline) throw new Error(`no ${String(match)} within ${ms} ms: ${JSON.stringify(this.messages())}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the first binary frame. */
  async firstFrame(ms = 60_000): Promise<Buffer> {
    await this.next(() => this.received.some((m) => Buffer.isBuffer(m)), ms);
    return this.received.find((m): m is Buffer => Buffer.isBuffer(m))!;
  }

  /** The frames grouped by the audio.start ... audio.done around them. */
  sentences(): Sentence[] {
    const sentences: Sentence[] = [];
    for (const item of this.received) {
      const current = sentences.at(-1);
      if (Buffer.isBuffer(item)) {
        if (!current || current.done) throw new Error('a binary frame outside a sentence');
        current.frames.push(item);
        current.audio = Buffer.concat(current.frames);
      } else if (item.type === 'audio.start') {
        sentences.push({ start: item, audio: Buffer.alloc(0), frames: [] });
      } else if (item.type === 'audio.done') {
        if (!current || current.done || current.start.sentence_index !== item.sentence_index) throw new Error(`audio.done out of order: ${JSON.stringify(item)}`);
        current.done = item;
      }
    }
    return sentences;
  }

  /** Sends `text` as input.text deltas (`pieces`), then input.done, and waits for session.done. */
  async speak(pieces: readonly string[], ms = 120_000): Promise<Message> {
    for (const text of pieces) this.send({ type: 'input.text', text });
    this.send({ type: 'input.done' });
    return this.next('session.done', ms);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not met in ${ms} ms: ${what}`);
    await sleep(25);
  }
}
