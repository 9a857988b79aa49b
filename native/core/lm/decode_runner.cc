#include "lm/decode_runner.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "errors.h"

namespace higgs::lm {
namespace {

void check_graphs(const HiggsLM& model, bool use_graphs) {
  if (use_graphs && !(model.options().device().is_cuda() && gpu::compiled_with_cuda())) {
    throw HiggsError(ErrorCode::Input, "CUDA graphs need a CUDA device and a CUDA build of the core");
  }
}

std::int64_t reserved_bytes(const HiggsLM& model) {
  const auto device = model.options().device();
  if (!device.is_cuda()) return 0;
  const auto info = gpu::memory_info(device.index());
  return info ? info->reserved : 0;
}

}  // namespace

DecodeRunner::DecodeRunner(HiggsLM& model, bool use_graphs, bool fused_kernels)
    : model_(model),
      // Column 0 plus one column per KV position after the prompt: max_context + 1 bounds it.
      state_(model.config(), model.cache().max_context() + 1, model.options().device()),
      step_(model, state_, fused_kernels && fused_kernels_usable(model)),
      buckets_(step_.fused_attention() ? std::vector<std::int64_t>{model.cache().max_context()}
                                       : kv_buckets(model.cache().max_context())),
      row_buckets_{1},
      use_graphs_(use_graphs) {
  check_graphs(model, use_graphs);
  if (use_graphs_) pool_ = gpu::new_graph_pool();
  graphs_.resize(1);
  graphs_[0].resize(buckets_.size());
}

DecodeRunner::DecodeRunner(HiggsLM& model, KvArena& arena, bool batched, bool use_graphs, bool fused_kernels)
    : model_(model),
      state_(model.config(), arena.max_context() + 1, model.options().device(), arena.rows()),
      step_(model, state_, arena, batched, fused_kernels),
      buckets_(step_.fused_attention() ? std::vector<std::int64_t>{arena.max_context()} : kv_buckets(arena.max_context())),
      row_buckets_(lm::row_buckets(arena.rows())),
      use_graphs_(use_graphs) {
  check_graphs(model, use_graphs);
  if (use_graphs_) pool_ = gpu::new_graph_pool();
  graphs_.resize(row_buckets_.size());
  for (auto& row : graphs_) row.resize(buckets_.size());
}

std::int64_t DecodeRunner::rows_for(std::int64_t rows) const {
  for (auto b : row_buckets_) {
    if (rows <= b) return b;
  }
  throw HiggsError(ErrorCode::Internal, "a step over " + std::to_string(rows) + " rows of " +
                                            std::to_string(row_buckets_.back()));
}

double DecodeRunner::capture_all() {
  if (!use_graphs_) return 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t r = 0; r < row_buckets_.size(); ++r) {
    const auto rows = row_buckets_[r];
    const auto bucket_start = std::chrono::steady_clock::now();
    const auto reserved_before = reserved_bytes(model_);
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      if (graphs_[r][i]) continue;
      for (std::int64_t row = 0; row < rows; ++row) state_.reset(SamplingParams{}, {}, 0, row);  // valid values for the warm-up runs
      auto graph = std::make_unique<gpu::StepGraph>();
      const auto bucket = buckets_[i];
      graph->capture([this, rows, bucket] { step_.run(rows, bucket); }, pool_);
      graphs_[r][i] = std::move(graph);
    }
    for (std::int64_t row = 0; row < rows; ++row) state_.stop(row);
    captures_.push_back({rows, std::chrono::duration<double>(std::chrono::steady_clock::now() - bucket_start).count(),
                         reserved_bytes(model_) - reserved_before});
  }
  capture_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return capture_seconds_;
}

void DecodeRunner::step(const std::vector<std::int64_t>& positions) {
  std::int64_t highest = 0;
  for (auto p : positions) highest = std::max(highest, p);
  const auto i = bucket_for(buckets_, highest);
  const auto bucket_rows = rows_for(static_cast<std::int64_t>(positions.size()));
  std::size_t r = 0;
  while (row_buckets_[r] != bucket_rows) ++r;
  // A bucket without a graph (capture_all not called) runs eagerly: capturing now would reset
  // the state of the generations in progress.
  if (use_graphs_ && graphs_[r][i]) return graphs_[r][i]->replay();
  if (step_.batched() || bucket_rows == 1) return step_.run(bucket_rows, buckets_[i]);
  std::vector<std::int64_t> own(static_cast<std::size_t>(bucket_rows), buckets_.front());
  for (std::size_t row = 0; row < positions.size(); ++row) {
    if (positions[row] >= 0) own[row] = buckets_[bucket_for(buckets_, positions[row])];
  }
  step_.run(bucket_rows, buckets_[i], &own);
}

}  // namespace higgs::lm
