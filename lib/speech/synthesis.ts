/**
 * Long-form speech-token generation (docs/model.md#long-text): normalize the transcript, split
 * it into chunks, and generate each chunk with a fresh KV cache, conditioned on the voice
 * context and on the audio generated for earlier chunks (the last `generationChunkBufferSize` of
 * them). The codes of all chunks are concatenated along time; the codec decodes them once.
 */
import { HiggsError } from '../common/errors.js';
import { CODEC_FRAMES_PER_SECOND, REQUEST_DEFAULTS, SAMPLING_DEFAULTS } from '../request/defaults.js';
import type { GenerateResult, NativeEngine } from '../native/loader.js';
import { DEFAULT_CHUNK_METHOD, chunkText, type ChunkMethod } from '../text/chunking.js';
import { normalizeTranscript } from '../text/normalize.js';
import { SOUND_EVENT_SECONDS, estimateSpeech, hasSomethingToSay } from '../text/speaking-time.js';
import { renderPrompt, stripSpecialTokens, type HistoryTurn, type PromptSpec, type RenderedPrompt } from '../text/prompt/render.js';
import type { HiggsTokenizer } from '../text/tokenizer.js';

export interface SamplingOptions {
  // Each absent field takes SAMPLING_DEFAULTS (lib/request/defaults.ts, the one table).
  /** 0 = greedy. */
  temperature?: number;
  /** 0 = off. */
  topK?: number;
  topP?: number;
  /** RAS window; 0 disables RAS. */
  rasWindow?: number;
  rasMaxRepeats?: number;
  /** Default: a random seed, reported in the result. */
  seed?: number;
  /** Frame cap per chunk, counting the first all-bos frame (reference: 1024 in the README examples). */
  maxNewTokens?: number;
}

export interface SynthesisRequest extends SamplingOptions, Omit<PromptSpec, 'transcript' | 'history'> {
  transcript: string;
  /** Default 'auto': one chunk unless the text would not fit maxNewTokens; 'none', 'word' and 'speaker' as in the reference. */
  chunkMethod?: ChunkMethod;
  chunkMaxWordNum?: number;
  chunkMaxNumTurns?: number;
  /** Earlier chunks kept as context; null or absent: MAX_CONTEXT_CHUNKS (trimmed further only to fit maxContext). */
  generationChunkBufferSize?: number | null;
  /**
   * Turns generated before this request (a WebSocket session's earlier sentences), oldest first:
   * its first chunk carries them as context exactly as a later chunk carries the earlier ones.
   */
  history?: readonly HistoryTurn[];
}

export interface SynthesisHooks {
  signal?: AbortSignal;
  /** Frames [count][8] (frame-major) at global output frame `first`, across chunks, in order. */
  onFrames?: (frames: Int32Array, first: number, count: number) => void;
  onProgress?: (progress: { chunk: number; chunks: number; columns: number; maxColumns: number }) => void;
}

export interface ChunkReport {
  text: string;
  frames: number;
  stopReason: GenerateResult['stopReason'];
  promptPositions: number;
  historyChunks: number;
  prefillSeconds: number;
  decodeSeconds: number;
  /** The most generations the engine decoded together while this chunk ran (1 = alone). */
  peakBatch: number;
  /**
   * Where the chunk's audio starts and ends in the output, in seconds: exact frame boundaries
   * (lib/speech/timestamps.ts), at the output's speed.
   */
  startSeconds: number;
  endSeconds: number;
}

export interface SynthesisResult {
  /** [8][frames] codes, values 0..1023. */
  codes: number[][];
  frames: number;
  seed: number;
  chunks: ChunkReport[];
  /** A chunk ended at a cap (its frame cap or the context), not at the model's end of audio. */
  truncated: boolean;
  /** Each chunk as a turn of history (its normalized text and codes), for a later request's `history`. */
  turns: HistoryTurn[];
}

export const DEFAULT_MAX_NEW_TOKENS = 1024;
/** 'auto' plans chunks to fill at most this share of the frame cap (speech rates vary) ... */
const AUTO_CHUNK_FILL = 0.6;
/** ... but never shorter than this: a tiny cap is reported as truncation, not cut into words. */
const MIN_AUTO_CHUNK_SECONDS = 5;

/**
 * What one request may cost: its chunks, and the prompt positions prefilled over all of them
 * (each chunk re-reads its context: the voice, at most MAX_CONTEXT_CHUNKS earlier chunks, its
 * text). 256 chunks cover any 10,000-character transcript at the default frame cap; the prefill
 * bound (256 full 8192-position contexts) matters only with a larger HIGGS_MAX_CONTEXT (keep
 * fewer earlier chunks with generation_chunk_buffer_size then).
 */
