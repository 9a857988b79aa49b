#include "lm/int8_weights.h"

#include <algorithm>

#include "errors.h"

namespace higgs::lm {

WeightFormat parse_weight_format(const std::string& name) {
  if (name == "dense") return WeightFormat::Dense;
  if (name == "int8") return WeightFormat::Int8;
  throw HiggsError(ErrorCode::Input, "unknown weights '" + name + "' (dense, int8)");
}

const char* weight_format_name(WeightFormat format) { return format == WeightFormat::Int8 ? "int8" : "dense"; }

std::int64_t Int8Weight::bytes() const {
  if (!defined()) return 0;
  return weight.numel() * static_cast<std::int64_t>(weight.element_size()) +
         scales.numel() * static_cast<std::int64_t>(scales.element_size());
}

Int8Weight quantize_int8(const at::Tensor& w) {
  if (w.dim() != 2) throw HiggsError(ErrorCode::Internal, "quantize_int8 needs a 2-D weight");
  const auto rows = w.size(0), cols = w.size(1);
  Int8Weight q;
  q.weight = at::empty({rows, cols}, w.options().dtype(at::kChar));
  q.scales = at::empty({rows}, w.options().dtype(at::kBFloat16));
  // About 64 MiB of fp32 per slice.
  const std::int64_t slice = std::max<std::int64_t>(1, (std::int64_t{16} << 20) / std::max<std::int64_t>(cols, 1));
  for (std::int64_t r = 0; r < rows; r += slice) {
    const auto n = std::min(slice, rows - r);
    auto part = w.narrow(0, r, n).to(at::kFloat);
    // The scale as stored (bf16), so that q * scale is exactly what the kernel multiplies.
    auto scale = (part.abs().amax(1) / 127.0).to(at::kBFloat16);
    scale = at::where(scale > 0, scale, at::ones_like(scale));
    auto values = at::round(part / scale.to(at::kFloat).unsqueeze(1)).clamp(-127, 127);
    q.weight.narrow(0, r, n).copy_(values.to(at::kChar));
    q.scales.narrow(0, r, n).copy_(scale);
  }
  return q;
}

at::Tensor dequantize_int8(const Int8Weight& q, at::ScalarType dtype) {
  return (q.weight.to(at::kFloat) * q.scales.to(at::kFloat).unsqueeze(1)).to(dtype);
}

Int8Weight concat_int8(const std::vector<Int8Weight>& parts) {
  std::vector<at::Tensor> weights, scales;
  for (const auto& p : parts) {
    weights.push_back(p.weight);
    scales.push_back(p.scales);
  }
  return {at::cat(weights, 0), at::cat(scales, 0)};
}

at::Tensor project(const at::Tensor& x, const at::Tensor& dense, const Int8Weight& int8) {
  if (!int8.defined()) return at::linear(x, dense);
  const auto in = int8.weight.size(1);
  // The kernel wants a 2-D activation contiguous on its last dimension, of the scales' dtype.
  auto rows = x.reshape({-1, in}).to(at::kBFloat16).contiguous();
  auto y = at::_weight_int8pack_mm(rows, int8.weight, int8.scales);
  auto shape = x.sizes().vec();
  shape.back() = int8.rows();
  return y.view(shape).to(x.scalar_type());
}

}  // namespace higgs::lm
