// Named model shapes for random-weight runs: "tiny" (the test fixture's shape), "mid" (for
// CPU benchmarks of batching) and "full"
// (bosonai/higgs-audio-v2-generation-3B-base, docs/model.md#shape-of-the-released-model).
#pragma once

#include <string>

#include "lm/checkpoint_config.h"

namespace higgs::lm {

HiggsConfig named_config(const std::string& name);  // throws E_INPUT for unknown names

}  // namespace higgs::lm
