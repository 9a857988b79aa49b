// The fused kernels of the CUDA decode step. Each replaces a chain of small ATen kernels whose
// launch and latency, not their bytes, dominated the graph-captured step. Arithmetic follows the
// reference's rounding order where it rounds to bf16 between ops.
#include "decode_kernels.h"

#include <cuda_bf16.h>

#include <cfloat>

namespace higgs::gpu::kernels {
namespace {

using bf16 = __nv_bfloat16;

__device__ __forceinline__ float f(bf16 x) { return __bfloat162float(x); }
__device__ __forceinline__ bf16 b(float x) { return __float2bfloat16(x); }  // round to nearest even

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Block-wide sum / max for blockDim.x a multiple of 32 (<= 1024); every thread gets the result.
__device__ float block_sum(float v, float* shared32) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // shared32 may still be read by a previous call
  if (lane == 0) shared32[warp] = v;
  __syncthreads();
  v = lane < warps ? shared32[lane] : 0.f;
  return warp_sum(v);
}
__device__ float block_max(float v, float* shared32) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) shared32[warp] = v;
  __syncthreads();
  v = lane < warps ? shared32[lane] : -FLT_MAX;
  return warp_max(v);
}

__global__ void add_rms_norm_kernel(const bf16* x, const bf16* delta, const bf16* weight, bf16* sum, bf16* normed,
                                    int hidden, float eps) {
  __shared__ float shared32[32];
  const long long row = blockIdx.x;
  x += row * hidden;
  sum += row * hidden;
  normed += row * hidden;
  if (delta) delta += row * hidden;
  float squares = 0.f;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
    const bf16 s = delta ? b(f(x[i]) + f(delta[i])) : x[i];  // the residual add rounds to bf16
    sum[i] = s;
    squares += f(s) * f(s);
  }
  const float inv = rsqrtf(block_sum(squares, shared32) / static_cast<float>(hidden) + eps);
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) normed[i] = b(f(weight[i]) * f(b(f(sum[i]) * inv)));
}

// The candidate successor of add_rms_norm_kernel (HIGGS_KERNELS_NEXT=1 until measured): one pass
// with every element in registers, all loads issued before the reduction, 1024 threads. The
// first kernel's separate passes cost 12-13 us a call under Nsight Compute (two per layer).
constexpr int kNormThreads = 1024, kNormPerThread = 8;  // hidden <= 8192

__global__ void add_rms_norm_next_kernel(const bf16* x, const bf16* delta, const bf16* weight, bf16* sum,
                                         bf16* normed, int hidden, float eps) {
  __shared__ float shared32[32];
  const long long row = blockIdx.x;
  x += row * hidden;
  sum += row * hidden;
  normed += row * hidden;
  if (delta) delta += row * hidden;
  float v[kNormPerThread], w[kNormPerThread];
  float squares = 0.f;
#pragma unroll
  for (int j = 0; j < kNormPerThread; ++j) {
    const int i = threadIdx.x + j * kNormThreads;
    v[j] = 0.f;
    w[j] = 0.f;
    if (i < hidden) {
      const bf16 s = delta ? b(f(x[i]) + f(delta[i])) : x[i];  // the residual add rounds to bf16
      v[j] = f(s);
      w[j] = f(weight[i]);
      sum[i] = s;
      squares += v[j] * v[j];
    }
  }
  const float inv = rsqrtf(block_sum(squares, shared32) / static_cast<float>(hidden) + eps);
#pragma unroll
  for (int j = 0; j < kNormPerThread; ++j) {
    const int i = threadIdx.x + j * kNormThreads;
    if (i < hidden) normed[i] = b(w[j] * f(b(v[j] * inv)));
  }
}

