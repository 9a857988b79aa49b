/**
 * The bridge from a validated request (snake_case, lib/request/schema.ts) to the speech layer's
 * SynthesisRequest (camelCase, lib/speech/synthesis.ts). It lives in the service, the one layer
 * that knows both, so the request layer stays below the speech layer.
 */
import type { ValidatedRequest } from '../request/schema.js';
import type { SynthesisRequest } from '../speech/synthesis.js';

/** The engine-side fields of a validated request; the voices (ref_audio, speakers) are left to the caller. */
export type SynthesisOptions = Omit<SynthesisRequest, 'voices' | 'referencePlacement' | 'speakerDescriptions'>;

/** Maps a validated request to the SynthesisRequest fields; voices are resolved separately. */
export function toSynthesisOptions(req: ValidatedRequest): SynthesisOptions {
  return {
    transcript: req.transcript,
    scene: req.scene_prompt,
    temperature: req.temperature,
    topK: req.top_k,
    topP: req.top_p,
    rasWindow: req.ras_win_len,
    rasMaxRepeats: req.ras_win_max_num_repeat,
    seed: req.seed,
    maxNewTokens: req.max_new_tokens,
    chunkMethod: req.chunk_method,
    chunkMaxWordNum: req.chunk_max_word_num,
    chunkMaxNumTurns: req.chunk_max_num_turns,
    generationChunkBufferSize: req.generation_chunk_buffer_size,
  };
}
