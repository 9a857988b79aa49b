// Weight-only int8 projections (lm/int8_weights.h, EngineOptions::weights "int8"): each quantized
// projection equals its dequantized reference to rounding; against the bf16 path, on the mid
// shape (random weights) and the goldens' checkpoint and prompt, the per-layer projection error,
// the logits' cosine and the greedy codes' agreement are measured and printed; a request's codes
// alone equal its codes batched row-exact (what the engine promises; how many rows the fast
// batched forward keeps equal depends on the CPU's int8 kernel and is printed, not asserted); the engine takes the option, reports the format and the bytes, and plans with them.
#include <ATen/ATen.h>

#include <cstdio>
#include <cstdlib>

#include "batch_test_util.h"
#include "check.h"
#include "codec_test_util.h"
#include "engine/engine.h"
#include "engine_sync.h"
#include "errors.h"
#include "lm/generator.h"
#include "lm/higgs_weights.h"
#include "lm/int8_weights.h"
#include "lm/model_shapes.h"
#include "lm/slot_batch.h"
#include "lm_test_util.h"

using namespace higgs;
using namespace higgs::lm;
using namespace higgs::test;

namespace {

double cosine(const at::Tensor& a, const at::Tensor& b) {
  auto x = a.to(at::kDouble).reshape({-1}), y = b.to(at::kDouble).reshape({-1});
  return (x.dot(y) / (x.norm() * y.norm())).item<double>();
}

// ||a - b|| / ||b||
double rel_l2(const at::Tensor& a, const at::Tensor& b) {
  auto x = a.to(at::kDouble), y = b.to(at::kDouble);
  return ((x - y).norm() / y.norm()).item<double>();
}

// A mixed text/audio prompt of `length` positions (every third an audio frame), seeded.
LmInput mixed_prompt(std::int64_t length, std::int64_t vocab, std::int64_t K, std::uint64_t seed) {
  at::manual_seed(seed);
  LmInput in;
  in.input_ids = at::randint(0, vocab, {length}, at::kLong);
  in.audio_mask = (at::arange(length, at::kLong) % 3) == 2;
  const auto frames = in.audio_mask.sum().item<std::int64_t>();
  in.audio_codes = at::randint(0, 1024, {frames, K}, at::kLong);
  return in;
}

// Greedy codes of `steps` audio columns after `prompt`: each step feeds the argmax of every
// codebook (no delay pattern: a pure comparison of the two models' argmaxes). With `forced`,
// both models are fed the forced columns instead (teacher forcing), so that one disagreement
// does not change everything after it.
at::Tensor greedy_codes(HiggsLM& model, const LmInput& prompt, std::int64_t steps, const at::Tensor& forced = {}) {
  const auto& c = model.config();
  auto logits = model.forward(prompt, LogitsAt::Last, false).audio_logits[0];  // [K, V]
  std::vector<at::Tensor> codes;
  std::int64_t position = prompt.input_ids.size(0);
  for (std::int64_t s = 0; s < steps; ++s) {
    auto argmax = logits.argmax(-1);  // [K]
    codes.push_back(argmax);
    auto fed = forced.defined() ? forced[s] : argmax;
    HiggsLM::AudioRow row;
    row.column.assign(fed.data_ptr<std::int64_t>(), fed.data_ptr<std::int64_t>() + c.num_codebooks);
    row.position = position++;
    row.cache = &model.cache();
    logits = model.decode_columns({row})[0].cpu();
  }
  return at::stack(codes);  // [steps, K]
}

}  // namespace

