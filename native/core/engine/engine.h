// The Engine owns a model, a codec and the two native threads its libtorch work runs on: the LM
// thread (load, forward, generate: the KV cache's only user, and where CUDA graphs are captured
// and replayed) and the codec thread (decode, encode), so audio windows are decoded while a
// generation runs. Every call queues a job on one of them and reports back through a callback
// invoked on that thread (native/testing/engine_sync.h has blocking forms for higgs-bench and the
// native tests). This header has no libtorch types: the binding and the bench see only it.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "buffer_limits.h"
#include "engine/torch_warnings.h"

namespace higgs {

namespace lm {
class DecodeRunner;
class HiggsLM;
}  // namespace lm

struct EngineOptions {
  std::string device = "cpu";    // "cpu" or "cuda" / "cuda:N"
  std::string dtype = "float32";  // "float32", "bfloat16" or "float16"
  std::int64_t max_context = 4096;  // KV cache positions, preallocated at load (load: E_INPUT below 1)
  int threads = 0;                  // intra-op CPU threads; 0 = libtorch's default
  // Decode steps: "auto" (CUDA graphs on a CUDA device, eager on the CPU), "eager" (one forward
  // per step, sampling on the host), "static" (device-resident step without graphs), "graph".
  std::string decode = "auto";
  // The fused CUDA decode kernels, where the build has them and the GPU runs them; false forces
  // ATen ops (for comparisons).
  bool fused_kernels = true;
  // The candidate successors of the norm and GEMV kernels (tested on CUDA, not yet measured
  // faster). Process-wide: the last Engine made decides.
  bool next_kernels = false;
  // Generations decoded together (continuous batching, lm/generation_batch.h), each in a slot
  // with its own KV cache of max_context positions. 0 = the default: with eager decode 4 on the
  // CPU and on a GPU what its free memory holds after the weights (at most 32); with static or
  // graph decode 1 (the one-row step with the fused kernels), and slots > 1 there decode their
  // rows' state on the device (lm/device_slot_batch.h, a graph per row bucket). Load rejects
  // (E_INPUT) below 0, above kMaxSlots, or KV caches larger than the device's memory.
  std::int64_t slots = 0;
  // How a step of several slots is computed: "exact" (each row as at batch 1: a request's codes
  // never depend on its neighbours) or "fast" (one batched forward: each weight read once per
  // step; a row may differ in the last bits from its solo run).
  std::string batching = "exact";
  // How the LM's projections are held: "dense" (in dtype) or "int8" (int8 weights with one scale
  // per output channel, bf16 activations: about half of bf16's memory and bytes read per step;
  // embeddings and norms stay in dtype). Load: E_INPUT for other values.
  std::string weights = "dense";
};

struct LoadProgress {
  std::string phase;  // "config", "weights", "cache", "ready"
  double progress;    // 0..1 over the whole load
};

struct ModelInfo {
  std::string model_dir;  // "" for random weights
  std::string format;     // "original", "transformers" or "random"
  std::string device, dtype;
  std::int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_layers = 0, num_heads = 0, num_kv_heads = 0;
  std::int64_t num_codebooks = 0, codebook_vocab = 0, max_context = 0;
  std::int64_t parameter_count = 0, weight_bytes = 0, kv_cache_bytes = 0;
  bool has_text_head = false;
  double load_seconds = 0;
  std::string decode;                 // the decode mode in use: "eager", "static" or "graph"
  double graph_capture_seconds = 0;   // capturing every KV bucket's graph (part of load_seconds)
  std::vector<std::int64_t> kv_buckets;  // static/graph decode: the KV lengths steps attend over
  std::vector<std::int64_t> row_buckets;  // static/graph decode with slots > 1: rows per captured step
  bool fused_kernels = false;             // the decode step runs the fused CUDA kernels
  std::int64_t slots = 1;                 // generations decoded together (EngineOptions::slots)
  std::string batching = "exact";         // how they are computed (EngineOptions::batching)
  std::int64_t slot_context = 0;          // KV positions each slot holds (max_context)
  std::string weight_format = "dense";    // EngineOptions::weights; weight_bytes counts the weights as held
};

struct CodecInfo {
  std::string codec_dir;
  std::int64_t sample_rate = 0, samples_per_frame = 0, num_quantizers = 0, codebook_size = 0;
  std::int64_t context_frames = 0;  // frames of context a windowed decode needs on each side
  bool can_encode = false;
  double load_seconds = 0;
};

enum class LogitsSelection { Last, All, Audio };

struct ForwardRequest {
  std::vector<std::int32_t> input_ids;  // length L; ignored at audio positions
  std::vector<std::uint8_t> audio_mask;  // length L; 1 = audio position
  std::vector<std::int32_t> audio_codes;  // num_codebooks per audio position, frame-major
  std::int64_t start_pos = 0;
  LogitsSelection logits = LogitsSelection::Last;
  bool text_logits = false;
};

struct ForwardResult {
  std::vector<std::int64_t> positions;  // input rows the logits belong to
  std::vector<float> audio_logits;      // [P, num_codebooks, codebook_vocab]
  std::vector<float> text_logits;       // [P, vocab] or empty
  std::int64_t num_codebooks = 0, codebook_vocab = 0, vocab_size = 0;
  double seconds = 0;  // time spent in the forward itself
};

// One TTS generation: the prompt (ending with <|audio_out_bos|>), sampling settings and caps.
// The binding sets every field (the defaults below serve the native tests and higgs-bench; the
// product's defaults are the request schema's). generate() rejects with E_INPUT what its buffers
// or its arithmetic cannot take: temperature < 0 or NaN, top_p <= 0 or NaN, top_k < 0,
// ras_window outside 0..kMaxRasWindow, ras_max_repeats < 1, max_frames < 1, stream_every < 1.
struct GenerateRequest {
  std::vector<std::int32_t> input_ids;    // as ForwardRequest, starting at position 0
  std::vector<std::uint8_t> audio_mask;
  std::vector<std::int32_t> audio_codes;
  double temperature = 1.0;  // 0 = greedy
  std::int64_t top_k = 0;    // 0 = off
  double top_p = 1.0;        // >= 1 = off
  std::int64_t ras_window = 7;  // 0 = off
  std::int64_t ras_max_repeats = 2;
  std::uint64_t seed = 0;
  std::int64_t max_frames = 2048;  // columns including the first all-bos one
  std::int64_t stream_every = 8;   // frames per on_frames call
  std::uint64_t request_id = 0;    // for cancel(); 0 = not cancellable
  // Place among the generations waiting for a slot: one with a lower arrival goes first, so the
  // continuation chunks of a long request (sharing its arrival) keep its place in the queue.
  // 0 = at the back. Never passes an exclusive job, or a generation without an arrival, queued
  // before it.
  std::uint64_t arrival = 0;
  // More chunks of this request follow (with the same arrival): when this one ends, a slot is
  // kept for the next for up to a second, so that requests that came later do not take it in
  // the moment the next chunk is being made.
  bool continues = false;
};

struct GenerateResult {
  std::vector<std::int32_t> codes;  // [num_codebooks][frames], codebook-major
  std::int64_t frames = 0, num_codebooks = 0, columns = 0, prompt_positions = 0;
  std::string stop_reason;  // "audio_end", "max_frames" or "context_full"
  double prefill_seconds = 0, decode_seconds = 0;
  std::int64_t peak_batch = 1;  // the most generations decoded together while this one ran
};

// The slot batch as last seen by the LM thread (continuous batching; all 0 before a load).
struct BatchStatus {
  std::int64_t slots = 0;    // generations decoded together at most
  std::int64_t busy = 0;     // slots holding a generation
  std::int64_t waiting = 0;  // generations queued for a free slot
};

// What this build is, fixed at compile time (CMakeLists.txt): for --version and /health.
struct BuildInfo {
  std::string torch_version;  // the libtorch headers compiled against (TORCH_VERSION), e.g. "2.13.0"
  std::string cuda_version;   // the CUDA runtime compiled against, e.g. "13.0"; "cpu" without CUDA
  std::string kernel_archs;   // the fused kernels' GPU code, e.g. "sm_90 compute_90"; "cpu" without
                              // CUDA, "none" with CUDA but without the kernels
};
BuildInfo build_info();

// True when this libtorch was built with CUDA and sees at least one GPU.
bool cuda_available();

// The machine's facts a dtype choice rests on, read at run time (engine/host_info.h).
struct HostInfo {
  bool avx512_bf16 = false;  // the CPU has AVX512-BF16 dot products (and the OS their state)
  bool amx_bf16 = false;     // the CPU has AMX-BF16 tiles (and the OS their state)
  std::int64_t available_memory = 0;  // bytes this process could still get (MemAvailable, cgroup); 0 unknown
};
HostInfo host_info();

// What loading model_dir with `options` needs, from config.json and the safetensors headers
// alone (nothing allocated): Engine::load fails with E_OOM when needed_bytes > available_bytes.
struct LoadPlan {
  std::string checkpoint_dtype;  // of the model's tensors as stored: "bfloat16", "float32", "float16" or "mixed"
  std::int64_t parameter_count = 0;
  std::int64_t checkpoint_bytes = 0;  // the model's tensors as stored
  std::int64_t weight_bytes = 0;      // the same as held: in options.dtype, or int8 projections (options.weights)
  std::int64_t kv_cache_bytes = 0;    // every KV cache the load allocates (options.slots, max_context)
  std::int64_t reserve_bytes = 0;     // working memory kept aside (engine/slot_memory.h)
  std::int64_t needed_bytes = 0;      // weights + KV caches + reserve
  std::int64_t available_bytes = 0;   // what options.device has free now; 0 unknown
};
// E_INPUT/E_MODEL_FORMAT as load() would give them for a bad directory or options.
LoadPlan plan_load(const std::string& model_dir, const EngineOptions& options);

// `higgs-audio quantize` (lm/int8_checkpoint.h): model_dir's LM checkpoint quantized once into
// out_dir (which must exist) as model.int8.safetensors + int8-manifest.json; a load with weights
// "int8" of a directory holding them reads them instead of quantizing. Runs on the calling thread
// (the CPU, one weight at a time); progress: (weights done, weights total).
struct QuantizeRequest {
  std::string model_dir, out_dir;
  std::string source_fingerprint;  // the source's id, recorded in the manifest and the file
  std::string created_by;          // e.g. "higgs-audio 0.3.0"
};
struct QuantizeSummary {
  std::string weights_path, manifest_path;
  std::int64_t tensors = 0, bytes = 0;
};
QuantizeSummary quantize_checkpoint(const QuantizeRequest& request,
                                    const std::function<void(std::int64_t done, std::int64_t total)>& progress);

// The CUDA caching allocator's numbers and the driver's free/total bytes for one device.
struct GpuMemory {
  std::int64_t allocated = 0, reserved = 0, peak_allocated = 0, free = 0, total = 0;
};

class Engine {
 public:
  using Done = std::function<void(std::exception_ptr error)>;
  using LoadDone = std::function<void(std::exception_ptr error, const ModelInfo* info)>;
  using ForwardDone = std::function<void(std::exception_ptr error, ForwardResult* result)>;
  using ProgressFn = std::function<void(const LoadProgress&)>;
  using GenerateDone = std::function<void(std::exception_ptr error, GenerateResult* result)>;
  // Frames [count][num_codebooks] (frame-major), starting at output frame `first`.
  using FramesFn = std::function<void(std::vector<std::int32_t> frames, std::int64_t first, std::int64_t count)>;
  using StepProgressFn = std::function<void(std::int64_t columns, std::int64_t max_columns)>;

