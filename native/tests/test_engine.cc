// The Engine facade: its own thread, error codes, recovery after a failed load.
#include <cstdlib>
#include <future>

#include "check.h"
#include "engine/engine.h"
#include "engine_sync.h"
#include "errors.h"

using namespace higgs;

namespace {
EngineOptions test_engine_options() {
  EngineOptions options;
  const char* env = std::getenv("HIGGS_TEST_DEVICE");
  if (env && *env) options.device = env;
  options.max_context = 64;
  return options;
}

ForwardRequest text_request(std::int32_t first_id) {
  ForwardRequest r;
  r.input_ids = {first_id, 128000, 128013};
  r.audio_mask = {0, 0, 0};
  return r;
}
}  // namespace

HIGGS_TEST(forward_before_load_is_e_not_loaded) {
  Engine engine(test_engine_options());
  HIGGS_CHECK(!engine.loaded());
  HIGGS_CHECK_THROWS(forward_sync(engine, text_request(1)), ErrorCode::NotLoaded, "no model");
  HIGGS_CHECK_THROWS(engine.info(), ErrorCode::NotLoaded, "no model");
}

HIGGS_TEST(failed_load_then_good_load_works) {
  Engine engine(test_engine_options());
  HIGGS_CHECK_THROWS(load_sync(engine, "/nonexistent/higgs-model"), ErrorCode::ModelFormat, "/nonexistent/higgs-model");
  HIGGS_CHECK(!engine.loaded());
  auto info = load_random_sync(engine, "tiny", 1);
  HIGGS_CHECK(info.num_layers == 3 && info.hidden_size == 64 && info.format == "random");
  auto result = forward_sync(engine, text_request(42));
  HIGGS_CHECK(result.positions.size() == 1 && result.positions[0] == 2);
  HIGGS_CHECK(result.audio_logits.size() == 8 * 1026);
  HIGGS_CHECK(result.text_logits.empty());
}

HIGGS_TEST(bad_request_keeps_engine_serving) {
  Engine engine(test_engine_options());
  load_random_sync(engine, "tiny", 1);
  auto bad = text_request(1);
  bad.audio_mask.pop_back();
  HIGGS_CHECK_THROWS(forward_sync(engine, bad), ErrorCode::Input, "audio_mask");
  auto too_long = text_request(1);
  too_long.start_pos = 5;
  HIGGS_CHECK_THROWS(forward_sync(engine, too_long), ErrorCode::Input, "start_pos");
  auto ok = forward_sync(engine, text_request(7));
  HIGGS_CHECK(ok.audio_logits.size() == 8 * 1026);
}

HIGGS_TEST(same_seed_same_logits_and_options_are_validated) {
  Engine a(test_engine_options()), b(test_engine_options());
  load_random_sync(a, "tiny", 5);
  load_random_sync(b, "tiny", 5);
  auto ra = forward_sync(a, text_request(9));
  auto rb = forward_sync(b, text_request(9));
  HIGGS_CHECK(ra.audio_logits == rb.audio_logits);
  auto options = test_engine_options();
  options.dtype = "int4";
  Engine bad(options);
  HIGGS_CHECK_THROWS(load_random_sync(bad, "tiny", 1), ErrorCode::Input, "dtype");
  HIGGS_CHECK_THROWS(load_random_sync(a, "huge", 1), ErrorCode::Input, "unknown model shape");
}

HIGGS_TEST(gpu_memory_numbers_and_cache_release) {
  auto options = test_engine_options();
  options.max_context = 2048;
  Engine engine(options);
  load_random_sync(engine, "tiny", 3);
  GpuMemory before;
  if (!engine.gpu_memory(&before)) {
    HIGGS_CHECK(options.device == "cpu");  // numbers exist exactly on CUDA engines
    std::promise<void> released;
    engine.release_cached_memory([&](std::exception_ptr e) { e ? released.set_exception(e) : released.set_value(); });
    released.get_future().get();  // a no-op on the CPU, but it answers
    return;
  }
  HIGGS_CHECK(before.allocated > 0 && before.reserved >= before.allocated && before.total > before.free);
  // A long prompt grows the allocator's cache; releasing gives the unused part back.
  ForwardRequest big;
  big.input_ids.assign(2000, 1000);
  big.audio_mask.assign(2000, 0);
  big.logits = LogitsSelection::All;
  forward_sync(engine, big);
  GpuMemory grown, after;
  HIGGS_CHECK(engine.gpu_memory(&grown) && grown.peak_allocated > before.allocated);
  std::promise<void> released;
  engine.release_cached_memory([&](std::exception_ptr e) { e ? released.set_exception(e) : released.set_value(); });
  released.get_future().get();
  HIGGS_CHECK(engine.gpu_memory(&after));
  HIGGS_CHECK_MSG(after.reserved < grown.reserved && after.reserved >= after.allocated,
                  "reserved " << grown.reserved << " -> " << after.reserved);
}
