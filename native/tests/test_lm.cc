// The LM forward: KV-cache consistency, DualFFN routing, input validation.
#include <ATen/ATen.h>

#include "check.h"
#include "errors.h"
#include "lm/checkpoint_config.h"
#include "lm/higgs_lm.h"
#include "lm/higgs_weights.h"
#include "lm_test_util.h"

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

using namespace higgs;
using namespace higgs::test;

namespace {

// A mixed prompt: text, a clip of audio frames, text again, then optionally more audio.
struct Prompt {
  std::vector<std::int64_t> ids;
  std::vector<bool> audio;
  std::vector<std::vector<std::int64_t>> frames;

  void text(std::int64_t id) { ids.push_back(id); audio.push_back(false); }
  void frame(std::int64_t seed) {
    ids.push_back(0);
    audio.push_back(true);
    std::vector<std::int64_t> f;
    for (int k = 0; k < 8; ++k) f.push_back((seed * 131 + k * 977) % 1026);
    frames.push_back(f);
  }

  // Positions [begin, end) as an LmInput starting at `begin`.
  lm::LmInput slice(size_t begin, size_t end) const {
    std::vector<std::int64_t> ids_part(ids.begin() + begin, ids.begin() + end);
    std::vector<std::uint8_t> mask_part;
    std::vector<std::int64_t> codes;
    size_t frame_index = 0;
    for (size_t i = 0; i < end; ++i) {
      if (!audio[i]) continue;
      if (i >= begin) codes.insert(codes.end(), frames[frame_index].begin(), frames[frame_index].end());
      ++frame_index;
    }
    for (size_t i = begin; i < end; ++i) mask_part.push_back(audio[i] ? 1 : 0);
    lm::LmInput in;
    in.input_ids = at::tensor(ids_part, at::kLong);
    in.audio_mask = at::tensor(at::ArrayRef<std::uint8_t>(mask_part), at::kByte).to(at::kBool);
    in.audio_codes = at::tensor(codes, at::kLong).view({-1, 8});
    in.start_pos = static_cast<std::int64_t>(begin);
    return in;
  }
};

Prompt mixed_prompt(bool end_with_audio) {
  Prompt p;
  for (int i = 0; i < 5; ++i) p.text(10 + i * 37);
  for (int i = 0; i < 6; ++i) p.frame(i + 1);
  for (int i = 0; i < 3; ++i) p.text(200 + i);
  if (end_with_audio) for (int i = 0; i < 3; ++i) p.frame(20 + i);
  return p;
}

void check_cache_consistency(bool last_is_audio) {
  auto prompt = mixed_prompt(last_is_audio);
  const auto n = prompt.ids.size();
  auto full_model = small_model();
  auto full = full_model.forward(prompt.slice(0, n), lm::LogitsAt::Last, true);

  auto step_model = small_model();
  step_model.forward(prompt.slice(0, n - 1), lm::LogitsAt::Last, true);
  auto step = step_model.forward(prompt.slice(n - 1, n), lm::LogitsAt::Last, true);

  const double audio_err = relative_error(step.audio_logits, full.audio_logits);
  const double text_err = relative_error(step.text_logits, full.text_logits);
  HIGGS_CHECK_MSG(audio_err < 1e-5, "audio logits relative error " << audio_err);
  HIGGS_CHECK_MSG(text_err < 1e-5, "text logits relative error " << text_err);
  // The logits must depend on the input at all (guards against a vacuous comparison).
  HIGGS_CHECK(full.audio_logits.abs().max().item<float>() > 1e-3);
}

}  // namespace

HIGGS_TEST(kv_cache_prefill_equals_prefill_plus_decode_text_last) { check_cache_consistency(false); }

HIGGS_TEST(kv_cache_prefill_equals_prefill_plus_decode_audio_last) { check_cache_consistency(true); }

HIGGS_TEST(decode_steps_one_by_one_equal_prefill_at_every_position) {
  auto prompt = mixed_prompt(true);
  const auto n = prompt.ids.size();
  auto full_model = small_model();
  auto full = full_model.forward(prompt.slice(0, n), lm::LogitsAt::All, false);
  auto step_model = small_model();
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    auto step = step_model.forward(prompt.slice(i, i + 1), lm::LogitsAt::Last, false);
    worst = std::max(worst, relative_error(step.audio_logits[0], full.audio_logits[i]));
  }
  HIGGS_CHECK_MSG(worst < 1e-5, "worst relative error " << worst);
}

