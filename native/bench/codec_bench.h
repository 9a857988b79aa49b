// The codec part of higgs-bench: decode time per second of audio with a codec of the real Higgs
// Audio V2 tokenizer shape (random weights, seeded, fp32 on the bench's device), no checkpoint
// needed. Whole decodes of args.codec_seconds of random codes, then the streaming window decode
// (args.codec_window frames with the codec's context frames on each side, as lib/speech/stream.ts sends
// them while a request generates). Every timed call copies the samples back to the host, so on
// CUDA the time includes the device finishing the work.
#pragma once

#include <nlohmann/json.hpp>

#include "bench_args.h"
#include "engine/engine.h"

namespace higgs::bench {

// Loads the random codec into `engine` (replacing any codec), times the decodes, prints a few
// table lines and returns the report's "codec" object:
//   codec "random", seed, device, dtype "float32", load_s, sample_rate, samples_per_frame,
//   num_quantizers, codebook_size, context_frames, warmup, repeats,
//   decode: [{audio_s, frames, samples, ms, ms_min, ms_per_audio_s, real_time_factor}, ...],
//   codec_decode_ms_per_audio_s (of the longest decode), codec_decode_audio_s (its length),
//   window: {chunk_frames, context_frames, decoded_frames, repeats, ms_p50, ms_p90, ms_min,
//            ms_per_audio_s, real_time_factor},
//   codec_window_ms_per_chunk (= window.ms_p50),
//   peak_gpu_memory_bytes (CUDA: the allocator's peak over the codec runs; null on the CPU).
nlohmann::json bench_codec(higgs::Engine& engine, const BenchArgs& args);

}  // namespace higgs::bench
