"""torchaudio.functional.resample with its defaults (sinc_interp_hann, lowpass_filter_width 6,
rolloff 0.99): band-limited resampling by a windowed-sinc kernel, one output phase per kernel
row, applied as a strided conv1d. The tensor ops follow the same order as the C++ port
(native/core/codec/resample16k.cc) so that the fp32 rounding is the same."""
import math

import torch


def _kernel(orig, new, lowpass_filter_width, rolloff, dtype, device):
    base_freq = float(min(orig, new)) * rolloff
    width = int(math.ceil(lowpass_filter_width * orig / base_freq))
    idx = torch.arange(-width, width + orig, dtype=dtype, device=device).view(1, 1, -1) / orig
    t = torch.arange(0, -new, -1, dtype=dtype, device=device).view(-1, 1, 1) / new + idx
    t = t * base_freq
    t = t.clamp(-lowpass_filter_width, lowpass_filter_width)
    window = torch.cos(t * math.pi / lowpass_filter_width / 2) ** 2
    t = t * math.pi
    scale = base_freq / orig
    kernels = torch.where(t == 0, torch.tensor(1.0, dtype=dtype, device=device), t.sin() / t)
    kernels = kernels * (window * scale)
    return kernels, width


def resample(waveform, orig_freq, new_freq, lowpass_filter_width=6, rolloff=0.99, resampling_method="sinc_interp_hann", beta=None):
    if resampling_method != "sinc_interp_hann" or beta is not None:
        raise NotImplementedError("this torchaudio stand-in implements resample's defaults only (sinc_interp_hann)")
    if orig_freq <= 0 or new_freq <= 0:
        raise ValueError("sample rates must be positive")
    if orig_freq == new_freq:
        return waveform
    g = math.gcd(int(orig_freq), int(new_freq))
    orig, new = int(orig_freq) // g, int(new_freq) // g
    kernel, width = _kernel(orig, new, lowpass_filter_width, rolloff, waveform.dtype, waveform.device)
    shape = waveform.size()
    length = shape[-1]
    x = waveform.reshape(-1, length)
    x = torch.nn.functional.pad(x, (width, width + orig))
    y = torch.nn.functional.conv1d(x[:, None], kernel, stride=orig)
    y = y.transpose(1, 2).reshape(x.size(0), -1)
    y = y[..., : int(math.ceil(new * length / orig))]
    return y.view(shape[:-1] + y.shape[-1:])
