#include "engine/torch_warnings.h"

#include <c10/util/Exception.h>

#include <mutex>
#include <unordered_set>

namespace higgs {
namespace {
std::string file_name(const char* path) {
  const std::string p = path ? path : "?";
  return p.substr(p.find_last_of('/') + 1);
}
}  // namespace

class TorchWarningLog::Handler : public c10::WarningHandler {
 public:
  Handler(LogSink sink, std::size_t max_distinct) : sink_(std::move(sink)), max_distinct_(max_distinct) {}

  // Runs inside the libtorch op that warned: it must not throw, and the sink runs unlocked.
  void process(const c10::Warning& warning) override {
    std::string line;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (seen_.count(warning.msg())) return;
      if (seen_.size() >= max_distinct_) {
        if (full_noted_) return;
        full_noted_ = true;
        line = "more than " + std::to_string(max_distinct_) + " distinct libtorch warnings; later ones are not logged";
      } else {
        seen_.insert(warning.msg());
        line = warning.msg() + " (libtorch " + file_name(warning.source_location().file) + ":" +
               std::to_string(warning.source_location().line) + ")";
      }
    }
    try {
      sink_("warn", line);
    } catch (...) {
      // A failing log sink must not fail the tensor op that warned.
    }
  }

 private:
  LogSink sink_;
  std::size_t max_distinct_;
  std::mutex mutex_;  // the LM and codec threads share the set
  std::unordered_set<std::string> seen_;
  bool full_noted_ = false;
};

TorchWarningLog::TorchWarningLog(LogSink sink, std::size_t max_distinct)
    : handler_(std::make_unique<Handler>(std::move(sink), max_distinct)) {}

TorchWarningLog::~TorchWarningLog() = default;

void TorchWarningLog::install_on_this_thread() { c10::WarningUtils::set_warning_handler(handler_.get()); }

}  // namespace higgs
