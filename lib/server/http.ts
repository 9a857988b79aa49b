/**
 * HTTP plumbing for the local API server: JSON responses, and request bodies read with a size
 * limit and parsed into RunPod's `{"input": ...}` envelope. Every problem is an HttpError that
 * the server answers as JSON; nothing a client sends can throw past it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    /** A stable error code for the body, e.g. E_BUSY. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJsonParts(res, status, [JSON.stringify(body)], headers);
}

/** A JSON answer written piece by piece: a large output's bytes are shared, never copied per answer. */
export function sendJsonParts(res: ServerResponse, status: number, parts: readonly (string | Buffer)[], headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const length = parts.reduce((n, part) => n + (typeof part === 'string' ? Buffer.byteLength(part) : part.length), 0);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': length, ...headers });
  for (const part of parts.slice(0, -1)) res.write(part);
  res.end(parts.at(-1));
}

/**
 * Writes with backpressure; false once the client is gone. The wait takes its listeners off
 * again whichever event ends it: a long stream must not leave one behind per wait. With
 * `stallMs`, a client that takes nothing for that long is cut off (the connection is destroyed,
 * false): a stream nobody reads must not hold its generation's slot.
 */
export async function writeWithBackpressure(res: ServerResponse, bytes: Buffer | string, stallMs?: number): Promise<boolean> {
  if (res.destroyed) return false;
  if (!res.write(bytes)) {
    await new Promise<void>((resolve) => {
      const timer = stallMs === undefined ? undefined : setTimeout(() => res.destroy(), stallMs);
      const done = (): void => {
        clearTimeout(timer);
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
  return !res.destroyed;
}

/** A path segment, percent-decoded; malformed percent-encoding is the client's error (400), never a 500. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch (error) {
    throw new HttpError(400, `path: ${(error as Error).message} (malformed percent-encoding in ${JSON.stringify(segment)})`);
  }
}

// RunPod's own worker posts JSON as x-www-form-urlencoded and the deployment guide's curl
// sends no content type at all: accept those as long as the body is JSON
// (docs/runpod-protocol.md#routes).
const JSON_TYPES = new Set(['application/json', 'text/plain', 'application/x-www-form-urlencoded']);

function checkContentType(req: IncomingMessage): void {
  const header = req.headers['content-type'];
  if (header === undefined) return;
  const type = header.split(';')[0]!.trim().toLowerCase();
  if (type === '' || JSON_TYPES.has(type) || type.endsWith('+json')) return;
  throw new HttpError(400, `content-type ${JSON.stringify(type)} is not supported: send a JSON body (application/json)`);
}

/**
 * Reads the whole body, at most `limit` bytes. Past the limit the rest is drained, not kept, so
 * the client can still read the 413; a sender that goes far past it is cut off.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new HttpError(413, `body: over the ${limit} byte limit`, { connection: 'close' });
  const declared = Number(req.headers['content-length']);
  const hardCap = limit * 2 + (1 << 20);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (error: Error | null, body?: Buffer) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve(body!);
    };
    if (Number.isFinite(declared) && declared > hardCap) {
      settle(tooLarge()); // do not even drain it
      return;
    }
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > hardCap) settle(tooLarge());
    });
    req.on('end', () => settle(size > limit ? tooLarge() : null, Buffer.concat(chunks)));
    req.on('error', (error) => settle(new HttpError(400, `body: ${error.message}`)));
    req.on('aborted', () => settle(new HttpError(400, 'body: the client aborted the upload')));
  });
}

export interface JobRequest {
  input: unknown;
  /** The request's own bucket, beside input as in RunPod's API (also accepted inside input). */
  s3Config?: unknown;
  /** Ignored locally, but validated so that typos show. */
  webhook?: string;
}

/** The request's media type, lower case, without parameters ('' when absent). */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** A multipart/form-data body (at most `limit` bytes), parsed by Node's own fetch implementation. */
export async function readForm(req: IncomingMessage, limit: number): Promise<FormData> {
  const raw = await readBody(req, limit);
  try {
    return await new Request('http://local/', { method: 'POST', headers: { 'content-type': req.headers['content-type']! }, body: new Uint8Array(raw) }).formData();
  } catch (error) {
    throw new HttpError(400, `body: not valid multipart/form-data (${(error as Error).message})`);
  }
}

/** A JSON object body; `example` shows what to send when it is missing or not an object. */
export async function readJsonObject(req: IncomingMessage, limit: number, example: string): Promise<Record<string, unknown>> {
  checkContentType(req);
  const raw = await readBody(req, limit);
  if (raw.length === 0) throw new HttpError(400, `body: empty; send ${example}`);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new HttpError(400, `body: not valid JSON (${(error as Error).message})`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, `body: must be a JSON object like ${example}`);
  }
  return body as Record<string, unknown>;
}

/** The `{"input": ...}` envelope of /run, /runsync and POST /. */
export async function readJobRequest(req: IncomingMessage, limit: number): Promise<JobRequest> {
  const { input, webhook, s3Config } = await readJsonObject(req, limit, '{"input": {...}}');
  if (input === undefined || input === null) throw new HttpError(400, 'input: required; send {"input": {...}}');
  if (webhook !== undefined && typeof webhook !== 'string') throw new HttpError(400, 'webhook: must be a URL string');
  return { input, webhook, s3Config };
}

/** `?wait=` in milliseconds, clamped as RunPod does (1 s to 5 min); `fallback` when absent. */
export function waitParam(url: URL, fallback: number): number {
  const text = url.searchParams.get('wait');
  if (text === null || text === '') return fallback;
  const ms = Number(text);
  if (!Number.isFinite(ms)) throw new HttpError(400, `wait: must be a number of milliseconds (got ${JSON.stringify(text)})`);
  return Math.min(300_000, Math.max(1000, ms));
}
