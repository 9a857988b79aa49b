// What a load needs before it allocates anything (engine.h LoadPlan), and the check that turns
// a plan that cannot fit into E_OOM. Internal to the Engine; the arithmetic is slot_memory.h's.
#pragma once

#include <cstdint>
#include <string>

#include "engine/engine.h"
#include "lm/checkpoint_config.h"

namespace higgs::engine_detail {

// The plan for a model of `config` with `parameter_count` parameters loaded with `options`
// (checkpoint_dtype and checkpoint_bytes left empty).
LoadPlan plan_for_config(const lm::HiggsConfig& config, std::int64_t parameter_count, const EngineOptions& options);

// E_OOM naming the bytes needed and available when the plan does not fit; `what` names the model.
void check_load_plan(const LoadPlan& plan, const EngineOptions& options, const std::string& what);

}  // namespace higgs::engine_detail
