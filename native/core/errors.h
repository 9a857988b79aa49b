// Errors of the native core. Every failure that can reach JS carries one of these stable codes;
// the binding turns them into Error objects with a `code` property.
#pragma once

#include <stdexcept>
#include <string>

namespace higgs {

// The codes the core throws. (E_BUSY, a full admission queue, is the library's own: no native
// call is ever refused for being busy, jobs queue on the engine's threads.)
enum class ErrorCode { Input, ModelFormat, NotLoaded, Cancelled, OutOfMemory, Internal };
// Every code, for the addon's `constants.errorCodes` (lib/common/errors.ts is checked against it).
constexpr ErrorCode kErrorCodes[] = {ErrorCode::Input,     ErrorCode::ModelFormat, ErrorCode::NotLoaded,
                                     ErrorCode::Cancelled, ErrorCode::OutOfMemory, ErrorCode::Internal};

// "E_INPUT", "E_MODEL_FORMAT", ... (docs/architecture.md lists what each means).
const char* error_code_name(ErrorCode code);

class HiggsError : public std::runtime_error {
 public:
  HiggsError(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// A checkpoint or config problem: the message always names the file (and tensor, if any).
inline HiggsError model_format_error(const std::string& file, const std::string& what) {
  return HiggsError(ErrorCode::ModelFormat, file + ": " + what);
}

}  // namespace higgs
