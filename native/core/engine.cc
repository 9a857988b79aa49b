#include "engine.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <new>
#include <thread>

#include "errors.h"
#include "io/config.h"
#include "lm/generator.h"
#include "lm/higgs_lm.h"
#include "lm/model_shapes.h"

namespace higgs {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

at::ScalarType parse_dtype(const std::string& name) {
  if (name == "float32") return at::kFloat;
  if (name == "bfloat16") return at::kBFloat16;
  if (name == "float16") return at::kHalf;
  throw HiggsError(ErrorCode::Input, "unknown dtype '" + name + "' (float32, bfloat16, float16)");
}

at::Device parse_device(const std::string& name) {
  try {
    at::Device device(name);
    if (device.is_cuda() && !at::hasCUDA()) {
      throw HiggsError(ErrorCode::Input, "device '" + name + "' asked for, but this libtorch has no CUDA");
    }
    if (!device.is_cpu() && !device.is_cuda()) throw HiggsError(ErrorCode::Input, "unsupported device '" + name + "'");
    return device;
  } catch (const c10::Error&) {
    throw HiggsError(ErrorCode::Input, "unknown device '" + name + "' (cpu, cuda, cuda:N)");
  }
}

// Every error leaving the engine is a HiggsError with a stable code.
std::exception_ptr as_higgs_error(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const HiggsError&) {
    return error;
  } catch (const std::bad_alloc&) {
    return std::make_exception_ptr(HiggsError(ErrorCode::OutOfMemory, "out of host memory"));
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    const bool oom = what.find("out of memory") != std::string::npos;
    return std::make_exception_ptr(HiggsError(oom ? ErrorCode::OutOfMemory : ErrorCode::Internal, what));
  } catch (const std::exception& e) {
    return std::make_exception_ptr(HiggsError(ErrorCode::Internal, e.what()));
  } catch (...) {
    return std::make_exception_ptr(HiggsError(ErrorCode::Internal, "unknown native error"));
  }
}

// Host vectors -> the LM's input tensors, with the shape checks the LM cannot do itself.
lm::LmInput make_lm_input(const io::HiggsConfig& c, const std::vector<std::int32_t>& ids,
                          const std::vector<std::uint8_t>& mask, const std::vector<std::int32_t>& codes,
                          std::int64_t start_pos) {
  const auto L = static_cast<std::int64_t>(ids.size());
  if (static_cast<std::int64_t>(mask.size()) != L) {
    throw HiggsError(ErrorCode::Input, "audio_mask must have one entry per input id (" + std::to_string(L) + ")");
  }
  if (codes.size() % c.num_codebooks != 0) {
    throw HiggsError(ErrorCode::Input, "audio_codes must hold a multiple of " + std::to_string(c.num_codebooks) + " codes");
  }
  lm::LmInput in;
  in.input_ids = at::tensor(at::ArrayRef<std::int32_t>(ids), at::kInt).to(at::kLong);
  in.audio_mask = at::tensor(at::ArrayRef<std::uint8_t>(mask), at::kByte).to(at::kBool);
  const auto frames = static_cast<std::int64_t>(codes.size()) / c.num_codebooks;
  in.audio_codes = at::tensor(at::ArrayRef<std::int32_t>(codes), at::kInt).to(at::kLong).view({frames, c.num_codebooks});
  in.start_pos = start_pos;
  return in;
}

const char* format_name(io::CheckpointFormat format) {
  return format == io::CheckpointFormat::Original ? "original" : "transformers";
}

}  // namespace

struct Engine::State {
  EngineOptions options;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::function<void()>> jobs;
  bool stopping = false;
  std::thread thread;

  // Cancellation flags of queued and running generations, by request id.
  std::mutex cancel_mutex;
  std::map<std::uint64_t, std::shared_ptr<std::atomic<bool>>> cancel_flags;

  std::shared_ptr<std::atomic<bool>> cancel_flag(std::uint64_t id) {
    auto flag = std::make_shared<std::atomic<bool>>(false);
    if (id == 0) return flag;
    std::lock_guard<std::mutex> lock(cancel_mutex);
    auto& slot = cancel_flags[id];
    if (!slot) slot = flag;
    return slot;
  }
  void forget_cancel(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(cancel_mutex);
    cancel_flags.erase(id);
  }

  // Touched only on the engine thread, except `info` (guarded by info_mutex).
  std::unique_ptr<lm::HiggsLM> model;
  mutable std::mutex info_mutex;
  std::unique_ptr<ModelInfo> info;

