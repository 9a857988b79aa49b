// Continuous batching's fast mode (HiggsLM::decode_columns, SlotBatch BatchMode::Fast) and the
// engine's slot bounds and queue order: one batched forward over rows at different positions of
// their own caches gives each row what its own batch-1 forward gives (exactly at B = 1, to
// rounding above), the fast batch serves every request to its end, long prompts are prefilled in
// fixed pieces while the other rows keep decoding, and the engine refuses slot counts it cannot
// hold (or more than their memory holds) and queues by GenerateRequest::arrival.
#include <ATen/ATen.h>

#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "check.h"
#include "engine/engine.h"
#include "engine/slot_memory.h"
#include "engine_sync.h"
#include "errors.h"
#include "lm/generator.h"
#include "lm/slot_batch.h"
#include "lm_test_util.h"

using namespace higgs;
using namespace higgs::lm;
using namespace higgs::test;

namespace {

// A fresh cache holding `length` text positions of seeded ids, filled by a forward.
std::unique_ptr<KvCache> prefilled(HiggsLM& model, std::uint64_t seed, std::int64_t length) {
  const auto& c = model.config();
  auto cache = std::make_unique<KvCache>(c.num_layers, model.cache().max_context(), c.num_kv_heads, c.head_dim,
                                         model.options());
  LmInput in;
  in.input_ids = at::randint(0, 500, {length}, at::TensorOptions().dtype(at::kLong)).add(static_cast<std::int64_t>(seed) % 7);
  in.audio_mask = at::zeros({length}, at::kBool);
  in.audio_codes = at::zeros({0, c.num_codebooks}, at::kLong);
  model.forward(in, LogitsAt::Last, false, *cache);
  return cache;
}

Column column_of(std::int64_t seed, std::int64_t K) {
  Column column;
  for (std::int64_t k = 0; k < K; ++k) column.push_back((seed * 37 + k * 101) % 1024);
  return column;
}

GenerationInput request(std::uint64_t seed, std::int64_t max_frames) {
  GenerationInput input;
  const std::int64_t length = 4 + static_cast<std::int64_t>(seed % 5);
  input.prompt.input_ids = at::arange(length, at::kLong).add(static_cast<std::int64_t>(seed * 13 % 400));
  input.prompt.audio_mask = at::zeros({length}, at::kBool);
  input.prompt.audio_codes = at::zeros({0, 8}, at::kLong);
  input.sampling.seed = seed;
  input.sampling.top_k = 50;
  input.sampling.top_p = 0.9;
  input.max_frames = max_frames;
  return input;
}

struct Outcome {
  GenerationOutput out;
  std::exception_ptr error;
  bool done = false;
  std::int64_t order = -1;
};

// All `inputs` offered to `batch` at once (admitted in order as slots free up), stepped to the end.
std::vector<Outcome> run_all(SlotBatch& batch, const std::vector<GenerationInput>& inputs) {
  std::vector<Outcome> outcomes(inputs.size());
  std::size_t next = 0;
  std::int64_t finished = 0;
  while (finished < static_cast<std::int64_t>(inputs.size())) {
    while (next < inputs.size() && !batch.full()) {
      auto& outcome = outcomes[next];
      batch.admit(inputs[next++], {}, [&outcome, &finished](std::exception_ptr error, GenerationOutput* out) {
        outcome.done = true;
        outcome.error = error;
        if (out) outcome.out = std::move(*out);
        outcome.order = finished++;
      });
    }
    batch.step();
  }
  return outcomes;
}

// `text` text positions, then `frames` audio-out frames, then <|audio_out_bos|>: a cloned-voice
// shape longer than one prefill piece.
LmInput long_prompt(std::int64_t text, std::int64_t frames, std::int64_t K) {
  std::vector<std::int64_t> ids, mask, codes;
  for (std::int64_t i = 0; i < text; ++i) ids.push_back(100 + i % 300), mask.push_back(0);
  for (std::int64_t i = 0; i < frames; ++i) {
    ids.push_back(0), mask.push_back(1);
    for (std::int64_t k = 0; k < K; ++k) codes.push_back((i * 31 + k * 7) % 1024);
  }
  ids.push_back(5), mask.push_back(0);
  LmInput in;
  in.input_ids = at::tensor(ids, at::kLong);
  in.audio_mask = at::tensor(mask, at::kLong).to(at::kBool);
  in.audio_codes = at::tensor(codes, at::kLong).view({frames, K});
  return in;
}

// The engine of the queue tests: the tiny random model in one slot.
std::unique_ptr<Engine> one_slot_engine() {
  EngineOptions options;
  options.slots = 1;
  options.max_context = 256;
  auto engine = std::make_unique<Engine>(options);
  load_random_sync(*engine, "tiny", 3);
  return engine;
}

// A short generation for the engine's queue tests.
GenerateRequest queued(std::uint64_t arrival, std::int64_t frames) {
  GenerateRequest r;
  r.input_ids = {128000, 128006, 882, 128007, 271, 128013};
  r.audio_mask.assign(6, 0);
  r.max_frames = frames;
  r.arrival = arrival;
  return r;
}

}  // namespace

