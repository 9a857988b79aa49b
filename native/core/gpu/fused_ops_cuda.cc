#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>

#include "gpu/fused_ops.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <map>
#include <mutex>

#include "errors.h"
#include "gpu/kernels/decode_kernels.h"

namespace higgs::gpu {
namespace {

void require(bool ok, const char* what) {
  if (!ok) throw HiggsError(ErrorCode::Internal, std::string("fused decode op: ") + what);
}

void require_bf16_cuda(const at::Tensor& t, const char* name) {
  require(t.defined() && t.is_cuda() && t.scalar_type() == at::kBFloat16 && t.is_contiguous(), name);
}

void check_launch() {
  const auto error = cudaGetLastError();
  if (error != cudaSuccess) throw HiggsError(ErrorCode::Internal, std::string("CUDA launch: ") + cudaGetErrorString(error));
}

cudaStream_t stream() { return c10::cuda::getCurrentCUDAStream().stream(); }

std::atomic<bool>& next_switch() {
  static std::atomic<bool> on{false};  // EngineOptions::next_kernels sets it
  return on;
}

}  // namespace

bool next_kernels() { return next_switch().load(); }
void use_next_kernels(bool on) { next_switch().store(on); }

bool fused_ops_available() { return true; }

bool fused_ops_runnable(const at::Device& device) {
  static std::mutex mutex;
  static std::map<int, bool> probed;
  if (!device.is_cuda()) return false;
  std::lock_guard<std::mutex> lock(mutex);
  const int index = device.has_index() ? device.index() : c10::cuda::current_device();
  auto it = probed.find(index);
  if (it != probed.end()) return it->second;
  bool ok = true;
  try {
    auto probe = at::ones({1, 32}, at::TensorOptions().dtype(at::kBFloat16).device(at::Device(at::kCUDA, index)));
    ok = silu_mul(probe).size(1) == 16;
    c10::cuda::device_synchronize();
  } catch (const std::exception&) {
    ok = false;
  }
  probed[index] = ok;
  return ok;
}

std::pair<at::Tensor, at::Tensor> add_rms_norm(const at::Tensor& x, const at::Tensor& delta, const at::Tensor& weight,
                                               double eps) {
  require_bf16_cuda(x, "x must be contiguous bf16 on CUDA");
  require_bf16_cuda(weight, "weight must be contiguous bf16 on CUDA");
  if (delta.defined()) require_bf16_cuda(delta, "delta must be contiguous bf16 on CUDA");
  const auto hidden = x.size(-1);
  require(weight.numel() == hidden && (!delta.defined() || delta.sizes() == x.sizes()), "add_rms_norm shapes");
  auto sum = at::empty_like(x), normed = at::empty_like(x);
  const bool next = next_kernels() && hidden <= 8192;
  (next ? kernels::add_rms_norm_next : kernels::add_rms_norm)(
      x.data_ptr(), delta.defined() ? delta.data_ptr() : nullptr, weight.data_ptr(), sum.data_ptr(), normed.data_ptr(),
      static_cast<int>(x.numel() / hidden), static_cast<int>(hidden), static_cast<float>(eps), stream());
  check_launch();
  return {sum, normed};
}

at::Tensor rope_write_kv(const at::Tensor& qkv, const at::Tensor& cos_table, const at::Tensor& sin_table,
                         const at::Tensor& position, const at::Tensor& k_cache, const at::Tensor& v_cache,
                         std::int64_t heads, std::int64_t kv_heads) {
  require_bf16_cuda(qkv, "qkv must be contiguous bf16 on CUDA");
  require_bf16_cuda(cos_table, "cos table");
  require_bf16_cuda(sin_table, "sin table");
  require_bf16_cuda(k_cache, "k cache");
  require_bf16_cuda(v_cache, "v cache");
  require(position.is_cuda() && position.scalar_type() == at::kLong && position.numel() == 1, "position");
  const auto D = k_cache.size(-1);
  require(qkv.numel() == (heads + 2 * kv_heads) * D && cos_table.size(-1) == D && k_cache.size(1) == kv_heads &&
              D % 2 == 0 && D <= 1024,
          "rope_write_kv shapes");
  auto q = at::empty({heads, D}, qkv.options());
  kernels::rope_write_kv(qkv.data_ptr(), cos_table.data_ptr(), sin_table.data_ptr(), position.data_ptr<std::int64_t>(),
                         q.data_ptr(), k_cache.data_ptr(), v_cache.data_ptr(), static_cast<int>(heads),
                         static_cast<int>(kv_heads), static_cast<int>(D), stream());
  check_launch();
  return q;
}

at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k_cache, const at::Tensor& v_cache,
                            const at::Tensor& position, double scale) {
  require_bf16_cuda(q, "q");
  require_bf16_cuda(k_cache, "k cache");
  require_bf16_cuda(v_cache, "v cache");
  require(position.is_cuda() && position.scalar_type() == at::kLong && position.numel() == 1, "position");
  const auto heads = q.size(0), D = q.size(1), kv_heads = k_cache.size(1), max_context = k_cache.size(0);
  require(D == 128 && k_cache.size(2) == D && heads % kv_heads == 0, "decode_attention needs head_dim 128 and GQA groups");
  auto scratch = at::empty({kernels::attention_scratch_floats(static_cast<int>(heads), static_cast<int>(max_context),
                                                              static_cast<int>(D))},
                           q.options().dtype(at::kFloat));
  auto out = at::empty({1, heads * D}, q.options());
  kernels::decode_attention(q.data_ptr(), k_cache.data_ptr(), v_cache.data_ptr(), position.data_ptr<std::int64_t>(),
                            out.data_ptr(), scratch.data_ptr<float>(), static_cast<int>(heads), static_cast<int>(kv_heads),
                            static_cast<int>(D), static_cast<int>(max_context), static_cast<float>(scale), stream());
  check_launch();
  return out;
}

