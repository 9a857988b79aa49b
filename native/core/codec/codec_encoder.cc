#include "codec/codec_encoder.h"

#include <string>
#include <utility>

#include "codec/resample16k.h"
#include "errors.h"

namespace higgs::codec {
namespace {

void move_to(at::Tensor& t, const at::TensorOptions& options) {
  if (t.defined()) t = t.to(options);
}

void move_weights(CodecEncoderWeights& w, const at::TensorOptions& o) {
  auto& h = w.hubert;
  for (auto& t : h.conv_w) move_to(t, o);
  for (auto& t : h.conv_b) move_to(t, o);
  for (auto* t : {&h.group_norm_w, &h.group_norm_b, &h.proj_norm_w, &h.proj_norm_b, &h.proj_w, &h.proj_b,
                  &h.pos_conv_w, &h.pos_conv_b, &h.encoder_norm_w, &h.encoder_norm_b}) {
    move_to(*t, o);
  }
  for (auto& l : h.layers) {
    for (auto* t : {&l.q_w, &l.q_b, &l.k_w, &l.k_b, &l.v_w, &l.v_b, &l.out_w, &l.out_b, &l.attn_norm_w,
                    &l.attn_norm_b, &l.ff_in_w, &l.ff_in_b, &l.ff_out_w, &l.ff_out_b, &l.final_norm_w,
                    &l.final_norm_b}) {
      move_to(*t, o);
    }
  }
  move_to(w.semantic.conv_w, o);
  for (auto& b : w.semantic.blocks) {
    for (auto& u : b.res_units) {
      move_to(u.conv1_w, o);
      move_to(u.conv2_w, o);
    }
    move_to(b.conv_w, o);
    move_to(b.conv_b, o);
  }
  auto& a = w.acoustic;
  for (auto* t : {&a.conv1_w, &a.conv1_b, &a.snake_alpha, &a.conv2_w, &a.conv2_b}) move_to(*t, o);
  for (auto& b : a.blocks) {
    for (auto& u : b.res_units) {
      for (auto* t : {&u.snake1_alpha, &u.conv1_w, &u.conv1_b, &u.snake2_alpha, &u.conv2_w, &u.conv2_b}) {
        move_to(*t, o);
      }
    }
    for (auto* t : {&b.snake_alpha, &b.conv_w, &b.conv_b}) move_to(*t, o);
  }
  move_to(w.fc_w, o);
  move_to(w.fc_b, o);
  for (auto& q : w.quantizers) {
    for (auto* t : {&q.project_in_w, &q.project_in_b, &q.project_out_w, &q.project_out_b, &q.embed}) move_to(*t, o);
  }
}

}  // namespace

std::int64_t CodecEncoderParams::hop_length() const {
  std::int64_t hop = 1;
  for (const auto s : downsampling_ratios) hop *= s;
  return hop;
}

CodecEncoder::CodecEncoder(CodecEncoderParams params, CodecEncoderWeights weights, const at::TensorOptions& options)
    : params_(std::move(params)), weights_(std::move(weights)), options_(options.dtype(at::kFloat)) {
  move_weights(weights_, options_);
}

std::int64_t CodecEncoder::num_frames(std::int64_t samples) const {
  if (samples <= 0) return 0;
  const auto resampled = sinc_resample_length(samples, params_.sample_rate, params_.semantic_sample_rate);
  const auto hubert_frames = hubert_num_frames(params_.hubert, resampled + 2 * params_.semantic_pad);
  if (hubert_frames < 1) return 0;
  const auto ds = params_.semantic_downsample_factor;
  return semantic_encoder_length(weights_.semantic, (hubert_frames + ds - 1) / ds);  // frames [::ds]
}

std::int64_t CodecEncoder::min_samples() const {
  // num_frames is non-decreasing in N; the answer is below one hop for any sane config.
  std::int64_t lo = 1, hi = 1;
  while (num_frames(hi) < 1) {
    if (hi > (std::int64_t{1} << 40)) throw HiggsError(ErrorCode::Internal, "codec encoder: no input length gives a frame");
    hi *= 2;
  }
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (num_frames(mid) >= 1) hi = mid; else lo = mid + 1;
  }
  return lo;
}

