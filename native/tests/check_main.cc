#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <random>

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

std::string temp_dir(const std::string& tag) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() /
             ("higgs-test-" + tag + "-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  g_temp_dirs.push_back(dir.string());
  return dir.string();
}

}  // namespace higgs::test

int main(int argc, char** argv) {
  using namespace higgs::test;
  const char* only = argc > 1 ? argv[1] : nullptr;  // optional: run one test by name
  int passed = 0, failed = 0;
  for (const auto& test : registry()) {
    if (only && std::string(only) != test.name) continue;
    g_failures_in_test = 0;
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
  }
  for (const auto& dir : g_temp_dirs) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