// Block h < heads + kv_heads rotates q or k head h; the others copy the v heads. Thread = dim.
__global__ void rope_write_kv_kernel(const bf16* qkv, const bf16* cos_table, const bf16* sin_table,
                                     const long long* position, bf16* q_out, bf16* k_cache, bf16* v_cache,
                                     int heads, int kv_heads, int head_dim) {
  const int h = blockIdx.x, d = threadIdx.x, half = head_dim / 2;
  const long long pos = *position;
  if (h < heads + kv_heads) {
    const bf16* x = qkv + static_cast<long long>(h) * head_dim;
    const float c = f(cos_table[pos * head_dim + d]), s = f(sin_table[pos * head_dim + d]);
    const float rotated = d < half ? -f(x[d + half]) : f(x[d - half]);
    const bf16 out = b(f(b(f(x[d]) * c)) + f(b(rotated * s)));  // x*cos + rotate_half(x)*sin, each op rounded
    if (h < heads) q_out[static_cast<long long>(h) * head_dim + d] = out;
    else k_cache[(pos * kv_heads + (h - heads)) * head_dim + d] = out;
  } else {
    const int v = h - heads - kv_heads;
    v_cache[(pos * kv_heads + v) * head_dim + d] = qkv[static_cast<long long>(heads + kv_heads + v) * head_dim + d];
  }
}

constexpr int kChunk = 128;  // keys per attention block (one per thread in the score phase)
constexpr int kHeadDim = 128;

// Grid (heads, chunks). Block of kChunk threads: thread t scores key chunk*kChunk + t against the
// query, the block takes the chunk's softmax statistics, then thread d accumulates output dim d.
// Writes (max, sum, acc[head_dim]) per (head, chunk); chunks past the length write max = -inf.
__global__ void attention_chunk_kernel(const bf16* q, const bf16* k_cache, const bf16* v_cache,
                                       const long long* position, float* scratch, int heads, int kv_heads,
                                       int chunks, float scale) {
  __shared__ float query[kHeadDim];
  __shared__ float probs[kChunk];
  __shared__ float shared32[32];
  const int h = blockIdx.x, chunk = blockIdx.y, t = threadIdx.x;
  const int kv = h / (heads / kv_heads);
  const long long length = *position + 1;
  const long long first = static_cast<long long>(chunk) * kChunk;
  float* stats = scratch + (static_cast<long long>(h) * chunks + chunk) * (2 + kHeadDim);
  if (first >= length) {
    if (t == 0) {
      stats[0] = -FLT_MAX;
      stats[1] = 0.f;
    }
    return;
  }
  query[t] = f(q[static_cast<long long>(h) * kHeadDim + t]);  // kChunk == kHeadDim threads
  __syncthreads();
  const long long key = first + t;
  float score = -FLT_MAX;
  if (key < length) {
    const uint4* k = reinterpret_cast<const uint4*>(k_cache + (key * kv_heads + kv) * kHeadDim);
    float dot = 0.f;
#pragma unroll
    for (int i = 0; i < kHeadDim / 8; ++i) {
      const uint4 packed = k[i];
      const bf16* e = reinterpret_cast<const bf16*>(&packed);
#pragma unroll
      for (int j = 0; j < 8; ++j) dot += query[i * 8 + j] * f(e[j]);
    }
    score = dot * scale;
  }
  const float m = block_max(score, shared32);
  const float p = key < length ? __expf(score - m) : 0.f;
  const float l = block_sum(p, shared32);
  probs[t] = p;
  __syncthreads();
  // P V: warp w sums keys [w * 32, w * 32 + 32) of the chunk, lane l dims 4l..4l+3, with all 32
  // row loads in flight (a loop over keys per output dim waits on one load at a time); the four
  // warps' partial sums meet in shared memory.
  __shared__ float partial[kChunk / 32][kHeadDim];
  const int warp = t >> 5, lane = t & 31;
  const long long n = min(static_cast<long long>(kChunk), length - first);
  const bf16* v = v_cache + (first * kv_heads + kv) * kHeadDim + lane * 4;
  float a0 = 0.f, a1 = 0.f, a2 = 0.f, a3 = 0.f;
#pragma unroll
  for (int j = 0; j < 32; ++j) {
    const int i = warp * 32 + j;
    if (i < n) {
      const uint2 packed = *reinterpret_cast<const uint2*>(v + static_cast<long long>(i) * kv_heads * kHeadDim);
      const bf16* e = reinterpret_cast<const bf16*>(&packed);
      const float w = probs[i];
      a0 += w * f(e[0]);
      a1 += w * f(e[1]);
      a2 += w * f(e[2]);
      a3 += w * f(e[3]);
    }
  }
  partial[warp][lane * 4 + 0] = a0;
  partial[warp][lane * 4 + 1] = a1;
  partial[warp][lane * 4 + 2] = a2;
  partial[warp][lane * 4 + 3] = a3;
  __syncthreads();
  float acc = 0.f;
#pragma unroll
  for (int w = 0; w < kChunk / 32; ++w) acc += partial[w][t];
  if (t == 0) {
    stats[0] = m;
    stats[1] = l;
  }
  stats[2 + t] = acc;
}

