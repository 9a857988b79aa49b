// Continuous batching with the rows' decode state on the device (lm/device_slot_batch.h), static
// decode on the CPU (the graphs' ops without the capture): in row-exact mode a request's codes
// and streamed frames equal its one-row static run whatever runs beside it, in whichever slot,
// row bucket and KV bucket; rows that do not advance write nothing; cancelling one row leaves
// the others alone; more requests than slots all complete with the solo stops although the host
// reads the done flags late; fast mode's batched step gives each row its own logits; and the
// Engine serves concurrent requests through it with decode "static" and slots > 1.
#include <ATen/ATen.h>

#include <future>
#include <map>
#include <random>

#include "batch_test_util.h"
#include "check.h"
#include "engine/engine.h"
#include "engine_sync.h"
#include "errors.h"
#include "lm/decode_runner.h"
#include "lm/device_slot_batch.h"
#include "lm/generator.h"
#include "lm_test_util.h"

using namespace higgs;
using namespace higgs::lm;
using namespace higgs::test;

namespace {

// The one-row static run (generate() with a DecodeRunner over the model's own cache).
GenerationOutput solo_static(HiggsLM& model, const GenerationInput& input, std::vector<Column>* streamed = nullptr) {
  DecodeRunner runner(model, false);
  GenerationCallbacks cb;
  cb.stream_every = 3;
  if (streamed) {
    cb.on_frames = [streamed](const std::vector<Column>& frames, std::int64_t) {
      streamed->insert(streamed->end(), frames.begin(), frames.end());
    };
  }
  return generate(model, input, cb, &runner);
}

}  // namespace

