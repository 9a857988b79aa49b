// The files Boson publishes, held against the loaders (test/fixtures/released, README there for
// where each file came from): the original-layout config.json, index and tokenizer_config.json of
// revision 10840182, and the transformers-layout configs at the real sizes. Both layouts must
// describe the same model, the released tensor names must be exactly the loader's set, and the
// special-token ids the config names must be the tokenizer's.
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "check.h"
#include "codec/codec_config.h"
#include "errors.h"
#include "lm/checkpoint_config.h"
#include "lm/rope.h"
#include "lm/weight_names.h"

namespace {

using namespace higgs;
using json = nlohmann::json;

const std::string kReleased = std::string(HIGGS_SOURCE_DIR) + "/test/fixtures/released";

json read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  HIGGS_CHECK_MSG(in.good() || in.eof(), "cannot read " << path);
  return json::parse(os.str());
}

lm::HiggsConfig original_lm() { return lm::load_config(kReleased + "/original/model"); }
lm::HiggsConfig transformers_lm() { return lm::load_config(kReleased + "/transformers/model"); }

std::int64_t element_count(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

// Id of a token's content in tokenizer_config.json's added_tokens_decoder.
std::int64_t token_id(const json& tokenizer_config, const std::string& content) {
  for (const auto& [id, entry] : tokenizer_config.at("added_tokens_decoder").items()) {
    if (entry.at("content") == content) return std::stoll(id);
  }
  return -1;
}

}  // namespace

HIGGS_TEST(released_configs_load_in_both_layouts) {
  const lm::HiggsConfig o = original_lm();  // holds "use_audio_out_self_attention": 0
  const lm::HiggsConfig t = transformers_lm();
  HIGGS_CHECK(o.format == lm::CheckpointFormat::Original && t.format == lm::CheckpointFormat::Transformers);
  for (const lm::HiggsConfig* c : {&o, &t}) {
    HIGGS_CHECK_MSG(c->num_layers == 28 && c->hidden_size == 3072 && c->intermediate_size == 8192, c->source);
    HIGGS_CHECK_MSG(c->num_heads == 24 && c->num_kv_heads == 8 && c->head_dim == 128, c->source);
    HIGGS_CHECK_MSG(c->vocab_size == 128256 && c->num_codebooks == 8 && c->codebook_vocab == 1026, c->source);
    HIGGS_CHECK_MSG(c->audio_stream_bos_id == 1024 && c->audio_stream_eos_id == 1025, c->source);
    HIGGS_CHECK_MSG(c->rms_norm_eps == 1e-5 && c->rope.llama3 && c->rope.theta == 500000.0, c->source);
    HIGGS_CHECK_MSG(c->audio_out_token_id == 128016 && c->audio_out_bos_token_id == 128013, c->source);
    HIGGS_CHECK_MSG(c->pad_token_id == 128001 && c->eot_token_id == 128009, c->source);
  }
}

HIGGS_TEST(released_rope_spellings_give_the_same_frequencies) {
  // The original writes llama3 scaling as (1, 4, 8192), transformers as (0.125, 0.5, 1024): the
  // same wavelength thresholds, so the same inverse frequencies.
  const lm::HiggsConfig o = original_lm(), t = transformers_lm();
  HIGGS_CHECK(o.rope.low_freq_factor != t.rope.low_freq_factor);
  const at::Tensor a = lm::rope_inv_freq(o.rope, o.head_dim), b = lm::rope_inv_freq(t.rope, t.head_dim);
  HIGGS_CHECK(a.numel() == 64 && b.numel() == 64);
  const double worst = (a - b).abs().div(a.abs()).max().item<double>();
  HIGGS_CHECK_MSG(worst < 1e-12, "largest relative difference " << worst);
  // Not trivially equal to plain RoPE: the scaling divides the low frequencies.
  const double plain_last = std::pow(500000.0, -126.0 / 128.0);
  HIGGS_CHECK(a[63].item<double>() < plain_last / 2);
}

HIGGS_TEST(released_tensor_names_are_the_loader_set) {
  const json index = read_json(kReleased + "/original/model/model.safetensors.index.json");
  const auto& weight_map = index.at("weight_map");
  HIGGS_CHECK(weight_map.size() == 397);
  std::set<std::string> mapped;
  for (const auto& [stored, file] : weight_map.items()) {
    const std::string name = lm::canonical_name(stored);
    HIGGS_CHECK_MSG(!name.empty(), stored << " is ignored by the loader");
    HIGGS_CHECK_MSG(mapped.insert(name).second, stored << " maps onto " << name << " twice");
  }
  const auto shapes = lm::canonical_shapes(original_lm(), /*with_text_head=*/true);
  std::set<std::string> expected;
  std::int64_t parameters = 0;
  for (const auto& [name, shape] : shapes) {
    expected.insert(name);
    parameters += element_count(shape);
  }
  HIGGS_CHECK(mapped == expected);
  // bf16: two bytes per parameter, so the shapes the loader checks are the released ones.
  HIGGS_CHECK_MSG(index.at("metadata").at("total_size").get<std::int64_t>() == 2 * parameters,
                  "index total " << index.at("metadata").at("total_size") << ", 2 x parameters " << 2 * parameters);
}

HIGGS_TEST(released_special_token_ids_match_the_config) {
  const json tok = read_json(kReleased + "/original/tokenizer/tokenizer_config.json");
  for (const lm::HiggsConfig& c : {original_lm(), transformers_lm()}) {
    HIGGS_CHECK_MSG(token_id(tok, "<|AUDIO|>") == c.audio_in_token_id, c.source);
    HIGGS_CHECK_MSG(token_id(tok, "<|AUDIO_OUT|>") == c.audio_out_token_id, c.source);
    HIGGS_CHECK_MSG(token_id(tok, "<|audio_bos|>") == c.audio_bos_token_id, c.source);
    HIGGS_CHECK_MSG(token_id(tok, "<|audio_out_bos|>") == c.audio_out_bos_token_id, c.source);
    HIGGS_CHECK_MSG(token_id(tok, "<|audio_eos|>") == c.audio_eos_token_id, c.source);
    HIGGS_CHECK_MSG(token_id(tok, "<|end_of_text|>") == c.pad_token_id, c.source);
    HIGGS_CHECK_MSG(token_id(tok, "<|eot_id|>") == c.eot_token_id, c.source);
  }
}

HIGGS_TEST(released_codec_configs) {
  const codec::CodecConfig t = codec::load_codec_config(kReleased + "/transformers/audio_tokenizer");
  HIGGS_CHECK(t.num_quantizers == 8 && t.samples_per_frame() == 960 && t.frame_rate == 25);
  HIGGS_CHECK(t.sample_rate == 24000 && t.codebook_size == 1024 && t.codebook_dim == 64);
  HIGGS_CHECK(t.acoustic.hidden_size == 256 && t.semantic.hidden_size == 768 && t.hidden_size == 1024);
  // The original release's config goes with a pickled model.pth: refused with the converter named
  // (test/scripts holds the conversion of this config to the one above).
  HIGGS_CHECK_THROWS(codec::load_codec_config(kReleased + "/original/audio_tokenizer"), ErrorCode::ModelFormat,
                     "scripts/convert_codec.py");
}
