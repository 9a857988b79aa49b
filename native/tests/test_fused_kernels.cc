// The fused CUDA decode kernels against the ATen ops they replace, and the fused step captured
// as a graph against the same step run eagerly. CUDA builds with the kernels only
// (HIGGS_TEST_DEVICE=cuda); elsewhere every test returns at once.
#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "check.h"
#include "gpu/fused_ops.h"
#include "lm/decode_runner.h"
#include "lm/generator.h"
#include "lm/sampling.h"
#include "lm/static_sampling.h"
#include "lm_test_util.h"

using namespace higgs;
using namespace higgs::lm;
using namespace higgs::test;

namespace {

bool skip() {
  const char* env = std::getenv("HIGGS_TEST_DEVICE");
  if (gpu::fused_ops_available() && env && std::string(env).rfind("cuda", 0) == 0) return false;
  std::printf("  skipped: needs a CUDA build with the fused kernels and HIGGS_TEST_DEVICE=cuda\n");
  return true;
}

at::TensorOptions bf16() { return at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA); }

// A small model of head_dim 128 (the fused attention's shape), bf16 on CUDA.
lm::HiggsConfig head128_config() {
  auto c = small_config();
  c.head_dim = 128;
  return c;
}

}  // namespace

// The current kernels, then their candidate successors (HIGGS_KERNELS_NEXT), against ATen.
struct BothVariants {
  template <typename Body>
  explicit BothVariants(Body body) {
    const bool was = gpu::next_kernels();
    for (bool next : {false, true}) {
      gpu::use_next_kernels(next);
      std::printf("  %s kernels\n", next ? "next" : "current");
      body();
    }
    gpu::use_next_kernels(was);
  }
};

HIGGS_TEST(fused_add_rms_norm_matches_aten) {
  if (skip()) return;
  BothVariants([] {
    at::manual_seed(1);
    auto x = at::randn({1, 3072}, bf16()), delta = at::randn({1, 3072}, bf16());
    auto weight = (1 + 0.1 * at::randn({3072}, bf16().dtype(at::kFloat))).to(at::kBFloat16);
    auto [sum, normed] = gpu::add_rms_norm(x, delta, weight, 1e-5);
    auto expected_sum = x + delta;
    HIGGS_CHECK(at::equal(sum, expected_sum));
    auto expected = rms_norm(expected_sum, weight, 1e-5);
    HIGGS_CHECK_MSG(relative_error(normed, expected) < 1e-2, relative_error(normed, expected));
    auto plain = gpu::add_rms_norm(x, at::Tensor(), weight, 1e-5);
    HIGGS_CHECK(at::equal(plain.first, x));
    HIGGS_CHECK(relative_error(plain.second, rms_norm(x, weight, 1e-5)) < 1e-2);
    auto odd = at::randn({2, 1000}, bf16());  // rows, and a width that is no multiple of the block
    auto odd_weight = at::ones({1000}, bf16());
    HIGGS_CHECK(relative_error(gpu::add_rms_norm(odd, at::Tensor(), odd_weight, 1e-5).second, rms_norm(odd, odd_weight, 1e-5)) < 1e-2);
  });
}

HIGGS_TEST(fused_rope_write_kv_matches_aten) {
  if (skip()) return;
  const std::int64_t heads = 4, kv = 2, D = 128, max_context = 64, pos = 37;
  auto c = head128_config();
  auto rope = rope_tables(c.rope, D, max_context, bf16());
  at::manual_seed(2);
  auto qkv = at::randn({1, (heads + 2 * kv) * D}, bf16());
  auto k_cache = at::zeros({max_context, kv, D}, bf16()), v_cache = at::zeros({max_context, kv, D}, bf16());
  auto position = at::full({1}, pos, at::TensorOptions().dtype(at::kLong).device(at::kCUDA));
  auto q = gpu::rope_write_kv(qkv, rope.cos, rope.sin, position, k_cache, v_cache, heads, kv);
  auto parts = split_qkv(qkv, heads, kv, D);
  auto cos = rope.cos.narrow(0, pos, 1), sin = rope.sin.narrow(0, pos, 1);
  auto q_expected = apply_rope(parts.q, cos, sin)[0];
  auto k_expected = apply_rope(parts.k, cos, sin)[0];
  const double q_diff = (q.to(at::kFloat) - q_expected.to(at::kFloat)).abs().max().item<double>();
  const double k_diff = (k_cache[pos].to(at::kFloat) - k_expected.to(at::kFloat)).abs().max().item<double>();
  std::printf("  rope: max |q diff| %.3g, max |k diff| %.3g\n", q_diff, k_diff);
  HIGGS_CHECK(relative_error(q, q_expected) < 1e-2 && relative_error(k_cache[pos], k_expected) < 1e-2);
  HIGGS_CHECK(at::equal(v_cache[pos], parts.v[0]));
  HIGGS_CHECK(k_cache[pos - 1].abs().sum().item<float>() == 0.f && v_cache[pos + 1].abs().sum().item<float>() == 0.f);
}

