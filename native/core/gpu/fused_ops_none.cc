// fused_ops.h without the kernels: nothing to call (the decode step uses ATen ops instead).
#include "gpu/fused_ops.h"

#include "errors.h"

namespace higgs::gpu {
namespace {
[[noreturn]] void missing() { throw HiggsError(ErrorCode::Internal, "the fused CUDA kernels are not built in"); }
}  // namespace

bool fused_ops_available() { return false; }
bool fused_ops_runnable(const at::Device&) { return false; }
bool next_kernels() { return false; }
void use_next_kernels(bool) {}
std::pair<at::Tensor, at::Tensor> add_rms_norm(const at::Tensor&, const at::Tensor&, const at::Tensor&, double) { missing(); }
at::Tensor rope_write_kv(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                         const at::Tensor&, std::int64_t, std::int64_t) { missing(); }
at::Tensor decode_attention(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, double) { missing(); }
at::Tensor linear_row(const at::Tensor&, const at::Tensor&) { missing(); }
at::Tensor gumbel_argmax(const at::Tensor&, const at::Tensor&) { missing(); }
at::Tensor silu_mul(const at::Tensor&) { missing(); }

}  // namespace higgs::gpu