void CodecEncoder::validate(const at::Tensor& wave) const {
  if (!wave.defined()) throw HiggsError(ErrorCode::Input, "codec encode: no waveform given");
  if (!at::isFloatingType(wave.scalar_type())) {
    throw HiggsError(ErrorCode::Input, std::string("codec encode: waveform must be floating point, got ") +
                                           c10::toString(wave.scalar_type()));
  }
  if (wave.dim() != 1) {
    throw HiggsError(ErrorCode::Input, "codec encode: waveform must be 1-D [samples], got " +
                                           std::to_string(wave.dim()) + " dims");
  }
  if (wave.numel() == 0) throw HiggsError(ErrorCode::Input, "codec encode: waveform is empty");
  const std::int64_t need = min_samples();
  if (wave.numel() < need) {
    throw HiggsError(ErrorCode::Input, "codec encode: waveform of " + std::to_string(wave.numel()) +
                                           " samples is too short; at least " + std::to_string(need) + " (" +
                                           std::to_string(params_.sample_rate) + " Hz) are needed for one frame");
  }
  if (!at::isfinite(wave).all().item<bool>()) {
    throw HiggsError(ErrorCode::Input, "codec encode: waveform holds NaN or infinite samples");
  }
}

at::Tensor CodecEncoder::semantic_features(const at::Tensor& wave, EncodeTrace* trace) const {
  const auto x16 = sinc_resample(wave.view({1, 1, -1}), params_.sample_rate, params_.semantic_sample_rate);
  const auto pad = params_.semantic_pad;
  const auto padded = at::constant_pad_nd(x16.view({-1}), {pad, pad});
  const auto states = hubert_hidden_states(params_.hubert, weights_.hubert, padded);  // [L+1, 1, H, Cs]
  const auto mean_full = states.mean(0);                                            // [1, H, Cs]
  const auto mean = mean_full.slice(1, 0, mean_full.size(1), params_.semantic_downsample_factor);
  auto e_semantic = semantic_encoder_forward(weights_.semantic, mean.transpose(1, 2));
  if (trace) {
    trace->resampled_16k = x16;
    trace->hubert_hidden_states = states;
    trace->semantic_layer_mean_full = mean_full;
    trace->semantic_layer_mean = mean;
    trace->e_semantic = e_semantic;
  }
  return e_semantic;
}

at::Tensor CodecEncoder::acoustic_features(const at::Tensor& wave, std::int64_t frames, EncodeTrace* trace) const {
  auto x = wave.view({1, 1, -1});
  // transformers decides from the conv arithmetic whether the raw input falls one frame short.
  const bool pad = acoustic_encoder_frames(params_.downsampling_ratios, x.size(2)) != frames;
  if (pad) x = at::constant_pad_nd(x, {params_.acoustic_pad(), params_.acoustic_pad()});
  auto e_acoustic = acoustic_encoder_forward(weights_.acoustic, x, trace ? &trace->acoustic : nullptr);
  if (e_acoustic.size(2) != frames) {
    throw HiggsError(ErrorCode::Internal, "codec encode: acoustic branch gave " + std::to_string(e_acoustic.size(2)) +
                                              " frames for " + std::to_string(wave.numel()) +
                                              " samples, semantic branch " + std::to_string(frames));
  }
  if (trace) {
    trace->e_acoustic = e_acoustic;
    trace->acoustic_padded = pad;
  }
  return e_acoustic;
}

at::Tensor CodecEncoder::encode(const at::Tensor& wave24k, EncodeTrace* trace) const {
  validate(wave24k);
  const auto wave = wave24k.to(options_).contiguous();
  const auto e_semantic = semantic_features(wave, trace);  // [1, Cs, T]
  const auto e_acoustic = acoustic_features(wave, e_semantic.size(2), trace);
  // Acoustic channels first, then the fc_prior projection over channels, frames as rows.
  const auto fused = at::cat({e_acoustic, e_semantic}, 1);
  const auto embeddings = at::linear(fused.transpose(1, 2), weights_.fc_w, weights_.fc_b);  // [1, T, D]
  at::Tensor margins;
  const auto codes = rvq_encode(weights_.quantizers, embeddings[0], trace ? &margins : nullptr);
  if (trace) {
    trace->fc_prior_out = embeddings.transpose(1, 2);
    trace->rvq_margin = margins;
  }
  return codes.to(at::kCPU);
}

}  // namespace higgs::codec
