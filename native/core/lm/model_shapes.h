// Named model shapes for random-weight runs: "tiny" (the test fixture's shape) and "full"
// (bosonai/higgs-audio-v2-generation-3B-base, higgs-model.md 1.1).
#pragma once

#include <string>

#include "io/config.h"

namespace higgs::lm {

io::HiggsConfig named_config(const std::string& name);  // throws E_INPUT for unknown names

}  // namespace higgs::lm
