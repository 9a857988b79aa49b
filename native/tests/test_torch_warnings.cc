// libtorch's warnings reach the engine's log sink, once per distinct message, and never stderr
// (native/core/engine/torch_warnings.h): on a bare thread with the handler installed, and on the
// Engine's LM thread.
#include <unistd.h>

#include <c10/util/Exception.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "check.h"
#include "engine/engine.h"
#include "engine/torch_warnings.h"
#include "engine_sync.h"

using namespace higgs;

namespace {

// The sink's calls, from whichever thread made them.
struct Recorded {
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> lines;
  LogSink sink() {
    return [this](const std::string& level, const std::string& message) {
      std::lock_guard<std::mutex> lock(mutex);
      lines.emplace_back(level, message);
    };
  }
};

// What `body` wrote to file descriptor 2 (stderr, C and C++ streams alike).
template <typename Body>
std::string captured_stderr(Body body) {
  const std::string path = test::temp_dir("stderr") + "/stderr.txt";
  std::fflush(stderr);
  std::cerr.flush();
  const int saved = ::dup(2);
  std::FILE* file = std::fopen(path.c_str(), "w");
  ::dup2(::fileno(file), 2);
  body();
  std::fflush(stderr);
  std::cerr.flush();
  ::dup2(saved, 2);
  ::close(saved);
  std::fclose(file);
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void warn_twice_and_once() {
  for (int i = 0; i < 2; ++i) TORCH_WARN("higgs test: the same warning");
  TORCH_WARN("higgs test: another warning");
}

}  // namespace

HIGGS_TEST(stderr_capture_sees_what_is_written) {
  HIGGS_CHECK(captured_stderr([] { std::cerr << "probe" << std::flush; }) == "probe");
}

HIGGS_TEST(each_distinct_warning_reaches_the_sink_once_and_not_stderr) {
  Recorded recorded;
  TorchWarningLog log(recorded.sink());
  const auto err = captured_stderr([&] {
    std::thread([&] {
      log.install_on_this_thread();
      warn_twice_and_once();
    }).join();
  });
  HIGGS_CHECK_MSG(err.empty(), "stderr: " << err);
  HIGGS_CHECK_MSG(recorded.lines.size() == 2, recorded.lines.size() << " sink calls");
  if (recorded.lines.size() != 2) return;
  HIGGS_CHECK(recorded.lines[0].first == "warn" && recorded.lines[1].first == "warn");
  HIGGS_CHECK(recorded.lines[0].second.find("higgs test: the same warning") == 0);
  HIGGS_CHECK(recorded.lines[1].second.find("higgs test: another warning") == 0);
  HIGGS_CHECK_MSG(recorded.lines[0].second.find("test_torch_warnings.cc:") != std::string::npos,
                  "no source location in '" << recorded.lines[0].second << "'");
}

HIGGS_TEST(distinct_warnings_past_the_bound_are_noted_once_then_dropped) {
  Recorded recorded;
  TorchWarningLog log(recorded.sink(), /*max_distinct=*/2);
  std::thread([&] {
    log.install_on_this_thread();
    for (int i = 0; i < 5; ++i) TORCH_WARN("higgs test: warning ", i);
    TORCH_WARN("higgs test: warning ", 0);  // remembered: still once
  }).join();
  HIGGS_CHECK_MSG(recorded.lines.size() == 3, recorded.lines.size() << " sink calls");
  if (recorded.lines.size() == 3) HIGGS_CHECK(recorded.lines[2].second.find("more than 2 distinct") == 0);
}

HIGGS_TEST(engine_threads_send_libtorch_warnings_to_its_log_sink) {
  Recorded recorded;
  EngineOptions options;
  options.max_context = 64;
  Engine engine(options, recorded.sink());
  load_random_sync(engine, "tiny", 1);
  const auto err = captured_stderr([&] { run_on_lm_thread_sync(engine, [](const Engine::LoadedLm&) { warn_twice_and_once(); }); });
  HIGGS_CHECK_MSG(err.empty(), "stderr: " << err);
  HIGGS_CHECK_MSG(recorded.lines.size() == 2, recorded.lines.size() << " sink calls");
}
