// The process-wide libtorch settings an Engine applies (native/core/torch_settings.h). Its own
// executable: no other test has applied them before.
#include <ATen/Context.h>

#include "check.h"
#include "engine/engine.h"

HIGGS_TEST(creating_an_engine_turns_nnpack_off) {
  higgs::Engine engine(higgs::EngineOptions{});
  HIGGS_CHECK(!at::globalContext().userEnabledNNPACK());
}
