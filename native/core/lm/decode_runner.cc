#include "lm/decode_runner.h"

#include <chrono>
#include <string>

#include "errors.h"

namespace higgs::lm {

DecodeRunner::DecodeRunner(HiggsLM& model, bool use_graphs, bool fused_kernels)
    : model_(model),
      // Column 0 plus one column per KV position after the prompt: max_context + 1 bounds it.
      state_(model.config(), model.cache().max_context() + 1, model.options().device()),
      step_(model, state_, fused_kernels && fused_kernels_usable(model)),
      buckets_(step_.fused_attention() ? std::vector<std::int64_t>{model.cache().max_context()}
                                       : kv_buckets(model.cache().max_context())),
      use_graphs_(use_graphs) {
  if (use_graphs_ && !(model.options().device().is_cuda() && gpu::compiled_with_cuda())) {
    throw HiggsError(ErrorCode::Input, "CUDA graphs need a CUDA device and a CUDA build of the core");
  }
  if (use_graphs_) {
    pool_ = gpu::new_graph_pool();
    graphs_.resize(buckets_.size());
  }
}

double DecodeRunner::capture_all() {
  if (!use_graphs_) return 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    if (graphs_[i]) continue;
    state_.reset(SamplingParams{}, {}, 0);  // valid values for the warm-up runs
    auto graph = std::make_unique<gpu::StepGraph>();
    const auto bucket = buckets_[i];
    graph->capture([this, bucket] { step_.run(bucket); }, pool_);
    graphs_[i] = std::move(graph);
  }
  capture_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return capture_seconds_;
}

void DecodeRunner::step(std::int64_t position) {
  const auto i = bucket_for(buckets_, position);
  // A bucket without a graph (capture_all not called) runs eagerly: capturing now would reset
  // the state of the generation in progress.
  if (use_graphs_ && graphs_[i]) {
    graphs_[i]->replay();
  } else {
    step_.run(buckets_[i]);
  }
}

}  // namespace higgs::lm
