#include "lm/generator.h"

#include <algorithm>
#include <chrono>

#include "errors.h"
#include "lm/decode_runner.h"

namespace higgs::lm {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Column to_column(const at::Tensor& codes) {
  auto host = codes.to(at::kCPU, at::kLong).contiguous();
  return Column(host.data_ptr<std::int64_t>(), host.data_ptr<std::int64_t>() + host.numel());
}

}  // namespace

std::vector<Column> prompt_audio_out_columns(const LmInput& prompt, std::int64_t audio_in_token_id) {
  std::vector<Column> columns;
  auto ids = prompt.input_ids.contiguous();
  auto mask = prompt.audio_mask.to(at::kBool).contiguous();
  auto codes = prompt.audio_codes.to(at::kLong).contiguous();
  const auto K = codes.size(1);
  std::int64_t frame = 0;
  for (std::int64_t i = 0; i < ids.size(0); ++i) {
    if (!mask[i].item<bool>()) continue;
    if (ids[i].item<std::int64_t>() != audio_in_token_id) {
      const auto* row = codes.data_ptr<std::int64_t>() + frame * K;
      columns.emplace_back(row, row + K);
    }
    ++frame;
  }
  return columns;
}

std::int64_t checked_prompt_length(const LmInput& prompt, std::int64_t max_context) {
  const auto L = prompt.input_ids.dim() == 1 ? prompt.input_ids.size(0) : 0;
  if (L < 1) throw HiggsError(ErrorCode::Input, "input_ids must be a non-empty 1-D sequence");
  if (L > max_context) {
    throw HiggsError(ErrorCode::Input, "context of " + std::to_string(L) + " positions exceeds max_context " +
                                           std::to_string(max_context));
  }
  return L;
}

LmInput column_input(const Column& column, std::int64_t position, std::int64_t audio_out_token_id) {
  LmInput in;
  in.input_ids = at::full({1}, audio_out_token_id, at::kLong);
  in.audio_mask = at::ones({1}, at::kBool);
  in.audio_codes = at::tensor(column, at::kLong).view({1, -1});
  in.start_pos = position;
  return in;
}

LmInput prompt_piece(const LmInput& prompt, std::int64_t begin, std::int64_t end) {
  const auto L = prompt.input_ids.size(0);
  if (begin == 0 && end == L) {
    LmInput whole = prompt;
    whole.start_pos = 0;
    return whole;
  }
  LmInput piece;
  piece.input_ids = prompt.input_ids.narrow(0, begin, end - begin);
  piece.audio_mask = prompt.audio_mask.narrow(0, begin, end - begin);
  // The audio frames of the piece follow the frames of the positions before it.
  const auto frames_before = prompt.audio_mask.narrow(0, 0, begin).to(at::kLong).sum().item<std::int64_t>();
  const auto frames = piece.audio_mask.to(at::kLong).sum().item<std::int64_t>();
  piece.audio_codes = prompt.audio_codes.narrow(0, frames_before, frames);
  piece.start_pos = begin;
  return piece;
}

void prefill_prompt(HiggsLM& model, const LmInput& prompt, KvCache& cache) {
  const auto L = prompt.input_ids.size(0);
  for (std::int64_t begin = 0; begin < L; begin += kPrefillPiece) {
    model.forward(prompt_piece(prompt, begin, std::min(L, begin + kPrefillPiece)), LogitsAt::Last, false, cache);
  }
}

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::AudioEnd: return "audio_end";
    case StopReason::MaxFrames: return "max_frames";
    case StopReason::ContextFull: return "context_full";
  }
  return "unknown";
}

std::vector<bool> ras_rows(const std::vector<Column>& history, const Column& chosen, std::int64_t window,
                           std::int64_t max_repeats) {
  std::vector<bool> rows(chosen.size(), false);
  if (window <= 0) return rows;
  const auto begin = history.size() > static_cast<size_t>(window) ? history.size() - window : 0;
  for (size_t k = 0; k < chosen.size(); ++k) {
    std::int64_t count = 0;
    for (size_t c = begin; c < history.size(); ++c) count += history[c][k] == chosen[k];
    rows[k] = count >= max_repeats;
  }
  return rows;
}

void FrameStreamer::flush(const std::vector<Column>& columns, bool all) {
  const auto n = std::max<std::int64_t>(0, static_cast<std::int64_t>(columns.size()) - K - 1);
  if (!cb.on_frames || n <= streamed || (!all && n - streamed < cb.stream_every)) return;
  std::vector<Column> frames;
  for (auto i = streamed; i < n; ++i) frames.push_back(reverted_frame(columns, i + 1, max_code));
  cb.on_frames(frames, streamed);
  streamed = n;
}

