// Internal to the Engine (engine.cc, engine_codec.cc): its state and the helpers its jobs share.
// Not seen by the binding, the bench or native/testing, which include engine.h only.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "buffer_limits.h"
#include "codec/codec_decoder.h"
#include "codec/codec_encoder.h"
#include "engine/engine.h"
#include "engine/engine_worker.h"
#include "engine/host_info.h"
#include "engine/slot_memory.h"
#include "engine/torch_warnings.h"
#include "engine/waiting_queue.h"
#include "errors.h"
#include "gpu/fused_ops.h"
#include "gpu/gpu.h"
#include "lm/checkpoint_config.h"
#include "lm/decode_runner.h"
#include "lm/higgs_lm.h"
#include "lm/device_slot_batch.h"
#include "lm/slot_batch.h"

namespace higgs {
namespace engine_detail {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

inline at::ScalarType parse_dtype(const std::string& name) {
  if (name == "float32") return at::kFloat;
  if (name == "bfloat16") return at::kBFloat16;
  if (name == "float16") return at::kHalf;
  throw HiggsError(ErrorCode::Input, "unknown dtype '" + name + "' (float32, bfloat16, float16)");
}

inline at::Device parse_device(const std::string& name) {
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
inline std::exception_ptr as_higgs_error(std::exception_ptr error) {
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

// What CUDA device `index` can still hold: the driver's free memory plus the allocator's cached,
// unused blocks; 0 when unknown.
inline std::int64_t available_gpu_memory(int index) {
  const auto m = gpu::memory_info(index);
  return m ? m->free + (m->reserved - m->allocated) : 0;
}

// EngineOptions::decode resolved for `device` (E_INPUT for an unknown mode, or graph on the CPU).
inline std::string decode_mode(const std::string& mode, const at::Device& device) {
  if (mode == "auto") return device.is_cuda() && gpu::compiled_with_cuda() ? "graph" : "eager";
  if (mode == "eager" || mode == "static") return mode;
  if (mode == "graph") {
    if (!device.is_cuda()) throw HiggsError(ErrorCode::Input, "decode mode 'graph' needs a CUDA device");
    return mode;
  }
  throw HiggsError(ErrorCode::Input, "unknown decode mode '" + mode + "' (auto, eager, static, graph)");
}

// The eager decode's default number of slots (EngineOptions::slots = 0): 4 on the CPU, on a
// GPU what its free memory holds (slot_memory.h).
constexpr std::int64_t kDefaultCpuSlots = 4;

// What `device` can still hold, in bytes; 0 when unknown.
inline std::int64_t available_memory(const at::Device& device) {
  return device.is_cuda() ? available_gpu_memory(device.index()) : available_host_memory();
}

inline const char* format_name(lm::CheckpointFormat format) {
  return format == lm::CheckpointFormat::Original ? "original" : "transformers";
}

}  // namespace engine_detail

struct Engine::State {
  using Clock = engine_detail::Clock;
  EngineOptions options;
  // libtorch's warnings to the Engine's log sink, on both threads (null: no sink given). Declared
  // before the workers so that it outlives their threads.
  std::unique_ptr<TorchWarningLog> torch_warnings;
  LogSink log;  // the same sink, for the engine's own lines (where a load's int8 weights came from)
  EngineWorker lm_worker;     // model load, forward, generate, unload: the KV cache's one user
  EngineWorker codec_worker;  // codec load, decode, encode: runs beside a generation

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

  // The audio codec (fp32 on the engine's device); codec thread only, codec_info guarded.
  std::unique_ptr<codec::CodecDecoder> decoder;
  std::unique_ptr<codec::CodecEncoder> encoder;
  std::unique_ptr<CodecInfo> codec_info;

  // Touched only on the LM thread, except `info` (guarded by info_mutex).
  std::unique_ptr<lm::HiggsLM> model;
  std::unique_ptr<lm::DecodeRunner> runner;      // static/graph decode of one slot; refers to `model`
  std::unique_ptr<lm::GenerationBatch> batch;    // continuous batching (eager, or static/graph with slots > 1)

  WaitingQueue waiting;  // generations and exclusive jobs behind the slot batch (waiting_queue.h)

  // Runs `job` now when the model is the LM thread's alone, else queues it behind the batch.
  void post_exclusive(std::function<void()> job) {
    lm_worker.post([this, job = std::move(job)]() mutable {
      if (!batch || (waiting.empty() && batch->busy() == 0)) return job();
      waiting.push_exclusive(std::move(job));
    });
  }

  // The LM thread's background work (EngineWorker::set_background): cancelled waiters leave,
  // the queue's front is admitted (or, if exclusive, run once no slot is busy), then one step.
  bool background() {
    waiting.drop_cancelled([](const lm::GenerationBatch::Done& done) {
      done(std::make_exception_ptr(HiggsError(ErrorCode::Cancelled, "generation was cancelled")), nullptr);
    });
    bool held = false;  // a free slot is kept for an earlier request's next chunk
    while (!waiting.empty()) {
      auto& front = waiting.front();
      if (front.exclusive) {
        if (batch && batch->busy() > 0) break;
        auto job = std::move(front.exclusive);
        waiting.pop_front();
        job();  // may replace or drop the model (and so the batch)
        continue;
      }
      if (!batch) {
        auto done = std::move(front.done);
        waiting.pop_front();
        done(std::make_exception_ptr(HiggsError(ErrorCode::NotLoaded, "no model is loaded")), nullptr);
        continue;
      }
      if (batch->full()) break;
      if (batch->slots() - batch->busy() <= waiting.held_before(front.arrival)) {
        held = true;
        break;
      }
      auto w = std::move(front);
      waiting.pop_front();
      c10::InferenceMode guard;
      batch->admit(std::move(w.input), std::move(w.callbacks), std::move(w.done));
    }
    publish_status();
    if (!batch || batch->busy() == 0) {
      // Nothing to step: while a hold keeps waiters out, look again shortly (it expires).
      if (held) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return held;
    }
    c10::InferenceMode guard;
    batch->step();
    publish_status();
    return true;
  }

  // The batch's counters for batch_status(), written by the LM thread only.
  std::atomic<std::int64_t> status_slots{0}, status_busy{0}, status_waiting{0};
  void publish_status() {
    const auto generations = waiting.generations();
    status_slots = batch ? batch->slots() : (model ? 1 : 0);
    status_busy = batch ? batch->busy() : 0;
    status_waiting = generations;
  }
  mutable std::mutex info_mutex;
  std::unique_ptr<ModelInfo> info;

  void start() {
    gpu::use_next_kernels(options.next_kernels);
    auto setup = [threads = options.threads, warnings = torch_warnings.get()] {
      if (threads > 0) at::set_num_threads(threads);
      if (warnings) warnings->install_on_this_thread();
    };
    lm_worker.set_background([this] { return background(); });
    lm_worker.start(setup);
    codec_worker.start(setup);
  }
  void post(std::function<void()> job) { lm_worker.post(std::move(job)); }
  void post_codec(std::function<void()> job) { codec_worker.post(std::move(job)); }

  at::TensorOptions tensor_options() const {
    return at::TensorOptions()
        .dtype(engine_detail::parse_dtype(options.dtype))
        .device(engine_detail::parse_device(options.device));
  }

  std::string decode_mode(const at::Device& device) const { return engine_detail::decode_mode(options.decode, device); }

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
    base.has_text_head = lm->weights().has_text_head();
    base.weight_format = lm::weight_format_name(lm->weights().format());
    const auto mode = decode_mode(lm->options().device());
    base.decode = mode;
    if (options.slots < 0 || options.slots > kMaxSlots) {
      throw HiggsError(ErrorCode::Input, "slots must be 0 (the default) to " + std::to_string(kMaxSlots) + " (got " +
                                             std::to_string(options.slots) + ")");
    }
    const auto device = lm->options().device();
    const auto batching = lm::parse_batch_mode(options.batching);
    if (mode != "eager" && options.slots <= 1) {  // one generation at a time, from prefill to its end
      runner = std::make_unique<lm::DecodeRunner>(*lm, mode == "graph", options.fused_kernels);
      base.graph_capture_seconds = runner->capture_all();
      base.kv_buckets = runner->buckets();
      base.fused_kernels = runner->uses_fused_kernels();
      base.slots = 1;
    } else if (mode != "eager") {  // the rows' decode state on the device, one arena of KV caches
      check_slot_memory(options.slots, options.slots, lm->cache().bytes(), device);
      auto rows = std::make_unique<lm::DeviceSlotBatch>(*lm, options.slots, batching, mode == "graph", options.fused_kernels);
      base.graph_capture_seconds = rows->capture_all();
      base.kv_buckets = rows->runner().buckets();
      base.row_buckets = rows->runner().row_buckets();
      base.fused_kernels = rows->runner().uses_fused_kernels();
      base.kv_cache_bytes = lm->cache().bytes() + rows->kv_bytes();
      batch = std::move(rows);
    } else {
      const auto slots = options.slots > 0 ? options.slots : default_slots(lm->cache().bytes(), device);
      check_slot_memory(slots, slots - 1, lm->cache().bytes(), device);
      batch = std::make_unique<lm::SlotBatch>(*lm, slots, batching);
      base.kv_cache_bytes = lm->cache().bytes() * slots;
    }
    if (batch) {
      base.slots = batch->slots();
      base.batching = lm::batch_mode_name(batch->mode());
    }
    base.slot_context = lm->cache().max_context();
    base.load_seconds = engine_detail::seconds_since(start);
    model = std::move(lm);
    publish_status();
    std::lock_guard<std::mutex> lock(info_mutex);
    info = std::make_unique<ModelInfo>(base);
  }

  static constexpr std::int64_t kDefaultSlots = engine_detail::kDefaultCpuSlots;

  static std::int64_t available_memory(const at::Device& device) { return engine_detail::available_memory(device); }
  static std::int64_t default_slots(std::int64_t cache_bytes, const at::Device& device) {
    return device.is_cuda() ? derived_slots(available_memory(device), cache_bytes) : kDefaultSlots;
  }
  static void check_slot_memory(std::int64_t slots, std::int64_t new_caches, std::int64_t cache_bytes,
                                const at::Device& device) {
    higgs::check_slot_memory(slots, new_caches, cache_bytes, available_memory(device),
                             device.is_cuda() ? "the GPU" : "this machine");
  }

  void drop_model() {
    batch.reset();  // idle: only exclusive jobs drop the model
    runner.reset();
    model.reset();
    publish_status();
    std::lock_guard<std::mutex> lock(info_mutex);
    info.reset();
  }
};


}  // namespace higgs