  // `log` receives the engine's log lines: libtorch's warnings, once per distinct message, from
  // the LM and codec threads. Without one they go where libtorch prints them (stderr).
  explicit Engine(EngineOptions options, LogSink log = {});
  ~Engine();  // finishes queued jobs, then joins the thread
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Loads a model directory (config.json + safetensors, either format); replaces any model.
  void load(std::string model_dir, ProgressFn progress, LoadDone done);
  // Random weights for a named shape ("tiny" or "full"), seeded (bench).
  void load_random(std::string config_name, std::uint64_t seed, LoadDone done);
  void forward(ForwardRequest request, ForwardDone done);
  // Frames and progress are reported from the engine thread while generating. A cancelled
  // request fails with E_CANCELLED; frames already reported stay valid.
  void generate(GenerateRequest request, FramesFn on_frames, StepProgressFn on_progress, GenerateDone done);
  // Thread-safe. Takes effect before the next decode step, or when a queued request starts.
  void cancel(std::uint64_t request_id);
  // The audio codec (transformers higgs_audio_v2_tokenizer format), kept beside the LM.
  using CodecDone = std::function<void(std::exception_ptr error, const CodecInfo* info)>;
  using DecodeDone = std::function<void(std::exception_ptr error, std::vector<float>* samples)>;
  using EncodeDone = std::function<void(std::exception_ptr error, std::vector<std::int32_t>* codes, std::int64_t frames)>;
  void load_codec(std::string codec_dir, CodecDone done);
  // A decode-only codec of the real Higgs Audio V2 tokenizer shape (8 x 1024 codes, 24 kHz, hop
  // 960) with seeded random weights made on the engine's device in fp32 (bench, tests): replaces
  // any codec; codec_info().codec_dir is "random" and can_encode false (encode_audio: E_NOT_LOADED).
  void load_random_codec(std::uint64_t seed, CodecDone done);
  // codes [num_quantizers][frames] codebook-major -> frames * samples_per_frame samples.
  void decode_audio(std::vector<std::int32_t> codes, std::int64_t frames, DecodeDone done);
  // Frames [begin, end) of codes only, decoded with context_frames of context on each side:
  // equal to the same samples of a whole decode (streaming).
  void decode_audio_window(std::vector<std::int32_t> codes, std::int64_t frames, std::int64_t begin,
                           std::int64_t end, DecodeDone done);
  // Mono samples at the codec's sample rate -> codes [num_quantizers][frames] codebook-major.
  void encode_audio(std::vector<float> samples, EncodeDone done);
  CodecInfo codec_info() const;  // throws E_NOT_LOADED when no codec is loaded

