#include "io/tensor_view_to_tensor.h"

#include <sstream>

#include <cstdint>
#include <cstring>
#include <memory>

#include "errors.h"

namespace higgs::io {

at::ScalarType scalar_type_of(DType dtype) {
  switch (dtype) {
    case DType::F32: return at::kFloat;
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::F64: return at::kDouble;
    case DType::I64: return at::kLong;
    case DType::I32: return at::kInt;
    case DType::I16: return at::kShort;
    case DType::I8: return at::kChar;
    case DType::U8: return at::kByte;
    case DType::BOOL: return at::kBool;
  }
  return at::kFloat;  // unreachable: every enumerator is handled above
}

bool is_float_dtype(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 || dtype == DType::F64;
}

at::Tensor tensor_from_view(const TensorView& view) {
  auto options = at::TensorOptions().dtype(scalar_type_of(view.dtype)).device(at::kCPU);
  std::shared_ptr<const MappedFile> keep = view.file;
  void* data = const_cast<void*>(view.data);  // never written: weights are read-only
  if (reinterpret_cast<std::uintptr_t>(data) % dtype_size(view.dtype) == 0) {
    return at::from_blob(data, view.shape, [keep](void*) {}, options);
  }
  auto copy = at::empty(view.shape, options);
  if (view.nbytes > 0) std::memcpy(copy.data_ptr(), view.data, view.nbytes);
  return copy;
}

at::Tensor float_tensor_from_view(const TensorView& view) {
  if (!is_float_dtype(view.dtype)) {
    throw model_format_error(view.file->path(), "tensor " + view.name + " has dtype " + dtype_name(view.dtype) +
                                                    ", expected a float type");
  }
  return tensor_from_view(view);
}

std::string shape_text(at::IntArrayRef shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

}  // namespace higgs::io