// Grid heads, block head_dim threads: merges the chunks' partial softmax sums.
__global__ void attention_combine_kernel(const float* scratch, bf16* out, int chunks) {
  const int h = blockIdx.x, d = threadIdx.x;
  const float* stats = scratch + static_cast<long long>(h) * chunks * (2 + kHeadDim);
  float m = -FLT_MAX;
  for (int c = 0; c < chunks; ++c) m = fmaxf(m, stats[c * (2 + kHeadDim)]);
  float l = 0.f, acc = 0.f;
  for (int c = 0; c < chunks; ++c) {
    const float* s = stats + c * (2 + kHeadDim);
    if (s[1] == 0.f) continue;  // past the length
    const float w = __expf(s[0] - m);
    l += s[1] * w;
    acc += s[2 + d] * w;
  }
  out[static_cast<long long>(h) * kHeadDim + d] = b(acc / l);
}

constexpr int kGemvWarps = 8;  // rows per block

__device__ __forceinline__ float dot8(const uint4& a, const uint4& b) {
  const __nv_bfloat162* x = reinterpret_cast<const __nv_bfloat162*>(&a);
  const __nv_bfloat162* y = reinterpret_cast<const __nv_bfloat162*>(&b);
  float s = 0.f;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 p = __bfloat1622float2(x[i]), q = __bfloat1622float2(y[i]);
    s += p.x * q.x + p.y * q.y;
  }
  return s;
}

// A weight row is streamed once: the lanes of a warp read consecutive 16-byte pieces of it, four
// pieces in flight per lane, and x (a few KB, shared by every row) comes from L1/L2.
__global__ void gemv_kernel(const bf16* weight, const bf16* x, bf16* y, int n, int k) {
  const int row = blockIdx.x * kGemvWarps + (threadIdx.x >> 5), lane = threadIdx.x & 31;
  if (row >= n) return;
  const uint4* w = reinterpret_cast<const uint4*>(weight + static_cast<long long>(row) * k);
  const uint4* v = reinterpret_cast<const uint4*>(x);
  const int pieces = k / 8;
  float acc = 0.f;
  int i = lane;
  // Four weight loads issued before any is used; then the remainder one by one.
  for (; i + 96 < pieces; i += 128) {
    const uint4 w0 = __ldg(w + i), w1 = __ldg(w + i + 32), w2 = __ldg(w + i + 64), w3 = __ldg(w + i + 96);
    acc += dot8(w0, __ldg(v + i)) + dot8(w1, __ldg(v + i + 32)) + dot8(w2, __ldg(v + i + 64)) + dot8(w3, __ldg(v + i + 96));
  }
  for (; i < pieces; i += 32) acc += dot8(__ldg(w + i), __ldg(v + i));
  acc = warp_sum(acc);
  if (lane == 0) y[row] = b(acc);
}

// The candidate successor of gemv_kernel (HIGGS_KERNELS_NEXT=1 until measured): kGemvSplit warps
// share a row, each lane then holds at most a few 16-byte loads and issues them all at once (the
// one-warp rows reached 44-73% of DRAM bandwidth under Nsight Compute); the warps' partial sums
// meet in shared memory.
constexpr int kGemvSplit = 4;

