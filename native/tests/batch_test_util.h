// Shared by the continuous-batching tests (test_slot_batch.cc, test_device_slot_batch.cc):
// requests that differ in prompt, length and settings, and a driver that admits and steps a
// batch the way the engine's LM thread does.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <random>
#include <vector>

#include "check.h"
#include "lm/generation_batch.h"
#include "lm/generator.h"

namespace higgs::test {

using lm::Column;
using lm::GenerationBatch;
using lm::GenerationCallbacks;
using lm::GenerationInput;
using lm::GenerationOutput;
using lm::LmInput;

// A prompt of `length` text ids drawn from `seed`, so that requests differ in what they attend to.
inline LmInput prompt_of(std::uint64_t seed, std::int64_t length) {
  std::mt19937_64 rng(seed);
  std::vector<std::int64_t> ids;
  for (std::int64_t i = 0; i < length; ++i) ids.push_back(static_cast<std::int64_t>(rng() % 500));
  LmInput in;
  in.input_ids = at::tensor(ids, at::kLong);
  in.audio_mask = at::zeros({length}, at::kBool);
  in.audio_codes = at::zeros({0, 8}, at::kLong);
  return in;
}

inline GenerationInput request(std::uint64_t seed, std::int64_t max_frames, double temperature = 1.0, std::int64_t top_k = 50) {
  GenerationInput input;
  input.prompt = prompt_of(seed, 4 + static_cast<std::int64_t>(seed % 7));
  input.sampling.seed = seed;
  input.sampling.temperature = temperature;
  input.sampling.top_k = top_k;
  input.sampling.top_p = 0.9;
  input.max_frames = max_frames;
  return input;
}

// One request through a batch: when it arrives (batch step), what it streamed, how it ended.
struct Job {
  GenerationInput input;
  std::int64_t arrives_at = 0;
  std::int64_t cancel_at_columns = -1;  // cancels itself once it has this many columns
  std::vector<Column> streamed;
  GenerationOutput out;
  std::exception_ptr error;
  bool done = false;
  std::int64_t finished_order = -1;
};

// Drives `batch` like the engine's LM thread: admits arrivals in order while a slot is free,
// then steps, until every job is done. Returns the largest batch size seen.
inline std::int64_t drive(GenerationBatch& batch, std::vector<Job>& jobs) {
  std::size_t next = 0;
  std::int64_t step = 0, largest = 0, finished = 0;
  while (finished < static_cast<std::int64_t>(jobs.size())) {
    while (next < jobs.size() && jobs[next].arrives_at <= step && !batch.full()) {
      auto& job = jobs[next++];
      auto cancelled = std::make_shared<std::atomic<bool>>(false);
      GenerationCallbacks cb;
      cb.cancelled = [cancelled] { return cancelled->load(); };
      cb.stream_every = 3;
      cb.on_frames = [&job](const std::vector<Column>& frames, std::int64_t first) {
        HIGGS_CHECK(first == static_cast<std::int64_t>(job.streamed.size()));
        job.streamed.insert(job.streamed.end(), frames.begin(), frames.end());
      };
      cb.on_progress = [&job, cancelled](std::int64_t columns, std::int64_t) {
        if (columns == job.cancel_at_columns) cancelled->store(true);
      };
      batch.admit(job.input, cb, [&job, &finished](std::exception_ptr error, GenerationOutput* out) {
        job.done = true;
        job.error = error;
        if (out) job.out = std::move(*out);
        job.finished_order = finished++;
      });
    }
    largest = std::max(largest, batch.step());
    ++step;
  }
  return largest;
}

inline bool same(const GenerationOutput& a, const GenerationOutput& b) {
  return a.columns == b.columns && a.codes == b.codes && a.frames == b.frames && a.stop == b.stop;
}

}  // namespace higgs::test
