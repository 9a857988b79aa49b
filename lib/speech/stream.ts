/**
 * Streaming speech: generation runs in the background while frames arrive; every frame range
 * that has its 10 frames of right context is decoded as a window (equal to the same samples of a
 * whole decode) and handed out as PCM16 after a WAV header with open sizes, through the
 * output's stage (speed, sample rate) when there is one. The engine decodes
 * on its codec thread, beside the generation on its LM thread, so audio flows while the
 * frames after it are still being generated.
 */
import { HiggsError } from '../common/errors.js';
import type { NativeEngine } from '../native/loader.js';
import { synthesizeCodes, type SynthesisHooks, type SynthesisRequest, type SynthesisResult } from './synthesis.js';
import type { HiggsTokenizer } from '../text/tokenizer.js';
import { pcm16, streamingWavHeader } from '../audio/wav-stream.js';
import type { SampleStage } from '../audio/sample-stage.js';

/** Most frames decoded per window: bounds the latency and memory of one decode call. */
const MAX_WINDOW_FRAMES = 250;

export interface StreamSummary {
  result: SynthesisResult;
  audioSeconds: number;
}

/** What happens to the decoded samples on their way out: a stage (stretch, resample) and the rate it gives. */
export interface StreamOutput {
  stage: SampleStage;
  sampleRate: number;
}

export async function* streamSpeech(
  engine: NativeEngine,
  tokenizer: HiggsTokenizer,
  request: SynthesisRequest,
  hooks: Pick<SynthesisHooks, 'signal' | 'onProgress'> = {},
  summary?: (s: StreamSummary) => void,
  output?: StreamOutput,
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

  try {
    const stage = output?.stage;
    const rate = output?.sampleRate ?? codec.sampleRate;
    yield streamingWavHeader(rate);
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
        const samples = stage ? await stage.push(window) : window;
        sent += samples.length;
        if (samples.length) yield pcm16(samples);
        continue;
      }
      if (done) {
        if (state.error !== undefined) throw state.error;
        const tail = stage ? await stage.finish() : new Float32Array(0);
        sent += tail.length;
        if (tail.length) yield pcm16(tail);
        summary?.({ result: state.result!, audioSeconds: sent / rate });
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