HIGGS_TEST(a_prompt_prefilled_in_pieces_matches_one_forward_over_it) {
  auto model = small_model(7, 512);
  const auto K = model.config().num_codebooks;
  auto prompt = long_prompt(70, 2 * kPrefillPiece, K);  // 327 positions: three pieces
  const auto L = prompt.input_ids.size(0);
  auto piece = prompt_piece(prompt, kPrefillPiece, 2 * kPrefillPiece);
  HIGGS_CHECK(piece.start_pos == kPrefillPiece && piece.input_ids.size(0) == kPrefillPiece);
  HIGGS_CHECK(at::equal(piece.audio_codes, prompt.audio_codes.narrow(0, kPrefillPiece - 70, kPrefillPiece)));
  const auto& c = model.config();
  KvCache pieces(c.num_layers, 512, c.num_kv_heads, c.head_dim, model.options());
  prefill_prompt(model, prompt, pieces);
  HIGGS_CHECK(pieces.length() == L);
  model.forward(prompt, LogitsAt::Last, false);  // the model's own cache, in one forward
  for (std::int64_t layer = 0; layer < c.num_layers; ++layer) {
    HIGGS_CHECK(relative_error(pieces.keys(layer).narrow(0, 0, L).cpu(), model.cache().keys(layer).narrow(0, 0, L).cpu()) < 1e-5);
    HIGGS_CHECK(relative_error(pieces.values(layer).narrow(0, 0, L).cpu(), model.cache().values(layer).narrow(0, 0, L).cpu()) < 1e-5);
  }
}

HIGGS_TEST(a_long_prompt_joins_piece_by_piece_while_the_others_decode) {
  auto model = small_model(7, 512);
  const auto K = model.config().num_codebooks;
  GenerationInput newcomer = request(77, 20);
  newcomer.prompt = long_prompt(40, 2 * kPrefillPiece + 10, K);  // three pieces
  std::vector<GenerationInput> running = {request(1, 60), request(2, 60)};
  std::vector<GenerationOutput> solos;
  for (const auto& input : running) solos.push_back(generate(model, input, {}));
  const auto newcomer_solo = generate(model, newcomer, {});

  SlotBatch batch(model, 3);
  std::vector<std::int64_t> columns(3, 0);
  std::vector<GenerationOutput> outs(3);
  auto admit = [&](std::size_t i, const GenerationInput& input) {
    GenerationCallbacks cb;
    cb.on_progress = [&columns, i](std::int64_t n, std::int64_t) { columns[i] = n; };
    batch.admit(input, cb, [&outs, i](std::exception_ptr error, GenerationOutput* out) {
      HIGGS_CHECK(!error);
      outs[i] = std::move(*out);
    });
  };
  admit(0, running[0]);
  admit(1, running[1]);
  for (int i = 0; i < 5; ++i) batch.step();
  admit(2, newcomer);
  // Three steps prefill the newcomer, one piece each; the running rows decode in every one of
  // them, and the newcomer's first column comes in the third.
  for (int i = 0; i < 3; ++i) {
    const auto before = columns;
    HIGGS_CHECK(batch.prefilling());
    batch.step();
    HIGGS_CHECK_MSG(columns[0] == before[0] + 1 && columns[1] == before[1] + 1, "step " << i);
    HIGGS_CHECK_MSG(columns[2] == (i == 2 ? 2 : 0), "step " << i << ": newcomer at " << columns[2]);
  }
  HIGGS_CHECK(!batch.prefilling());
  while (batch.busy() > 0) batch.step();
  for (std::size_t i = 0; i < 2; ++i) HIGGS_CHECK_MSG(outs[i].columns == solos[i].columns, "row " << i);
  HIGGS_CHECK(outs[2].columns == newcomer_solo.columns && outs[2].prompt_positions == newcomer.prompt.input_ids.size(0));
}