HIGGS_TEST(each_device_row_equals_its_one_row_static_run) {
  // max_context 600: KV buckets 256, 512, 600, and one prompt long enough (3 prefill pieces) to
  // decode in the 512 bucket while the others are in the 256 one.
  auto model = small_model(7, 600);
  HIGGS_CHECK((kv_buckets(600) == std::vector<std::int64_t>{256, 512, 600}));
  std::vector<GenerationInput> inputs = {request(1, 40), request(2, 25, 0.0), request(3, 33, 0.7, 0), request(4, 60),
                                         request(5, 30)};
  inputs[3].prompt = prompt_of(44, 290);
  std::vector<GenerationOutput> expected;
  std::vector<std::vector<Column>> expected_streams(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) expected.push_back(solo_static(model, inputs[i], &expected_streams[i]));

  for (std::int64_t slots : {1, 2, 3, 5}) {
    DeviceSlotBatch batch(model, slots, BatchMode::RowExact, false);
    HIGGS_CHECK(batch.runner().row_buckets() == row_buckets(slots));
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
  // The one-row static path itself equals the eager one (test_decode_static.cc); here too.
  HIGGS_CHECK(same(expected[0], generate(model, inputs[0], {})));
}

HIGGS_TEST(rows_that_do_not_advance_write_nothing) {
  auto model = small_model(5, 128);
  const auto& c = model.config();
  KvArena arena(c.num_layers, 3, 128, c.num_kv_heads, c.head_dim, model.options());
  DecodeState state(c, 129, model.options().device(), 3);
  AudioDecodeStep exact(model, state, arena, false, false), fast(model, state, arena, true, false);
  for (std::int64_t r = 0; r < 3; ++r) {
    model.forward(prompt_of(r + 1, 10 + 3 * r), LogitsAt::Last, false, arena.row(r));
    SamplingParams p;
    p.seed = r;
    state.reset(p, {}, 10 + 3 * r, r);
  }
  state.stop(1);  // row 1 is free: a step must leave its cache alone (it may be being prefilled)
  const auto before = arena.keys(0)[1].narrow(0, 0, 128).clone();
  const auto scratch_before = arena.keys(0)[1][128].clone();
  auto a = exact.logits(3, 128);
  auto b = fast.logits(3, 128);  // writes the same K/V again
  HIGGS_CHECK(at::equal(arena.keys(0)[1].narrow(0, 0, 128), before));
  HIGGS_CHECK(!at::equal(arena.keys(0)[1][128], scratch_before));  // it wrote to the scratch position
  for (std::int64_t r : {0, 2}) {
    HIGGS_CHECK_MSG(relative_error(b[r], a[r]) < 1e-5, "row " << r << ": " << relative_error(b[r], a[r]));
  }
  // And the state: a stopped row keeps its step, position and fed column.
  const auto position = state.position.clone(), previous = state.previous.clone();
  state.advance(a);
  HIGGS_CHECK(state.position[1].item<std::int64_t>() == position[1].item<std::int64_t>());
  HIGGS_CHECK(at::equal(state.previous[1], previous[1]));
  HIGGS_CHECK(state.position[0].item<std::int64_t>() == position[0].item<std::int64_t>() + 1);
}

HIGGS_TEST(cancelling_one_device_row_leaves_the_others_and_its_frames_are_a_prefix) {
  auto model = small_model(7, 128);
  std::vector<GenerationInput> inputs = {request(11, 50), request(12, 50), request(13, 50)};
  std::vector<GenerationOutput> expected;
  std::vector<std::vector<Column>> expected_streams(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) expected.push_back(solo_static(model, inputs[i], &expected_streams[i]));
  for (std::int64_t cancel_at : {2, 12, 30}) {
    DeviceSlotBatch batch(model, 3, BatchMode::RowExact, false);
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

HIGGS_TEST(more_requests_than_device_slots_all_complete_with_their_solo_stops) {
  auto model = small_model(9, 96);  // a short context: some rows stop at context_full
  std::mt19937_64 rng(5);
  std::vector<GenerationInput> inputs;
  for (int i = 0; i < 10; ++i) inputs.push_back(request(100 + i, 10 + static_cast<std::int64_t>(rng() % 120)));
  // The always-eos model ends every generation at column 8, not a multiple of the host's read
  // interval: the rows must stop where their solo runs do although the host reads the flag late.
  auto c = small_config();
  HiggsLM ending(c, always_eos_weights(c, 5, test_options()), 96, test_options());
  for (const auto& [m, label] : std::vector<std::pair<HiggsLM*, const char*>>{{&model, "random"}, {&ending, "always eos"}}) {
    std::vector<GenerationOutput> expected;
    std::map<StopReason, int> stops;
    for (const auto& input : inputs) {
      expected.push_back(solo_static(*m, input));
      ++stops[expected.back().stop];
    }
    if (m == &model) HIGGS_CHECK_MSG(stops[StopReason::ContextFull] > 0 && stops[StopReason::MaxFrames] > 0, "both caps");
    else HIGGS_CHECK_MSG(stops[StopReason::AudioEnd] > 0 && stops[StopReason::MaxFrames] == 0, "audio ends");
    DeviceSlotBatch batch(*m, 3, BatchMode::RowExact, false);
    std::vector<Job> jobs(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) jobs[i].input = inputs[i];  // all arrive at once
    drive(batch, jobs);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      HIGGS_CHECK_MSG(jobs[i].done && !jobs[i].error, label << " job " << i);
      HIGGS_CHECK_MSG(same(jobs[i].out, expected[i]), label << " job " << i << " (" << stop_reason_name(expected[i].stop) << ")");
    }
    HIGGS_CHECK(batch.busy() == 0);
  }
  // Some rows end at max_frames 1..8 before the always-eos ramp-out completes.
  std::vector<GenerationInput> short_ones;
  for (std::int64_t f = 1; f <= 9; ++f) short_ones.push_back(request(300 + f, f, 0.0));
  DeviceSlotBatch batch(ending, 4, BatchMode::RowExact, false);
  std::vector<Job> jobs(short_ones.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) jobs[i].input = short_ones[i];
  drive(batch, jobs);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    HIGGS_CHECK_MSG(!jobs[i].error && same(jobs[i].out, solo_static(ending, short_ones[i])), "max_frames " << i + 1);
  }
}

HIGGS_TEST(a_request_that_cannot_start_on_the_device_reports_alone) {
  auto model = small_model(7, 64);
  DeviceSlotBatch batch(model, 2, BatchMode::RowExact, false);
  std::vector<Job> jobs(4);
  jobs[0].input = request(1, 20);
  jobs[1].input = request(2, 20);
  jobs[1].input.prompt = prompt_of(2, 80);  // longer than the 64-position context
  jobs[2].input = request(3, 20);
  jobs[3].input = request(4, 20);
  jobs[3].input.sampling.ras_window = kMaxRasWindow + 1;
  auto expected0 = solo_static(model, jobs[0].input), expected2 = solo_static(model, jobs[2].input);
  drive(batch, jobs);
  HIGGS_CHECK_THROWS(std::rethrow_exception(jobs[1].error), ErrorCode::Input, "exceeds max_context");
  HIGGS_CHECK_THROWS(std::rethrow_exception(jobs[3].error), ErrorCode::Input, "ras_window");
  HIGGS_CHECK(same(jobs[0].out, expected0) && same(jobs[2].out, expected2));
}

HIGGS_TEST(fast_device_rows_complete_and_repeat_themselves) {
  auto model = small_model(7, 128);
  std::vector<GenerationInput> inputs;
  for (int i = 0; i < 7; ++i) inputs.push_back(request(200 + i, 8 + 11 * i));
  std::vector<std::vector<GenerationOutput>> runs;
  for (int run = 0; run < 2; ++run) {
    DeviceSlotBatch batch(model, 4, BatchMode::Fast, false);
    std::vector<Job> jobs(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) jobs[i].input = inputs[i];
    HIGGS_CHECK(drive(batch, jobs) == 4);
    runs.emplace_back();
    for (auto& job : jobs) {
      HIGGS_CHECK(job.done && !job.error);
      HIGGS_CHECK(job.out.columns.size() == static_cast<std::size_t>(job.input.max_frames) ||
                  job.out.stop != StopReason::MaxFrames);
      runs.back().push_back(job.out);
    }
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) HIGGS_CHECK_MSG(same(runs[0][i], runs[1][i]), "job " << i);
}

HIGGS_TEST(the_engine_batches_static_decode_on_the_device) {
  std::vector<GenerateRequest> requests;
  for (int i = 0; i < 5; ++i) {
    GenerateRequest r;
    r.input_ids = {128000, 128006, 882 + i, 128007, 271, 128013};
    r.audio_mask.assign(6, 0);
    r.max_frames = 30 + 7 * i;
    r.seed = 40 + static_cast<std::uint64_t>(i);
    r.request_id = 700 + static_cast<std::uint64_t>(i);
    requests.push_back(r);
  }
  EngineOptions one;
  one.max_context = 256;
  one.decode = "static";
  Engine single(one);
  auto single_info = load_random_sync(single, "tiny", 3);
  HIGGS_CHECK(single_info.slots == 1 && single_info.row_buckets.empty());
  std::vector<GenerateResult> solos;
  for (auto r : requests) solos.push_back(generate_sync(single, r));

  EngineOptions options = one;
  options.slots = 3;
  Engine engine(options);
  auto info = load_random_sync(engine, "tiny", 3);
  HIGGS_CHECK_MSG(info.slots == 3 && info.decode == "static" && info.batching == "exact", info.slots << " " << info.decode);
  HIGGS_CHECK((info.row_buckets == std::vector<std::int64_t>{1, 2, 3}));
  HIGGS_CHECK(info.kv_cache_bytes == single_info.kv_cache_bytes * 4 + 3 * (single_info.kv_cache_bytes / 256));
  std::vector<std::promise<GenerateResult>> promises(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    engine.generate(requests[i], {}, {}, [&promises, i](std::exception_ptr error, GenerateResult* result) {
      if (error) promises[i].set_exception(error);
      else promises[i].set_value(*result);
    });
  }
  std::int64_t peak = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    auto result = promises[i].get_future().get();
    HIGGS_CHECK_MSG(result.codes == solos[i].codes && result.stop_reason == solos[i].stop_reason, "request " << i);
    peak = std::max(peak, result.peak_batch);
  }
  HIGGS_CHECK_MSG(peak > 1, "the requests decoded together (peak batch " << peak << ")");
}
