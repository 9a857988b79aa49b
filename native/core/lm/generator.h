// The TTS generation loop (original boson-ai semantics, docs/model.md#generation-loop): prefill the prompt
// (which ends with <|audio_out_bos|>), start a segment with the all-bos column, then one decode
// step per column: sample 8 codes, repetition-aware resampling, delay-pattern overrides, until the
// ramp-out completes, the frame cap or the KV cache is reached. Output: codes [8, T] with the
// delay reverted, clipped and trimmed; reverted frames stream out while generating.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "lm/delay_pattern.h"
#include "lm/higgs_lm.h"
#include "lm/sampling.h"

namespace higgs::lm {

enum class StopReason { AudioEnd, MaxFrames, ContextFull };
const char* stop_reason_name(StopReason reason);

struct GenerationInput {
  LmInput prompt;  // start_pos is ignored: every generation starts from an empty cache
  SamplingParams sampling;
  std::int64_t max_frames = 2048;  // columns, counting the first all-bos one (HF max_new_tokens)
};

struct GenerationCallbacks {
  std::function<bool()> cancelled;  // polled before every decode step
  // Reverted, clipped frames [n][K] starting at output frame index `first` (0-based).
  std::function<void(const std::vector<Column>& frames, std::int64_t first)> on_frames;
  std::function<void(std::int64_t columns, std::int64_t max_columns)> on_progress;
  std::int64_t stream_every = 8;  // frames per on_frames call (the last call may hold fewer)
};

struct GenerationOutput {
  std::vector<Column> columns;      // the segment in delay form, first all-bos column included
  std::vector<std::int32_t> codes;  // [K][frames], codebook-major
  std::int64_t frames = 0;
  StopReason stop = StopReason::MaxFrames;
  std::int64_t prompt_positions = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  std::int64_t peak_batch = 1;  // the most generations decoded together while this one ran
};

// The input of one eager audio step: `column` fed at KV position `position`.
LmInput column_input(const Column& column, std::int64_t position, std::int64_t audio_out_token_id);

// Prompts are prefilled in pieces of this many positions, at fixed boundaries (0, P, 2P, ...):
// a long prompt joining a running batch holds the other rows up for one piece per step, and
// since the boundaries never depend on what else runs, neither do the prompt's KV values.
constexpr std::int64_t kPrefillPiece = 128;
// Positions [begin, end) of `prompt` as an input starting at KV position `begin`.
LmInput prompt_piece(const LmInput& prompt, std::int64_t begin, std::int64_t end);
// The whole prompt into `cache` from position 0, piece by piece (what every decode path runs).
void prefill_prompt(HiggsLM& model, const LmInput& prompt, KvCache& cache);

class DecodeRunner;

// The prompt's length, checked against what a cache of max_context holds (E_INPUT otherwise).
std::int64_t checked_prompt_length(const LmInput& prompt, std::int64_t max_context);

// The audio-out columns already in the prompt (reference clips in assistant turns, earlier
// chunks): the RAS window starts on them. Audio-in clips (<|AUDIO|>) are not audio-out.
std::vector<Column> prompt_audio_out_columns(const LmInput& prompt, std::int64_t audio_in_token_id);

// Hands reverted frames to on_frames as columns arrive. Output frame i (reverted frame i + 1) is
// final, and not the dropped last frame, once column i + 1 + K exists.
struct FrameStreamer {
  const GenerationCallbacks& cb;
  std::int64_t K, max_code;
  std::int64_t streamed = 0;  // output frames already handed to on_frames

  // all: also a last group shorter than cb.stream_every (the generation has stopped).
  void flush(const std::vector<Column>& columns, bool all);
};

// Throws HiggsError(E_CANCELLED) when `cancelled` turns true; frames streamed so far stay valid.
// With a runner (made for this model) the decode steps are the static, device-resident ones
// (CUDA graphs when the runner has them): the host reads the state every kCheckEvery steps, so
// up to kCheckEvery - 1 steps past the end are computed and dropped. Without one, each step runs
// eagerly with the sampling and delay state on the host.
GenerationOutput generate(HiggsLM& model, const GenerationInput& input, const GenerationCallbacks& callbacks,
                          DecodeRunner* runner = nullptr);
constexpr std::int64_t kCheckEvery = 4;

// One generation decoded eagerly, one column per step(): generate()'s loop without a runner, as
// an object, so that a SlotBatch can interleave several generations over their own KV caches.
// A generation run through it gives the same columns as generate() over the model's own cache:
// both are this code, and every row is computed as at batch 1.
class EagerGeneration {
 public:
  EagerGeneration(HiggsLM& model, KvCache& cache, GenerationInput input, GenerationCallbacks callbacks);
  ~EagerGeneration();
  EagerGeneration(const EagerGeneration&) = delete;
  EagerGeneration& operator=(const EagerGeneration&) = delete;

  // Prefills the next kPrefillPiece positions of the prompt into the cache; once the whole
  // prompt is there, starts the segment with the all-bos column and returns true.
  bool prefill_piece();
  // The whole prompt (prefill_piece until it returns true).
  void prefill();
  // Whether the request was cancelled (polled by step() itself; a batch asks while it waits).
  bool cancelled() const;
  // Polls cancellation (E_CANCELLED), then produces one column. True once the generation has
  // stopped (audio end, frame cap or context full); step() must not be called after that.
  // step() = begin_step(), a forward of fed() at position(), accept(its logits).
  bool step();
  // The halves of step() for a batched forward of several generations (SlotBatch fast mode):
  // begin_step polls cancellation and the caps (true = stopped, no column to compute); accept
  // takes the audio logits [K, V] of fed() at position() and samples the next column.
  bool begin_step();
  const Column& fed() const;
  std::int64_t position() const;
  KvCache& cache() const;
  bool accept(const at::Tensor& logits);
  // accept() for a batch that draws every row's column at once: the settings and the index of
  // the column being produced, then the drawn column and its RAS redraw (taken for the
  // codebooks whose code repeats too often).
  const SamplingParams& sampling() const;
  std::int64_t producing() const;
  bool accept_drawn(Column chosen, const Column& redraw);
  // Streams what is left and reverts the delay pattern; call once, after step() returned true.
  GenerationOutput finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// RAS (docs/model.md#sampling): the codebooks whose chosen code occurs at least `max_repeats` times
// in the last `window` columns of `history` (audio-out context plus generated columns, the
// column just fed included; bos/eos count, as in the original).
std::vector<bool> ras_rows(const std::vector<Column>& history, const Column& chosen, std::int64_t window,
                           std::int64_t max_repeats);

}  // namespace higgs::lm
