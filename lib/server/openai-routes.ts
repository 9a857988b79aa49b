/**
 * `serve`'s OpenAI-compatible routes (docs/http-api.md): POST /v1/audio/speech
 * (JSON or multipart; a whole file, raw chunked audio as windows decode, or server-sent events),
 * GET /v1/models, and GET / POST /v1/audio/voices and DELETE /v1/audio/voices/{id}. The calls themselves are lib/openai/speech-service.ts; this file is the
 * HTTP around them: bodies, headers, streaming with backpressure, and a client that hangs up
 * cancelling its generation. Errors leave in OpenAI's shape (openai-errors.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { streamOutcome, type OpenAiSpeech, type SpeechOutcome, type SpeechStream } from '../openai/speech-service.js';
import { HttpError, decodePathSegment, mediaType, readForm, readJsonObject, sendJson, writeWithBackpressure } from './http.js';
import { openAiError } from './openai-errors.js';
import type { Metrics } from './metrics.js';

const SPEECH_EXAMPLE = '{"model": "tts-1", "input": "Hello.", "voice": "NAME"}';
/** Headers that say what a result is: its seed, its hash (also the ETag), and how it ended. */
function outcomeHeaders(outcome: Partial<SpeechOutcome>): Record<string, string> {
  const headers: Record<string, string> = {};
  if (outcome.result_hash !== undefined) {
    headers.etag = `"${outcome.result_hash}"`;
    headers['x-higgs-result-hash'] = outcome.result_hash;
  }
  if (outcome.seed !== undefined && outcome.seed !== null) headers['x-higgs-seed'] = String(outcome.seed);
  if (outcome.cached !== undefined) headers['x-higgs-cached'] = String(outcome.cached);
  if (outcome.truncated !== undefined) headers['x-higgs-truncated'] = String(outcome.truncated);
  if (outcome.stop_reasons !== undefined) headers['x-higgs-stop-reasons'] = outcome.stop_reasons.join(',');
  if (outcome.saved_voice !== undefined) headers['x-higgs-saved-voice'] = outcome.saved_voice.saved ? outcome.saved_voice.name : `not saved: ${outcome.saved_voice.reason}`;
  return headers;
}

/** Trailers of a raw stream: how it ended is known only after its last byte. */
const STREAM_TRAILERS = 'x-higgs-truncated, x-higgs-stop-reasons';

/**
 * The entity tags of an If-None-Match header, unquoted (weak or strong alike: result hashes, or
 * "*"), for RequestOptions.ifNoneMatch; undefined without the header. Whether one names the
 * request's hash is decided under admission, where the hash is made (a "*" matches only a result
 * in the result cache).
 */
function entityTags(header: string | undefined): string[] | undefined {
  if (header === undefined) return undefined;
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .map((tag) => (tag === '*' ? tag : /^"([^"]*)"$/.exec(tag)?.[1]))
    .filter((tag): tag is string => tag !== undefined && tag !== '');
}

/** Multipart fields of the speech body that are numbers or booleans in JSON. */
const NUMERIC_FIELDS = new Set(['speed', 'seed', 'temperature', 'top_p', 'top_k', 'max_new_tokens', 'sample_rate']);

type OpenAiRoute = (req: IncomingMessage, res: ServerResponse, id?: string) => Promise<void> | void;

/** A multipart speech body as its JSON equivalent: an uploaded ref_audio file becomes base64. */
async function formBody(form: FormData): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = {};
  for (const [key, value] of form.entries()) {
    if (typeof value !== 'string') {
      if (key !== 'ref_audio') throw new HttpError(400, `${key}: only ref_audio may be a file`);
      body[key] = Buffer.from(await value.arrayBuffer()).toString('base64');
    } else if (NUMERIC_FIELDS.has(key)) {
      body[key] = value.trim() === '' ? value : Number(value); // not a number: the schema names it
    } else if (key === 'stream') {
      body[key] = value === 'true' ? true : value === 'false' ? false : value;
    } else {
      body[key] = value;
    }
  }
  return body;
}

/** POST /v1/audio/voices: multipart `name`, `audio_sample` (or `file`) and `ref_text`. */
async function voiceUpload(req: IncomingMessage, bodyLimitBytes: number): Promise<{ name: string; audio: Uint8Array; transcript: string }> {
  if (mediaType(req) !== 'multipart/form-data') throw new HttpError(400, 'body: send multipart/form-data with name, audio_sample and ref_text');
  const form = await readForm(req, bodyLimitBytes);
  const name = form.get('name');
  const file = form.get('audio_sample') ?? form.get('file');
  const transcript = form.get('ref_text');
  if (typeof name !== 'string') throw new HttpError(400, 'name: required (the preset name)');
  if (file === null || typeof file === 'string') throw new HttpError(400, 'audio_sample: required, as a file');
  if (typeof transcript !== 'string') throw new HttpError(400, 'ref_text: required (what the sample says)');
  return { name, audio: new Uint8Array(await file.arrayBuffer()), transcript };
}

/** Aborted when the client goes away before its answer is complete. */
function hangUpSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

/**
 * Streams `stream` as chunked audio or as server-sent events. The first chunk is awaited before
 * the status line, so a request that fails before any audio (an unknown voice, a full queue)
 * still gets its error status; after that an error ends an SSE stream with an error event and
 * cuts a raw one short (its chunked encoding never completes, which clients report). A write the
 * client does not take within `stallMs` closes the connection; leaving the loop then cancels the
 * generation and frees its slot.
 */
