// Validation of codec codes before decoding: every failure is a HiggsError(E_INPUT) that says
// what is wrong (dtype, rank, codebook count, the first out-of-range value and where it is).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace higgs::codec {

// `codes` must be an integer tensor of rank `rank` (2: [K, T], 3: [B, K, T]) with
// size(rank - 2) == num_quantizers and every value in [0, codebook_size).
void check_codes(const at::Tensor& codes, std::int64_t rank, std::int64_t num_quantizers,
                 std::int64_t codebook_size);

}  // namespace higgs::codec
