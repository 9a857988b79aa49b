// Continuous batching (lm/slot_batch.h) on a small random model: a request's codes and streamed
// frames equal its solo run whatever runs beside it, whenever it arrives and whichever slot it
// gets; cancelling one row leaves the others alone; more requests than slots all complete (a
// slot reused many times gives what a fresh one gives); and the Engine serves concurrent
// generate() calls through the batch, with an exclusive forward waiting for it to drain.
#include <ATen/ATen.h>

#include <atomic>
#include <future>
#include <map>
#include <random>

#include "batch_test_util.h"
#include "check.h"
#include "engine/engine.h"
#include "engine_sync.h"
#include "errors.h"
#include "lm/generator.h"
#include "lm/slot_batch.h"
#include "lm_test_util.h"

using namespace higgs;
using namespace higgs::lm;
using namespace higgs::test;

namespace {

GenerationOutput solo(HiggsLM& model, const GenerationInput& input, std::vector<Column>* streamed = nullptr) {
  GenerationCallbacks cb;
  cb.stream_every = 3;
  if (streamed) {
    cb.on_frames = [streamed](const std::vector<Column>& frames, std::int64_t) {
      streamed->insert(streamed->end(), frames.begin(), frames.end());
    };
  }
  return generate(model, input, cb);
}

}  // namespace

HIGGS_TEST(each_row_equals_its_solo_run_whatever_runs_beside_it) {
  auto model = small_model(7, 128);
  // Solo runs first, over the model's own cache (slot 0 of the batch later).
  std::vector<GenerationInput> inputs = {request(1, 40), request(2, 25, 0.0), request(3, 33, 0.7, 0), request(4, 60)};
  std::vector<GenerationOutput> expected;
  std::vector<std::vector<Column>> expected_streams(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) expected.push_back(solo(model, inputs[i], &expected_streams[i]));

  for (std::int64_t slots : {2, 3, 4}) {
    SlotBatch batch(model, slots);
    std::vector<Job> jobs(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      jobs[i].input = inputs[i];
      jobs[i].arrives_at = static_cast<std::int64_t>(i) * 5;  // each joins a batch already running
    }
    const auto largest = drive(batch, jobs);
    HIGGS_CHECK_MSG(largest == slots, "largest batch " << largest << " with " << slots << " slots");
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      HIGGS_CHECK_MSG(!jobs[i].error, "job " << i << " failed");
      HIGGS_CHECK_MSG(same(jobs[i].out, expected[i]), "slots " << slots << ", job " << i << " differs from its solo run");
      HIGGS_CHECK_MSG(jobs[i].streamed == expected_streams[i], "slots " << slots << ", job " << i << " streamed other frames");
    }
    HIGGS_CHECK(batch.busy() == 0);
  }
}

HIGGS_TEST(cancelling_one_row_leaves_the_others_and_its_frames_are_a_prefix) {
  auto model = small_model(7, 128);
  std::vector<GenerationInput> inputs = {request(11, 50), request(12, 50), request(13, 50)};
  std::vector<GenerationOutput> expected;
  std::vector<std::vector<Column>> expected_streams(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) expected.push_back(solo(model, inputs[i], &expected_streams[i]));
  for (std::int64_t cancel_at : {2, 12, 30}) {
    SlotBatch batch(model, 3);
    std::vector<Job> jobs(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) jobs[i].input = inputs[i];
    jobs[1].cancel_at_columns = cancel_at;
    drive(batch, jobs);
    HIGGS_CHECK(jobs[1].error != nullptr);
    HIGGS_CHECK_THROWS(std::rethrow_exception(jobs[1].error), ErrorCode::Cancelled, "cancelled");
    const auto& mine = jobs[1].streamed;
    HIGGS_CHECK(mine.size() <= expected_streams[1].size());
    HIGGS_CHECK(std::equal(mine.begin(), mine.end(), expected_streams[1].begin()));
    for (std::size_t i : {0u, 2u}) HIGGS_CHECK_MSG(same(jobs[i].out, expected[i]), "cancel at " << cancel_at << ", job " << i);
  }
}

