// A minimal test harness for the native tests (no gtest: the GPU machines do not have it).
// HIGGS_TEST(name) { ... } registers a test; HIGGS_CHECK* record failures and keep going;
// main() in check_main.cc runs every test of the executable and returns non-zero on failure.
#pragma once

#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace higgs::test {

struct TestCase {
  const char* name;
  std::function<void()> body;
};

std::vector<TestCase>& registry();
void record_failure(const char* file, int line, const std::string& message);

struct Registrar {
  Registrar(const char* name, std::function<void()> body) { registry().push_back({name, std::move(body)}); }
};

// A fresh empty directory under the system temp dir, removed at process exit.
std::string temp_dir(const std::string& tag);

}  // namespace higgs::test

#define HIGGS_CONCAT2(a, b) a##b
#define HIGGS_CONCAT(a, b) HIGGS_CONCAT2(a, b)
#define HIGGS_TEST(name)                                                              \
  static void name();                                                                 \
  static ::higgs::test::Registrar HIGGS_CONCAT(registrar_, name)(#name, &name);       \
  static void name()

#define HIGGS_CHECK(cond)                                                             \
  do {                                                                                \
    if (!(cond)) ::higgs::test::record_failure(__FILE__, __LINE__, "check failed: " #cond); \
  } while (0)

#define HIGGS_CHECK_MSG(cond, msg)                                                    \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::ostringstream higgs_os_;                                                   \
      higgs_os_ << "check failed: " #cond ": " << msg;                                \
      ::higgs::test::record_failure(__FILE__, __LINE__, higgs_os_.str());             \
    }                                                                                 \
  } while (0)

// Runs `expr`, expects a HiggsError with `code_` whose message contains `needle`.
#define HIGGS_CHECK_THROWS(expr, code_, needle)                                       \
  do {                                                                                \
    bool higgs_threw_ = false;                                                        \
    try {                                                                             \
      (void)(expr);                                                                   \
    } catch (const ::higgs::HiggsError& e) {                                          \
      higgs_threw_ = true;                                                            \
      std::string higgs_msg_ = e.what();                                              \
      HIGGS_CHECK_MSG(e.code() == (code_), "code " << ::higgs::error_code_name(e.code()) << ", message: " << higgs_msg_); \
      HIGGS_CHECK_MSG(higgs_msg_.find(needle) != std::string::npos,                  \
                      "message '" << higgs_msg_ << "' lacks '" << (needle) << "'");   \
    } catch (const std::exception& e) {                                               \
      higgs_threw_ = true;                                                            \
      ::higgs::test::record_failure(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what()); \
    }                                                                                 \
    if (!higgs_threw_) ::higgs::test::record_failure(__FILE__, __LINE__, "no exception from " #expr); \
  } while (0)
