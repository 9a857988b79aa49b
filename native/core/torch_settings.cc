#include "torch_settings.h"

#include <ATen/Context.h>

#include <mutex>

namespace higgs {

void apply_torch_settings() {
  static std::once_flag once;
  // The convolution checks userEnabledNNPACK() before _nnpack_available(), whose first call
  // initializes NNPACK (and logs its failure): with it off, NNPACK is never initialized.
  std::call_once(once, [] { at::globalContext().setUserEnabledNNPACK(false); });
}

}  // namespace higgs
