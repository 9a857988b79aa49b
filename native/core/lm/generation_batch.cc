#include "lm/generation_batch.h"

#include "errors.h"

namespace higgs::lm {

const char* batch_mode_name(BatchMode mode) { return mode == BatchMode::Fast ? "fast" : "exact"; }

BatchMode parse_batch_mode(const std::string& name) {
  if (name == "exact") return BatchMode::RowExact;
  if (name == "fast") return BatchMode::Fast;
  throw HiggsError(ErrorCode::Input, "unknown batching mode '" + name + "' (exact, fast)");
}

}  // namespace higgs::lm
