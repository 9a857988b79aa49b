// Residual vector quantization, encode side: for each quantizer q in order, project the residual
// into the codebook space (project_in), take the Euclidean nearest codeword (no L2 normalisation),
// and subtract that codeword mapped back by project_out from the residual (in the full space).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace higgs::codec {

struct RvqLayer {
  at::Tensor project_in_w, project_in_b;    // [codebook_dim, hidden], [codebook_dim]
  at::Tensor project_out_w, project_out_b;  // [hidden, codebook_dim], [hidden]
  at::Tensor embed;                         // codebook [codebook_size, codebook_dim]
};

// embeddings [T, hidden] (the fc_prior output, frames as rows) -> codes [num_quantizers, T] int64
// on the embeddings' device. With `margins`, also returns [num_quantizers, T] fp32: best minus
// second-best of -squared-distance per decision (0 would be a tie), as the goldens record it.
at::Tensor rvq_encode(const std::vector<RvqLayer>& layers, const at::Tensor& embeddings,
                      at::Tensor* margins = nullptr);

}  // namespace higgs::codec
