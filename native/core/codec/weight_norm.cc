#include "codec/weight_norm.h"

#include <sstream>

#include "errors.h"
#include "io/tensor_view_to_tensor.h"

namespace higgs::codec {
std::int64_t weight_norm_dim(const at::Tensor& g, const at::Tensor& v, const std::string& file,
                             const std::string& name) {
  auto bad = [&](const std::string& why) {
    return model_format_error(file, "weight norm of " + name + ": magnitude " + io::shape_text(g.sizes()) +
                                        " does not fit direction " + io::shape_text(v.sizes()) + " (" + why + ")");
  };
  if (v.dim() == 0) throw bad("the direction must have at least one dim");
  if (g.numel() == 1) return -1;
  if (g.dim() != v.dim()) throw bad("different number of dims");
  std::int64_t dim = -1;
  for (std::int64_t a = 0; a < v.dim(); ++a) {
    if (g.size(a) == 1) continue;
    if (g.size(a) != v.size(a)) throw bad("size mismatch on dim " + std::to_string(a));
    if (dim >= 0) throw bad("more than one kept dim");
    dim = a;
  }
  return dim;
}

at::Tensor fold_weight_norm(const at::Tensor& g, const at::Tensor& v, const std::string& file,
                            const std::string& name) {
  const std::int64_t dim = weight_norm_dim(g, v, file, name);
  const auto compute = v.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const at::Tensor v32 = v.to(compute);
  const at::Tensor g32 = g.to(compute);
  if (dim < 0) return v32 * (g32.reshape({}) / v32.norm());
  // The same op the torch parametrization and the old weight_norm hook call.
  return at::_weight_norm(v32, g32, dim);
}

}  // namespace higgs::codec