HIGGS_TEST(rewinding_start_pos_overwrites_the_cache) {
  auto prompt = mixed_prompt(false);
  const auto n = prompt.ids.size();
  auto model = small_model();
  auto first = model.forward(prompt.slice(0, n), lm::LogitsAt::Last, false);
  model.forward(prompt.slice(0, 3), lm::LogitsAt::Last, false);  // garbage after position 3 stays
  auto again = model.forward(prompt.slice(3, n), lm::LogitsAt::Last, false);
  HIGGS_CHECK(relative_error(again.audio_logits, first.audio_logits) < 1e-5);
}

HIGGS_TEST(dual_ffn_audio_mlp_changes_only_audio_positions) {
  auto prompt = mixed_prompt(true);
  const auto n = prompt.ids.size();
  auto base = small_model();
  auto before = base.forward(prompt.slice(0, n), lm::LogitsAt::All, true);

  // Perturb the audio MLP of the LAST layer only: no later attention can carry the change to
  // text positions, so exactly the audio rows must change.
  auto c = small_config();
  auto options = test_options();
  auto weights = lm::random_weights(c, 7, options);
  auto& last = weights.layers.back();
  last.audio_up_proj = last.audio_up_proj + 0.05 * at::randn(last.audio_up_proj.sizes(), options);
  lm::HiggsLM changed(c, weights, 256, options);
  auto after = changed.forward(prompt.slice(0, n), lm::LogitsAt::All, true);

  for (size_t i = 0; i < n; ++i) {
    auto diff = (after.audio_logits[i] - before.audio_logits[i]).abs().max().item<float>();
    if (prompt.audio[i]) {
      HIGGS_CHECK_MSG(diff > 1e-4, "audio position " << i << " did not change");
    } else {
      HIGGS_CHECK_MSG(diff == 0.0f, "text position " << i << " changed by " << diff);
    }
  }
}

HIGGS_TEST(dual_ffn_text_mlp_changes_only_text_positions_before_audio) {
  auto prompt = mixed_prompt(true);
  const auto n = prompt.ids.size();
  auto base = small_model();
  auto before = base.forward(prompt.slice(0, n), lm::LogitsAt::All, false);
  auto c = small_config();
  auto options = test_options();
  auto weights = lm::random_weights(c, 7, options);
  auto& last = weights.layers.back();
  last.gate_proj = last.gate_proj + 0.05 * at::randn(last.gate_proj.sizes(), options);
  lm::HiggsLM changed(c, weights, 256, options);
  auto after = changed.forward(prompt.slice(0, n), lm::LogitsAt::All, false);
  for (size_t i = 0; i < n; ++i) {
    auto diff = (after.audio_logits[i] - before.audio_logits[i]).abs().max().item<float>();
    if (prompt.audio[i]) HIGGS_CHECK_MSG(diff == 0.0f, "audio position " << i << " changed");
    else HIGGS_CHECK_MSG(diff > 1e-4, "text position " << i << " did not change");
  }
}

HIGGS_TEST(audio_embedding_is_the_sum_of_codebook_rows) {
  // With zero layers the output is norm(embedding): compare against a hand-made sum.
  auto c = small_config();
  c.num_layers = 0;
  auto options = test_options();
  auto weights = lm::random_weights(c, 3, options);
  lm::HiggsLM model(c, weights, 16, options);
  Prompt p;
  p.frame(5);
  auto out = model.forward(p.slice(0, 1), lm::LogitsAt::Last, false);
  auto sum = at::zeros({c.hidden_size}, options);
  for (int k = 0; k < 8; ++k) sum += weights.embed_audio[k * c.codebook_vocab + p.frames[0][k]];
  auto hidden = lm::rms_norm(sum.unsqueeze(0), weights.norm, c.rms_norm_eps);
  auto expected = at::linear(hidden, weights.audio_head).view({1, 8, c.codebook_vocab}).cpu();
  HIGGS_CHECK(relative_error(out.audio_logits, expected) < 1e-6);
}

