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
double bytes_per_parameter(const ModelInfo& m) {
  return static_cast<double>(m.weight_bytes) / static_cast<double>(m.parameter_count);
}
}  // namespace

double audio_step_weight_bytes(const ModelInfo& m) {
  const double H = static_cast<double>(m.hidden_size), D = H / static_cast<double>(m.num_heads);
  const double attention = H * (m.num_heads * D) * 2 + H * (m.num_kv_heads * D) * 2;  // q, o, k, v
  const double audio_mlp = 3.0 * H * static_cast<double>(m.intermediate_size);
  const double params = m.num_layers * (attention + audio_mlp + 2 * H) + H +
                        static_cast<double>(m.num_codebooks * m.codebook_vocab) * H;
  return params * bytes_per_parameter(m);
}

double kv_bytes_per_position(const ModelInfo& m) {
  const double D = static_cast<double>(m.hidden_size) / static_cast<double>(m.num_heads);
  return 2.0 * static_cast<double>(m.num_layers * m.num_kv_heads) * D * bytes_per_parameter(m);
}

}  // namespace higgs::bench
