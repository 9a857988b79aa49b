// quantize_checkpoint (engine.h): the libtorch-free entry the binding calls for `higgs-audio quantize`.
#include <ATen/ATen.h>

#include "engine/engine.h"
#include "lm/int8_checkpoint.h"
#include "torch_settings.h"

namespace higgs {

QuantizeSummary quantize_checkpoint(const QuantizeRequest& request,
                                    const std::function<void(std::int64_t done, std::int64_t total)>& progress) {
  apply_torch_settings();
  c10::InferenceMode guard;
  const auto result = lm::quantize_checkpoint(request.model_dir, request.out_dir,
                                              lm::QuantizeOptions{request.source_fingerprint, request.created_by}, progress);
  return {result.weights_path, result.manifest_path, result.tensors, result.bytes};
}

}  // namespace higgs