at::Tensor linear_row(const at::Tensor& x, const at::Tensor& weight) {
  const auto k = weight.size(-1);
  const bool fits = x.numel() == k && k % 8 == 0 && x.is_contiguous() && weight.is_contiguous() && weight.dim() == 2 &&
                    x.scalar_type() == at::kBFloat16 && weight.scalar_type() == at::kBFloat16 && x.is_cuda() &&
                    reinterpret_cast<std::uintptr_t>(x.data_ptr()) % 16 == 0 &&
                    reinterpret_cast<std::uintptr_t>(weight.data_ptr()) % 16 == 0;
  if (!fits) return at::linear(x, weight);
  auto y = at::empty({1, weight.size(0)}, x.options());
  (next_kernels() ? kernels::gemv_split : kernels::gemv)(weight.data_ptr(), x.data_ptr(), y.data_ptr(),
                                                         static_cast<int>(weight.size(0)), static_cast<int>(k), stream());
  check_launch();
  return y;
}

at::Tensor gumbel_argmax(const at::Tensor& logits, const at::Tensor& base) {
  require(logits.is_cuda() && logits.scalar_type() == at::kFloat && logits.is_contiguous() && logits.dim() == 2,
          "gumbel_argmax logits must be contiguous fp32 [rows, vocab] on CUDA");
  require(base.is_cuda() && base.scalar_type() == at::kLong && base.numel() == 1, "gumbel_argmax base");
  auto out = at::empty({logits.size(0)}, logits.options().dtype(at::kLong));
  kernels::gumbel_argmax(logits.data_ptr<float>(), base.data_ptr<std::int64_t>(), out.data_ptr<std::int64_t>(),
                         static_cast<int>(logits.size(0)), static_cast<int>(logits.size(1)), stream());
  check_launch();
  return out;
}

at::Tensor silu_mul(const at::Tensor& gate_up) {
  require_bf16_cuda(gate_up, "gate_up must be contiguous bf16 on CUDA");
  const auto inter = gate_up.size(-1) / 2;
  auto out = at::empty({gate_up.numel() / (2 * inter), inter}, gate_up.options());
  kernels::silu_mul(gate_up.data_ptr(), out.data_ptr(), static_cast<int>(out.size(0)), static_cast<int>(inter), stream());
  check_launch();
  return out;
}

}  // namespace higgs::gpu
