// The prompts higgs-bench feeds the engine (token ids of the real Higgs special tokens; the text
// ids are arbitrary, which random weights do not mind).
#pragma once

#include <cstdint>

#include "engine/engine.h"

namespace higgs::bench {

// `length` positions: the first half text, the second half audio-out frames, for prefill and
// step timing (sampling settings are the request defaults, seeded).
GenerateRequest mixed_prompt(std::int64_t length, std::int64_t codebooks, std::uint64_t seed);

// A voice-clone prompt: system and user text, an assistant turn holding `voice_seconds` of
// reference audio (25 frames per second) and its transcript, the target text, then
// <|audio_out_bos|>: what the first audio frame of a cloned-voice request waits for.
GenerateRequest voice_prompt(std::int64_t voice_seconds, std::int64_t codebooks, std::uint64_t seed);

}  // namespace higgs::bench