HIGGS_TEST(decode_columns_gives_each_row_its_batch_1_logits) {
  auto model = small_model(7, 128);
  const auto K = model.config().num_codebooks;
  // Rows at different positions, each over its own cache; the reference runs over copies.
  std::vector<std::int64_t> lengths = {5, 17, 9, 30};
  std::vector<std::unique_ptr<KvCache>> caches, references;
  std::vector<HiggsLM::AudioRow> rows;
  for (std::size_t b = 0; b < lengths.size(); ++b) {
    at::manual_seed(static_cast<std::uint64_t>(b));
    caches.push_back(prefilled(model, b, lengths[b]));
    at::manual_seed(static_cast<std::uint64_t>(b));
    references.push_back(prefilled(model, b, lengths[b]));
    rows.push_back({column_of(static_cast<std::int64_t>(b), K), lengths[b], caches.back().get()});
  }
  auto batched = model.decode_columns(rows);
  HIGGS_CHECK(batched.sizes() == at::IntArrayRef({4, K, model.config().codebook_vocab}));
  for (std::size_t b = 0; b < rows.size(); ++b) {
    auto solo = model.forward(column_input(rows[b].column, lengths[b], model.config().audio_out_token_id),
                              LogitsAt::Last, false, *references[b])
                    .audio_logits[0];
    const auto error = relative_error(batched[static_cast<std::int64_t>(b)].cpu(), solo);
    HIGGS_CHECK_MSG(error < 1e-5, "row " << b << " relative error " << error);
    HIGGS_CHECK(caches[b]->length() == lengths[b] + 1);
    HIGGS_CHECK(relative_error(caches[b]->keys(1).narrow(0, 0, lengths[b] + 1).cpu(),
                               references[b]->keys(1).narrow(0, 0, lengths[b] + 1).cpu()) < 1e-5);
  }
  // One row: the very numbers of forward().
  at::manual_seed(9);
  auto one = prefilled(model, 9, 12);
  at::manual_seed(9);
  auto reference = prefilled(model, 9, 12);
  auto single = model.decode_columns({{column_of(3, K), 12, one.get()}});
  auto solo = model.forward(column_input(column_of(3, K), 12, model.config().audio_out_token_id), LogitsAt::Last, false,
                            *reference)
                  .audio_logits[0];
  HIGGS_CHECK(at::equal(single[0].cpu(), solo));
}

HIGGS_TEST(decode_columns_rejects_rows_it_cannot_compute) {
  auto model = small_model(7, 64);
  const auto K = model.config().num_codebooks;
  auto cache = prefilled(model, 1, 10);
  HIGGS_CHECK_THROWS(model.decode_columns({}), ErrorCode::Input, "at least one row");
  HIGGS_CHECK_THROWS(model.decode_columns({{column_of(1, K), 11, cache.get()}}), ErrorCode::Input, "outside its KV cache");
  HIGGS_CHECK_THROWS(model.decode_columns({{Column(K, 5000), 10, cache.get()}}), ErrorCode::Input, "audio codes");
  HIGGS_CHECK_THROWS(model.decode_columns({{Column(3, 1), 10, cache.get()}}), ErrorCode::Input, "one code per codebook");
  HIGGS_CHECK(cache->length() == 10);
}

HIGGS_TEST(the_fast_batch_at_one_row_equals_the_eager_generation) {
  auto model = small_model(7, 128);
  // Sampled with top-k and top-p, greedy, and at another temperature without top-k: the batch's
  // shared draws (one set of noise ops for all rows) give sample_rows' and resample_raw's codes.
  auto greedy = request(4, 40), warm = request(5, 40);
  greedy.sampling.temperature = 0;
  warm.sampling.temperature = 0.7;
  warm.sampling.top_k = 0;
  for (const auto& input : {request(3, 40), greedy, warm}) {
    auto expected = generate(model, input, {});
    SlotBatch batch(model, 1, BatchMode::Fast);
    auto outcomes = run_all(batch, {input});
    HIGGS_CHECK(!outcomes[0].error);
    HIGGS_CHECK_MSG(outcomes[0].out.columns == expected.columns && outcomes[0].out.codes == expected.codes,
                    "seed " << input.sampling.seed);
    HIGGS_CHECK(outcomes[0].out.stop == expected.stop);
  }
}