__global__ void gemv_split_kernel(const bf16* weight, const bf16* x, bf16* y, int n, int k) {
  __shared__ float partial[kGemvWarps];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int row = blockIdx.x * (kGemvWarps / kGemvSplit) + warp / kGemvSplit, part = warp % kGemvSplit;
  float acc = 0.f;
  if (row < n) {
    const uint4* w = reinterpret_cast<const uint4*>(weight + static_cast<long long>(row) * k);
    const uint4* v = reinterpret_cast<const uint4*>(x);
    const int pieces = k / 8;
    int i = part * 32 + lane;
    const int stride = 32 * kGemvSplit;
    for (; i + 3 * stride < pieces; i += 4 * stride) {
      const uint4 w0 = __ldg(w + i), w1 = __ldg(w + i + stride), w2 = __ldg(w + i + 2 * stride), w3 = __ldg(w + i + 3 * stride);
      acc += dot8(w0, __ldg(v + i)) + dot8(w1, __ldg(v + i + stride)) + dot8(w2, __ldg(v + i + 2 * stride)) +
             dot8(w3, __ldg(v + i + 3 * stride));
    }
    for (; i < pieces; i += stride) acc += dot8(__ldg(w + i), __ldg(v + i));
  }
  acc = warp_sum(acc);
  if (lane == 0) partial[warp] = acc;
  __syncthreads();
  if (part == 0 && lane == 0 && row < n) {
    float total = 0.f;
#pragma unroll
    for (int p = 0; p < kGemvSplit; ++p) total += partial[warp + p];
    y[row] = b(total);
  }
}

// Gumbel-max over one row of logits [rows, vocab] fp32 with the counter noise of sampling.h:
// u = (hash(hash(row ^ base) ^ token) + 0.5) / 2^32, argmax(logit + -log(-log(u))) in fp64, the
// first index on ties (as at::argmax). One block per row. The third implementation of the draw
// (beside lm/sampling.cc and lm/static_sampling.cc, which call it through lm::gumbel_argmax on
// CUDA): as tensor ops the draw is a few dozen tiny kernels per step (hashes, logs, argmax),
// whose launches cost more than their work in the graph-captured step. Only the draw is fused;
// temperature, top-k and top-p stay tensor ops. test_fused_kernels.cc holds it to the tensor ops.
__device__ __forceinline__ unsigned hash32(unsigned x) {
  x = ((x >> 16) ^ x) * 0x45d9f3bu;
  x = ((x >> 16) ^ x) * 0x45d9f3bu;
  return (x >> 16) ^ x;
}

__global__ void gumbel_argmax_kernel(const float* logits, const long long* base, long long* out, int vocab) {
  __shared__ double best_value[32];
  __shared__ int best_index[32];
  const int row = blockIdx.x, lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  const unsigned row_hash = hash32(static_cast<unsigned>(row) ^ static_cast<unsigned>(*base));
  double best = -DBL_MAX;  // -inf logits (masked tokens) never win
  int index = vocab;  // larger than any real index: loses every tie
  for (int token = threadIdx.x; token < vocab; token += blockDim.x) {
    const double u = (static_cast<double>(hash32(row_hash ^ static_cast<unsigned>(token))) + 0.5) / 4294967296.0;
    const double value = static_cast<double>(logits[static_cast<long long>(row) * vocab + token]) - log(-log(u));
    if (value > best || (value == best && token < index)) {
      best = value;
      index = token;
    }
  }
  for (int o = 16; o > 0; o >>= 1) {
    const double other = __shfl_xor_sync(0xffffffffu, best, o);
    const int other_index = __shfl_xor_sync(0xffffffffu, index, o);
    if (other > best || (other == best && other_index < index)) {
      best = other;
      index = other_index;
    }
  }
  if (lane == 0) {
    best_value[warp] = best;
    best_index[warp] = index;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < warps; ++w) {
      if (best_value[w] > best || (best_value[w] == best && best_index[w] < index)) {
        best = best_value[w];
        index = best_index[w];
      }
    }
    out[row] = index < vocab ? index : 0;  // all -inf (cannot happen after sampling's processors)
  }
}

__global__ void silu_mul_kernel(const bf16* gate_up, bf16* out, int inter) {
  const long long row = blockIdx.y;
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= inter) return;
  const float g = f(gate_up[row * 2 * inter + i]);
  const bf16 silu = b(g / (1.f + __expf(-g)));
  out[row * inter + i] = b(f(silu) * f(gate_up[row * 2 * inter + inter + i]));
}

}  // namespace