async function sendStream(res: ServerResponse, stream: SpeechStream, stallMs: number, metrics?: Metrics): Promise<void> {
  const chunks = stream.chunks[Symbol.asyncIterator]();
  let next = await chunks.next();
  const sse = stream.delivery === 'sse';
  const start = stream.started();
  const identity = start ? outcomeHeaders({ seed: start.seed, result_hash: start.resultHash }) : {};
  if (next.done && start?.notModified) {
    res.writeHead(304, identity); // If-None-Match named this stream's hash: nothing was generated
    res.end();
    return;
  }
  res.writeHead(
    200,
    sse
      ? { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...identity }
      : { 'content-type': stream.contentType, trailer: STREAM_TRAILERS, ...identity },
  );
  res.flushHeaders();
  const event = (body: unknown) => `data: ${JSON.stringify(body)}\n\n`;
  try {
    while (!next.done) {
      const bytes = next.value;
      const sent = await writeWithBackpressure(res, sse ? event({ type: 'speech.audio.delta', audio: bytes.toString('base64') }) : bytes, stallMs);
      if (!sent) return;
      metrics?.firstAudio(res); // counted once, at the first chunk
      next = await chunks.next();
    }
    const done = stream.done();
    const outcome = done ? streamOutcome(done) : undefined;
    if (sse) await writeWithBackpressure(res, event({ type: 'speech.audio.done', ...outcome, usage: outcome?.usage ?? null }), stallMs);
    else if (outcome) {
      const { 'x-higgs-truncated': truncated, 'x-higgs-stop-reasons': reasons } = outcomeHeaders(outcome);
      res.addTrailers({ 'x-higgs-truncated': truncated!, 'x-higgs-stop-reasons': reasons! });
    }
    res.end();
  } catch (error) {
    if (!res.destroyed) metrics?.failed(res); // a client gone meanwhile counts as cancelled
    if (sse && !res.destroyed) {
      await writeWithBackpressure(res, event({ type: 'error', error: openAiError(error).body.error }), stallMs);
      res.end();
    } else {
      res.destroy(error as Error);
    }
  } finally {
    await chunks.return?.();
  }
}

/** `sendTimeoutMs`: how long a stream's write waits for a client that does not read (limits.ts). */
export function createOpenAiRoutes(speech: OpenAiSpeech, bodyLimitBytes: number, sendTimeoutMs: number, metrics?: Metrics) {
  const routes: Record<string, Partial<Record<string, OpenAiRoute>>> = {
    'v1/models': { GET: (_req, res) => sendJson(res, 200, speech.models()) },
    'v1/audio/voices': {
      GET: async (_req, res) => sendJson(res, 200, await speech.voices()),
      POST: async (req, res) => {
        const upload = await voiceUpload(req, bodyLimitBytes);
        sendJson(res, 200, await speech.createVoice(upload.name, upload.audio, upload.transcript));
      },
    },
    'v1/audio/voices/:id': {
      DELETE: async (req, res, id) => {
        req.resume();
        if (!(await speech.deleteVoice(id!))) throw new HttpError(404, `voice ${JSON.stringify(id)} not found`);
        sendJson(res, 200, { id, deleted: true });
      },
    },
    'v1/audio/speech': {
      POST: async (req, res) => {
        const body =
          mediaType(req) === 'multipart/form-data' ? await formBody(await readForm(req, bodyLimitBytes)) : await readJsonObject(req, bodyLimitBytes, SPEECH_EXAMPLE);
        const signal = hangUpSignal(res);
        // A client that has this result already (same request, seed, model and engine) gets a 304,
        // decided under admission: the hash is made as the request runs (its voice encoded once).
        const ifNoneMatch = entityTags(req.headers['if-none-match']);
        if (speech.delivery(body) !== 'file') return sendStream(res, speech.stream(body, { signal, ifNoneMatch }), sendTimeoutMs, metrics);
        const out = await speech.file(body, { signal, ifNoneMatch });
        if (res.destroyed) return;
        if (out.notModified) {
          res.writeHead(304, outcomeHeaders({ seed: out.result.seed, result_hash: out.result.result_hash }));
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': out.contentType, 'content-length': out.audio.length, ...outcomeHeaders(out.result) });
        res.end(out.audio);
        metrics?.firstAudio(res);
      },
    },
  };

  /** Answers a /v1 request (path without slashes around it); every error in OpenAI's shape. */
  return async function dispatch(req: IncomingMessage, res: ServerResponse, path: string, authorize: () => void): Promise<void> {
    try {
      const voice = /^v1\/audio\/voices\/([^/]+)$/.exec(path);
      const key = voice ? 'v1/audio/voices/:id' : path;
      const methods = Object.hasOwn(routes, key) ? routes[key]! : undefined;
      if (!methods) throw new HttpError(404, `no route ${req.method} /${path}`);
      const method = req.method === 'HEAD' && methods.GET ? 'GET' : (req.method ?? 'GET');
      const route = Object.hasOwn(methods, method) ? methods[method] : undefined;
      if (!route) throw new HttpError(405, `${req.method} is not allowed on /${path} (use ${Object.keys(methods).join(' or ')})`, { allow: Object.keys(methods).join(', ') });
      authorize();
      await route(req, res, voice ? decodePathSegment(voice[1]!) : undefined);
    } catch (error) {
      const answer = openAiError(error);
      if (!res.headersSent && !res.destroyed) sendJson(res, answer.status, answer.body, answer.headers);
      else res.destroy();
      req.resume();
    }
  };
}
