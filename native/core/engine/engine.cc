// The Engine's LM side: construction and the two threads, model load (checkpoint or random
// weights), forward, generate and cancel, unload, GPU memory, and the LM-thread hook.
#include "engine/engine.h"

#include <torch/version.h>

#include "engine/engine_state.h"
#include "engine/load_plan.h"
#include "gpu/gpu.h"
#include "lm/generator.h"
#include "lm/int8_checkpoint.h"
#include "lm/model_shapes.h"
#include "lm/weight_names.h"
#include "torch_settings.h"

namespace higgs {

using namespace engine_detail;

bool cuda_available() { return at::hasCUDA(); }

BuildInfo build_info() {
  BuildInfo info;
  info.torch_version = TORCH_VERSION;
  info.cuda_version = gpu::cuda_build_version();
#ifdef HIGGS_KERNEL_ARCHS
  info.kernel_archs = HIGGS_KERNEL_ARCHS;
#else
  info.kernel_archs = gpu::compiled_with_cuda() ? "none" : "cpu";
#endif
  return info;
}

namespace {
// The CUDA device index of an engine's device name, or -1 for the CPU (no CUDA calls then).
int cuda_index(const std::string& device) {
  if (device.rfind("cuda", 0) != 0) return -1;
  const auto colon = device.find(':');
  return colon == std::string::npos ? 0 : std::stoi(device.substr(colon + 1));
}
}  // namespace

bool Engine::gpu_memory(GpuMemory* out) const {
  const int index = cuda_index(state_->options.device);
  if (index < 0) return false;
  const auto info = gpu::memory_info(index);
  if (!info) return false;
  *out = {info->allocated, info->reserved, info->peak_allocated, info->free, info->total};
  return true;
}

void Engine::reset_peak_gpu_memory() {
  const int index = cuda_index(state_->options.device);
  if (index >= 0) gpu::reset_peak_memory(index);
}

void Engine::release_cached_memory(Done done) {
  state_->post_exclusive([done] {
    try {
      gpu::release_cached_memory();
      done(nullptr);
    } catch (...) {
      done(as_higgs_error(std::current_exception()));
    }
  });
}

Engine::Engine(EngineOptions options, LogSink log) : state_(std::make_unique<State>()) {
  apply_torch_settings();  // before the threads start: no convolution runs before it
  state_->options = std::move(options);
  state_->log = log;
  if (log) state_->torch_warnings = std::make_unique<TorchWarningLog>(std::move(log));
  state_->start();
}

Engine::~Engine() {
  // The LM thread first: its queued jobs may still hand codec work on (unload does).
  state_->lm_worker.stop();
  state_->codec_worker.stop();
}

void Engine::load(std::string model_dir, ProgressFn progress, LoadDone done) {
  state_->post_exclusive([s = state_.get(), model_dir, progress, done] {
    const auto start = Clock::now();
    auto report = [&](const char* phase, double p) {
      if (progress) progress({phase, p});
    };
    try {
      s->drop_model();  // free the old weights before reading new ones
      c10::InferenceMode guard;
      report("config", 0.0);
      auto config = lm::load_config(model_dir);
      // E_OOM here, before the weights or caches take any memory, when they cannot fit.
      check_load_plan(plan_load(model_dir, s->options), s->options, model_dir);
      auto options = s->tensor_options();
      if (lm::parse_weight_format(s->options.weights) == lm::WeightFormat::Int8 && s->log) {
        const auto manifest = lm::read_int8_manifest(model_dir);  // refused here if stale or foreign
        try {
          s->log("info", manifest ? "int8 weights: reading " + manifest->weights_path + " (quantized by " +
                                        (manifest->created_by.empty() ? std::string("higgs-audio") : manifest->created_by) +
                                        " from checkpoint " + manifest->source_fingerprint.substr(0, 12) + ")"
                                  : "int8 weights: quantizing in memory (no int8 file in " + model_dir +
                                        "; 'higgs-audio quantize' writes one, then load its output directory)");
        } catch (...) {
          // A failing log sink must not fail the load.
        }
      }
      auto weights = lm::load_weights(
          model_dir, config, options,
          [&](std::int64_t d, std::int64_t t) { report("weights", 0.02 + 0.93 * static_cast<double>(d) / static_cast<double>(t)); },
          lm::parse_weight_format(s->options.weights));
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
  state_->post_exclusive([s = state_.get(), config_name, seed, done] {
    const auto start = Clock::now();
    try {
      s->drop_model();
      c10::InferenceMode guard;
      auto config = lm::named_config(config_name);
      std::int64_t parameters = 0;
      for (const auto& [name, shape] : lm::canonical_shapes(config, /*with_text_head=*/true)) {
        std::int64_t n = 1;
        for (auto d : shape) n *= d;
        parameters += n;
      }
      check_load_plan(plan_for_config(config, parameters, s->options), s->options, "the random '" + config_name + "' model");
      auto options = s->tensor_options();
      auto weights = lm::random_weights(config, seed, options, /*with_text_head=*/true,
                                        lm::parse_weight_format(s->options.weights));
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
  state_->post_exclusive([s = state_.get(), request = std::move(request), done] {
    try {
      if (!s->model) throw HiggsError(ErrorCode::NotLoaded, "no model is loaded");
      c10::InferenceMode guard;
      const auto start = Clock::now();
      const auto& c = s->model->config();
      auto in = lm::make_lm_input(c, request.input_ids, request.audio_mask, request.audio_codes, request.start_pos);
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

namespace {
GenerateResult to_result(lm::GenerationOutput& out, std::int64_t num_codebooks) {
  GenerateResult result;
  result.codes = std::move(out.codes);
  result.frames = out.frames;
  result.num_codebooks = num_codebooks;
  result.columns = static_cast<std::int64_t>(out.columns.size());
  result.prompt_positions = out.prompt_positions;
  result.stop_reason = lm::stop_reason_name(out.stop);
  result.prefill_seconds = out.prefill_seconds;
  result.decode_seconds = out.decode_seconds;
  result.peak_batch = out.peak_batch;
  return result;
}
}  // namespace

void Engine::generate(GenerateRequest request, FramesFn on_frames, StepProgressFn on_progress, GenerateDone done) {
  auto flag = state_->cancel_flag(request.request_id);
  state_->post([s = state_.get(), request = std::move(request), on_frames, on_progress, done, flag] {
    const auto id = request.request_id;
    try {
      if (!s->model) throw HiggsError(ErrorCode::NotLoaded, "no model is loaded");
      c10::InferenceMode guard;
      const auto& c = s->model->config();
      lm::GenerationInput input;
      input.prompt = lm::make_lm_input(c, request.input_ids, request.audio_mask, request.audio_codes, 0);
      input.sampling = {request.temperature, request.top_k, request.top_p, request.ras_window,
                        request.ras_max_repeats, request.seed};
      input.max_frames = request.max_frames;
      // What the buffers and the arithmetic need (engine.h); the request schema checked the rest.
      if (!(request.temperature >= 0) || !(request.top_p > 0) || request.top_k < 0 || request.ras_window < 0 ||
          request.ras_window > kMaxRasWindow || request.ras_max_repeats < 1 || request.max_frames < 1 ||
          request.stream_every < 1) {
        throw HiggsError(ErrorCode::Input, "invalid sampling settings (temperature >= 0, 0 < top_p, top_k >= 0, "
                                           "0 <= ras_window <= " + std::to_string(kMaxRasWindow) +
                                           ", ras_max_repeats >= 1, max_frames >= 1, stream_every >= 1)");
      }
      // The callbacks may outlive this job (a batched generation runs over many steps): values only.
      lm::GenerationCallbacks callbacks;
      callbacks.cancelled = [flag] { return flag->load(); };
      callbacks.stream_every = request.stream_every;
      if (on_frames) {
        callbacks.on_frames = [on_frames](const std::vector<lm::Column>& frames, std::int64_t first) {
          std::vector<std::int32_t> flat;
          for (const auto& f : frames) for (auto v : f) flat.push_back(static_cast<std::int32_t>(v));
          on_frames(std::move(flat), first, static_cast<std::int64_t>(frames.size()));
        };
      }
      if (on_progress) callbacks.on_progress = on_progress;
      const auto K = c.num_codebooks;
      auto finish = [s, done, id, K, arrival = request.arrival, continues = request.continues](std::exception_ptr error,
                                                                                              lm::GenerationOutput* out) {
        s->forget_cancel(id);
        if (error) return done(as_higgs_error(error), nullptr);
        if (continues && s->batch) s->waiting.hold(arrival);  // before `done`, which makes the next chunk
        auto result = to_result(*out, K);
        done(nullptr, &result);
      };
      if (!s->batch) {  // static/graph decode: one generation at a time, from prefill to its end
        auto out = lm::generate(*s->model, input, callbacks, s->runner.get());
        return finish(nullptr, &out);
      }
      WaitingQueue::Entry waiting;
      waiting.input = std::move(input);
      waiting.callbacks = std::move(callbacks);
      waiting.done = std::move(finish);
      waiting.arrival = request.arrival;
      s->waiting.push(std::move(waiting));  // admitted by the background work, in arrival order
      s->publish_status();
    } catch (...) {
      s->forget_cancel(id);
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
  state_->post_exclusive([s = state_.get(), done] {
    s->drop_model();
    try {
      s->post_codec([s, done] {
        s->decoder.reset();
        s->encoder.reset();
        {
          std::lock_guard<std::mutex> lock(s->info_mutex);
          s->codec_info.reset();
        }
        done(nullptr);
      });
    } catch (...) {
      done(std::current_exception());  // shutting down
    }
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

BatchStatus Engine::batch_status() const {
  return {state_->status_slots.load(), state_->status_busy.load(), state_->status_waiting.load()};
}

void Engine::run_on_lm_thread(std::function<void(const LoadedLm&)> job, Done done) {
  state_->post_exclusive([s = state_.get(), job = std::move(job), done = std::move(done)] {
    try {
      if (!s->model) throw HiggsError(ErrorCode::NotLoaded, "no model is loaded");
      c10::InferenceMode guard;
      job(LoadedLm{*s->model, s->runner.get(), *s->info});
      done(nullptr);
    } catch (...) {
      done(as_higgs_error(std::current_exception()));
    }
  });
}

}  // namespace higgs