export const REQUEST_WORK_LIMITS = { maxChunks: 256, maxPrefillPositions: 256 * 8192 } as const;
/** The most earlier chunks one chunk carries as context (the request table's bound). */
export const MAX_CONTEXT_CHUNKS = REQUEST_DEFAULTS.generation_chunk_buffer_size.maximum;
/** The frame cap allows this many times the slow-side speaking-time estimate (lib/text/speaking-time.ts) ... */
const FRAME_CAP_MARGIN = 3.5;
/** ... plus this much, so a very short text still has room for a breath and its ramp-out. */
const FRAME_CAP_BASE_SECONDS = 3;
/**
 * What each sound event adds to a chunk's frame cap: the margin applied to its estimate (7 s),
 * enough for a music sting or a hummed phrase, so `[music]` or `[humming]` alone is not cut.
 */
export const SOUND_EVENT_CAP_FRAMES = FRAME_CAP_MARGIN * SOUND_EVENT_SECONDS * CODEC_FRAMES_PER_SECOND;

/**
 * The frame cap for one chunk: the caller's maxNewTokens, but never more than a generous
 * speaking time for its text, so a generation that never emits eos (a known failure of the
 * model) cannot burn the request's budget. Only spoken text counts as speech: markup is no
 * longer to say for being long to write, and each sound event adds SOUND_EVENT_CAP_FRAMES.
 */
export function frameCapForText(text: string, maxNewTokens = DEFAULT_MAX_NEW_TOKENS): number {
  const { spokenSeconds, soundEvents } = estimateSpeech(text);
  const bySpeech = Math.ceil((FRAME_CAP_BASE_SECONDS + FRAME_CAP_MARGIN * spokenSeconds) * CODEC_FRAMES_PER_SECOND);
  return Math.max(1, Math.min(maxNewTokens, bySpeech + soundEvents * SOUND_EVENT_CAP_FRAMES));
}

let nextRequestId = 1;
// Every chunk of one request waits for a slot with the request's arrival, so a long request's
// later chunks go before requests that arrived after it.
let nextArrival = 1;

export async function synthesizeCodes(
  engine: NativeEngine,
  tokenizer: HiggsTokenizer,
  request: SynthesisRequest,
  hooks: SynthesisHooks = {},
): Promise<SynthesisResult> {
  const info = engine.info();
  if (!info) throw new HiggsError('E_NOT_LOADED', 'no model is loaded');
  const arrival = nextArrival++;
  // As the reference CLI: empty lines are dropped before chunking, so 'word' never splits on
  // paragraphs (docs/model.md#chunking). Special tokens the caller typed go first,
  // so that only the sound-event markup normalization itself writes reaches the prompt.
  const transcript = normalizeTranscript(stripSpecialTokens(tokenizer, request.transcript));
  if (!transcript || !hasSomethingToSay(transcript)) {
    throw new HiggsError('E_INPUT', 'invalid request: transcript: nothing to say (after normalization it holds no letter, digit, symbol or sound event)');
  }
  const chunks = chunkText(transcript, {
    method: request.chunkMethod ?? DEFAULT_CHUNK_METHOD,
    maxWords: request.chunkMaxWordNum,
    maxTurns: request.chunkMaxNumTurns,
    maxSeconds: autoChunkSeconds(request.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS),
  });
  if (chunks.length > REQUEST_WORK_LIMITS.maxChunks) {
    throw new HiggsError(
      'E_INPUT',
      `transcript: chunk_method "${request.chunkMethod ?? DEFAULT_CHUNK_METHOD}" cuts it into ${chunks.length} chunks, more than the ` +
        `${REQUEST_WORK_LIMITS.maxChunks} one request may generate: use larger chunks (chunk_max_word_num, max_new_tokens) or send the text in parts`,
    );
  }
  const buffer = request.generationChunkBufferSize ?? MAX_CONTEXT_CHUNKS;
  if (!Number.isInteger(buffer) || buffer < 1 || buffer > MAX_CONTEXT_CHUNKS) {
    throw new HiggsError('E_INPUT', `generationChunkBufferSize must be null or a whole number from 1 to ${MAX_CONTEXT_CHUNKS} (got ${buffer})`);
  }
  const seed = request.seed ?? Math.floor(Math.random() * 2 ** 32);
  const K = info.numCodebooks;
  const codes: number[][] = Array.from({ length: K }, () => []);
  const history: HistoryTurn[] = [...(request.history ?? [])];
  const earlier = history.length;
  const reports: ChunkReport[] = [];
  let prefilled = 0;

  for (const [index, text] of chunks.entries()) {
    if (hooks.signal?.aborted) throw new HiggsError('E_CANCELLED', 'generation was cancelled');
    const maxFrames = frameCapForText(text, request.maxNewTokens);
    // The reference keeps the last `buffer` generated audios (and their messages); null keeps all
    // of them there, here at most MAX_CONTEXT_CHUNKS, so that every chunk's prefill is bounded.
    let kept = history.slice(Math.max(0, history.length - buffer));
    let prompt = render(tokenizer, request, text, kept);
    // Beyond the reference: drop the oldest context chunk until prompt + frames fit the KV cache.
    while (prompt.inputIds.length + maxFrames > info.maxContext && kept.length > 0) {
      kept = kept.slice(1);
      prompt = render(tokenizer, request, text, kept);
    }
    if (prompt.inputIds.length >= info.maxContext) {
      throw new HiggsError('E_INPUT', `the prompt (${prompt.inputIds.length} positions) does not fit maxContext ${info.maxContext}`);
    }
    prefilled += prompt.inputIds.length;
    if (prefilled > REQUEST_WORK_LIMITS.maxPrefillPositions) {
      throw new HiggsError(
        'E_INPUT',
        `the request would prefill more than ${REQUEST_WORK_LIMITS.maxPrefillPositions} prompt positions (at chunk ${index + 1} of ${chunks.length}): ` +
          'keep fewer earlier chunks as context (generation_chunk_buffer_size) or send the text in parts',
      );
    }
    const startFrame = codes[0]!.length;
    const result = await generateChunk(engine, prompt, request, { seed, maxFrames, arrival, continues: index + 1 < chunks.length }, codes[0]!.length, hooks, index, chunks.length);
    for (let k = 0; k < K; k += 1) {
      const row = result.codes.subarray(k * result.frames, (k + 1) * result.frames);
      for (const v of row) codes[k]!.push(v);
    }
    history.push({ transcript: text, codes: rows(result.codes, K, result.frames) });
    reports.push({
      text,
      frames: result.frames,
      stopReason: result.stopReason,
      promptPositions: result.promptPositions,
      historyChunks: kept.length,
      prefillSeconds: result.prefillSeconds,
      decodeSeconds: result.decodeSeconds,
      peakBatch: result.peakBatch,
      startSeconds: startFrame / CODEC_FRAMES_PER_SECOND,
      endSeconds: (startFrame + result.frames) / CODEC_FRAMES_PER_SECOND,
    });
  }
  const truncated = reports.some((report) => report.stopReason !== 'audio_end');
  return { codes, frames: codes[0]!.length, seed, chunks: reports, truncated, turns: history.slice(earlier) };
}

