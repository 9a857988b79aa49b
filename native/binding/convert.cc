#include "convert.h"

#include <cmath>
#include <type_traits>

#include "audio/time_stretch.h"  // the speed bounds only (constexpr: no Rubber Band needed)
#include "errors.h"
#include "js_bridge.h"

namespace higgs::binding {
namespace {

// Bumped when the JS-facing API changes (lib/native/loader.ts refuses another).
// 3: every sampling field required, constants, the whole ModelInfo, EngineOptions.decode, no loadRandom.
// 5: EngineOptions.batching, ModelInfo.batching and slotContext, limits.maxSlots, GenerateRequest.arrival and continues.
// 7: stretchAudio, AudioStretcher, constants.speedRange.
// 8: AudioResampler.
// 9: the Engine constructor's onLog(level, message) (libtorch's warnings).
// 12: EngineOptions.weights ("dense" | "int8"), ModelInfo.weightFormat.
// 13: quantizeCheckpoint (`higgs-audio quantize`); a quantized model directory loads with weights int8.
constexpr int kAbiVersion = 13;
constexpr double kMaxSafeInteger = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER

// A reader of one object's fields, naming each in its errors as "<what>: <key> ...".
class Fields {
 public:
  Fields(const Napi::Value& value, const char* what) : env_(value.Env()), what_(what) {
    if (!value.IsObject()) throw input_error(env_, std::string(what) + ": expected an object");
    object_ = value.As<Napi::Object>();
  }

  bool has(const char* key) const { return !object_.Get(key).IsUndefined(); }

