#include "lm/decode_state.h"

#include <algorithm>

#include "errors.h"

namespace higgs::lm {

DecodeState::DecodeState(const HiggsConfig& c, std::int64_t max_columns, const at::Device& device)
    : sampler(device, max_columns),
      num_codebooks_(c.num_codebooks),
      bos_(c.audio_stream_bos_id),
      eos_(c.audio_stream_eos_id),
      max_columns_(max_columns) {
  auto longs = at::TensorOptions().dtype(at::kLong).device(device);
  const auto K = num_codebooks_;
  step = at::zeros({1}, longs);
  position = at::zeros({1}, longs);
  previous = at::zeros({K}, longs);
  codebook_index_ = at::arange(K, longs);
  history_age_ = at::arange(kMaxRasWindow, longs).unsqueeze(1);
  history_ = at::full({kMaxRasWindow, K}, -1, longs);
  columns_ = at::zeros({max_columns, K}, longs);
  num_delay_ = at::zeros({1}, longs);
  remaining_ = at::full({1}, -1, longs);
  done_ = at::zeros({1}, longs.dtype(at::kBool));
  end_column_ = at::zeros({1}, longs);
}

void DecodeState::reset(const SamplingParams& params, const std::vector<Column>& prompt_audio_out,
                        std::int64_t first_position) {
  if (params.ras_window > kMaxRasWindow) {
    throw HiggsError(ErrorCode::Input, "ras_window must be at most " + std::to_string(kMaxRasWindow));
  }
  const auto K = num_codebooks_;
  sampler.set(params);
  // History newest first: the all-bos column 0, then the prompt's audio-out columns backwards.
  auto history = at::full({kMaxRasWindow, K}, -1, at::kLong);
  auto* h = history.data_ptr<std::int64_t>();
  std::fill(h, h + K, bos_);
  const auto n = std::min<std::int64_t>(kMaxRasWindow - 1, static_cast<std::int64_t>(prompt_audio_out.size()));
  for (std::int64_t i = 0; i < n; ++i) {
    const auto& column = prompt_audio_out[prompt_audio_out.size() - 1 - i];
    std::copy(column.begin(), column.end(), h + (i + 1) * K);
  }
  history_.copy_(history);
  previous.fill_(bos_);
  columns_.select(0, 0).fill_(bos_);
  step.fill_(1);
  position.fill_(first_position);
  num_delay_.zero_();
  remaining_.fill_(-1);
  done_.zero_();
  end_column_.zero_();
}

void DecodeState::advance(const at::Tensor& logits) {
  const auto K = num_codebooks_;
  // Sampling, then RAS: rows whose code already occurs ras_max_repeats times in the window
  // (the fed column included) take the redraw from the raw logits.
  auto chosen = static_sample_rows(logits, sampler, step);
  auto in_window = history_age_ < sampler.ras_window;
  auto repeats = (history_ == chosen.unsqueeze(0)).logical_and(in_window).sum(0);
  auto repeat = (repeats >= sampler.ras_max_repeats).logical_and(sampler.ras_window > 0);
  auto column = at::where(repeat, static_resample_raw(logits, sampler, step), chosen);

  // Delay pattern ramp-in: in column s (1 <= s < K) codebooks s..K-1 are still bos.
  auto ramping = (num_delay_ + 1) < K;
  column = column.masked_fill(ramping.logical_and(codebook_index_ > num_delay_), bos_);
  auto num_delay = num_delay_ + ramping.to(at::kLong);
  // Ramp-out: the first eos (lowest codebook) forces eos below it and starts the countdown;
  // afterwards each column forces one more codebook to eos.
  auto waiting = (remaining_ < 0).to(at::kLong);
  auto is_eos = column == eos_;
  auto found = is_eos.any().view({1}).to(at::kLong);
  auto first_eos = is_eos.to(at::kLong).argmax().view({1});
  auto limit = waiting * found * first_eos + (1 - waiting) * (K - remaining_);
  column = column.masked_fill(codebook_index_ < limit, eos_);
  auto remaining = waiting * (found * (K - first_eos - 1) - (1 - found)) + (1 - waiting) * (remaining_ - 1);
  auto ended = remaining == 0;

  columns_.index_copy_(0, step, column.view({1, K}));
  history_.copy_(at::cat({column.view({1, K}), history_.narrow(0, 0, kMaxRasWindow - 1)}, 0));
  previous.copy_(column);
  end_column_.copy_(at::where(done_.logical_not().logical_and(ended), step, end_column_));
  done_.logical_or_(ended);
  remaining_.copy_(remaining.masked_fill(ended, -1));
  num_delay_.copy_(num_delay.masked_fill(ended, 0));
  step.add_(1);
  position.add_(1);
}

bool DecodeState::done() const { return done_.item<bool>(); }

std::int64_t DecodeState::end_column() const { return end_column_.item<std::int64_t>(); }

std::vector<Column> DecodeState::columns(std::int64_t begin, std::int64_t end) const {
  std::vector<Column> out;
  if (end <= begin) return out;
  auto host = columns_.narrow(0, begin, end - begin).to(at::kCPU).contiguous();
  const auto* p = host.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < end - begin; ++i) out.emplace_back(p + i * num_codebooks_, p + (i + 1) * num_codebooks_);
  return out;
}

}  // namespace higgs::lm
