// Helpers of the audio tests: test signals, files, and running sox's tools (an independent
// decoder) on what the module wrote.
#pragma once

#include <sys/wait.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "check.h"

namespace higgs::audio_test {

using Bytes = std::vector<std::uint8_t>;

constexpr double kPi = 3.14159265358979323846;

inline std::vector<float> sine(double freq, int rate, std::size_t n, double amp = 0.5) {
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(amp * std::sin(2 * kPi * freq * i / rate));
  return out;
}

// ---- files and tools ----

inline void save(const std::string& path, const Bytes& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  HIGGS_CHECK_MSG(f, "cannot write " << path);
  if (!f) return;
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

inline Bytes load(const std::string& path) {
  Bytes bytes;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  HIGGS_CHECK_MSG(f, "cannot read " << path);
  if (!f) return bytes;
  std::uint8_t buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof(buf), f)) > 0;) bytes.insert(bytes.end(), buf, buf + n);
  std::fclose(f);
  return bytes;
}

struct Command {
  int status;
  std::string output;
};

inline Command run(const std::string& cmd) {
  Command result{-1, ""};
  std::FILE* pipe = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), pipe)) result.output += buf;
  int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// The file types this sox build handles, from the "AUDIO FILE FORMATS:" line of `sox -h`.
inline bool sox_handles(const std::string& ext) {
  static const std::string formats = [] {
    std::string help = run("sox -h").output;
    auto at = help.find("AUDIO FILE FORMATS:");
    return at == std::string::npos ? std::string() : " " + help.substr(at + 19, help.find('\n', at) - at - 19) + " ";
  }();
  return formats.find(" " + ext + " ") != std::string::npos;
}

inline double soxi_number(const char* option, const std::string& path, bool* ok) {
  Command c = run(std::string("soxi ") + option + " '" + path + "'");
  *ok = *ok && c.status == 0;
  HIGGS_CHECK_MSG(c.status == 0, "soxi " << option << " " << path << ": " << c.output);
  return std::atof(c.output.c_str());
}


// Seconds of audio sox decodes from a file (`sox FILE -n stat`), not what its header says: a
// streamed header may leave the length unknown. Negative when sox fails.
inline double sox_decoded_seconds(const std::string& path) {
  Command c = run("sox '" + path + "' -n stat");
  auto at = c.output.find("Length (seconds):");
  HIGGS_CHECK_MSG(c.status == 0 && at != std::string::npos, "sox " << path << ": " << c.output);
  return c.status == 0 && at != std::string::npos ? std::atof(c.output.c_str() + at + 17) : -1.0;
}

}  // namespace higgs::audio_test
