#include "codec/code_checks.h"

#include <string>

#include "errors.h"
#include "io/tensor_view_to_tensor.h"

namespace higgs::codec {
namespace {

HiggsError input_error(const std::string& what) { return HiggsError(ErrorCode::Input, "codec codes: " + what); }

}  // namespace

void check_codes(const at::Tensor& codes, std::int64_t rank, std::int64_t num_quantizers,
                 std::int64_t codebook_size) {
  const char* layout = rank == 2 ? "[codebooks, frames]" : "[batch, codebooks, frames]";
  if (!codes.defined()) throw input_error("no tensor given");
  if (!at::isIntegralType(codes.scalar_type(), /*includeBool=*/false)) {
    throw input_error(std::string("must be an integer tensor, got ") + c10::toString(codes.scalar_type()));
  }
  if (codes.dim() != rank) {
    throw input_error(std::string("must be ") + layout + ", got shape " + io::shape_text(codes.sizes()));
  }
  if (codes.size(rank - 2) != num_quantizers) {
    throw input_error("have " + std::to_string(codes.size(rank - 2)) + " codebooks (shape " +
                      io::shape_text(codes.sizes()) + "), the codec has " + std::to_string(num_quantizers));
  }
  if (codes.numel() == 0) return;
  const at::Tensor bad = (codes < 0).logical_or(codes >= codebook_size);
  if (!bad.any().item<bool>()) return;
  const at::Tensor flat = codes.reshape({-1});
  const std::int64_t first = bad.reshape({-1}).nonzero()[0][0].item<std::int64_t>();
  const std::int64_t value = flat[first].item<std::int64_t>();
  std::string index;  // the multi-index of `first`, row-major
  for (std::int64_t d = rank - 1, rest = first; d >= 0; --d) {
    index = std::to_string(rest % codes.size(d)) + (index.empty() ? "" : ", ") + index;
    rest /= codes.size(d);
  }
  throw input_error("value " + std::to_string(value) + " at [" + index + "] of " + layout + " is outside 0.." +
                    std::to_string(codebook_size - 1) +
                    "; the LM's stream bos/eos ids must be stripped and codes clipped before decoding");
}

}  // namespace higgs::codec
