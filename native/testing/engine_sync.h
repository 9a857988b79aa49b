// Blocking forms of the Engine's calls, for higgs-bench and the native tests only (the
// higgs_engine_sync library; the addon does not link it): each queues the asynchronous call and
// waits for its callback, returning the result or rethrowing the error (a HiggsError). And the
// decode-step timing behind higgs-bench, run on the LM thread through Engine::run_on_lm_thread.
// No libtorch types here, as in engine.h.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace higgs {

ModelInfo load_sync(Engine& engine, const std::string& model_dir, Engine::ProgressFn progress = {});
ModelInfo load_random_sync(Engine& engine, const std::string& config_name, std::uint64_t seed);
ForwardResult forward_sync(Engine& engine, ForwardRequest request);
GenerateResult generate_sync(Engine& engine, GenerateRequest request, Engine::FramesFn on_frames = {},
                             Engine::StepProgressFn on_progress = {});
CodecInfo load_codec_sync(Engine& engine, const std::string& codec_dir);
CodecInfo load_random_codec_sync(Engine& engine, std::uint64_t seed);
std::vector<float> decode_audio_sync(Engine& engine, std::vector<std::int32_t> codes, std::int64_t frames);
std::vector<float> decode_audio_window_sync(Engine& engine, std::vector<std::int32_t> codes, std::int64_t frames,
                                            std::int64_t begin, std::int64_t end);
// `frames` (may be null) receives the number of frames of the codes.
std::vector<std::int32_t> encode_audio_sync(Engine& engine, std::vector<float> samples, std::int64_t* frames);

// Runs `job` on the LM thread (Engine::run_on_lm_thread) and waits; rethrows what it threw.
void run_on_lm_thread_sync(Engine& engine, std::function<void(const Engine::LoadedLm&)> job);

// higgs-bench: decode steps timed one by one (the host waits for the device after each) and
// back to back (one wait at the end, as generation runs them).
struct DecodeTiming {
  std::string decode;            // the path timed: "eager", "static" or "graph"
  std::vector<double> step_ms;   // each step alone
  double pipelined_step_ms = 0;  // mean of `steps` steps launched back to back
  double prefill_seconds = 0;
};

// Prefills `prompt` (its sampling settings are used), runs `warmup` untimed steps, then times
// `steps` steps alone and `steps` back to back. eager = true times HiggsLM::forward steps even
// when the engine decodes with a static/graph runner. Needs prompt + warmup + 2 steps positions
// (E_INPUT otherwise).
DecodeTiming time_decode_sync(Engine& engine, GenerateRequest prompt, std::int64_t warmup, std::int64_t steps,
                              bool eager);

// higgs-bench's batch sweep: steps of a batch holding `batch` live generations of `prompt`
// (seeds seed, seed + 1, ...; a row that ends is replaced between steps), computed as `batching`
// says ("exact" or "fast"): a SlotBatch with the engine's eager decode, a DeviceSlotBatch with
// its static or graph decode. Made and dropped on the LM thread, beside the engine's own batch;
// every KV cache has the engine's max_context, which must hold the prompt,
// batch * (its prefill pieces) + warmup + 2 * steps + 1 columns (E_INPUT otherwise).
struct BatchTiming {
  std::vector<double> step_ms;  // each step of `batch` rows, alone (the host waits after each)
  double back_to_back_ms = 0;   // mean of `steps` steps in a row, replacements included
  double mean_positions = 0;    // mean KV length a row attended over in the timed steps
  double capture_seconds = -1;  // graph decode: capturing the row bucket of `batch` rows (-1: no graphs)
  std::int64_t pool_bytes = -1;  // and the graph pool's growth meanwhile
};
BatchTiming time_batch_sync(Engine& engine, GenerateRequest prompt, std::int64_t batch, std::int64_t warmup,
                            std::int64_t steps, const std::string& batching);

}  // namespace higgs
