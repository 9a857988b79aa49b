#include "engine/load_plan.h"

#include <algorithm>
#include <limits>
#include <set>

#include "engine/engine_state.h"
#include "io/safetensors.h"
#include "lm/int8_checkpoint.h"
#include "lm/int8_weights.h"
#include "lm/weight_names.h"

namespace higgs {
namespace engine_detail {
namespace {

std::int64_t saturate(double bytes) {
  const auto most = static_cast<double>(std::numeric_limits<std::int64_t>::max() / 2);
  return static_cast<std::int64_t>(bytes < most ? bytes : most);
}

const char* stored_dtype_name(io::DType dtype) {
  switch (dtype) {
    case io::DType::F32: return "float32";
    case io::DType::BF16: return "bfloat16";
    case io::DType::F16: return "float16";
    default: return io::dtype_name(dtype);
  }
}

// Bytes of the weights as held: every parameter in the engine's dtype, or with int8 weights the
// projections (lm/higgs_weights.h quantize_layer: q/k/v/o, both MLPs, the heads) at one byte and
// a bf16 scale per output row, the rest (embeddings, norms) in the dtype.
double held_weight_bytes(const lm::HiggsConfig& c, std::int64_t parameter_count, double element,
                         lm::WeightFormat format) {
  if (format == lm::WeightFormat::Dense) return static_cast<double>(parameter_count) * element;
  auto count = [](const std::vector<std::int64_t>& shape) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  };
  std::int64_t all_with_text_head = 0;
  for (const auto& [name, shape] : lm::canonical_shapes(c, /*with_text_head=*/true)) all_with_text_head += count(shape);
  const bool text_head = parameter_count >= all_with_text_head;
  std::int64_t projected = 0, rows = 0;
  for (const auto& [name, shape] : lm::canonical_shapes(c, text_head)) {
    if (!lm::is_projection_weight(name)) continue;
    projected += count(shape);
    rows += shape.front();
  }
  const auto rest = std::max<std::int64_t>(0, parameter_count - projected);
  return static_cast<double>(rest) * element + static_cast<double>(projected) + 2.0 * static_cast<double>(rows);
}

}  // namespace

LoadPlan plan_for_config(const lm::HiggsConfig& c, std::int64_t parameter_count, const EngineOptions& options) {
  const auto dtype = parse_dtype(options.dtype);
  const auto device = parse_device(options.device);
  const auto element = static_cast<double>(c10::elementSize(dtype));
  const bool eager = decode_mode(options.decode, device) == "eager";
  const auto caches = kv_caches_at_load(options.slots, eager, device.is_cuda(), kDefaultCpuSlots);
  // One cache: keys and values of every layer, max_context positions (lm/kv_cache.cc).
  const double cache = 2.0 * static_cast<double>(c.num_layers) * static_cast<double>(std::max<std::int64_t>(options.max_context, 0)) *
                       static_cast<double>(c.num_kv_heads) * static_cast<double>(c.head_dim) * element;
  LoadPlan plan;
  plan.parameter_count = parameter_count;
  plan.weight_bytes = saturate(held_weight_bytes(c, parameter_count, element, lm::parse_weight_format(options.weights)));
  plan.kv_cache_bytes = saturate(cache * static_cast<double>(caches));
  plan.reserve_bytes = working_reserve(device.is_cuda());
  plan.needed_bytes = saturate(static_cast<double>(plan.weight_bytes) + static_cast<double>(plan.kv_cache_bytes) +
                               static_cast<double>(plan.reserve_bytes));
  plan.available_bytes = available_memory(device);
  return plan;
}

void check_load_plan(const LoadPlan& plan, const EngineOptions& options, const std::string& what) {
  const bool cuda = parse_device(options.device).is_cuda();
  check_load_memory(plan.weight_bytes, plan.kv_cache_bytes, plan.reserve_bytes, plan.available_bytes,
                    (options.weights == "int8" ? "int8 weights (" + options.dtype + " embeddings) of " : options.dtype + " weights of ") +
                        what + " with " + std::to_string(options.max_context) +
                        "-position KV caches",
                    cuda ? "the GPU" : "this machine");
}

}  // namespace engine_detail

HostInfo host_info() {
  const auto bf16 = engine_detail::cpu_bf16();
  HostInfo info;
  info.avx512_bf16 = bf16.avx512_bf16;
  info.amx_bf16 = bf16.amx_bf16;
  info.available_memory = engine_detail::available_host_memory();
  return info;
}

LoadPlan plan_load(const std::string& model_dir, const EngineOptions& options) {
  const auto config = lm::load_config(model_dir);
  if (const auto manifest = lm::read_int8_manifest(model_dir)) {  // a quantized directory
    lm::require_int8_format(*manifest, lm::parse_weight_format(options.weights));
    const auto summary = lm::summarize_int8_checkpoint(*manifest);
    auto plan = engine_detail::plan_for_config(config, summary.parameter_count, options);
    std::set<std::string> dtypes;
    for (const auto& name : summary.dense_dtypes) {
      for (auto d : {io::DType::F32, io::DType::BF16, io::DType::F16, io::DType::F64}) {
        if (name == io::dtype_name(d)) dtypes.insert(engine_detail::stored_dtype_name(d));
      }
    }
    plan.checkpoint_dtype = dtypes.size() == 1 ? *dtypes.begin() : "mixed";
    plan.checkpoint_bytes = summary.bytes;
    return plan;
  }
  const auto checkpoint = io::Checkpoint::open_dir(model_dir);
  std::int64_t parameters = 0, stored = 0;
  std::set<std::string> dtypes;
  for (const auto& [name, source] : lm::canonical_weights(checkpoint)) {
    for (const auto& part : source.parts) {
      parameters += part.numel();
      stored += static_cast<std::int64_t>(part.nbytes);
      dtypes.insert(engine_detail::stored_dtype_name(part.dtype));
    }
  }
  auto plan = engine_detail::plan_for_config(config, parameters, options);
  plan.checkpoint_dtype = dtypes.size() == 1 ? *dtypes.begin() : "mixed";
  plan.checkpoint_bytes = stored;
  return plan;
}

}  // namespace higgs