  void unload(Done done);  // frees the model, the codec and the cache

  bool loaded() const;
  // Thread-safe, no job queued. false (and `out` untouched) on a CPU engine or a CPU libtorch.
  bool gpu_memory(GpuMemory* out) const;
  void reset_peak_gpu_memory();
  // Queued behind running work: gives the CUDA allocator's unused cached blocks back to the
  // driver (no-op on the CPU), then calls done.
  void release_cached_memory(Done done);
  ModelInfo info() const;  // throws E_NOT_LOADED when nothing is loaded
  BatchStatus batch_status() const;  // from any thread, without waiting for the LM thread

  // The loaded LM as a job on the LM thread sees it.
  struct LoadedLm {
    lm::HiggsLM& model;
    lm::DecodeRunner* runner;  // the one-slot static/graph runner; null with eager decode or slots > 1
    const ModelInfo& info;
  };
  // Runs `job` on the LM thread, queued like every call (E_NOT_LOADED without a model; what it
  // throws reaches `done` with a stable code). Only there may the model be touched: the KV cache
  // and the captured CUDA graphs belong to that thread. This one generic hook exists so that
  // code outside the core can work on the model where the engine's own jobs do, instead of the
  // core holding bench-specific code: higgs-bench's decode-step timing (native/testing) is its
  // user. The addon does not call it.
  void run_on_lm_thread(std::function<void(const LoadedLm&)> job, Done done);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace higgs
