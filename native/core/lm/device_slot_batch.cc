// DeviceSlotBatch (device_slot_batch.h): host bookkeeping around a multi-row DecodeRunner.
#include "lm/device_slot_batch.h"

#include <algorithm>

#include "errors.h"

namespace higgs::lm {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

struct DeviceSlotBatch::Row {
  std::uint64_t id = 0;  // admission number + 1; 0 = free
  GenerationInput input;
  GenerationCallbacks cb;
  Done done;
  std::unique_ptr<FrameStreamer> streamer;  // refers to cb
  GenerationOutput out;                     // out.columns: the columns read back so far
  std::vector<Column> history;              // the prompt's audio-out columns (RAS context)
  std::int64_t prefilled = 0;               // prompt positions in the cache
  bool prefilling = true;
  std::int64_t launched = 0;  // columns the device has produced or been asked for, column 0 included
  bool stopping = false;      // stopped by the host (cap): retires once a read covers `launched`
  StopReason stop = StopReason::MaxFrames;
  std::int64_t peak_batch = 0;
  Clock::time_point decode_start;

  bool decoding() const { return id != 0 && !prefilling; }
  std::int64_t position() const { return out.prompt_positions + launched - 1; }  // of the column fed next
};

struct DeviceSlotBatch::Read {
  std::int64_t rows = 0, n = 0;         // rows 0..rows-1, n columns each
  std::vector<std::uint64_t> ids;       // the generation each row held when the read started (0: none)
  std::vector<std::int64_t> from, upto;  // the columns [from, upto) it covers at most
};

DeviceSlotBatch::DeviceSlotBatch(HiggsLM& model, std::int64_t slots, BatchMode mode, bool use_graphs,
                                 bool fused_kernels)
    : model_(model),
      mode_(mode),
      arena_(model.config().num_layers, slots, model.cache().max_context(), model.config().num_kv_heads,
             model.config().head_dim, model.options()),
      runner_(model, arena_, mode == BatchMode::Fast, use_graphs, fused_kernels) {
  for (std::int64_t s = 0; s < slots; ++s) rows_.push_back(std::make_unique<Row>());
}

DeviceSlotBatch::~DeviceSlotBatch() = default;

bool DeviceSlotBatch::prefilling() const {
  return std::any_of(rows_.begin(), rows_.end(), [](const auto& row) { return row->id != 0 && row->prefilling; });
}

void DeviceSlotBatch::admit(GenerationInput input, GenerationCallbacks callbacks, Done done) {
  std::size_t slot = 0;
  while (slot < rows_.size() && rows_[slot]->id != 0) ++slot;
  if (slot == rows_.size()) throw HiggsError(ErrorCode::Internal, "DeviceSlotBatch::admit with every slot busy");
  try {
    if (callbacks.cancelled && callbacks.cancelled()) throw HiggsError(ErrorCode::Cancelled, "generation was cancelled");
    if (input.max_frames < 1) throw HiggsError(ErrorCode::Input, "max_frames must be at least 1");
    if (input.sampling.ras_window > kMaxRasWindow) {
      throw HiggsError(ErrorCode::Input, "ras_window must be at most " + std::to_string(kMaxRasWindow));
    }
    const auto& c = model_.config();
    auto row = std::make_unique<Row>();
    row->out.prompt_positions = checked_prompt_length(input.prompt, arena_.max_context());
    row->history = prompt_audio_out_columns(input.prompt, c.audio_in_token_id);
    row->input = std::move(input);
    row->cb = std::move(callbacks);
    row->streamer = std::make_unique<FrameStreamer>(FrameStreamer{row->cb, c.num_codebooks, c.audio_stream_bos_id - 1});
    row->done = std::move(done);
    row->id = ++admissions_;
    rows_[slot] = std::move(row);
    ++busy_;
  } catch (...) {
    done(std::current_exception(), nullptr);
  }
}

void DeviceSlotBatch::prefill_next() {
  for (std::size_t slot = 0; slot < rows_.size(); ++slot) {  // cancelled while waiting for its turn
    const auto& row = *rows_[slot];
    if (row.id != 0 && row.prefilling && row.cb.cancelled && row.cb.cancelled()) {
      retire(slot, std::make_exception_ptr(HiggsError(ErrorCode::Cancelled, "generation was cancelled")));
    }
  }
  std::size_t next = rows_.size();
  for (std::size_t slot = 0; slot < rows_.size(); ++slot) {
    const auto& row = *rows_[slot];
    if (row.id != 0 && row.prefilling && (next == rows_.size() || row.id < rows_[next]->id)) next = slot;
  }
  if (next == rows_.size()) return;
  auto& row = *rows_[next];
  try {
    const auto& prompt = row.input.prompt;
    const auto L = row.out.prompt_positions;
    const auto end = std::min(L, row.prefilled + kPrefillPiece);
    const auto t0 = Clock::now();
    // <|audio_out_bos|> is fed like any text token; the row's cache restarts at position 0.
    model_.forward(prompt_piece(prompt, row.prefilled, end), LogitsAt::Last, false,
                   arena_.row(static_cast<std::int64_t>(next)));
    row.out.prefill_seconds += since(t0);
    row.prefilled = end;
    if (end < L) return;
    const auto& c = model_.config();
    runner_.state().reset(row.input.sampling, row.history, L, static_cast<std::int64_t>(next));
    row.out.columns.push_back(DelayPattern(c.num_codebooks, c.audio_stream_bos_id, c.audio_stream_eos_id).first_column());
    row.launched = 1;
    row.prefilling = false;
    row.decode_start = Clock::now();
  } catch (...) {
    retire(next, std::current_exception());  // a bad prompt: this row only
  }
}

// Before a launch: rows that reached their frame cap or the end of their cache stop (they retire
// once a read has their last columns), cancelled rows retire now with what they streamed.
void DeviceSlotBatch::stop_at_caps() {
  for (std::size_t slot = 0; slot < rows_.size(); ++slot) {
    auto& row = *rows_[slot];
    if (!row.decoding() || row.stopping) continue;
    if (row.cb.cancelled && row.cb.cancelled()) {
      retire(slot, std::make_exception_ptr(HiggsError(ErrorCode::Cancelled, "generation was cancelled")));
      continue;
    }
    if (row.launched >= row.input.max_frames) {
      row.stop = StopReason::MaxFrames;
    } else if (row.position() >= arena_.max_context()) {
      row.stop = StopReason::ContextFull;
    } else {
      continue;
    }
    row.stopping = true;
    runner_.state().stop(static_cast<std::int64_t>(slot));
  }
}

std::int64_t DeviceSlotBatch::step() {
  prefill_next();  // a prompt completed here decodes in this same step
  stop_at_caps();
  std::vector<std::size_t> live;
  std::vector<std::int64_t> positions;  // by slot up to the last live one; -1 = not advancing
  for (std::size_t slot = 0; slot < rows_.size(); ++slot) {
    const auto& row = *rows_[slot];
    if (!row.decoding() || row.stopping) continue;
    live.push_back(slot);
    positions.resize(slot + 1, -1);
    positions[slot] = row.position();
  }
  bool first_frame = false;  // a row completes its first frame: read at once, so its audio starts
  if (!live.empty()) {
    try {
      runner_.step(positions);
    } catch (...) {
      // The shared step failed (out of memory, ...): every row in it has lost its step.
      const auto error = std::current_exception();
      for (auto slot : live) retire(slot, error);
      return 0;
    }
    const auto K = model_.config().num_codebooks;
    for (auto slot : live) {
      auto& row = *rows_[slot];
      ++row.launched;
      row.peak_batch = std::max(row.peak_batch, static_cast<std::int64_t>(live.size()));
      if (row.cb.on_progress) row.cb.on_progress(row.launched, row.input.max_frames);
      first_frame = first_frame || row.launched == K + 2;
    }
  }
  if (read_) collect_read();  // the step just launched runs meanwhile
  ++steps_;
  const bool stopping = std::any_of(rows_.begin(), rows_.end(), [](const auto& row) { return row->decoding() && row->stopping; });
  if (stopping || first_frame || (!live.empty() && steps_ % kCheckEvery == 0)) {
    start_read();
    if (live.empty()) collect_read();  // nothing runs: no reason to wait for the next step
  }
  return static_cast<std::int64_t>(live.size());
}

void DeviceSlotBatch::start_read() {
  auto read = std::make_unique<Read>();
  for (std::size_t slot = 0; slot < rows_.size(); ++slot) {
    const auto& row = *rows_[slot];
    const bool covered = row.decoding();
    read->ids.push_back(covered ? row.id : 0);
    read->from.push_back(covered ? static_cast<std::int64_t>(row.out.columns.size()) : 0);
    read->upto.push_back(covered ? row.launched : 0);
    if (covered) {
      read->rows = static_cast<std::int64_t>(slot) + 1;
      read->n = std::max(read->n, read->upto.back() - read->from.back());
    }
  }
  if (read->rows == 0) return;
  read->n = std::max<std::int64_t>(read->n, 1);
  copy_.start(runner_.state().window(read->rows, read->n));
  read_ = std::move(read);
}

void DeviceSlotBatch::collect_read() {
  const auto read = std::move(read_);
  const auto host = copy_.wait().contiguous();  // [rows, 2 + n * K]
  const auto K = model_.config().num_codebooks;
  const auto* data = host.data_ptr<std::int64_t>();
  const auto width = 2 + read->n * K;
  for (std::int64_t slot = 0; slot < read->rows; ++slot) {
    auto& row = *rows_[static_cast<std::size_t>(slot)];
    if (read->ids[slot] == 0 || read->ids[slot] != row.id) continue;  // retired (and maybe reused) since
    const auto* w = data + slot * width;
    const bool done = w[0] != 0;
    // The window ends at the row's device step: the end column + 1 once done, else `upto`.
    const auto available = done ? w[1] + 1 : read->upto[slot];
    const auto first = available - read->n;
    for (auto c = static_cast<std::int64_t>(row.out.columns.size()); c < available; ++c) {
      const auto* column = w + 2 + (c - first) * K;
      row.out.columns.emplace_back(column, column + K);
    }
    try {
      row.streamer->flush(row.out.columns, false);
    } catch (...) {
      retire(static_cast<std::size_t>(slot), std::current_exception());
      continue;
    }
    if (done) {
      row.stop = StopReason::AudioEnd;
      retire(static_cast<std::size_t>(slot), nullptr);
    } else if (row.stopping && read->upto[slot] == row.launched) {
      retire(static_cast<std::size_t>(slot), nullptr);
    }
  }
}

void DeviceSlotBatch::retire(std::size_t slot, std::exception_ptr error) {
  auto row = std::move(rows_[slot]);
  rows_[slot] = std::make_unique<Row>();
  --busy_;
  runner_.state().stop(static_cast<std::int64_t>(slot));  // queued before any later step or prefill
  if (error) return row->done(error, nullptr);
  GenerationOutput& out = row->out;
  try {
    out.stop = row->stop;
    out.decode_seconds = since(row->decode_start);
    row->streamer->flush(out.columns, true);
    const auto& c = model_.config();
    out.codes = revert_and_trim(out.columns, c.num_codebooks, c.audio_stream_bos_id - 1, &out.frames);
    out.peak_batch = std::max<std::int64_t>(1, row->peak_batch);
  } catch (...) {
    return row->done(std::current_exception(), nullptr);
  }
  row->done(nullptr, &out);
}

}  // namespace higgs::lm
