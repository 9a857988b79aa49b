#include "bench_stats.h"

#include <algorithm>

namespace higgs::bench {

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto index = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(index, v.size() - 1)];
}

namespace {
// Bytes of one element of the engine's dtype (the KV caches, the norms, dense projections).
double dtype_bytes(const ModelInfo& m) {
  if (m.dtype == "float32") return 4.0;
  if (m.dtype == "bfloat16" || m.dtype == "float16") return 2.0;
  return static_cast<double>(m.weight_bytes) / static_cast<double>(m.parameter_count);
}
}  // namespace

double audio_step_weight_bytes(const ModelInfo& m) {
  const double H = static_cast<double>(m.hidden_size), D = H / static_cast<double>(m.num_heads);
  const double q_rows = m.num_heads * D, kv_rows = m.num_kv_heads * D, I = static_cast<double>(m.intermediate_size);
  const double head_rows = static_cast<double>(m.num_codebooks * m.codebook_vocab);
  const double attention = H * q_rows * 2 + H * kv_rows * 2;  // q, o, k, v
  const double audio_mlp = 3.0 * H * I;
  const double projected = m.num_layers * (attention + audio_mlp) + head_rows * H;
  const double norms = m.num_layers * 2 * H + H;
  if (m.weight_format != "int8") return (projected + norms) * dtype_bytes(m);
  // int8: a byte per weight and a bf16 scale per output row.
  const double rows = m.num_layers * (q_rows + 2 * kv_rows + H + 2 * I + H) + head_rows;
  return projected + 2.0 * rows + norms * dtype_bytes(m);
}

double kv_bytes_per_position(const ModelInfo& m) {
  const double D = static_cast<double>(m.hidden_size) / static_cast<double>(m.num_heads);
  return 2.0 * static_cast<double>(m.num_layers * m.num_kv_heads) * D * dtype_bytes(m);
}

}  // namespace higgs::bench
