// The codec's semantic teacher: a HuBERT-base encoder exactly as transformers' HubertModel with
// feat_extract_norm "group", do_stable_layer_norm false (post-LN layers), GELU (erf) everywhere,
// no masking (eval). Only the forward the codec needs: raw 16 kHz waveform -> every hidden state.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace higgs::codec {

struct HubertParams {
  // Feature encoder (conv stack over the raw waveform). conv 0 is followed by GroupNorm with one
  // group per channel; every conv by GELU.
  std::vector<std::int64_t> conv_dim{512, 512, 512, 512, 512, 512, 512};
  std::vector<std::int64_t> conv_kernel{10, 3, 3, 3, 3, 2, 2};
  std::vector<std::int64_t> conv_stride{5, 2, 2, 2, 2, 2, 2};
  bool conv_bias = false;
  bool feat_proj_layer_norm = true;  // LayerNorm before the 512 -> hidden projection
  std::int64_t hidden_size = 768;
  std::int64_t num_layers = 12;
  std::int64_t num_heads = 12;
  std::int64_t intermediate_size = 3072;
  std::int64_t pos_conv_kernel = 128;  // num_conv_pos_embeddings
  std::int64_t pos_conv_groups = 16;   // num_conv_pos_embedding_groups
  double layer_norm_eps = 1e-5;
};

struct HubertLayerWeights {
  at::Tensor q_w, q_b, k_w, k_b, v_w, v_b, out_w, out_b;  // Linear [hidden, hidden] + [hidden]
  at::Tensor attn_norm_w, attn_norm_b;                     // "layer_norm", after attention
  at::Tensor ff_in_w, ff_in_b, ff_out_w, ff_out_b;         // intermediate_dense, output_dense
  at::Tensor final_norm_w, final_norm_b;                   // "final_layer_norm", after the FFN
};

struct HubertWeights {
  std::vector<at::Tensor> conv_w;  // [conv_dim[i], in, conv_kernel[i]]
  std::vector<at::Tensor> conv_b;  // undefined entries when conv_bias is false
  at::Tensor group_norm_w, group_norm_b;              // conv 0's GroupNorm, [conv_dim[0]]
  at::Tensor proj_norm_w, proj_norm_b;                // feature_projection.layer_norm
  at::Tensor proj_w, proj_b;                          // feature_projection.projection
  at::Tensor pos_conv_w, pos_conv_b;                  // weight norm already folded (dim=2)
  at::Tensor encoder_norm_w, encoder_norm_b;          // encoder.layer_norm (after pos conv)
  std::vector<HubertLayerWeights> layers;
};

// Number of 50 Hz frames the conv stack yields for `samples` input samples; 0 when the input is
// shorter than the receptive field (400 samples for the base model).
std::int64_t hubert_num_frames(const HubertParams& params, std::int64_t samples);

// wave [L] fp32 (already padded as the caller wants) -> [num_layers + 1, 1, H, hidden]: the
// embedding output (pos conv + LayerNorm) followed by every layer's output, as
// HubertModel(..., output_hidden_states=True).hidden_states stacked on dim 0.
// The caller checks that hubert_num_frames(L) >= 1.
at::Tensor hubert_hidden_states(const HubertParams& params, const HubertWeights& weights, const at::Tensor& wave);

}  // namespace higgs::codec