  void run() {
    if (options.threads > 0) at::set_num_threads(options.threads);
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return stopping || !jobs.empty(); });
        if (jobs.empty()) return;  // stopping, and everything queued has run
        job = std::move(jobs.front());
        jobs.pop_front();
      }
      job();
    }
  }

  void post(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopping) throw HiggsError(ErrorCode::NotLoaded, "the engine is shutting down");
      jobs.push_back(std::move(job));
    }
    wake.notify_one();
  }

  at::TensorOptions tensor_options() const {
    return at::TensorOptions().dtype(parse_dtype(options.dtype)).device(parse_device(options.device));
  }

  void install(std::unique_ptr<lm::HiggsLM> lm, ModelInfo base, Clock::time_point start) {
    const auto& c = lm->config();
    base.device = options.device;
    base.dtype = options.dtype;
    base.vocab_size = c.vocab_size;
    base.hidden_size = c.hidden_size;
    base.intermediate_size = c.intermediate_size;
    base.num_layers = c.num_layers;
    base.num_heads = c.num_heads;
    base.num_kv_heads = c.num_kv_heads;
    base.num_codebooks = c.num_codebooks;
    base.codebook_vocab = c.codebook_vocab;
    base.max_context = lm->cache().max_context();
    base.parameter_count = lm->weights().parameter_count();
    base.weight_bytes = lm->weights().bytes();
    base.kv_cache_bytes = lm->cache().bytes();
    base.has_text_head = lm->weights().text_head.defined();
    base.load_seconds = seconds_since(start);
    model = std::move(lm);
    std::lock_guard<std::mutex> lock(info_mutex);
    info = std::make_unique<ModelInfo>(base);
  }

  void drop_model() {
    model.reset();
    std::lock_guard<std::mutex> lock(info_mutex);
    info.reset();
  }
};

Engine::Engine(EngineOptions options) : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  state_->thread = std::thread([s = state_.get()] { s->run(); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stopping = true;
  }
  state_->wake.notify_one();
  if (state_->thread.joinable()) state_->thread.join();
}

void Engine::load(std::string model_dir, ProgressFn progress, LoadDone done) {
  state_->post([s = state_.get(), model_dir, progress, done] {
    const auto start = Clock::now();
    auto report = [&](const char* phase, double p) {
      if (progress) progress({phase, p});
    };
    try {
      s->drop_model();  // free the old weights before reading new ones
      c10::InferenceMode guard;
      report("config", 0.0);
      auto config = io::load_config(model_dir);
      auto options = s->tensor_options();
      auto weights = lm::load_weights(model_dir, config, options, [&](std::int64_t d, std::int64_t t) {
        report("weights", 0.02 + 0.93 * static_cast<double>(d) / static_cast<double>(t));
      });
      report("cache", 0.96);
      auto lm = std::make_unique<lm::HiggsLM>(config, std::move(weights), s->options.max_context, options);
      ModelInfo info;
      info.model_dir = model_dir;
      info.format = format_name(config.format);
      s->install(std::move(lm), info, start);
      report("ready", 1.0);
      ModelInfo copy = *s->info;
      done(nullptr, &copy);
    } catch (...) {
      s->drop_model();
      done(as_higgs_error(std::current_exception()), nullptr);
    }
  });
}

void Engine::load_random(std::string config_name, std::uint64_t seed, LoadDone done) {
  state_->post([s = state_.get(), config_name, seed, done] {
    const auto start = Clock::now();
    try {
      s->drop_model();
      c10::InferenceMode guard;
      auto config = lm::named_config(config_name);
      auto options = s->tensor_options();
      auto weights = lm::random_weights(config, seed, options, /*with_text_head=*/true);
      auto lm = std::make_unique<lm::HiggsLM>(config, std::move(weights), s->options.max_context, options);
      ModelInfo info;
      info.format = "random";
      info.model_dir = "";
      s->install(std::move(lm), info, start);
      ModelInfo copy = *s->info;
      done(nullptr, &copy);
    } catch (...) {
      s->drop_model();
      done(as_higgs_error(std::current_exception()), nullptr);
    }
  });
}

void Engine::forward(ForwardRequest request, ForwardDone done) {
  state_->post([s = state_.get(), request = std::move(request), done] {
    try {
      if (!s->model) throw HiggsError(ErrorCode::NotLoaded, "no model is loaded");
      c10::InferenceMode guard;
      const auto start = Clock::now();
      const auto& c = s->model->config();
      auto in = make_lm_input(c, request.input_ids, request.audio_mask, request.audio_codes, request.start_pos);
      const auto selection = request.logits == LogitsSelection::All     ? lm::LogitsAt::All
                             : request.logits == LogitsSelection::Audio ? lm::LogitsAt::Audio
                                                                        : lm::LogitsAt::Last;
      auto out = s->model->forward(in, selection, request.text_logits);

      ForwardResult result;
      result.num_codebooks = c.num_codebooks;
      result.codebook_vocab = c.codebook_vocab;
      result.vocab_size = c.vocab_size;
      auto positions = out.positions.contiguous();
      result.positions.assign(positions.data_ptr<std::int64_t>(), positions.data_ptr<std::int64_t>() + positions.numel());
      auto audio = out.audio_logits.contiguous();
      result.audio_logits.assign(audio.data_ptr<float>(), audio.data_ptr<float>() + audio.numel());
      if (out.text_logits.defined()) {
        auto text = out.text_logits.contiguous();
        result.text_logits.assign(text.data_ptr<float>(), text.data_ptr<float>() + text.numel());
      }
      result.seconds = seconds_since(start);
      done(nullptr, &result);
    } catch (...) {
      done(as_higgs_error(std::current_exception()), nullptr);
    }
  });
}

