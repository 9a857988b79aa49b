// The fused decode-step ops on ATen tensors (bf16, CUDA): shape and dtype checks around the
// kernels of kernels/decode_kernels.cu, on the current stream (graph-capturable: no host sync).
// fused_ops_cuda.cc when the kernels are built, fused_ops_none.cc otherwise.
#pragma once

#include <ATen/ATen.h>

#include <utility>

namespace higgs::gpu {

// True when the kernels were compiled in (a CUDA build with HIGGS_WITH_CUDA_KERNELS).
bool fused_ops_available();
// True when they also run on `device`: a first launch there succeeded (a GPU whose architecture
// the build did not target has no kernel image). Probed once per device.
bool fused_ops_runnable(const at::Device& device);

// Whether add_rms_norm and linear_row run their candidate successor kernels (not yet measured on
// a GPU). Off unless EngineOptions::next_kernels; tests switch it to check both.
bool next_kernels();
void use_next_kernels(bool on);

// {x + delta, weight * rmsnorm(x + delta)} for x [rows, hidden]; delta undefined = no add.
std::pair<at::Tensor, at::Tensor> add_rms_norm(const at::Tensor& x, const at::Tensor& delta, const at::Tensor& weight,
                                               double eps);

// qkv [1, (heads + 2 kv_heads) * head_dim] -> q [heads, head_dim] rotated; k (rotated) and v are
// written to the caches [max_context, kv_heads, head_dim] at *position ([1] int64).
at::Tensor rope_write_kv(const at::Tensor& qkv, const at::Tensor& cos_table, const at::Tensor& sin_table,
                         const at::Tensor& position, const at::Tensor& k_cache, const at::Tensor& v_cache,
                         std::int64_t heads, std::int64_t kv_heads);

// q [heads, head_dim] over cache positions 0..*position -> [1, heads * head_dim].
at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k_cache, const at::Tensor& v_cache,
                            const at::Tensor& position, double scale);

// x [1, k] -> [1, n] = x W^T for W [n, k] (at::linear of one row, without cuBLAS's GEMM kernels,
// which read the weights well below the memory bandwidth at batch 1). Other shapes or layouts
// go to at::linear.
at::Tensor linear_row(const at::Tensor& x, const at::Tensor& weight);

// Gumbel-max of lm::gumbel_argmax in one kernel: logits [rows, vocab] fp32 contiguous, base [1]
// int64 -> int64 [rows], equal to the tensor-op version.
at::Tensor gumbel_argmax(const at::Tensor& logits, const at::Tensor& base);

// [rows, 2 inter] -> [rows, inter]: silu(gate) * up.
at::Tensor silu_mul(const at::Tensor& gate_up);

}  // namespace higgs::gpu
