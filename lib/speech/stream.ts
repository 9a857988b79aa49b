/**
 * Streaming speech: generation runs in the background while frames arrive; every frame range
 * that has its 10 frames of right context is decoded as a window (equal to the same samples of a
 * whole decode), passed through the output's stage (speed, sample rate) and encoder (any output
 * format, lib/audio/stream-encoder.ts) in pieces of at most pieceSamples, and each piece's bytes
 * handed out as they are ready. The engine decodes on its codec thread, beside the generation on
 * its LM thread, so audio flows while the frames after it are still being generated.
 */
import { HiggsError } from '../common/errors.js';
import type { NativeEngine } from '../native/loader.js';
import { synthesizeCodes, type SynthesisHooks, type SynthesisRequest, type SynthesisResult } from './synthesis.js';
import type { HiggsTokenizer } from '../text/tokenizer.js';
import type { SampleStage } from '../audio/sample-stage.js';
import { SamplePieces } from '../audio/sample-pieces.js';
import type { NativeByteStream } from '../native/loader.js';

/** Most frames decoded per window: bounds the latency and memory of one decode call. */
const MAX_WINDOW_FRAMES = 250;
/** Most samples in one piece: 480 KB of PCM16, 640 KB as base64, under RunPod's 1 MB stream part. */
const MAX_PIECE_SAMPLES = 240_000;

/** Samples per streamed piece for `partMs` of audio at `sampleRate` (HiggsConfig.streamPartMs), within MAX_PIECE_SAMPLES. */
export function streamPieceSamples(sampleRate: number, partMs: number): number {
  return Math.max(1, Math.min(MAX_PIECE_SAMPLES, Math.round((sampleRate * partMs) / 1000)));
}

export interface StreamSummary {
  result: SynthesisResult;
  audioSeconds: number;
}

/** What happens to the decoded samples on their way out. */
export interface StreamOutput {
  /** Stretching and resampling, piece by piece. */
  stage: SampleStage;
  /** The rate `stage` gives, which `encoder` takes. */
  sampleRate: number;
  /** The bytes of the output format (all of them in order are one file). */
  encoder: NativeByteStream;
  /** Samples (after the stage) per piece handed to the encoder (lib/audio/sample-pieces.ts). */
  pieceSamples: number;
}

export async function* streamSpeech(
  engine: NativeEngine,
  tokenizer: HiggsTokenizer,
  request: SynthesisRequest,
  hooks: Pick<SynthesisHooks, 'signal' | 'onProgress'> = {},
  summary: (s: StreamSummary) => void,
  output: StreamOutput,
): AsyncGenerator<Buffer> {
  const codec = engine.codecInfo();
  if (!codec) throw new HiggsError('E_NOT_LOADED', 'no audio codec is loaded');
  const K = codec.numQuantizers;
  const context = codec.contextFrames;
  const codes: number[][] = Array.from({ length: K }, () => []);
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  const state: { result?: SynthesisResult; error?: unknown; done: boolean } = { done: false };
  // Our own signal: a consumer that stops reading must stop the generation too.
  const abort = new AbortController();
  const forward = () => abort.abort();
  hooks.signal?.addEventListener('abort', forward, { once: true });
  if (hooks.signal?.aborted) abort.abort();
  const generation = synthesizeCodes(engine, tokenizer, request, {
    onProgress: hooks.onProgress,
    signal: abort.signal,
    onFrames: (frames, first, count) => {
      for (let i = 0; i < count; i += 1) for (let k = 0; k < K; k += 1) codes[k]![first + i] = frames[i * K + k]!;
      notify();
    },
  }).then(
    (result) => {
      Object.assign(state, { result, done: true });
      notify();
    },
    (error: unknown) => {
      Object.assign(state, { error, done: true });
      notify();
    },
  );

  const { stage, encoder, sampleRate: rate } = output;
  const pieces = new SamplePieces(output.pieceSamples);
  try {
    let decoded = 0;
    let sent = 0; // samples handed out (after the stage)
    for (;;) {
      const available = codes[0]!.length;
      const done = state.done;
      const ready = done ? available : available - context;
      if (ready > decoded) {
        const end = Math.min(ready, decoded + MAX_WINDOW_FRAMES);
        // Only the frames the window and its context need go to the engine.
        const from = Math.max(0, decoded - context);
        const to = Math.min(available, end + context);
        const slice = new Int32Array(K * (to - from));
        for (let k = 0; k < K; k += 1) slice.set(codes[k]!.slice(from, to), k * (to - from));
        const window = await engine.decodeAudio(slice, to - from, { begin: decoded - from, end: end - from });
        decoded = end;
        const samples = await stage.push(window);
        sent += samples.length;
        for (const piece of pieces.add(samples)) {
          const bytes = await encoder.push(piece);
          if (bytes.length) yield bytes;
        }
        continue;
      }
      if (done) {
        if (state.error !== undefined) throw state.error;
        const tail = await stage.finish();
        sent += tail.length;
        // The last piece carries what the encoder still held (a partial frame, the last page).
        const last = [...pieces.add(tail), ...pieces.rest()];
        for (const [i, piece] of last.entries()) {
          const bytes = await encoder.push(piece);
          const all = i === last.length - 1 ? Buffer.concat([bytes, await encoder.finish()]) : bytes;
          if (all.length) yield all;
        }
        if (last.length === 0) {
          const bytes = await encoder.finish();
          if (bytes.length) yield bytes;
        }
        summary({ result: state.result!, audioSeconds: sent / rate });
        return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    if (!state.done) abort.abort();
    hooks.signal?.removeEventListener('abort', forward);
    await generation; // settles either way (E_CANCELLED after the abort)
  }
}