HIGGS_TEST(more_requests_than_slots_all_complete_and_reused_slots_match) {
  auto model = small_model(9, 96);  // a short context: some rows stop at context_full
  std::mt19937_64 rng(5);
  std::vector<GenerationInput> inputs;
  for (int i = 0; i < 10; ++i) inputs.push_back(request(100 + i, 10 + static_cast<std::int64_t>(rng() % 120)));
  std::vector<GenerationOutput> expected;
  std::map<StopReason, int> stops;
  for (const auto& input : inputs) {
    expected.push_back(solo(model, input));
    ++stops[expected.back().stop];
  }
  HIGGS_CHECK_MSG(stops[StopReason::ContextFull] > 0 && stops[StopReason::MaxFrames] > 0, "the mix covers both caps");
  SlotBatch batch(model, 3);
  std::vector<Job> jobs(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) jobs[i].input = inputs[i];  // all arrive at once
  drive(batch, jobs);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    HIGGS_CHECK_MSG(jobs[i].done && !jobs[i].error, "job " << i);
    HIGGS_CHECK_MSG(same(jobs[i].out, expected[i]), "job " << i << " (" << stop_reason_name(expected[i].stop) << ")");
  }
  HIGGS_CHECK(batch.busy() == 0);
}

HIGGS_TEST(a_request_that_cannot_start_reports_alone) {
  auto model = small_model(7, 64);
  SlotBatch batch(model, 2);
  std::vector<Job> jobs(3);
  jobs[0].input = request(1, 20);
  jobs[1].input = request(2, 20);
  jobs[1].input.prompt = prompt_of(2, 80);  // longer than the 64-position context
  jobs[2].input = request(3, 20);
  auto expected0 = solo(model, jobs[0].input), expected2 = solo(model, jobs[2].input);
  drive(batch, jobs);
  HIGGS_CHECK(jobs[1].error != nullptr);
  HIGGS_CHECK_THROWS(std::rethrow_exception(jobs[1].error), ErrorCode::Input, "exceeds max_context");
  HIGGS_CHECK(same(jobs[0].out, expected0) && same(jobs[2].out, expected2));
}

HIGGS_TEST(the_engine_serves_concurrent_generations_through_its_slots) {
  EngineOptions options;
  options.max_context = 256;
  options.slots = 3;
  Engine engine(options);
  auto info = load_random_sync(engine, "tiny", 3);
  HIGGS_CHECK_MSG(info.slots == 3, info.slots);
  HIGGS_CHECK(info.decode == "eager");
  std::vector<GenerateRequest> requests;
  for (int i = 0; i < 5; ++i) {
    GenerateRequest r;
    r.input_ids = {128000, 128006, 882 + i, 128007, 271, 128013};
    r.audio_mask.assign(6, 0);
    r.max_frames = 30 + 7 * i;
    r.seed = 40 + static_cast<std::uint64_t>(i);
    r.request_id = 500 + static_cast<std::uint64_t>(i);
    requests.push_back(r);
  }
  std::vector<GenerateResult> solos;
  for (auto r : requests) solos.push_back(generate_sync(engine, r));
  // All at once, with a forward queued among them (it waits for the batch to drain).
  std::vector<std::promise<GenerateResult>> promises(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    engine.generate(requests[i], {}, {}, [&promises, i](std::exception_ptr error, GenerateResult* result) {
      if (error) promises[i].set_exception(error);
      else promises[i].set_value(*result);
    });
    if (i == 2) {
      ForwardRequest f;
      f.input_ids = {128000, 128013};
      f.audio_mask = {0, 0};
      HIGGS_CHECK(forward_sync(engine, f).audio_logits.size() == static_cast<size_t>(8 * 1026));
    }
  }
  for (std::size_t i = 0; i < requests.size(); ++i) {
    auto result = promises[i].get_future().get();
    HIGGS_CHECK_MSG(result.codes == solos[i].codes && result.stop_reason == solos[i].stop_reason, "request " << i);
  }
}
