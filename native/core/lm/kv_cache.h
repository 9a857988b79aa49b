// Static KV cache: one preallocated [max_context, kv_heads, head_dim] key and value buffer per
// layer, shared by text and audio positions (the attention is shared in DualFFN layers).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace higgs::lm {

class KvCache {
 public:
  KvCache(std::int64_t num_layers, std::int64_t max_context, std::int64_t kv_heads,
          std::int64_t head_dim, const at::TensorOptions& options);

  std::int64_t max_context() const { return max_context_; }
  std::int64_t length() const { return length_; }  // positions currently valid
  void set_length(std::int64_t length) { length_ = length; }
  std::int64_t bytes() const;

  // Writes k/v [L, kv_heads, head_dim] at positions start..start+L-1 of `layer` and returns
  // views of positions 0..start+L-1.
  // The whole buffers [max_context, kv_heads, head_dim] (static decode step, graph capture).
  const at::Tensor& keys(std::int64_t layer) const { return keys_[layer]; }
  const at::Tensor& values(std::int64_t layer) const { return values_[layer]; }

  std::pair<at::Tensor, at::Tensor> write(std::int64_t layer, std::int64_t start, const at::Tensor& k,
                                          const at::Tensor& v);

 private:
  std::int64_t max_context_;
  std::int64_t length_ = 0;
  std::vector<at::Tensor> keys_, values_;
};

}  // namespace higgs::lm