HIGGS_TEST(each_quantized_projection_equals_its_dequantized_reference) {
  auto options = test_options();
  at::manual_seed(3);
  auto w = (at::randn({300, 256}, options) * 0.02).to(options);
  w[7].zero_();  // a row of zeros: scale 1, all codes 0
  w[11][5] = 0.5;  // an outlier sets its row's scale
  const auto q = quantize_int8(w);
  HIGGS_CHECK(q.weight.scalar_type() == at::kChar && q.scales.scalar_type() == at::kBFloat16);
  HIGGS_CHECK(q.weight.sizes() == w.sizes() && q.scales.size(0) == 300);
  HIGGS_CHECK(q.weight.abs().max().item<int>() <= 127);
  HIGGS_CHECK(q.weight[7].abs().max().item<int>() == 0);
  HIGGS_CHECK(q.weight[11][5].item<int>() == 127);
  // Every weight is within half a step of its row's scale (plus the bf16 rounding of the scale).
  auto deq = dequantize_int8(q, at::kFloat);
  auto step = q.scales.to(at::kFloat).unsqueeze(1);
  HIGGS_CHECK(((deq - w.to(at::kFloat)).abs() <= step * 0.51).all().item<bool>());
  HIGGS_CHECK(q.bytes() == 300 * 256 + 300 * 2);

  // The kernel computes x W_q^T with bf16 activations: the dequantized reference in fp64 of the
  // bf16-rounded x, to the bf16 rounding of the output.
  for (auto dtype : {at::kFloat, at::kBFloat16}) {
    auto x = at::randn({5, 256}, options).to(dtype);
    auto y = project(x, at::Tensor(), q);
    HIGGS_CHECK(y.scalar_type() == dtype && y.sizes() == at::IntArrayRef({5, 300}));
    auto reference = at::linear(x.to(at::kBFloat16).to(at::kDouble), deq.to(at::kDouble));
    const double error = relative_error(y, reference);
    HIGGS_CHECK_MSG(error < 8e-3, "dtype " << c10::toString(dtype) << ": " << error);
    // Any leading shape, and a dense weight goes to at::linear unchanged.
    auto y3 = project(x.view({1, 5, 256}), at::Tensor(), q);
    HIGGS_CHECK(y3.sizes() == at::IntArrayRef({1, 5, 300}) && at::equal(y3[0], y));
    HIGGS_CHECK(at::equal(project(x, w.to(dtype), Int8Weight{}), at::linear(x, w.to(dtype))));
  }
  // Fusing stacks rows: a fused projection is its parts side by side.
  auto a = quantize_int8(w.narrow(0, 0, 100)), b = quantize_int8(w.narrow(0, 100, 200));
  auto fused = concat_int8({a, b});
  HIGGS_CHECK(at::equal(fused.weight, q.weight) && at::equal(fused.scales, q.scales));
  HIGGS_CHECK_THROWS(parse_weight_format("int4"), ErrorCode::Input, "dense, int8");
}

HIGGS_TEST(int8_weights_hold_every_projection_as_int8_and_release_the_dense_ones) {
  auto c = small_config();
  auto options = test_options();
  auto dense = random_weights(c, 5, options);
  auto int8 = random_weights(c, 5, options, true, WeightFormat::Int8);
  HIGGS_CHECK(int8.int8() && !dense.int8() && int8.format() == WeightFormat::Int8 && int8.has_text_head());
  HIGGS_CHECK(at::equal(int8.embed_audio, dense.embed_audio) && at::equal(int8.layers[1].input_norm, dense.layers[1].input_norm));
  const auto& l = int8.layers[0];
  HIGGS_CHECK(!l.q_proj.defined() && !l.o_proj.defined() && !l.audio_down_proj.defined() && !int8.audio_head.defined());
  const auto D = c.head_dim;
  HIGGS_CHECK(l.int8_qkv.rows() == (c.num_heads + 2 * c.num_kv_heads) * D);
  HIGGS_CHECK(l.int8_gate_up.rows() == 2 * c.intermediate_size && l.int8_audio_down.rows() == c.hidden_size);
  // The same values: the fused int8 qkv is the quantized q, k, v.
  HIGGS_CHECK(at::equal(l.int8_qkv.weight.narrow(0, 0, c.num_heads * D), quantize_int8(dense.layers[0].q_proj).weight));
  HIGGS_CHECK(int8.parameter_count() == dense.parameter_count());
  // Projections at a byte (+ a bf16 scale per row), the rest as it was (fp32 here).
  std::int64_t expected = dense.bytes();
  auto shrink = [&](const at::Tensor& t) { expected -= t.numel() * 4 - t.numel() - 2 * t.size(0); };
  for (const auto& d : dense.layers) {
    for (const auto* t : {&d.q_proj, &d.k_proj, &d.v_proj, &d.o_proj, &d.gate_proj, &d.up_proj, &d.down_proj,
                          &d.audio_gate_proj, &d.audio_up_proj, &d.audio_down_proj}) {
      shrink(*t);
    }
  }
  shrink(dense.audio_head);
  shrink(dense.text_head);
  HIGGS_CHECK_MSG(int8.bytes() == expected, int8.bytes() << " held, " << expected << " expected, dense " << dense.bytes());
}