namespace {

void check_cancelled(const GenerationCallbacks& cb) {
  if (cb.cancelled && cb.cancelled()) throw HiggsError(ErrorCode::Cancelled, "generation was cancelled");
}

// Static decode: steps are launched without waiting; every kCheckEvery steps the host reads the
// "done" flag and copies the new columns (the only synchronisation).
void decode_static(HiggsLM& model, DecodeRunner& runner, const GenerationInput& input, const GenerationCallbacks& cb,
                   const std::vector<Column>& prompt_history, FrameStreamer& streamer, GenerationOutput& out) {
  auto& state = runner.state();
  state.reset(input.sampling, prompt_history, out.prompt_positions);
  std::int64_t launched = 1;  // columns produced on the device, column 0 included
  auto fetch = [&] {
    const bool done = state.done();
    const auto end = done ? state.end_column() + 1 : launched;
    auto fresh = state.columns(static_cast<std::int64_t>(out.columns.size()), end);
    out.columns.insert(out.columns.end(), fresh.begin(), fresh.end());
    streamer.flush(out.columns, false);
    if (done) out.stop = StopReason::AudioEnd;
    return done;
  };
  const auto max_context = model.cache().max_context();
  while (launched < input.max_frames) {
    const auto position = out.prompt_positions + launched - 1;
    if (position >= max_context) {
      out.stop = StopReason::ContextFull;
      break;
    }
    check_cancelled(cb);
    runner.step(position);
    ++launched;
    if (cb.on_progress) cb.on_progress(launched, input.max_frames);
    // Also check at the first column that completes a frame: the first audio goes out at once.
    const bool first_frame = launched == model.config().num_codebooks + 2;
    if ((launched % kCheckEvery == 0 || first_frame) && fetch()) break;
  }
  model.cache().set_length(out.prompt_positions + launched - 1);
  if (out.stop != StopReason::AudioEnd) fetch();
}

}  // namespace

// Eager decode: one HiggsLM::forward per column, sampling, RAS and the delay pattern on the host.
struct EagerGeneration::Impl {
  HiggsLM& model;
  KvCache& cache;
  GenerationInput input;
  GenerationCallbacks cb;
  std::int64_t K, max_code;
  DelayPattern delay;
  std::vector<Column> history;  // audio-out context of the prompt, then every column
  FrameStreamer streamer;
  GenerationOutput out;
  std::int64_t prefilled = 0;  // prompt positions already in the cache
  Clock::time_point decode_start;

  // RAS: the codebooks of `column` that repeat too often in the window.
  std::vector<bool> repeats(const Column& column) const {
    return ras_rows(history, column, input.sampling.ras_window, input.sampling.ras_max_repeats);
  }

  // The tail of a step: the repeating codebooks take the redraw, then the delay pattern, the
  // bookkeeping and the stream. True once the generation has stopped.
  bool take(Column column, const std::vector<bool>& repeat, const Column& redraw) {
    for (std::int64_t k = 0; k < K; ++k) if (repeat[k]) column[k] = redraw[k];
    const bool ended = delay.apply(column);
    out.columns.push_back(column);
    history.push_back(column);
    streamer.flush(out.columns, false);
    if (cb.on_progress) cb.on_progress(static_cast<std::int64_t>(out.columns.size()), input.max_frames);
    if (ended) {
      out.stop = StopReason::AudioEnd;
      return true;
    }
    return static_cast<std::int64_t>(out.columns.size()) >= input.max_frames;
  }

  Impl(HiggsLM& m, KvCache& c, GenerationInput in, GenerationCallbacks callbacks)
      : model(m),
        cache(c),
        input(std::move(in)),
        cb(std::move(callbacks)),
        K(m.config().num_codebooks),
        max_code(m.config().audio_stream_bos_id - 1),  // clip: stream bos/eos never reach the codec
        delay(K, m.config().audio_stream_bos_id, m.config().audio_stream_eos_id),
        streamer{cb, K, max_code} {}
};

EagerGeneration::EagerGeneration(HiggsLM& model, KvCache& cache, GenerationInput input, GenerationCallbacks callbacks)
    : impl_(std::make_unique<Impl>(model, cache, std::move(input), std::move(callbacks))) {
  if (impl_->input.max_frames < 1) throw HiggsError(ErrorCode::Input, "max_frames must be at least 1");
}

EagerGeneration::~EagerGeneration() = default;