HIGGS_TEST(the_fast_batch_serves_every_request_to_its_end_and_repeats_itself) {
  auto model = small_model(9, 96);
  std::vector<GenerationInput> inputs;
  for (int i = 0; i < 9; ++i) inputs.push_back(request(200 + i, 8 + 11 * i));
  std::vector<GenerationOutput> solos;
  for (const auto& input : inputs) solos.push_back(generate(model, input, {}));
  SlotBatch first(model, 4, BatchMode::Fast);
  auto a = run_all(first, inputs);
  SlotBatch second(model, 4, BatchMode::Fast);
  auto b = run_all(second, inputs);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    HIGGS_CHECK_MSG(a[i].done && !a[i].error, "request " << i);
    // Same neighbours, same slots, same schedule: the same codes.
    HIGGS_CHECK_MSG(a[i].out.columns == b[i].out.columns, "request " << i << " is not repeatable");
    // Each ends where the caps say: a frame cap or context_full at the solo run's place, or an
    // audio end, which only a differently rounded sample could move.
    HIGGS_CHECK(a[i].out.peak_batch >= 1 && a[i].out.peak_batch <= 4);
    if (a[i].out.stop == StopReason::MaxFrames) HIGGS_CHECK(static_cast<std::int64_t>(a[i].out.columns.size()) == inputs[i].max_frames);
    if (a[i].out.stop == StopReason::ContextFull) {
      HIGGS_CHECK(a[i].out.prompt_positions + static_cast<std::int64_t>(a[i].out.columns.size()) - 1 == 96);
    }
    HIGGS_CHECK(static_cast<std::int64_t>(a[i].out.columns.size()) <= inputs[i].max_frames);
  }
  HIGGS_CHECK(first.busy() == 0 && second.busy() == 0);
}

HIGGS_TEST(the_engine_refuses_slots_it_cannot_hold) {
  {
    EngineOptions options;
    options.slots = -1;
    Engine engine(options);
    HIGGS_CHECK_THROWS(load_random_sync(engine, "tiny", 1), ErrorCode::Input, "slots must be 0");
  }
  {
    EngineOptions options;
    options.slots = kMaxSlots + 1;
    Engine engine(options);
    HIGGS_CHECK_THROWS(load_random_sync(engine, "tiny", 1), ErrorCode::Input, "slots must be 0");
  }
  {
    EngineOptions options;
    options.batching = "quick";
    Engine engine(options);
    HIGGS_CHECK_THROWS(load_random_sync(engine, "tiny", 1), ErrorCode::Input, "unknown batching mode");
  }
  EngineOptions options;
  options.batching = "fast";
  options.slots = 2;
  Engine engine(options);
  auto info = load_random_sync(engine, "tiny", 1);
  HIGGS_CHECK(info.batching == "fast" && info.slots == 2);
}

HIGGS_TEST(slots_fit_the_memory_there_is) {
  constexpr std::int64_t MiB = 1 << 20, GiB = std::int64_t{1} << 30;
  // A GPU with 40 GiB free and caches of 896 MiB (full model, bf16, 8192 positions): 4 GiB kept,
  // 41 more caches fit, clamped to 32 in all.
  HIGGS_CHECK(derived_slots(40 * GiB, 896 * MiB) == kMaxDerivedSlots);
  HIGGS_CHECK(derived_slots(10 * GiB, 896 * MiB) == 1 + (6 * GiB) / (896 * MiB));
  HIGGS_CHECK(derived_slots(3 * GiB, 896 * MiB) == 1);  // below the reserve: the model's cache only
  HIGGS_CHECK(derived_slots(0, 896 * MiB) == 1);        // unknown memory
  // Every derived default passes the check (16 slots on 17845 MiB free were refused before).
  for (std::int64_t free_mib = 1024; free_mib <= 200 * 1024; free_mib += 97) {
    const std::int64_t slots = derived_slots(free_mib * MiB, 896 * MiB);
    check_slot_memory(slots, slots - 1, 896 * MiB, free_mib * MiB, "the GPU");
  }
  HIGGS_CHECK(derived_slots(17845 * MiB, 896 * MiB) == 15);
  check_slot_memory(4, 3, 100 * MiB, 1 * GiB, "this machine");  // 300 MiB of 1 GiB
  check_slot_memory(200, 199, 100 * MiB, 0, "this machine");      // unknown: not checked
  HIGGS_CHECK_THROWS(check_slot_memory(9, 8, 100 * MiB, 1 * GiB, "this machine"), ErrorCode::Input,
                     "8 more KV caches of 100 MiB, and this machine has 1024 MiB free");
}

