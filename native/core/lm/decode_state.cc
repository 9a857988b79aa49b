#include "lm/decode_state.h"

#include <algorithm>

#include "errors.h"

namespace higgs::lm {

DecodeState::DecodeState(const HiggsConfig& c, std::int64_t max_columns, const at::Device& device, std::int64_t rows)
    : sampler(device, rows),
      num_codebooks_(c.num_codebooks),
      bos_(c.audio_stream_bos_id),
      eos_(c.audio_stream_eos_id),
      max_columns_(max_columns) {
  if (rows < 1) throw HiggsError(ErrorCode::Input, "a decode state needs at least one row");
  auto longs = at::TensorOptions().dtype(at::kLong).device(device);
  const auto K = num_codebooks_;
  step = at::ones({rows}, longs);
  position = at::zeros({rows}, longs);
  previous = at::full({rows, K}, bos_, longs);
  codebook_index_ = at::arange(K, longs);
  history_age_ = at::arange(kMaxRasWindow, longs).unsqueeze(1);
  history_ = at::full({rows, kMaxRasWindow, K}, -1, longs);
  columns_ = at::zeros({rows, max_columns, K}, longs);
  num_delay_ = at::zeros({rows}, longs);
  remaining_ = at::full({rows}, -1, longs);
  live_ = at::zeros({rows}, longs.dtype(at::kBool));
  done_ = at::zeros({rows}, longs.dtype(at::kBool));
  end_column_ = at::zeros({rows}, longs);
}

void DecodeState::reset(const SamplingParams& params, const std::vector<Column>& prompt_audio_out,
                        std::int64_t first_position, std::int64_t row) {
  if (params.ras_window > kMaxRasWindow) {
    throw HiggsError(ErrorCode::Input, "ras_window must be at most " + std::to_string(kMaxRasWindow));
  }
  const auto K = num_codebooks_;
  sampler.set(params, row);
  // History newest first: the all-bos column 0, then the prompt's audio-out columns backwards.
  auto history = at::full({kMaxRasWindow, K}, -1, at::kLong);
  auto* h = history.data_ptr<std::int64_t>();
  std::fill(h, h + K, bos_);
  const auto n = std::min<std::int64_t>(kMaxRasWindow - 1, static_cast<std::int64_t>(prompt_audio_out.size()));
  for (std::int64_t i = 0; i < n; ++i) {
    const auto& column = prompt_audio_out[prompt_audio_out.size() - 1 - i];
    std::copy(column.begin(), column.end(), h + (i + 1) * K);
  }
  history_[row].copy_(history);
  previous[row].fill_(bos_);
  columns_[row][0].fill_(bos_);
  step[row].fill_(1);
  position[row].fill_(first_position);
  num_delay_[row].zero_();
  remaining_[row].fill_(-1);
  done_[row].fill_(false);
  end_column_[row].zero_();
  live_[row].fill_(true);
}

void DecodeState::stop(std::int64_t row) { live_[row].fill_(false); }

at::Tensor DecodeState::advancing(std::int64_t B) const {
  return live_.narrow(0, 0, B).logical_and(done_.narrow(0, 0, B).logical_not());
}

void DecodeState::advance(const at::Tensor& audio_logits) {
  const auto logits = audio_logits.dim() == 2 ? audio_logits.unsqueeze(0) : audio_logits;
  const auto K = num_codebooks_, B = logits.size(0);
  const auto rows = [B](const at::Tensor& t) { return t.narrow(0, 0, B); };
  auto step_b = rows(step), position_b = rows(position), previous_b = rows(previous);
  auto history_b = rows(history_), columns_b = rows(columns_), num_delay_b = rows(num_delay_);
  auto remaining_b = rows(remaining_), done_b = rows(done_), end_b = rows(end_column_);
  const auto active = advancing(B);  // [B]
  const auto active2 = active.view({B, 1});

  // Sampling, then RAS: codebooks whose code already occurs ras_max_repeats times in the window
  // (the fed column included) take the redraw from the raw logits.
  auto chosen = static_sample_rows(logits, sampler, step_b);  // [B, K]
  auto window = rows(sampler.ras_window).view({B, 1, 1});
  auto in_window = history_age_.unsqueeze(0) < window;  // [B, W, 1]
  auto repeats = (history_b == chosen.unsqueeze(1)).logical_and(in_window).sum(1);  // [B, K]
  auto repeat = (repeats >= rows(sampler.ras_max_repeats).view({B, 1})).logical_and(window.view({B, 1}) > 0);
  auto column = at::where(repeat, static_resample_raw(logits, sampler, step_b), chosen);

  // Delay pattern ramp-in: in column s (1 <= s < K) codebooks s..K-1 are still bos.
  auto ramping = (num_delay_b + 1) < K;  // [B]
  column = column.masked_fill(ramping.view({B, 1}).logical_and(codebook_index_.view({1, K}) > num_delay_b.view({B, 1})), bos_);
  auto num_delay = num_delay_b + ramping.to(at::kLong);
  // Ramp-out: the first eos (lowest codebook) forces eos below it and starts the countdown;
  // afterwards each column forces one more codebook to eos.
  auto waiting = (remaining_b < 0).to(at::kLong);
  auto is_eos = column == eos_;
  auto found = is_eos.any(1).to(at::kLong);
  auto first_eos = is_eos.to(at::kLong).argmax(1);
  auto limit = waiting * found * first_eos + (1 - waiting) * (K - remaining_b);
  column = column.masked_fill(codebook_index_.view({1, K}) < limit.view({B, 1}), eos_);
  auto remaining = waiting * (found * (K - first_eos - 1) - (1 - found)) + (1 - waiting) * (remaining_b - 1);
  auto ended = remaining == 0;

  // Only the rows that advance write: the others keep every buffer as it was.
  auto slot = step_b.clamp_max(max_columns_ - 1).view({B, 1, 1}).expand({B, 1, K});
  auto kept = columns_b.gather(1, slot);
  columns_b.scatter_(1, slot, at::where(active.view({B, 1, 1}), column.view({B, 1, K}), kept));
  auto shifted = at::cat({column.view({B, 1, K}), history_b.narrow(1, 0, kMaxRasWindow - 1)}, 1);
  history_b.copy_(at::where(active.view({B, 1, 1}), shifted, history_b));
  previous_b.copy_(at::where(active2, column, previous_b));
  const auto ends_now = active.logical_and(ended);
  end_b.copy_(at::where(ends_now, step_b, end_b));
  done_b.logical_or_(ends_now);
  remaining_b.copy_(at::where(active, remaining.masked_fill(ended, -1), remaining_b));
  num_delay_b.copy_(at::where(active, num_delay.masked_fill(ended, 0), num_delay_b));
  const auto moved = active.to(at::kLong);
  step_b.add_(moved);
  position_b.add_(moved);
}

bool DecodeState::done() const { return done_[0].item<bool>(); }

std::int64_t DecodeState::end_column() const { return end_column_[0].item<std::int64_t>(); }

std::vector<Column> DecodeState::columns(std::int64_t begin, std::int64_t end) const {
  std::vector<Column> out;
  if (end <= begin) return out;
  auto host = columns_[0].narrow(0, begin, end - begin).to(at::kCPU).contiguous();
  const auto* p = host.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < end - begin; ++i) out.emplace_back(p + i * num_codebooks_, p + (i + 1) * num_codebooks_);
  return out;
}

at::Tensor DecodeState::window(std::int64_t B, std::int64_t n) const {
  const auto K = num_codebooks_;
  auto first = step.narrow(0, 0, B).view({B, 1}) - n;
  auto index = (first + at::arange(n, step.options()).view({1, n})).clamp(0, max_columns_ - 1);
  auto picked = columns_.narrow(0, 0, B).gather(1, index.view({B, n, 1}).expand({B, n, K})).view({B, n * K});
  return at::cat({done_.narrow(0, 0, B).to(at::kLong).view({B, 1}), end_column_.narrow(0, 0, B).view({B, 1}), picked}, 1);
}

}  // namespace higgs::lm
