// Turns a mapped safetensors TensorView into a CPU at::Tensor: zero-copy over the mapping when
// the bytes are aligned for the dtype (the tensor then keeps the mapping alive), a copy otherwise.
// Shared by the LM and the codec loaders; they convert to their device and dtype afterwards.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "io/safetensors.h"

namespace higgs::io {

// The libtorch scalar type of a safetensors dtype (every DType has one).
at::ScalarType scalar_type_of(DType dtype);

bool is_float_dtype(DType dtype);  // F32, F16, BF16, F64

// Any dtype. The result must be treated as read-only: it may alias the file mapping.
at::Tensor tensor_from_view(const TensorView& view);

// "[a, b, c]": how error messages print a tensor shape.
std::string shape_text(at::IntArrayRef shape);

// Like tensor_from_view, but a non-float tensor is an E_MODEL_FORMAT error naming file and tensor.
at::Tensor float_tensor_from_view(const TensorView& view);

}  // namespace higgs::io
