// How many code frames of context a windowed decode needs on each side to reproduce the
// whole-sequence decode exactly (up to float rounding).
//
// A window decode sees zeros (the convs' padding) where the whole decode sees real activations
// of neighbouring frames. Starting from "every input frame of the window is exact", each layer
// shrinks the exact region: a stride-1 conv (k, dilation d, padding p) by p on the left and
// d(k-1) - p on the right, a transposed conv by what its input range [ceil((o+p-k+1)/s),
// floor((o+p)/s)] allows. The loss at the output, rounded up to whole frames, is the context.
// The decoder is non-causal; for the Higgs codec (ratios 8,5,4,2,3) this gives 10 frames a side,
// matching the +-10-frame receptive field in docs/model.md#windowed-decode.
#pragma once

#include <cstdint>

#include "codec/codec_config.h"

namespace higgs::codec {

struct DecoderContext {
  std::int64_t left_frames = 0;
  std::int64_t right_frames = 0;
  std::int64_t frames() const { return left_frames > right_frames ? left_frames : right_frames; }
};

DecoderContext decoder_context(const DacConfig& acoustic);

}  // namespace higgs::codec