  bool boolean(const char* key, bool fallback) const {
    auto v = object_.Get(key);
    if (v.IsUndefined()) return fallback;
    if (!v.IsBoolean()) throw error(key, "must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }

  std::string string(const char* key, std::string fallback) const {
    auto v = object_.Get(key);
    if (v.IsUndefined()) return fallback;
    if (!v.IsString()) throw error(key, "must be a string");
    return v.As<Napi::String>().Utf8Value();
  }

  // A finite number; integral types also need a whole number that fits (negative only if signed).
  template <typename T>
  T number(const char* key) const {
    auto v = object_.Get(key);
    if (!v.IsNumber()) throw error(key, v.IsUndefined() ? "is required" : "must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d)) throw error(key, "must be a finite number");
    if constexpr (std::is_integral_v<T>) {
      const double min = std::is_signed_v<T> ? -kMaxSafeInteger : 0;
      if (d != std::floor(d) || d < min || d > kMaxSafeInteger) {
        throw error(key, std::is_signed_v<T> ? "must be a safe integer" : "must be a non-negative safe integer");
      }
    }
    return static_cast<T>(d);
  }
  template <typename T>
  T number(const char* key, T fallback) const {
    return has(key) ? number<T>(key) : fallback;
  }

  // A copy of a typed array of exactly the element type T (Int32Array, Uint8Array, Float32Array).
  template <typename T>
  std::vector<T> array(const char* key, bool optional) const {
    auto v = object_.Get(key);
    if (v.IsUndefined() && optional) return {};
    return typed_array<T>(v, (what_ + ": " + key).c_str());
  }

 private:
  Napi::Error error(const char* key, const char* problem) const {
    return input_error(env_, what_ + ": " + key + " " + problem);
  }

  Napi::Env env_;
  std::string what_;
  Napi::Object object_;
};

Napi::Number num(Napi::Env env, double v) { return Napi::Number::New(env, v); }

}  // namespace

double positive_number(const Napi::Value& value, const char* what) {
  if (!value.IsNumber() || !(value.As<Napi::Number>().DoubleValue() > 0)) {
    throw input_error(value.Env(), std::string(what) + " must be a positive number");
  }
  return value.As<Napi::Number>().DoubleValue();
}

template <typename T>
std::vector<T> typed_array(const Napi::Value& value, const char* what) {
  constexpr napi_typedarray_type kType = std::is_same_v<T, float>          ? napi_float32_array
                                         : std::is_same_v<T, std::uint8_t> ? napi_uint8_array
                                                                           : napi_int32_array;
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::int32_t>);
  const char* name = kType == napi_float32_array ? "Float32Array" : kType == napi_uint8_array ? "Uint8Array" : "Int32Array";
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != kType) {
    throw input_error(value.Env(), std::string(what) + " must be a " + name);
  }
  auto array = value.As<Napi::TypedArrayOf<T>>();
  return std::vector<T>(array.Data(), array.Data() + array.ElementLength());
}
template std::vector<float> typed_array<float>(const Napi::Value&, const char*);
template std::vector<std::uint8_t> typed_array<std::uint8_t>(const Napi::Value&, const char*);
template std::vector<std::int32_t> typed_array<std::int32_t>(const Napi::Value&, const char*);

EngineOptions read_engine_options(const Napi::Value& value) {
  EngineOptions options;
  if (value.IsUndefined()) return options;
  Fields f(value, "Engine options");
  options.device = f.string("device", options.device);
  options.dtype = f.string("dtype", options.dtype);
  options.decode = f.string("decode", options.decode);
  options.max_context = f.number<std::int64_t>("maxContext", options.max_context);
  options.threads = static_cast<int>(f.number<std::uint32_t>("threads", static_cast<std::uint32_t>(options.threads)));
  options.fused_kernels = f.boolean("fusedKernels", options.fused_kernels);
  options.next_kernels = f.boolean("nextKernels", options.next_kernels);
  options.slots = f.number<std::int64_t>("slots", options.slots);
  options.batching = f.string("batching", options.batching);
  options.weights = f.string("weights", options.weights);
  return options;
}

ForwardRequest read_forward_request(const Napi::Value& value) {
  Fields f(value, "forward");
  ForwardRequest r;
  r.input_ids = f.array<std::int32_t>("inputIds", false);
  r.audio_mask = f.array<std::uint8_t>("audioMask", false);
  r.audio_codes = f.array<std::int32_t>("audioCodes", true);
  r.start_pos = f.number<std::int64_t>("startPos", 0);
  const auto logits = f.string("logits", "last");
  if (logits == "last") r.logits = LogitsSelection::Last;
  else if (logits == "all") r.logits = LogitsSelection::All;
  else if (logits == "audio") r.logits = LogitsSelection::Audio;
  else throw input_error(value.Env(), "forward: logits must be 'last', 'all' or 'audio'");
  r.text_logits = value.As<Napi::Object>().Get("textLogits").ToBoolean().Value();
  return r;
}

GenerateRequest read_generate_request(const Napi::Value& value) {
  Fields f(value, "generate");
  GenerateRequest r;
  r.input_ids = f.array<std::int32_t>("inputIds", false);
  r.audio_mask = f.array<std::uint8_t>("audioMask", false);
  r.audio_codes = f.array<std::int32_t>("audioCodes", true);
  r.temperature = f.number<double>("temperature");
  r.top_k = f.number<std::int64_t>("topK");
  r.top_p = f.number<double>("topP");
  r.ras_window = f.number<std::int64_t>("rasWindow");
  r.ras_max_repeats = f.number<std::int64_t>("rasMaxRepeats");
  r.seed = f.number<std::uint64_t>("seed");
  r.max_frames = f.number<std::int64_t>("maxFrames");
  r.stream_every = f.number<std::int64_t>("streamEvery", r.stream_every);
  r.request_id = f.number<std::uint64_t>("requestId", 0);
  r.arrival = f.number<std::uint64_t>("arrival", 0);
  r.continues = f.boolean("continues", false);
  return r;
}

Napi::Object write_model_info(Napi::Env env, const ModelInfo& m) {
  auto o = Napi::Object::New(env);
  o.Set("modelDir", m.model_dir);
  o.Set("format", m.format);
  o.Set("device", m.device);
  o.Set("dtype", m.dtype);
  o.Set("vocabSize", num(env, m.vocab_size));
  o.Set("hiddenSize", num(env, m.hidden_size));
  o.Set("intermediateSize", num(env, m.intermediate_size));
  o.Set("numLayers", num(env, m.num_layers));
  o.Set("numHeads", num(env, m.num_heads));
  o.Set("numKvHeads", num(env, m.num_kv_heads));
  o.Set("numCodebooks", num(env, m.num_codebooks));
  o.Set("codebookVocab", num(env, m.codebook_vocab));
  o.Set("maxContext", num(env, m.max_context));
  o.Set("parameterCount", num(env, m.parameter_count));
  o.Set("weightBytes", num(env, m.weight_bytes));
  o.Set("kvCacheBytes", num(env, m.kv_cache_bytes));
  o.Set("hasTextHead", m.has_text_head);
  o.Set("loadSeconds", num(env, m.load_seconds));
  o.Set("decode", m.decode);
  o.Set("graphCaptureSeconds", num(env, m.graph_capture_seconds));
  const auto numbers = [&](const std::vector<std::int64_t>& values) {
    auto array = Napi::Array::New(env, values.size());
    for (std::size_t i = 0; i < values.size(); ++i) array.Set(static_cast<std::uint32_t>(i), num(env, values[i]));
    return array;
  };
  o.Set("kvBuckets", numbers(m.kv_buckets));
  o.Set("rowBuckets", numbers(m.row_buckets));
  o.Set("fusedKernels", m.fused_kernels);
  o.Set("slots", num(env, m.slots));
  o.Set("batching", m.batching);
  o.Set("slotContext", num(env, m.slot_context));
  o.Set("weightFormat", m.weight_format);
  return o;
}

Napi::Object write_codec_info(Napi::Env env, const CodecInfo& c) {
  auto o = Napi::Object::New(env);
  o.Set("codecDir", c.codec_dir);
  o.Set("sampleRate", num(env, c.sample_rate));
  o.Set("samplesPerFrame", num(env, c.samples_per_frame));
  o.Set("numQuantizers", num(env, c.num_quantizers));
  o.Set("codebookSize", num(env, c.codebook_size));
  o.Set("contextFrames", num(env, c.context_frames));
  o.Set("canEncode", c.can_encode);
  o.Set("loadSeconds", num(env, c.load_seconds));
  return o;
}

Napi::Object write_forward_result(Napi::Env env, const ForwardResult& r) {
  auto o = Napi::Object::New(env);
  auto positions = Napi::Int32Array::New(env, r.positions.size());
  for (std::size_t i = 0; i < r.positions.size(); ++i) positions[i] = static_cast<std::int32_t>(r.positions[i]);
  o.Set("positions", positions);
  o.Set("audioLogits", to_float32_array(env, r.audio_logits));
  o.Set("textLogits", r.text_logits.empty() ? env.Null() : Napi::Value(to_float32_array(env, r.text_logits)));
  o.Set("numCodebooks", num(env, r.num_codebooks));
  o.Set("codebookVocab", num(env, r.codebook_vocab));
  o.Set("vocabSize", num(env, r.vocab_size));
  o.Set("seconds", num(env, r.seconds));
  return o;
}

Napi::Object write_generate_result(Napi::Env env, const GenerateResult& r) {
  auto o = Napi::Object::New(env);
  o.Set("codes", to_int32_array(env, r.codes));
  o.Set("frames", num(env, r.frames));
  o.Set("numCodebooks", num(env, r.num_codebooks));
  o.Set("columns", num(env, r.columns));
  o.Set("promptPositions", num(env, r.prompt_positions));
  o.Set("stopReason", r.stop_reason);
  o.Set("prefillSeconds", num(env, r.prefill_seconds));
  o.Set("decodeSeconds", num(env, r.decode_seconds));
  o.Set("peakBatch", num(env, r.peak_batch));
  return o;
}

Napi::Object write_batch_status(Napi::Env env, const BatchStatus& b) {
  auto o = Napi::Object::New(env);
  o.Set("slots", num(env, b.slots));
  o.Set("busy", num(env, b.busy));
  o.Set("waiting", num(env, b.waiting));
  return o;
}

Napi::Object write_gpu_memory(Napi::Env env, const GpuMemory& m) {
  auto o = Napi::Object::New(env);
  o.Set("allocated", num(env, m.allocated));
  o.Set("reserved", num(env, m.reserved));
  o.Set("peakAllocated", num(env, m.peak_allocated));
  o.Set("free", num(env, m.free));
  o.Set("total", num(env, m.total));
  return o;
}

Napi::Object write_host_info(Napi::Env env, const HostInfo& h) {
  auto o = Napi::Object::New(env);
  o.Set("avx512Bf16", Napi::Boolean::New(env, h.avx512_bf16));
  o.Set("amxBf16", Napi::Boolean::New(env, h.amx_bf16));
  o.Set("availableMemory", num(env, h.available_memory));
  return o;
}

Napi::Object write_load_plan(Napi::Env env, const LoadPlan& p) {
  auto o = Napi::Object::New(env);
  o.Set("checkpointDtype", p.checkpoint_dtype);
  o.Set("parameterCount", num(env, p.parameter_count));
  o.Set("checkpointBytes", num(env, p.checkpoint_bytes));
  o.Set("weightBytes", num(env, p.weight_bytes));
  o.Set("kvCacheBytes", num(env, p.kv_cache_bytes));
  o.Set("reserveBytes", num(env, p.reserve_bytes));
  o.Set("neededBytes", num(env, p.needed_bytes));
  o.Set("availableBytes", num(env, p.available_bytes));
  return o;
}

Napi::Object write_load_progress(Napi::Env env, const LoadProgress& p) {
  auto o = Napi::Object::New(env);
  o.Set("phase", p.phase);
  o.Set("progress", num(env, p.progress));
  return o;
}

Napi::Object write_build_info(Napi::Env env, const BuildInfo& info) {
  auto o = Napi::Object::New(env);
  o.Set("torchVersion", Napi::String::New(env, info.torch_version));
  o.Set("cudaVersion", Napi::String::New(env, info.cuda_version));
  o.Set("kernelArchs", Napi::String::New(env, info.kernel_archs));
  return o;
}

Napi::Object write_constants(Napi::Env env) {
  auto o = Napi::Object::New(env);
  o.Set("abiVersion", num(env, kAbiVersion));
  auto codes = Napi::Array::New(env);
  std::uint32_t i = 0;
  for (auto code : kErrorCodes) codes.Set(i++, Napi::String::New(env, error_code_name(code)));
  o.Set("errorCodes", codes);
  auto limits = Napi::Object::New(env);
  limits.Set("maxRasWindow", num(env, static_cast<double>(kMaxRasWindow)));
  limits.Set("maxSlots", num(env, static_cast<double>(kMaxSlots)));
  o.Set("limits", limits);
  auto speed = Napi::Object::New(env);
  speed.Set("minimum", num(env, audio::kMinSpeed));
  speed.Set("maximum", num(env, audio::kMaxSpeed));
  o.Set("speedRange", speed);
  return o;
}

}  // namespace higgs::binding