// Against the bf16 path on the mid shape: every projection of every layer on the same input
// (relative L2 error), the audio logits of a mixed prompt (cosine), and the greedy codes of a
// short generation (agreement, free-running and teacher-forced). Printed, and bounded.
HIGGS_TEST(int8_against_bf16_on_the_mid_shape) {
  auto c = named_config("mid");
  auto options = at::TensorOptions().dtype(at::kBFloat16).device(at::kCPU);
  HiggsLM dense(c, random_weights(c, 21, options), 160, options);
  HiggsLM int8(c, random_weights(c, 21, options, true, WeightFormat::Int8), 160, options);

  at::manual_seed(4);
  auto h = at::randn({16, c.hidden_size}, options);
  auto inter = at::randn({16, c.intermediate_size}, options);
  double worst = 0;
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    const auto& d = dense.weights().layers[i];
    const auto& q = int8.weights().layers[i];
    auto qkv = at::linear(h, at::cat({d.q_proj, d.k_proj, d.v_proj}, 0));
    const double errors[] = {
        rel_l2(project(h, {}, q.int8_qkv), qkv),
        rel_l2(project(h, {}, q.int8_o), at::linear(h, d.o_proj)),
        rel_l2(project(h, {}, q.int8_audio_gate_up), at::linear(h, at::cat({d.audio_gate_proj, d.audio_up_proj}, 0))),
        rel_l2(project(inter, {}, q.int8_audio_down), at::linear(inter, d.audio_down_proj)),
        rel_l2(project(h, {}, q.int8_gate_up), at::linear(h, at::cat({d.gate_proj, d.up_proj}, 0))),
        rel_l2(project(inter, {}, q.int8_down), at::linear(inter, d.down_proj)),
    };
    std::printf("  layer %lld relative error: qkv %.4f o %.4f audio gate/up %.4f audio down %.4f text gate/up %.4f text down %.4f\n",
                static_cast<long long>(i), errors[0], errors[1], errors[2], errors[3], errors[4], errors[5]);
    for (double e : errors) worst = std::max(worst, e);
  }
  HIGGS_CHECK_MSG(worst < 0.02, "worst projection error " << worst);

  auto prompt = mixed_prompt(48, 4096, c.num_codebooks, 9);
  auto ld = dense.forward(prompt, LogitsAt::All, true);
  auto lq = int8.forward(prompt, LogitsAt::All, true);
  double min_cos = 1;
  for (std::int64_t p = 0; p < ld.audio_logits.size(0); ++p) min_cos = std::min(min_cos, cosine(lq.audio_logits[p], ld.audio_logits[p]));
  const double text_cos = cosine(lq.text_logits, ld.text_logits);
  const double argmax_same = (lq.audio_logits.argmax(-1) == ld.audio_logits.argmax(-1)).to(at::kDouble).mean().item<double>();
  std::printf("  prompt of 48: audio logits cosine min %.5f, text logits cosine %.5f, audio argmax agreement %.3f\n", min_cos,
              text_cos, argmax_same);
  HIGGS_CHECK_MSG(min_cos > 0.99 && text_cos > 0.99, min_cos << " " << text_cos);

  const std::int64_t steps = 24;
  dense.cache().set_length(0);
  auto reference = greedy_codes(dense, prompt, steps);
  auto free_running = greedy_codes(int8, prompt, steps);
  auto forced = greedy_codes(int8, prompt, steps, reference);
  const double free_agree = (free_running == reference).to(at::kDouble).mean().item<double>();
  const double forced_agree = (forced == reference).to(at::kDouble).mean().item<double>();
  std::int64_t first_diff = steps;
  for (std::int64_t s = 0; s < steps && first_diff == steps; ++s) {
    if (!at::equal(free_running[s], reference[s])) first_diff = s;
  }
  std::printf("  greedy over %lld steps x %lld codebooks: teacher-forced agreement %.3f, free-running %.3f (first column that differs: %lld)\n",
              static_cast<long long>(steps), static_cast<long long>(c.num_codebooks), forced_agree, free_agree,
              static_cast<long long>(first_diff));
  HIGGS_CHECK_MSG(forced_agree > 0.8, forced_agree);
}

