#include "codec/dac_decoder.h"

namespace higgs::codec {

at::Tensor DacDecoderBlock::forward(const at::Tensor& x) const {
  at::Tensor h = conv_t1.forward(snake1.forward(x));
  h = res_unit1.forward(h);
  h = res_unit2.forward(h);
  return res_unit3.forward(h);
}

DacDecoder::DacDecoder(const DacConfig& config, const CodecWeights& weights, const std::string& prefix) {
  const std::int64_t channels = config.decoder_hidden_size;
  conv1_ = load_conv1d(weights, prefix + "conv1", channels, config.hidden_size, 7, /*has_bias=*/true);
  conv1_.padding = 3;
  for (size_t i = 0; i < config.upsampling_ratios.size(); ++i) {
    const std::int64_t stride = config.upsampling_ratios[i];
    const std::int64_t in_channels = channels >> i;  // channels // 2**i, as transformers' DacDecoder
    const std::int64_t out_channels = channels >> (i + 1);
    const std::string p = prefix + "block." + std::to_string(i) + ".";
    DacDecoderBlock block;
    block.snake1 = load_snake(weights, p + "snake1", in_channels);
    block.conv_t1 = load_conv_transpose1d(weights, p + "conv_t1", in_channels, out_channels, 2 * stride);
    block.conv_t1.stride = stride;
    block.conv_t1.padding = (stride + 1) / 2;   // ceil(s / 2)
    block.conv_t1.output_padding = stride % 2;  // the reference's fix for odd strides: L -> L * s
    block.res_unit1 = load_dac_residual_unit(weights, p + "res_unit1", out_channels, 1);
    block.res_unit2 = load_dac_residual_unit(weights, p + "res_unit2", out_channels, 3);
    block.res_unit3 = load_dac_residual_unit(weights, p + "res_unit3", out_channels, 9);
    blocks_.push_back(std::move(block));
  }
  const std::int64_t last_channels = channels >> config.upsampling_ratios.size();
  snake1_ = load_snake(weights, prefix + "snake1", last_channels);
  conv2_ = load_conv1d(weights, prefix + "conv2", 1, last_channels, 7, /*has_bias=*/true);
  conv2_.padding = 3;
}

at::Tensor DacDecoder::forward(const at::Tensor& latent, DacDecoderTrace* trace) const {
  at::Tensor h = conv1_.forward(latent);
  if (trace) trace->conv1 = h;
  for (const auto& block : blocks_) {
    h = block.forward(h);
    if (trace) trace->blocks.push_back(h);
  }
  return conv2_.forward(snake1_.forward(h));
}

}  // namespace higgs::codec