void Engine::generate(GenerateRequest request, FramesFn on_frames, StepProgressFn on_progress, GenerateDone done) {
  auto flag = state_->cancel_flag(request.request_id);
  state_->post([s = state_.get(), request = std::move(request), on_frames, on_progress, done, flag] {
    try {
      if (!s->model) throw HiggsError(ErrorCode::NotLoaded, "no model is loaded");
      c10::InferenceMode guard;
      const auto& c = s->model->config();
      lm::GenerationInput input;
      input.prompt = make_lm_input(c, request.input_ids, request.audio_mask, request.audio_codes, 0);
      input.sampling = {request.temperature, request.top_k, request.top_p, request.ras_window,
                        request.ras_max_repeats, request.seed};
      input.max_frames = request.max_frames;
      if (request.temperature < 0 || request.top_p <= 0 || request.top_k < 0 || request.ras_max_repeats < 1 ||
          request.stream_every < 1) {
        throw HiggsError(ErrorCode::Input, "invalid sampling settings (temperature >= 0, 0 < top_p, top_k >= 0, "
                                           "ras_max_repeats >= 1, stream_every >= 1)");
      }
      lm::GenerationCallbacks callbacks;
      callbacks.cancelled = [&flag] { return flag->load(); };
      callbacks.stream_every = request.stream_every;
      if (on_frames) {
        callbacks.on_frames = [&](const std::vector<lm::Column>& frames, std::int64_t first) {
          std::vector<std::int32_t> flat;
          for (const auto& f : frames) for (auto v : f) flat.push_back(static_cast<std::int32_t>(v));
          on_frames(std::move(flat), first, static_cast<std::int64_t>(frames.size()));
        };
      }
      if (on_progress) callbacks.on_progress = on_progress;
      auto out = lm::generate(*s->model, input, callbacks);
      GenerateResult result;
      result.codes = std::move(out.codes);
      result.frames = out.frames;
      result.num_codebooks = c.num_codebooks;
      result.columns = static_cast<std::int64_t>(out.columns.size());
      result.prompt_positions = out.prompt_positions;
      result.stop_reason = lm::stop_reason_name(out.stop);
      result.prefill_seconds = out.prefill_seconds;
      result.decode_seconds = out.decode_seconds;
      s->forget_cancel(request.request_id);
      done(nullptr, &result);
    } catch (...) {
      s->forget_cancel(request.request_id);
      done(as_higgs_error(std::current_exception()), nullptr);
    }
  });
}

void Engine::cancel(std::uint64_t request_id) {
  std::lock_guard<std::mutex> lock(state_->cancel_mutex);
  auto it = state_->cancel_flags.find(request_id);
  if (it != state_->cancel_flags.end()) it->second->store(true);  // unknown ids: already finished
}

void Engine::unload(Done done) {
  state_->post([s = state_.get(), done] {
    s->drop_model();
    done(nullptr);
  });
}

bool Engine::loaded() const {
  std::lock_guard<std::mutex> lock(state_->info_mutex);
  return state_->info != nullptr;
}

ModelInfo Engine::info() const {
  std::lock_guard<std::mutex> lock(state_->info_mutex);
  if (!state_->info) throw HiggsError(ErrorCode::NotLoaded, "no model is loaded");
  return *state_->info;
}

namespace {
template <typename T>
T wait_for(std::promise<T>& promise) {
  return promise.get_future().get();
}
}  // namespace

ModelInfo Engine::load_sync(const std::string& model_dir, ProgressFn progress) {
  std::promise<ModelInfo> promise;
  load(model_dir, std::move(progress), [&](std::exception_ptr e, const ModelInfo* info) {
    if (e) promise.set_exception(e); else promise.set_value(*info);
  });
  return wait_for(promise);
}

ModelInfo Engine::load_random_sync(const std::string& config_name, std::uint64_t seed) {
  std::promise<ModelInfo> promise;
  load_random(config_name, seed, [&](std::exception_ptr e, const ModelInfo* info) {
    if (e) promise.set_exception(e); else promise.set_value(*info);
  });
  return wait_for(promise);
}

GenerateResult Engine::generate_sync(GenerateRequest request, FramesFn on_frames, StepProgressFn on_progress) {
  std::promise<GenerateResult> promise;
  generate(std::move(request), std::move(on_frames), std::move(on_progress), [&](std::exception_ptr e, GenerateResult* r) {
    if (e) promise.set_exception(e); else promise.set_value(std::move(*r));
  });
  return wait_for(promise);
}

ForwardResult Engine::forward_sync(ForwardRequest request) {
  std::promise<ForwardResult> promise;
  forward(std::move(request), [&](std::exception_ptr e, ForwardResult* result) {
    if (e) promise.set_exception(e); else promise.set_value(std::move(*result));
  });
  return wait_for(promise);
}

}  // namespace higgs