// The goldens' checkpoint (bf16 on disk) and prompt: int8 against the bf16 path, and both
// against the transformers fp32 logits the goldens hold.
HIGGS_TEST(int8_against_bf16_on_the_goldens_prompt) {
  const std::string dir = goldens_dir() + "/lm";
  auto config = load_config(dir);
  auto options = at::TensorOptions().dtype(at::kBFloat16).device(at::kCPU);
  HiggsLM dense(config, load_weights(dir, config, options), 64, options);
  HiggsLM int8(config, load_weights(dir, config, options, {}, WeightFormat::Int8), 64, options);
  HIGGS_CHECK(int8.weights().int8() && !int8.weights().layers[0].q_proj.defined());

  io::SafetensorsFile file(goldens_dir() + "/lm_goldens.safetensors");
  std::map<std::string, at::Tensor> g;
  for (const auto& [name, view] : file.tensors()) {
    if (name.rfind("prefill.", 0) == 0) g[name] = io::tensor_from_view(view).clone();
  }
  LmInput in;
  in.input_ids = g.at("prefill.input_ids")[0].to(at::kLong);
  in.audio_mask = g.at("prefill.audio_token_mask")[0].to(at::kBool);
  in.audio_codes = g.at("prefill.audio_input_ids")[0].to(at::kLong);
  auto golden = g.at("prefill.logits")[0];  // [L, K, V] fp32 (transformers)
  auto ld = dense.forward(in, LogitsAt::All, false).audio_logits;
  auto lq = int8.forward(in, LogitsAt::All, false).audio_logits;
  const double int8_bf16 = cosine(lq, ld), int8_golden = cosine(lq, golden), bf16_golden = cosine(ld, golden);
  const double argmax_same = (lq.argmax(-1) == ld.argmax(-1)).to(at::kDouble).mean().item<double>();
  std::printf("  goldens' prompt (%lld positions): logits cosine int8/bf16 %.5f, int8/fp32 goldens %.5f, bf16/fp32 goldens %.5f; "
              "argmax agreement int8/bf16 %.3f\n",
              static_cast<long long>(in.input_ids.size(0)), int8_bf16, int8_golden, bf16_golden, argmax_same);
  HIGGS_CHECK_MSG(int8_bf16 > 0.99 && int8_golden > 0.99, int8_bf16 << " " << int8_golden);
}

// Fast batching over int8 weights: the int8 kernel computes each row of a batch as it computes
// the row alone (on the CPU), so a row of decode_columns equals the row decoded alone, bit for bit.
HIGGS_TEST(int8_rows_batched_equal_rows_alone) {
  auto c = small_config();
  auto options = test_options();
  auto weights = [&] { return random_weights(c, 13, options, true, WeightFormat::Int8); };
  HiggsLM model(c, weights(), 96, options);
  std::vector<std::unique_ptr<KvCache>> batched, alone;
  std::vector<HiggsLM::AudioRow> rows;
  for (std::int64_t r = 0; r < 3; ++r) {
    for (auto* caches : {&batched, &alone}) {
      caches->push_back(std::make_unique<KvCache>(c.num_layers, 96, c.num_kv_heads, c.head_dim, options));
      model.forward(prompt_of(40 + r, 5 + 4 * r), LogitsAt::Last, false, *caches->back());
    }
    HiggsLM::AudioRow row;
    row.column = {1, 2, 3, 4, 5, 6, 7, 8 + r};
    row.position = 5 + 4 * r;
    rows.push_back(row);
  }
  // The fast batched forward: equal on some CPUs' int8 kernels, within rounding on any.
  int equal_rows = 0, compared = 0;
  for (std::int64_t step = 0; step < 4; ++step) {
    auto all = rows;
    for (std::size_t r = 0; r < rows.size(); ++r) all[r].cache = batched[r].get();
    auto together = model.decode_columns(all);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      auto one = rows[r];
      one.cache = alone[r].get();
      auto solo = model.decode_columns({one})[0];
      auto row = together[static_cast<std::int64_t>(r)];
      HIGGS_CHECK_MSG(at::allclose(solo, row, 1e-3, 1e-3), "step " << step << ", row " << r);
      equal_rows += at::equal(solo, row) ? 1 : 0;
      ++compared;
      ++rows[r].position;
    }
  }
  std::printf("  fast batched forward: %d of %d rows bit-equal to their solo step on this CPU\n", equal_rows, compared);
  // And whole generations through the slot batch: row-exact equals each solo run (asserted); fast
  // is measured.
  std::vector<GenerationInput> inputs = {request(1, 30), request(2, 20, 0.0), request(3, 26, 0.7, 0)};
  std::vector<GenerationOutput> expected;
  for (const auto& input : inputs) expected.push_back(generate(model, input, {}));
  for (auto mode : {BatchMode::RowExact, BatchMode::Fast}) {
    SlotBatch batch(model, 3, mode);
    std::vector<Job> jobs(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      jobs[i].input = inputs[i];
      jobs[i].arrives_at = static_cast<std::int64_t>(i) * 4;
    }
    drive(batch, jobs);
    int same_jobs = 0;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      HIGGS_CHECK_MSG(!jobs[i].error, batch_mode_name(mode) << ", job " << i);
      const bool equal = same(jobs[i].out, expected[i]);
      if (mode == BatchMode::RowExact) HIGGS_CHECK_MSG(equal, batch_mode_name(mode) << ", job " << i);
      same_jobs += equal ? 1 : 0;
    }
    std::printf("  %s: %d of %zu generations equal their solo run\n", batch_mode_name(mode), same_jobs, jobs.size());
  }
}

