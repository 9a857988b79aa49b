// Engine::time_decode_sync: the decode-step timing behind higgs-bench, run on the engine thread
// against the loaded model (eager forward steps, or the static/graph runner's steps).
#include <future>

#include "engine.h"
#include "engine_state.h"
#include "gpu/gpu.h"
#include "lm/generator.h"

namespace higgs {

using namespace engine_detail;

namespace {

double ms_since(Clock::time_point start) { return 1e3 * seconds_since(start); }

// One eager audio step at `position`: what the eager generator runs, logits copied to the host.
void eager_step(lm::HiggsLM& model, std::int64_t position) {
  const auto& c = model.config();
  const lm::Column column(c.num_codebooks, position % (c.codebook_vocab - 2));
  model.forward(lm::column_input(column, position, c.audio_out_token_id), lm::LogitsAt::Last, false);
}

}  // namespace

DecodeTiming Engine::time_decode_sync(GenerateRequest prompt, std::int64_t warmup, std::int64_t steps, bool eager) {
  std::promise<DecodeTiming> promise;
  state_->post([s = state_.get(), &promise, prompt = std::move(prompt), warmup, steps, eager] {
    try {
      if (!s->model) throw HiggsError(ErrorCode::NotLoaded, "no model is loaded");
      c10::InferenceMode guard;
      auto& model = *s->model;
      const auto device = model.options().device();
      auto wait = [&] {
        if (device.is_cuda()) gpu::synchronize(device.index());
      };
      auto input = make_lm_input(model.config(), prompt.input_ids, prompt.audio_mask, prompt.audio_codes, 0);
      const auto P = input.input_ids.size(0);
      if (P + warmup + 2 * steps > model.cache().max_context()) {
        throw HiggsError(ErrorCode::Input, "time_decode needs max_context >= prompt + warmup + 2 * steps");
      }
      DecodeTiming timing;
      const bool use_runner = s->runner && !eager;
      timing.decode = use_runner ? s->info->decode : "eager";
      auto start = Clock::now();
      model.forward(input, lm::LogitsAt::Last, false);  // copies logits to the host: synchronous
      timing.prefill_seconds = seconds_since(start);

      std::int64_t position = P;
      if (use_runner) {
        s->runner->state().reset({prompt.temperature, prompt.top_k, prompt.top_p, prompt.ras_window,
                                  prompt.ras_max_repeats, prompt.seed},
                                 {}, P);
      }
      auto step = [&] {
        if (use_runner) s->runner->step(position); else eager_step(model, position);
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
      promise.set_value(std::move(timing));
    } catch (...) {
      promise.set_exception(as_higgs_error(std::current_exception()));
    }
  });
  return promise.get_future().get();
}

}  // namespace higgs