HIGGS_TEST(fused_attention_matches_aten_at_every_length) {
  if (skip()) return;
  const std::int64_t heads = 24, kv = 8, D = 128, max_context = 520;
  at::manual_seed(3);
  auto k_cache = at::randn({max_context, kv, D}, bf16()), v_cache = at::randn({max_context, kv, D}, bf16());
  auto q = at::randn({heads, D}, bf16());
  const double scale = 1.0 / std::sqrt(128.0);
  for (std::int64_t length : {1, 2, 100, 128, 129, 300, 520}) {
    auto position = at::full({1}, length - 1, at::TensorOptions().dtype(at::kLong).device(at::kCUDA));
    auto out = gpu::decode_attention(q, k_cache, v_cache, position, scale).view({heads, D});
    // fp32 reference over the same bf16 values.
    auto keys = k_cache.narrow(0, 0, length).to(at::kFloat).repeat_interleave(heads / kv, 1);  // [T, heads, D]
    auto values = v_cache.narrow(0, 0, length).to(at::kFloat).repeat_interleave(heads / kv, 1);
    auto scores = at::einsum("hd,thd->ht", {q.to(at::kFloat), keys}) * scale;
    auto expected = at::einsum("ht,thd->hd", {at::softmax(scores, -1), values});
    HIGGS_CHECK_MSG(relative_error(out, expected) < 1e-2, "length " << length << ": " << relative_error(out, expected));
  }
}

HIGGS_TEST(row_gemv_matches_aten_linear) {
  if (skip()) return;
  BothVariants([] {
    at::manual_seed(5);
    // The full model's projections (qkv, o, gate_up, down, audio head) and an odd small one.
    for (auto [n, k] : std::vector<std::pair<std::int64_t, std::int64_t>>{
             {5120, 3072}, {3072, 3072}, {16384, 3072}, {3072, 8192}, {8208, 3072}, {17, 64}}) {
      auto weight = at::randn({n, k}, bf16()) * 0.02, x = at::randn({1, k}, bf16());
      auto y = gpu::linear_row(x, weight);
      HIGGS_CHECK(y.sizes() == at::IntArrayRef({1, n}));
      HIGGS_CHECK_MSG(relative_error(y, at::linear(x, weight)) < 1e-2, n << "x" << k << ": " << relative_error(y, at::linear(x, weight)));
    }
    // Layouts the kernel does not take fall back to at::linear.
    auto weight = at::randn({64, 24}, bf16()), x = at::randn({2, 24}, bf16());
    HIGGS_CHECK(at::equal(gpu::linear_row(x, weight), at::linear(x, weight)));
  });
}

HIGGS_TEST(fused_gumbel_argmax_equals_the_tensor_ops) {
  if (skip()) return;
  at::manual_seed(6);
  auto logits = at::randn({8, 1026}, at::TensorOptions().device(at::kCUDA)) * 2;
  logits.narrow(1, 0, 500).fill_(-std::numeric_limits<float>::infinity());  // masked by top-k / top-p
  logits.narrow(1, 600, 3).fill_(4.0f);                                     // ties
  for (std::int64_t b : {0LL, 1LL, 77LL, 123456789LL, 4294967295LL}) {
    auto base = at::full({1}, b, at::TensorOptions().dtype(at::kLong).device(at::kCUDA));
    HIGGS_CHECK_MSG(at::equal(gpu::gumbel_argmax(logits, base), gumbel_argmax_ops(logits, base)), "base " << b);
  }
}

