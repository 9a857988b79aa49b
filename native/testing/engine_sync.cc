// The *_sync helpers of engine_sync.h: a std::promise per call, fulfilled by the engine's callback
// on its thread and waited for on the caller's.
#include "engine_sync.h"

#include <future>
#include <utility>

namespace higgs {
namespace {

// Runs `start(callback)` and waits: the callback gets (error, result pointer) as the Engine's do
// and hands the promise a copy (or the moved value) of the result.
template <typename T, typename Start>
T wait_for(Start start) {
  std::promise<T> promise;
  start([&promise](std::exception_ptr error, auto* result) {
    if (error) promise.set_exception(error);
    else promise.set_value(std::move(*result));  // a const result (ModelInfo, CodecInfo) is copied
  });
  return promise.get_future().get();
}

}  // namespace

ModelInfo load_sync(Engine& engine, const std::string& model_dir, Engine::ProgressFn progress) {
  return wait_for<ModelInfo>([&](auto done) { engine.load(model_dir, std::move(progress), done); });
}

ModelInfo load_random_sync(Engine& engine, const std::string& config_name, std::uint64_t seed) {
  return wait_for<ModelInfo>([&](auto done) { engine.load_random(config_name, seed, done); });
}

ForwardResult forward_sync(Engine& engine, ForwardRequest request) {
  return wait_for<ForwardResult>([&](auto done) { engine.forward(std::move(request), done); });
}

GenerateResult generate_sync(Engine& engine, GenerateRequest request, Engine::FramesFn on_frames,
                             Engine::StepProgressFn on_progress) {
  return wait_for<GenerateResult>([&](auto done) {
    engine.generate(std::move(request), std::move(on_frames), std::move(on_progress), done);
  });
}

CodecInfo load_codec_sync(Engine& engine, const std::string& codec_dir) {
  return wait_for<CodecInfo>([&](auto done) { engine.load_codec(codec_dir, done); });
}

CodecInfo load_random_codec_sync(Engine& engine, std::uint64_t seed) {
  return wait_for<CodecInfo>([&](auto done) { engine.load_random_codec(seed, done); });
}

std::vector<float> decode_audio_sync(Engine& engine, std::vector<std::int32_t> codes, std::int64_t frames) {
  return wait_for<std::vector<float>>([&](auto done) { engine.decode_audio(std::move(codes), frames, done); });
}

std::vector<float> decode_audio_window_sync(Engine& engine, std::vector<std::int32_t> codes, std::int64_t frames,
                                            std::int64_t begin, std::int64_t end) {
  return wait_for<std::vector<float>>(
      [&](auto done) { engine.decode_audio_window(std::move(codes), frames, begin, end, done); });
}

std::vector<std::int32_t> encode_audio_sync(Engine& engine, std::vector<float> samples, std::int64_t* frames) {
  std::promise<std::vector<std::int32_t>> promise;
  engine.encode_audio(std::move(samples), [&](std::exception_ptr error, std::vector<std::int32_t>* codes, std::int64_t n) {
    if (error) {
      promise.set_exception(error);
      return;
    }
    if (frames) *frames = n;
    promise.set_value(std::move(*codes));
  });
  return promise.get_future().get();
}

void run_on_lm_thread_sync(Engine& engine, std::function<void(const Engine::LoadedLm&)> job) {
  std::promise<void> promise;
  engine.run_on_lm_thread(std::move(job), [&promise](std::exception_ptr error) {
    if (error) promise.set_exception(error);
    else promise.set_value();
  });
  promise.get_future().get();
}

}  // namespace higgs