// The engine: EngineOptions::weights reaches the model, ModelInfo says the format and the bytes
// as held, the load plan counts them, and an unknown value is refused before anything loads.
HIGGS_TEST(the_engine_loads_int8_weights_and_reports_them) {
  EngineOptions options;
  options.max_context = 128;
  Engine dense_engine(options);
  const auto dense = load_random_sync(dense_engine, "tiny", 3);
  options.weights = "int8";
  Engine engine(options);
  const auto info = load_random_sync(engine, "tiny", 3);
  HIGGS_CHECK(info.weight_format == "int8" && dense.weight_format == "dense");
  HIGGS_CHECK(info.parameter_count == dense.parameter_count);
  HIGGS_CHECK_MSG(info.weight_bytes < dense.weight_bytes, info.weight_bytes << " of " << dense.weight_bytes);

  const std::string dir = goldens_dir() + "/lm";
  auto plan_dense = plan_load(dir, EngineOptions{});
  auto int8_options = EngineOptions{};
  int8_options.weights = "int8";
  auto plan = plan_load(dir, int8_options);
  auto loaded = load_sync(engine, dir);
  HIGGS_CHECK_MSG(plan.weight_bytes == loaded.weight_bytes, plan.weight_bytes << " planned, " << loaded.weight_bytes << " held");
  HIGGS_CHECK(plan.weight_bytes < plan_dense.weight_bytes && plan.parameter_count == plan_dense.parameter_count);

  GenerateRequest request;
  request.input_ids = {128000, 882, 271, 128013};
  request.audio_mask = {0, 0, 0, 0};
  request.max_frames = 12;
  request.seed = 5;
  auto a = generate_sync(engine, request), b = generate_sync(engine, request);
  HIGGS_CHECK(a.columns > 0 && a.codes == b.codes);

  auto bad = EngineOptions{};
  bad.weights = "int4";
  HIGGS_CHECK_THROWS(plan_load(dir, bad), ErrorCode::Input, "unknown weights 'int4'");
  Engine refused(bad);
  HIGGS_CHECK_THROWS(load_random_sync(refused, "tiny", 3), ErrorCode::Input, "unknown weights 'int4'");
}

// Every decode path of the engine over int8 weights: eager, the static one-row step, and the
// static step over several slots (row-exact and fast) give one request the same codes (on the
// CPU; on a GPU the device paths may round differently, as with dense weights).
HIGGS_TEST(int8_decode_paths_give_the_same_codes) {
  const char* env = std::getenv("HIGGS_TEST_DEVICE");
  const std::string device = env && *env ? env : "cpu";
  GenerateRequest request;
  request.input_ids.assign(40, 1000);
  request.input_ids.back() = 128013;
  request.audio_mask.assign(40, 0);
  request.max_frames = 24;
  request.seed = 42;
  request.top_k = 50;
  request.top_p = 0.95;
  struct Variant {
    std::string decode, batching;
    std::int64_t slots;
  };
  std::vector<Variant> variants = {{"eager", "exact", 1}, {"static", "exact", 1}, {"static", "exact", 3}, {"static", "fast", 3}};
  if (device != "cpu") variants.push_back({"graph", "exact", 1});
  GenerateResult first;
  for (const auto& v : variants) {
    EngineOptions options;
    options.device = device;
    options.dtype = device == "cpu" ? "float32" : "bfloat16";
    options.max_context = 128;
    options.decode = v.decode;
    options.slots = v.slots;
    options.batching = v.batching;
    options.weights = "int8";
    Engine engine(options);
    const auto info = load_random_sync(engine, "tiny", 3);
    HIGGS_CHECK(info.weight_format == "int8" && info.decode == v.decode);
    auto result = generate_sync(engine, request);
    const auto name = v.decode + "/" + v.batching + "/" + std::to_string(v.slots);
    HIGGS_CHECK_MSG(result.columns > 0, name);
    if (&v == &variants.front()) {
      first = result;
    } else if (device == "cpu") {
      HIGGS_CHECK_MSG(result.codes == first.codes, name);
    }
  }
}
