// time_decode_sync: the decode-step timing behind higgs-bench, run on the LM thread against the
// loaded model (eager forward steps, or the static/graph runner's steps). It reaches the model
// through Engine::run_on_lm_thread, the core's one hook for such code.
#include <algorithm>
#include <chrono>

#include "engine_sync.h"
#include "errors.h"
#include "gpu/gpu.h"
#include "lm/decode_runner.h"
#include "lm/generator.h"
#include "lm/higgs_lm.h"

namespace higgs {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }
double ms_since(Clock::time_point start) { return 1e3 * seconds_since(start); }

// One eager audio step at `position`: what the eager generator runs, logits copied to the host.
void eager_step(lm::HiggsLM& model, std::int64_t position) {
  const auto& c = model.config();
  const lm::Column column(c.num_codebooks, position % (c.codebook_vocab - 2));
  model.forward(lm::column_input(column, position, c.audio_out_token_id), lm::LogitsAt::Last, false);
}

DecodeTiming time_steps(const Engine::LoadedLm& loaded, const GenerateRequest& prompt, std::int64_t warmup,
                        std::int64_t steps, bool eager) {
  auto& model = loaded.model;
  const auto device = model.options().device();
  auto wait = [&] {
    if (device.is_cuda()) gpu::synchronize(device.index());
  };
  auto input = lm::make_lm_input(model.config(), prompt.input_ids, prompt.audio_mask, prompt.audio_codes, 0);
  const auto P = input.input_ids.size(0);
  if (P + warmup + 2 * steps > model.cache().max_context()) {
    throw HiggsError(ErrorCode::Input, "time_decode needs max_context >= prompt + warmup + 2 * steps");
  }
  DecodeTiming timing;
  lm::DecodeRunner* runner = eager ? nullptr : loaded.runner;
  timing.decode = runner ? loaded.info.decode : "eager";
  auto start = Clock::now();
  model.forward(input, lm::LogitsAt::Last, false);  // copies logits to the host: synchronous
  timing.prefill_seconds = seconds_since(start);

  std::int64_t position = P;
  if (runner) {
    runner->state().reset({prompt.temperature, prompt.top_k, prompt.top_p, prompt.ras_window,
                           prompt.ras_max_repeats, prompt.seed},
                          {}, P);
  }
  auto step = [&] {
    if (runner) runner->step(position); else eager_step(model, position);
    ++position;
  };
  for (std::int64_t i = 0; i < warmup; ++i) step();
  wait();
  for (std::int64_t i = 0; i < steps; ++i) {
    start = Clock::now();
    step();
    wait();
    timing.step_ms.push_back(ms_since(start));
  }
  start = Clock::now();
  for (std::int64_t i = 0; i < steps; ++i) step();
  wait();
  timing.pipelined_step_ms = ms_since(start) / static_cast<double>(std::max<std::int64_t>(steps, 1));
  return timing;
}

}  // namespace

DecodeTiming time_decode_sync(Engine& engine, GenerateRequest prompt, std::int64_t warmup, std::int64_t steps,
                              bool eager) {
  DecodeTiming timing;
  run_on_lm_thread_sync(engine, [&](const Engine::LoadedLm& loaded) { timing = time_steps(loaded, prompt, warmup, steps, eager); });
  return timing;
}

}  // namespace higgs