/** The speaking time an 'auto' chunk may have for a frame cap of `maxNewTokens`. */
export function autoChunkSeconds(maxNewTokens: number): number {
  return Math.max(MIN_AUTO_CHUNK_SECONDS, (AUTO_CHUNK_FILL * maxNewTokens) / CODEC_FRAMES_PER_SECOND);
}

function render(tokenizer: HiggsTokenizer, request: SynthesisRequest, text: string, history: HistoryTurn[]): RenderedPrompt {
  return renderPrompt(tokenizer, {
    transcript: text,
    scene: request.scene,
    voices: request.voices,
    referencePlacement: request.referencePlacement,
    speakerDescriptions: request.speakerDescriptions,
    // A chunk whose generation produced no frames adds nothing to condition on.
    history: history.filter((turn) => (turn.codes[0]?.length ?? 0) > 0),
  });
}

async function generateChunk(
  engine: NativeEngine,
  prompt: RenderedPrompt,
  request: SynthesisRequest,
  { seed, maxFrames, arrival, continues }: { seed: number; maxFrames: number; arrival: number; continues: boolean },
  frameOffset: number,
  hooks: SynthesisHooks,
  chunk: number,
  chunks: number,
): Promise<GenerateResult> {
  const requestId = nextRequestId++;
  const abort = () => engine.cancel(requestId);
  hooks.signal?.addEventListener('abort', abort, { once: true });
  try {
    return await engine.generate(
      {
        inputIds: prompt.inputIds,
        audioMask: prompt.audioMask,
        audioCodes: prompt.audioCodes,
        temperature: request.temperature ?? SAMPLING_DEFAULTS.temperature,
        topK: request.topK ?? SAMPLING_DEFAULTS.topK,
        topP: request.topP ?? SAMPLING_DEFAULTS.topP,
        rasWindow: request.rasWindow ?? SAMPLING_DEFAULTS.rasWindow,
        rasMaxRepeats: request.rasMaxRepeats ?? SAMPLING_DEFAULTS.rasMaxRepeats,
        // The reference uses the same seed for every chunk.
        seed,
        maxFrames,
        requestId,
        arrival,
        continues,
      },
      {
        onFrames: hooks.onFrames && ((frames, first, count) => hooks.onFrames!(frames, frameOffset + first, count)),
        onProgress: hooks.onProgress && ((columns, maxColumns) => hooks.onProgress!({ chunk, chunks, columns, maxColumns })),
      },
    );
  } finally {
    hooks.signal?.removeEventListener('abort', abort);
  }
}

function rows(codes: Int32Array, K: number, frames: number): number[][] {
  return Array.from({ length: K }, (_, k) => Array.from(codes.subarray(k * frames, (k + 1) * frames)));
}