HIGGS_TEST(invalid_inputs_are_rejected_with_e_input) {
  auto model = small_model();
  auto prompt = mixed_prompt(false);
  auto in = prompt.slice(0, 4);
  in.start_pos = 3;  // nothing cached yet
  HIGGS_CHECK_THROWS(model.forward(in, lm::LogitsAt::Last, false), ErrorCode::Input, "start_pos");
  in = prompt.slice(0, 4);
  in.input_ids[0] = 100000;  // vocab is 512
  HIGGS_CHECK_THROWS(model.forward(in, lm::LogitsAt::Last, false), ErrorCode::Input, "input_ids");
  in = prompt.slice(0, 8);
  in.audio_codes[0][0] = 1026;
  HIGGS_CHECK_THROWS(model.forward(in, lm::LogitsAt::Last, false), ErrorCode::Input, "audio codes");
  in = prompt.slice(0, 8);
  in.audio_codes = in.audio_codes.narrow(0, 0, 1);
  HIGGS_CHECK_THROWS(model.forward(in, lm::LogitsAt::Last, false), ErrorCode::Input, "audio_codes");
  auto c = small_config();
  auto options = test_options();
  lm::HiggsLM no_head(c, lm::random_weights(c, 1, options, /*with_text_head=*/false), 64, options);
  HIGGS_CHECK_THROWS(no_head.forward(prompt.slice(0, 4), lm::LogitsAt::Last, true), ErrorCode::Input, "text head");
  lm::HiggsLM short_cache(c, lm::random_weights(c, 1, options), 8, options);
  HIGGS_CHECK_THROWS(short_cache.forward(prompt.slice(0, 10), lm::LogitsAt::Last, false), ErrorCode::Input,
                     "max_context");
}

namespace {

// The [start, end) address ranges of `path`'s mappings in this process (/proc/self/maps).
std::vector<std::pair<std::uintptr_t, std::uintptr_t>> mappings_of(const std::string& path) {
  std::vector<std::pair<std::uintptr_t, std::uintptr_t>> out;
  std::FILE* maps = std::fopen("/proc/self/maps", "r");
  if (!maps) return out;
  char line[4096];
  while (std::fgets(line, sizeof line, maps)) {
    std::string text(line);
    if (text.find(path) == std::string::npos) continue;
    out.emplace_back(std::stoull(text.substr(0, text.find('-')), nullptr, 16),
                     std::stoull(text.substr(text.find('-') + 1), nullptr, 16));
  }
  std::fclose(maps);
  return out;
}

}  // namespace

// Weights whose file dtype is the model's stay in the file's memory map on the CPU: loading
// copies nothing (the fused GPU projections are not built there).
HIGGS_TEST(cpu_weights_of_the_file_dtype_stay_in_the_memory_map) {
  const std::string dir = std::string(HIGGS_SOURCE_DIR) + "/test/fixtures/goldens/lm";  // bf16 on disk
  auto config = lm::load_config(dir);
  auto options = at::TensorOptions().dtype(at::kBFloat16).device(at::kCPU);
  auto weights = lm::load_weights(dir, config, options);
  auto model = lm::HiggsLM(config, std::move(weights), 64, options);
  const auto ranges = mappings_of(dir + "/model.safetensors");
  HIGGS_CHECK(!ranges.empty());
  auto inside = [&](const at::Tensor& t) {
    auto p = reinterpret_cast<std::uintptr_t>(t.data_ptr());
    for (auto [a, b] : ranges)
      if (p >= a && p < b) return true;
    return false;
  };
  const auto& layer = model.weights().layers[0];
  HIGGS_CHECK(!layer.qkv_proj.defined() && !layer.gate_up_proj.defined());
  for (const auto* t : {&layer.q_proj, &layer.k_proj, &layer.gate_proj, &layer.audio_up_proj, &layer.o_proj}) {
    HIGGS_CHECK(inside(*t));
  }
  HIGGS_CHECK(inside(model.weights().embed_tokens));
  // And the model computes with them.
  lm::LmInput in;
  in.input_ids = at::tensor(std::vector<std::int64_t>{128000, 882, 271}, at::kLong);
  in.audio_mask = at::zeros({3}, at::kBool);
  in.audio_codes = at::zeros({0, config.num_codebooks}, at::kLong);
  auto out = model.forward(in, lm::LogitsAt::Last, false);
  HIGGS_CHECK(out.audio_logits.defined() && out.audio_logits.isfinite().all().item<bool>());
}
