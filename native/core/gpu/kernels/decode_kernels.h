// Launchers of the fused decode-step kernels (decode_kernels.cu, built by nvcc only when the
// CUDA module and HIGGS_WITH_CUDA_KERNELS are on). Raw pointers and a stream: no ATen here, so
// nvcc never compiles libtorch headers. bf16 tensors, contiguous, batch of one row.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace higgs::gpu::kernels {

// sum = x + delta (delta may be null: sum = x); normed = weight * bf16(sum * rsqrt(mean(sum^2) + eps)),
// rounded like the reference RMSNorm (normalise in fp32, cast, then scale). Rows of `hidden`.
void add_rms_norm(const void* x, const void* delta, const void* weight, void* sum, void* normed, int rows,
                  int hidden, float eps, cudaStream_t stream);

// qkv [heads + 2 kv_heads, head_dim]: rotary embedding of q (to q_out [heads, head_dim]) and of k
// (to k_cache at *position), v copied to v_cache at *position. Caches [max_context, kv_heads, head_dim].
void rope_write_kv(const void* qkv, const void* cos_table, const void* sin_table, const std::int64_t* position,
                   void* q_out, void* k_cache, void* v_cache, int heads, int kv_heads, int head_dim,
                   cudaStream_t stream);

// One query per head over keys 0..*position of the caches (GQA: head h reads kv head h / group),
// split over key chunks (flash-decoding) then combined. out [heads, head_dim]. `scratch` holds
// attention_scratch_floats(...) floats. head_dim must be 128.
std::int64_t attention_scratch_floats(int heads, int max_context, int head_dim);
void decode_attention(const void* q, const void* k_cache, const void* v_cache, const std::int64_t* position,
                      void* out, float* scratch, int heads, int kv_heads, int head_dim, int max_context,
                      float scale, cudaStream_t stream);

// y [n] = W [n, k] x [k] for one bf16 row vector (the decode step's every projection): one warp
// per output row, 16-byte loads, fp32 accumulation, rounded once. k % 8 == 0, 16-byte aligned.
void gemv(const void* weight, const void* x, void* y, int n, int k, cudaStream_t stream);

// out [rows] = argmax over each row of logits [rows, vocab] + Gumbel noise of the counter base
// (*base), exactly as lm::gumbel_argmax computes it with tensor ops.
void gumbel_argmax(const float* logits, const std::int64_t* base, std::int64_t* out, int rows, int vocab,
                   cudaStream_t stream);

// Candidate successors of add_rms_norm (hidden <= 8192) and gemv, same contracts; used when
// EngineOptions::next_kernels (HIGGS_KERNELS_NEXT=1 at the edges) until a GPU run has measured them (see BENCHMARKS.md).
void add_rms_norm_next(const void* x, const void* delta, const void* weight, void* sum, void* normed, int rows,
                       int hidden, float eps, cudaStream_t stream);
void gemv_split(const void* weight, const void* x, void* y, int n, int k, cudaStream_t stream);

// gate_up [rows, 2 inter] -> out [rows, inter] = bf16(bf16(silu(gate)) * up), as the reference's two ops.
void silu_mul(const void* gate_up, void* out, int rows, int inter, cudaStream_t stream);

}  // namespace higgs::gpu::kernels
