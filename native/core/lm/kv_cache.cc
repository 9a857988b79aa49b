#include "lm/kv_cache.h"

#include <string>

#include "errors.h"

namespace higgs::lm {

KvCache::KvCache(std::int64_t num_layers, std::int64_t max_context, std::int64_t kv_heads,
                 std::int64_t head_dim, const at::TensorOptions& options)
    : max_context_(max_context) {
  // EngineOptions::max_context reaches here unchecked (engine.h): a cache needs a position.
  if (max_context < 1) throw HiggsError(ErrorCode::Input, "max_context must be at least 1 (got " + std::to_string(max_context) + ")");
  for (std::int64_t i = 0; i < num_layers; ++i) {
    keys_.push_back(at::zeros({max_context, kv_heads, head_dim}, options));
    values_.push_back(at::zeros({max_context, kv_heads, head_dim}, options));
  }
}

KvCache::KvCache(std::vector<at::Tensor> keys, std::vector<at::Tensor> values, std::int64_t max_context)
    : max_context_(max_context), keys_(std::move(keys)), values_(std::move(values)) {}

std::int64_t KvCache::bytes() const {
  std::int64_t total = 0;
  for (size_t i = 0; i < keys_.size(); ++i) {
    total += keys_[i].numel() * keys_[i].element_size() * 2;
  }
  return total;
}

std::pair<at::Tensor, at::Tensor> KvCache::write(std::int64_t layer, std::int64_t start,
                                                 const at::Tensor& k, const at::Tensor& v) {
  const auto n = k.size(0);
  keys_[layer].narrow(0, start, n).copy_(k);
  values_[layer].narrow(0, start, n).copy_(v);
  return {keys_[layer].narrow(0, 0, start + n), values_[layer].narrow(0, 0, start + n)};
}

KvArena::KvArena(std::int64_t num_layers, std::int64_t rows, std::int64_t max_context, std::int64_t kv_heads,
                 std::int64_t head_dim, const at::TensorOptions& options)
    : max_context_(max_context) {
  if (max_context < 1) throw HiggsError(ErrorCode::Input, "max_context must be at least 1 (got " + std::to_string(max_context) + ")");
  for (std::int64_t i = 0; i < num_layers; ++i) {
    keys_.push_back(at::zeros({rows, max_context + 1, kv_heads, head_dim}, options));
    values_.push_back(at::zeros({rows, max_context + 1, kv_heads, head_dim}, options));
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    std::vector<at::Tensor> k, v;
    for (std::int64_t i = 0; i < num_layers; ++i) {
      k.push_back(keys_[i][r]);
      v.push_back(values_[i][r]);
    }
    row_caches_.push_back(std::make_unique<KvCache>(std::move(k), std::move(v), max_context));
  }
}

std::int64_t KvArena::bytes() const {
  std::int64_t total = 0;
  for (size_t i = 0; i < keys_.size(); ++i) total += keys_[i].numel() * keys_[i].element_size() * 2;
  return total;
}

}  // namespace higgs::lm
