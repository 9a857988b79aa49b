// time_batch_sync (engine_sync.h): a batch of B live rows stepped on the LM thread through
// Engine::run_on_lm_thread, each step timed: a SlotBatch with eager decode, a DeviceSlotBatch
// (its graphs captured first) with static or graph decode.
#include <chrono>

#include "engine_sync.h"
#include "errors.h"
#include "gpu/gpu.h"
#include "lm/generator.h"
#include "lm/higgs_lm.h"
#include "lm/device_slot_batch.h"
#include "lm/slot_batch.h"

namespace higgs {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

BatchTiming time_batch(lm::HiggsLM& model, const ModelInfo& info, const GenerateRequest& prompt, std::int64_t B,
                       std::int64_t warmup, std::int64_t steps, const std::string& batching) {
  const auto device = model.options().device();
  auto wait = [&] {
    if (device.is_cuda()) gpu::synchronize(device.index());
  };
  lm::GenerationInput input;
  input.prompt = lm::make_lm_input(model.config(), prompt.input_ids, prompt.audio_mask, prompt.audio_codes, 0);
  input.sampling = {prompt.temperature, prompt.top_k, prompt.top_p, prompt.ras_window, prompt.ras_max_repeats,
                    prompt.seed};
  const auto P = input.prompt.input_ids.size(0);
  // Rows prefill one after another (one piece per step), so the first is up to B times its
  // pieces columns ahead: none may end before the timed steps do.
  const auto lead = B * ((P + lm::kPrefillPiece - 1) / lm::kPrefillPiece);
  if (P + lead + warmup + 2 * steps + 1 > model.cache().max_context()) {
    throw HiggsError(ErrorCode::Input, "the batch sweep needs max_context >= prompt + batch * prompt pieces + warmup + 2 * steps + 1");
  }
  input.max_frames = model.cache().max_context();  // rows run to the end of their cache
  const auto mode = lm::parse_batch_mode(batching);
  BatchTiming timing;
  std::unique_ptr<lm::GenerationBatch> rows;
  if (info.decode == "eager") {
    rows = std::make_unique<lm::SlotBatch>(model, B, mode);
  } else {
    auto device_rows = std::make_unique<lm::DeviceSlotBatch>(model, B, mode, info.decode == "graph", info.fused_kernels);
    device_rows->capture_all();
    for (const auto& capture : device_rows->runner().captures()) {
      if (capture.rows != B) continue;  // the bucket this batch size steps in
      timing.capture_seconds = capture.seconds;
      timing.pool_bytes = capture.pool_bytes;
    }
    rows = std::move(device_rows);
  }
  auto& batch = *rows;
  std::uint64_t admitted = 0;
  std::exception_ptr failure;
  auto top_up = [&] {
    while (!batch.full()) {
      auto row = input;
      row.sampling.seed = prompt.seed + admitted++;
      batch.admit(std::move(row), {}, [&failure](std::exception_ptr error, lm::GenerationOutput*) {
        if (error) failure = error;
      });
      if (failure) std::rethrow_exception(failure);
    }
    while (batch.prefilling()) batch.step();  // untimed: the timed steps decode only
  };
  top_up();
  for (std::int64_t i = 0; i < warmup; ++i) {
    batch.step();
    top_up();
  }
  wait();
  for (std::int64_t i = 0; i < steps; ++i) {
    const auto start = Clock::now();
    batch.step();
    wait();
    timing.step_ms.push_back(ms_since(start));
    top_up();
  }
  const auto start = Clock::now();
  for (std::int64_t i = 0; i < steps; ++i) {
    batch.step();
    top_up();
  }
  wait();
  timing.back_to_back_ms = ms_since(start) / static_cast<double>(steps);
  if (failure) std::rethrow_exception(failure);
  // About where the rows were in the timed steps (they started up to `lead` columns apart).
  timing.mean_positions = static_cast<double>(P) + static_cast<double>(lead) / 2 + static_cast<double>(warmup + steps);
  return timing;
}

}  // namespace

BatchTiming time_batch_sync(Engine& engine, GenerateRequest prompt, std::int64_t batch, std::int64_t warmup,
                            std::int64_t steps, const std::string& batching) {
  if (batch < 1 || steps < 1) throw HiggsError(ErrorCode::Input, "the batch sweep needs batch >= 1 and steps >= 1");
  BatchTiming timing;
  run_on_lm_thread_sync(engine, [&](const Engine::LoadedLm& loaded) {
    timing = time_batch(loaded.model, loaded.info, prompt, batch, warmup, steps, batching);
  });
  return timing;
}

}  // namespace higgs