bool EagerGeneration::prefill_piece() {
  auto& g = *impl_;
  check_cancelled(g.cb);
  const auto& config = g.model.config();
  const auto& prompt = g.input.prompt;
  const auto L = checked_prompt_length(prompt, g.cache.max_context());
  if (g.prefilled == 0) {
    g.out.prompt_positions = L;
    g.history = prompt_audio_out_columns(prompt, config.audio_in_token_id);
  }
  // The KV cache is reset per generation (and per long-form chunk): positions start at 0.
  const auto end = std::min(L, g.prefilled + kPrefillPiece);
  auto t0 = Clock::now();
  g.model.forward(prompt_piece(prompt, g.prefilled, end), LogitsAt::Last, false, g.cache);  // <|audio_out_bos|> is fed like any text token
  g.out.prefill_seconds += since(t0);
  g.prefilled = end;
  if (end < L) return false;
  g.out.columns.push_back(g.delay.first_column());
  g.history.push_back(g.out.columns.back());
  g.out.stop = StopReason::MaxFrames;
  g.decode_start = Clock::now();
  return true;
}

bool EagerGeneration::cancelled() const { return impl_->cb.cancelled && impl_->cb.cancelled(); }

void EagerGeneration::prefill() {
  while (!prefill_piece()) {
  }
}

bool EagerGeneration::begin_step() {
  auto& g = *impl_;
  if (static_cast<std::int64_t>(g.out.columns.size()) >= g.input.max_frames) return true;  // MaxFrames
  if (position() >= g.cache.max_context()) {
    g.out.stop = StopReason::ContextFull;
    return true;
  }
  check_cancelled(g.cb);
  return false;
}

const Column& EagerGeneration::fed() const { return impl_->out.columns.back(); }

std::int64_t EagerGeneration::position() const {
  return impl_->out.prompt_positions + static_cast<std::int64_t>(impl_->out.columns.size()) - 1;
}

KvCache& EagerGeneration::cache() const { return impl_->cache; }

bool EagerGeneration::step() {
  auto& g = *impl_;
  if (begin_step()) return true;
  auto logits = g.model.forward(column_input(fed(), position(), g.model.config().audio_out_token_id),
                                LogitsAt::Last, false, g.cache)
                    .audio_logits[0];
  return accept(logits);
}

const SamplingParams& EagerGeneration::sampling() const { return impl_->input.sampling; }

std::int64_t EagerGeneration::producing() const { return static_cast<std::int64_t>(impl_->out.columns.size()); }

bool EagerGeneration::accept(const at::Tensor& audio_logits) {
  auto& g = *impl_;
  const auto& p = g.input.sampling;
  const auto step = producing();
  auto logits = audio_logits.to(g.model.options().device());  // [K, V] fp32
  auto column = to_column(sample_rows(logits, p, step));
  const auto repeat = g.repeats(column);
  if (std::find(repeat.begin(), repeat.end(), true) == repeat.end()) return g.take(std::move(column), repeat, {});
  // The redraw only when some codebook repeats; also in greedy mode, as the original.
  return g.take(std::move(column), repeat, to_column(resample_raw(logits, p, step)));
}

bool EagerGeneration::accept_drawn(Column column, const Column& redraw) {
  const auto repeat = impl_->repeats(column);
  return impl_->take(std::move(column), repeat, redraw);
}

GenerationOutput EagerGeneration::finish() {
  auto& g = *impl_;
  g.out.decode_seconds = since(g.decode_start);
  g.streamer.flush(g.out.columns, true);
  g.out.codes = revert_and_trim(g.out.columns, g.K, g.max_code, &g.out.frames);
  return std::move(g.out);
}

GenerationOutput generate(HiggsLM& model, const GenerationInput& input, const GenerationCallbacks& cb,
                          DecodeRunner* runner) {
  if (!runner) {
    EagerGeneration generation(model, model.cache(), input, cb);
    generation.prefill();
    while (!generation.step()) {
    }
    return generation.finish();
  }
  const auto& config = model.config();
  const auto K = config.num_codebooks;
  const auto max_code = config.audio_stream_bos_id - 1;  // clip: stream bos/eos never reach the codec
  if (input.max_frames < 1) throw HiggsError(ErrorCode::Input, "max_frames must be at least 1");

  GenerationOutput out;
  LmInput prompt = input.prompt;
  prompt.start_pos = 0;  // the KV cache is reset per generation (and per long-form chunk)
  out.prompt_positions = prompt.input_ids.size(0);
  auto history = prompt_audio_out_columns(prompt, config.audio_in_token_id);

  auto t0 = Clock::now();
  prefill_prompt(model, prompt, model.cache());  // <|audio_out_bos|> is fed like any text token
  out.prefill_seconds = since(t0);

  out.columns.push_back(DelayPattern(K, config.audio_stream_bos_id, config.audio_stream_eos_id).first_column());
  FrameStreamer streamer{cb, K, max_code};
  t0 = Clock::now();
  out.stop = StopReason::MaxFrames;
  decode_static(model, *runner, input, cb, history, streamer, out);
  out.decode_seconds = since(t0);
  streamer.flush(out.columns, true);
  out.codes = revert_and_trim(out.columns, K, max_code, &out.frames);
  return out;
}

}  // namespace higgs::lm
