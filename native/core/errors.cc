// The stable names of the core's error codes (errors.h).
#include "errors.h"

namespace higgs {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::Input: return "E_INPUT";
    case ErrorCode::ModelFormat: return "E_MODEL_FORMAT";
    case ErrorCode::NotLoaded: return "E_NOT_LOADED";
    case ErrorCode::Cancelled: return "E_CANCELLED";
    case ErrorCode::OutOfMemory: return "E_OOM";
    case ErrorCode::Internal: return "E_INTERNAL";
  }
  return "E_INTERNAL";
}

}  // namespace higgs
