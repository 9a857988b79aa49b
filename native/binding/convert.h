// Every conversion between JS values and the engine's structs (native/core/engine/engine.h): one
// reader or writer per struct, in one place, so a field is named once on this side of the boundary.
// Readers check types only (an Int32Array where one is due, a finite number, an integer that
// fits); what a value may be is the request schema's business (lib/request) and, where a buffer
// depends on it, the core's (engine.h). lib/native/addon-types.ts is the same surface seen from TS.
#pragma once

#include <napi.h>

#include <cstdint>
#include <vector>

#include "engine/engine.h"

namespace higgs::binding {

// A copy of a typed array of exactly the element type T (float: Float32Array, std::uint8_t:
// Uint8Array, std::int32_t: Int32Array); `what` names the value in the E_INPUT message.
template <typename T>
std::vector<T> typed_array(const Napi::Value& value, const char* what);

// A number > 0 (so not NaN); E_INPUT "<what> must be a positive number" otherwise.
double positive_number(const Napi::Value& value, const char* what);

EngineOptions read_engine_options(const Napi::Value& value);
ForwardRequest read_forward_request(const Napi::Value& value);
// Every sampling field must be given: the defaults are the request schema's (one table), never
// the struct's (those serve the native tests and higgs-bench).
GenerateRequest read_generate_request(const Napi::Value& value);

Napi::Object write_model_info(Napi::Env env, const ModelInfo& info);
Napi::Object write_codec_info(Napi::Env env, const CodecInfo& info);
Napi::Object write_forward_result(Napi::Env env, const ForwardResult& result);
Napi::Object write_generate_result(Napi::Env env, const GenerateResult& result);
Napi::Object write_gpu_memory(Napi::Env env, const GpuMemory& memory);
Napi::Object write_host_info(Napi::Env env, const HostInfo& info);
Napi::Object write_load_plan(Napi::Env env, const LoadPlan& plan);
Napi::Object write_batch_status(Napi::Env env, const BatchStatus& status);
Napi::Object write_load_progress(Napi::Env env, const LoadProgress& progress);
Napi::Object write_build_info(Napi::Env env, const BuildInfo& info);

// What both sides must agree on, exported as the addon's `constants`: the ABI version, the error
// code names and the core's own bounds (a test checks the request schema against them).
Napi::Object write_constants(Napi::Env env);

}  // namespace higgs::binding
