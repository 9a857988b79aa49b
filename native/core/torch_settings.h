// libtorch's process-wide settings the core relies on, applied once per process before any of
// its work runs (the Engine's constructor; the native codec tests through codec_test_util.h).
// No libtorch types here.
#pragma once

namespace higgs {

// NNPACK off: the codec's convolutions never need it, and initializing it on a CPU it does not
// support (AVX-512 EPYCs among them) prints a raw line to stderr; libtorch's own convolution
// kernels then run on every CPU alike. Thread-safe; later calls do nothing.
void apply_torch_settings();

}  // namespace higgs