// Both samplers on CUDA draw through the fused kernel (lm::gumbel_argmax): their tokens equal the
// same processors followed by the tensor-op draw, for every kind of setting.
HIGGS_TEST(fused_samplers_draw_the_tensor_op_tokens) {
  if (skip()) return;
  const auto cuda = at::TensorOptions().device(at::kCUDA);
  at::manual_seed(7);
  auto logits = at::randn({8, 1026}, cuda) * 3;
  logits.narrow(1, 10, 4).fill_(5.0f);  // ties at the top
  const std::vector<SamplingParams> table = {{0.0, 0, 1.0}, {1.0, 0, 1.0}, {0.7, 0, 1.0}, {1.0, 5, 1.0},
                                             {1.0, 0, 0.9}, {0.8, 50, 0.95}, {0.5, 1, 0.3}};
  SamplerBuffers buffers(at::kCUDA);
  for (std::size_t t = 0; t < table.size(); ++t) {
    auto p = table[t];
    p.seed = 2000 + t * 104729;
    buffers.set(p);
    for (std::int64_t step = 0; step < 12; ++step) {
      const auto base = at::full({1}, static_cast<std::int64_t>(draw_base(seed_base(p.seed), step, NoiseStream::Sample)),
                                 cuda.dtype(at::kLong));
      const auto want = p.temperature <= 0 ? at::argmax(logits, -1) : gumbel_argmax_ops(process_logits(logits, p), base);
      HIGGS_CHECK_MSG(at::equal(sample_rows(logits, p, step), want), "eager, settings " << t << " step " << step);
      const auto s = at::full({1}, step, cuda.dtype(at::kLong));
      HIGGS_CHECK_MSG(at::equal(static_sample_rows(logits, buffers, s), want), "static, settings " << t << " step " << step);
    }
  }
}

HIGGS_TEST(fused_silu_mul_matches_aten) {
  if (skip()) return;
  at::manual_seed(4);
  auto gate_up = at::randn({1, 2 * 8192}, bf16()) * 3;
  auto out = gpu::silu_mul(gate_up);
  auto expected = at::silu(gate_up.narrow(1, 0, 8192)) * gate_up.narrow(1, 8192, 8192);
  HIGGS_CHECK_MSG(relative_error(out, expected) < 1e-2, relative_error(out, expected));
}

HIGGS_TEST(fused_step_matches_the_aten_step) {
  if (skip()) return;
  BothVariants([] {
    for (bool head128 : {false, true}) {  // tiny head_dim 16: ATen attention inside the fused step
      auto c = head128 ? head128_config() : small_config();
      auto model = HiggsLM(c, random_weights(c, 5, bf16()), 300, bf16());
      DecodeState state(c, 301, at::kCUDA);
      AudioDecodeStep aten(model, state, false), fused(model, state, true);
      // A prompt in the cache, then compare the logits of a few positions (both write the same K/V).
      LmInput prompt;
      prompt.input_ids = at::randint(0, 500, {40}, at::kLong);
      prompt.audio_mask = at::zeros({40}, at::kBool);
      prompt.audio_codes = at::zeros({0, 8}, at::kLong);
      model.forward(prompt, LogitsAt::Last, false);
      SamplingParams greedy;
      greedy.temperature = 0;
      state.reset(greedy, {}, 40);
      std::int64_t agree = 0, total = 0;
      for (int step = 0; step < 6; ++step) {
        auto a = aten.logits(256), b = fused.logits(256);
        HIGGS_CHECK_MSG(relative_error(b, a) < 3e-2, "head128 " << head128 << " step " << step << ": " << relative_error(b, a));
        agree += (a.argmax(-1) == b.argmax(-1)).sum().item<std::int64_t>();
        total += a.size(0);
        state.advance(a);
      }
      std::printf("  head_dim %lld: greedy codes agree %lld / %lld\n", static_cast<long long>(c.head_dim),
                  static_cast<long long>(agree), static_cast<long long>(total));
      HIGGS_CHECK(agree * 10 >= total * 8);
    }
  });
}

HIGGS_TEST(graph_replay_equals_the_eager_fused_step) {
  if (skip()) return;
  auto c = head128_config();
  auto model = HiggsLM(c, random_weights(c, 6, bf16()), 200, bf16());
  DecodeRunner graphs(model, true);
  HIGGS_CHECK(graphs.uses_fused_kernels() && graphs.buckets() == std::vector<std::int64_t>{200});
  graphs.capture_all();
  GenerationInput input;
  input.prompt.input_ids = at::randint(0, 500, {30}, at::kLong);
  input.prompt.audio_mask = at::zeros({30}, at::kBool);
  input.prompt.audio_codes = at::zeros({0, 8}, at::kLong);
  input.sampling.seed = 9;
  input.sampling.top_k = 50;
  input.max_frames = 60;
  auto replayed = generate(model, input, {}, &graphs);
  DecodeRunner eager(model, false);
  auto direct = generate(model, input, {}, &eager);
  HIGGS_CHECK(replayed.columns == direct.columns && replayed.stop == direct.stop);
}
