#include <ftw.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>

#include "check.h"

namespace higgs::test {

namespace {
int g_failures_in_test = 0;
std::vector<std::string> g_temp_dirs;
}  // namespace

std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}

void record_failure(const char* file, int line, const std::string& message) {
  ++g_failures_in_test;
  std::fprintf(stderr, "  %s:%d: %s\n", file, line, message.c_str());
}

// POSIX rather than std::filesystem: libtorch 2.x exports a broken copy of remove_all that
// programs linked against it may call (see native/core/io/posix_path.h).
std::string temp_dir(const std::string& tag) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/higgs-test-" + tag + "-XXXXXX";
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
  g_temp_dirs.push_back(pattern);
  return pattern;
}

namespace {
int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }
void remove_tree(const std::string& dir) { ::nftw(dir.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS); }
}  // namespace

}  // namespace higgs::test

int main(int argc, char** argv) {
  using namespace higgs::test;
  const char* only = argc > 1 ? argv[1] : nullptr;  // optional: run one test by name
  int passed = 0, failed = 0;
  for (const auto& test : registry()) {
    if (only && std::string(only) != test.name) continue;
    g_failures_in_test = 0;
    std::printf("run  %s\n", test.name);
    std::fflush(stdout);
    try {
      test.body();
    } catch (const std::exception& e) {
      record_failure(__FILE__, __LINE__, std::string("uncaught exception: ") + e.what());
    }
    if (g_failures_in_test == 0) {
      ++passed;
      std::printf("ok   %s\n", test.name);
    } else {
      ++failed;
      std::printf("FAIL %s\n", test.name);
    }
    std::fflush(stdout);  // a crash in the next test must not swallow this line
  }
  for (const auto& dir : g_temp_dirs) remove_tree(dir);
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