void add_rms_norm(const void* x, const void* delta, const void* weight, void* sum, void* normed, int rows,
                  int hidden, float eps, cudaStream_t stream) {
  add_rms_norm_kernel<<<rows, 256, 0, stream>>>(static_cast<const bf16*>(x), static_cast<const bf16*>(delta),
                                                static_cast<const bf16*>(weight), static_cast<bf16*>(sum),
                                                static_cast<bf16*>(normed), hidden, eps);
}

void rope_write_kv(const void* qkv, const void* cos_table, const void* sin_table, const std::int64_t* position,
                   void* q_out, void* k_cache, void* v_cache, int heads, int kv_heads, int head_dim,
                   cudaStream_t stream) {
  rope_write_kv_kernel<<<heads + 2 * kv_heads, head_dim, 0, stream>>>(
      static_cast<const bf16*>(qkv), static_cast<const bf16*>(cos_table), static_cast<const bf16*>(sin_table),
      reinterpret_cast<const long long*>(position), static_cast<bf16*>(q_out), static_cast<bf16*>(k_cache),
      static_cast<bf16*>(v_cache), heads, kv_heads, head_dim);
}

std::int64_t attention_scratch_floats(int heads, int max_context, int head_dim) {
  const std::int64_t chunks = (max_context + kChunk - 1) / kChunk;
  return static_cast<std::int64_t>(heads) * chunks * (2 + head_dim);
}

void decode_attention(const void* q, const void* k_cache, const void* v_cache, const std::int64_t* position,
                      void* out, float* scratch, int heads, int kv_heads, int head_dim, int max_context,
                      float scale, cudaStream_t stream) {
  (void)head_dim;  // checked == kHeadDim by the caller
  const int chunks = (max_context + kChunk - 1) / kChunk;
  attention_chunk_kernel<<<dim3(heads, chunks), kChunk, 0, stream>>>(
      static_cast<const bf16*>(q), static_cast<const bf16*>(k_cache), static_cast<const bf16*>(v_cache),
      reinterpret_cast<const long long*>(position), scratch, heads, kv_heads, chunks, scale);
  attention_combine_kernel<<<heads, kHeadDim, 0, stream>>>(scratch, static_cast<bf16*>(out), chunks);
}

void add_rms_norm_next(const void* x, const void* delta, const void* weight, void* sum, void* normed, int rows,
                       int hidden, float eps, cudaStream_t stream) {
  add_rms_norm_next_kernel<<<rows, kNormThreads, 0, stream>>>(
      static_cast<const bf16*>(x), static_cast<const bf16*>(delta), static_cast<const bf16*>(weight),
      static_cast<bf16*>(sum), static_cast<bf16*>(normed), hidden, eps);
}

void gemv_split(const void* weight, const void* x, void* y, int n, int k, cudaStream_t stream) {
  constexpr int rows_per_block = kGemvWarps / kGemvSplit;
  gemv_split_kernel<<<(n + rows_per_block - 1) / rows_per_block, 32 * kGemvWarps, 0, stream>>>(
      static_cast<const bf16*>(weight), static_cast<const bf16*>(x), static_cast<bf16*>(y), n, k);
}

void gemv(const void* weight, const void* x, void* y, int n, int k, cudaStream_t stream) {
  gemv_kernel<<<(n + kGemvWarps - 1) / kGemvWarps, 32 * kGemvWarps, 0, stream>>>(
      static_cast<const bf16*>(weight), static_cast<const bf16*>(x), static_cast<bf16*>(y), n, k);
}

void gumbel_argmax(const float* logits, const std::int64_t* base, std::int64_t* out, int rows, int vocab,
                   cudaStream_t stream) {
  gumbel_argmax_kernel<<<rows, 256, 0, stream>>>(logits, reinterpret_cast<const long long*>(base),
                                                 reinterpret_cast<long long*>(out), vocab);
}

void silu_mul(const void* gate_up, void* out, int rows, int inter, cudaStream_t stream) {
  const int threads = 256;
  silu_mul_kernel<<<dim3((inter + threads - 1) / threads, rows), threads, 0, stream>>>(
      static_cast<const bf16*>(gate_up), static_cast<bf16*>(out), inter);
}

}  // namespace higgs::gpu::kernels
