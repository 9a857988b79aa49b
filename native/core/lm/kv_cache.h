// Static KV cache: one preallocated [max_context, kv_heads, head_dim] key and value buffer per
// layer, shared by text and audio positions (the attention is shared in DualFFN layers).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace higgs::lm {

class KvCache {
 public:
  KvCache(std::int64_t num_layers, std::int64_t max_context, std::int64_t kv_heads,
          std::int64_t head_dim, const at::TensorOptions& options);
  // A cache over given buffers (views of a KvArena row): [>= max_context, kv_heads, head_dim].
  KvCache(std::vector<at::Tensor> keys, std::vector<at::Tensor> values, std::int64_t max_context);

  std::int64_t max_context() const { return max_context_; }
  std::int64_t length() const { return length_; }  // positions currently valid
  void set_length(std::int64_t length) { length_ = length; }
  std::int64_t bytes() const;

  // The whole buffers [max_context (+1 in a KvArena row), kv_heads, head_dim] (static decode
  // step, graph capture).
  const at::Tensor& keys(std::int64_t layer) const { return keys_[layer]; }
  const at::Tensor& values(std::int64_t layer) const { return values_[layer]; }

  // Writes k/v [L, kv_heads, head_dim] at positions start..start+L-1 of `layer` and returns
  // views of positions 0..start+L-1.
  std::pair<at::Tensor, at::Tensor> write(std::int64_t layer, std::int64_t start, const at::Tensor& k,
                                          const at::Tensor& v);

 private:
  std::int64_t max_context_;
  std::int64_t length_ = 0;
  std::vector<at::Tensor> keys_, values_;
};

// The KV caches of the rows of a device-resident batch: per layer one key and one value buffer
// [rows, max_context + 1, kv_heads, head_dim], row r's positions at its own base (row r of the
// buffer). Position max_context of every row is scratch: a step writes there for the rows that
// do not advance, so a free row's cache, being prefilled for its next generation, is never
// touched by the steps of the others.
class KvArena {
 public:
  KvArena(std::int64_t num_layers, std::int64_t rows, std::int64_t max_context, std::int64_t kv_heads,
          std::int64_t head_dim, const at::TensorOptions& options);

  std::int64_t rows() const { return static_cast<std::int64_t>(row_caches_.size()); }
  std::int64_t max_context() const { return max_context_; }
  std::int64_t scratch_position() const { return max_context_; }
  std::int64_t bytes() const;
  const at::Tensor& keys(std::int64_t layer) const { return keys_[layer]; }
  const at::Tensor& values(std::int64_t layer) const { return values_[layer]; }
  // Row r as a KvCache (its prompt is prefilled through HiggsLM::forward).
  KvCache& row(std::int64_t r) { return *row_caches_[r]; }

 private:
  std::int64_t max_context_;
  std::vector<at::Tensor> keys_, values_;
  std::vector<std::unique_ptr<KvCache>> row_caches_;
};

}  // namespace higgs::lm