HIGGS_TEST(a_load_that_cannot_fit_is_refused_before_it_allocates) {
  constexpr std::int64_t MiB = 1 << 20, GiB = std::int64_t{1} << 30;
  // The caches a load makes: eager `slots` (CPU default 4; a GPU's derived slots count as 1),
  // static/graph one, plus an arena of `slots` rows beyond one slot.
  HIGGS_CHECK(kv_caches_at_load(0, true, false, 4) == 4);
  HIGGS_CHECK(kv_caches_at_load(0, true, true, 4) == 1);
  HIGGS_CHECK(kv_caches_at_load(6, true, false, 4) == 6);
  HIGGS_CHECK(kv_caches_at_load(1, false, true, 4) == 1);
  HIGGS_CHECK(kv_caches_at_load(8, false, true, 4) == 9);
  HIGGS_CHECK(working_reserve(true) == kGpuWorkingReserve && working_reserve(false) == kCpuWorkingReserve);
  check_load_memory(11 * GiB, 2 * GiB, kCpuWorkingReserve, 16 * GiB, "m", "this machine");  // 14 of 16 GiB
  check_load_memory(23 * GiB, 4 * GiB, kCpuWorkingReserve, 0, "m", "this machine");        // unknown: not checked
  HIGGS_CHECK_THROWS(check_load_memory(23 * GiB, 4 * GiB, kCpuWorkingReserve, 16 * GiB, "m", "this machine"),
                     ErrorCode::OutOfMemory, "needs 28672 MiB (30064771072 bytes: weights 23552 MiB, KV caches 4096 MiB");
  HIGGS_CHECK_THROWS(check_load_memory(23 * GiB, 4 * GiB, kCpuWorkingReserve, 16 * GiB, "m", "this machine"),
                     ErrorCode::OutOfMemory, "this machine has 16384 MiB (17179869184 bytes) available");
  // Through the engine: a tiny model with caches no machine holds fails with E_OOM at once.
  EngineOptions options;
  options.max_context = std::int64_t{1} << 40;
  options.slots = 8;
  Engine engine(options);
  HIGGS_CHECK_THROWS(load_random_sync(engine, "tiny", 1), ErrorCode::OutOfMemory, "KV caches");
  HIGGS_CHECK(!engine.loaded());
  (void)MiB;
}

HIGGS_TEST(waiting_generations_go_in_arrival_order) {
  auto owned = one_slot_engine();
  auto& engine = *owned;
  std::mutex mutex;
  std::vector<std::uint64_t> order;
  std::vector<std::promise<void>> finished(5);
  // The first holds the only slot while the others queue: 0 (no arrival: at the back, and never
  // overtaken), then 5, 3, 4, which sort among themselves behind it.
  const std::vector<std::uint64_t> arrivals = {1, 0, 5, 3, 4};
  for (std::size_t i = 0; i < arrivals.size(); ++i) {
    engine.generate(queued(arrivals[i], i == 0 ? 120 : 4), {}, {}, [&, i](std::exception_ptr error, GenerateResult*) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        order.push_back(error ? 999 : arrivals[i]);
      }
      finished[i].set_value();
    });
  }
  for (auto& f : finished) f.get_future().get();
  HIGGS_CHECK_MSG((order == std::vector<std::uint64_t>{1, 0, 3, 4, 5}), "order " << order[0] << order[1] << order[2] << order[3] << order[4]);
}

HIGGS_TEST(a_finished_chunk_keeps_its_request_s_place_for_the_next) {
  auto owned = one_slot_engine();
  auto& engine = *owned;
  auto make = [](std::uint64_t arrival, bool continues) {
    auto r = queued(arrival, 30);
    r.continues = continues;
    return r;
  };
  std::mutex mutex;
  std::vector<std::string> order;
  auto start = [&](const std::string& name, GenerateRequest r) {
    auto finished = std::make_shared<std::promise<void>>();
    engine.generate(r, {}, {}, [&, name, finished](std::exception_ptr error, GenerateResult*) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        order.push_back(error ? name + " failed" : name);
      }
      finished->set_value();
    });
    return finished->get_future();
  };
  // The first chunk of request 1 runs while request 2 waits; the second chunk is made only after
  // the first ended (as the library does), and still goes first.
  auto first = start("1a", make(1, true));
  auto later = start("2", make(2, false));
  first.get();
  auto second = start("1b", make(1, false));
  second.get();
  later.get();
  HIGGS_CHECK_MSG((order == std::vector<std::string>{"1a", "1b", "2"}), order[1]);
  // A continuation that never comes holds the slot only for a while.
  order.clear();
  auto abandoned = start("3a", make(3, true));
  auto next = start("4", make(4, false));
  abandoned.get();
  next.get();
  HIGGS_CHECK((order == std::vector<std::string>{"3a", "4"}));
}
