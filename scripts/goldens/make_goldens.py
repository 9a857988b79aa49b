#!/usr/bin/env python3
"""Generate parity goldens for the higgs-audio C++ port from the transformers reference.

Builds, with fixed seeds, a tiny HiggsAudioV2ForConditionalGeneration (the LM) and a tiny
HiggsAudioV2TokenizerModel (the codec) of the real architecture with reduced widths, saves both in
their transformers format (save_pretrained into OUT/lm and OUT/codec) and records reference tensors
computed in float32 on the CPU:

  tokens          ids of sample prompts tokenized with the tiny tokenizer.json
  prefill         audio logits (every position) for a voice-clone prompt with a reference clip
  teacher_forced  per-step audio logits while feeding a fixed frame sequence through the KV cache
  greedy          frames from model.generate(do_sample=False) with RAS disabled
  codec_decode    codes -> waveform for T in {1, 7, 25} frames, with the RVQ sum as intermediate
  codec_encode    24 kHz waveform -> codes, with HuBERT layer mean and fc_prior output
  lm_reload / codec_reload   reload the saved folders and compare against the goldens

Every section runs in its own try/except; a failed section prints its traceback and
"SECTION <name> FAILED", the others still run, partial outputs are written, and the exit code is 1.

Needs: torch, transformers >= 5.16 (HiggsAudioV2*), torchaudio (used by the HF codec), safetensors,
tokenizers (only for the `tokens` section and for the text parts of the LM prompts).

Usage (from the repository root; CPU is enough, well under a minute):
    CUDA_VISIBLE_DEVICES= python3 scripts/goldens/make_goldens.py --device cpu
    python3 scripts/goldens/make_goldens.py --out DIR --tokenizer PATH --bundle "$OUT"
--bundle packs OUT into <= 15 MiB tar parts (+ sha256, SUMMARY.txt, log) for machines that only
return small files. See scripts/goldens/README.md.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import inspect
import io
import json
import math
import os
import platform
import re
import shlex
import shutil
import sys
import tarfile
import time
import traceback
import zlib

# Imported in main() once the device environment (CUDA_VISIBLE_DEVICES) is settled.
torch = None
nn = None
F = None

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "test", "fixtures", "goldens")
DEFAULT_TOKENIZER = os.path.join(REPO_ROOT, "test", "fixtures", "tiny", "tokenizer.json")

SIZE_LIMIT_BYTES = 25_000_000
BUNDLE_PART_BYTES = 15 * 1024 * 1024

LM_FILE = "lm_goldens.safetensors"
CODEC_FILE = "codec_goldens.safetensors"

SEEDS = {
    "lm_init": 1234,  # per-tensor generators: seed_for(1234, parameter name)
    "codec_init": 4321,  # per-tensor generators: seed_for(4321, parameter/buffer name)
    "torch_manual_seed_before_build": 0,
    "ref_codes": 101,  # reference clip codes of the voice-clone prompt
    "tf_codes": 102,  # frames fed in teacher_forced
    "decode_codes": 103,  # codec_decode codes (seed + T)
    "encode_audio": 104,  # noise part of the codec_encode waveforms (seed + N)
    "generate": 0,  # torch.manual_seed before each generate (greedy uses no RNG)
}

# Llama-3 / Higgs special tokens whose ids are known (docs/model.md#special-tokens).
SPECIAL_TOKENS = {
    "<|begin_of_text|>": 128000,
    "<|end_of_text|>": 128001,
    "<|start_header_id|>": 128006,
    "<|end_header_id|>": 128007,
    "<|eom_id|>": 128008,
    "<|eot_id|>": 128009,
    "<|audio_bos|>": 128011,
    "<|audio_eos|>": 128012,
    "<|audio_out_bos|>": 128013,
    "<|reserved_special_token_6|>": 128014,
    "<|AUDIO|>": 128015,
    "<|AUDIO_OUT|>": 128016,
}
# The checkpoint's other added tokens (128017..128027); only looked up in the tokenizer and reported.
OPTIONAL_SPECIALS = [
    "<|recipient|>",
    "<|scene_desc_start|>",
    "<|scene_desc_end|>",
    "<|generation_instruction_start|>",
    "<|generation_instruction_end|>",
    "<SE>",
    "</SE>",
    "<SE_s>",
    "</SE_s>",
    "<SE_e>",
    "</SE_e>",
]

NUM_CODEBOOKS = 8
LM_CODEBOOK_SIZE = 1026  # 1024 codes + stream bos + stream eos
STREAM_BOS = 1024
STREAM_EOS = 1025
AUDIO_TOKEN_ID = 128016  # <|AUDIO_OUT|>
AUDIO_DELAY_TOKEN_ID = 128014  # <|reserved_special_token_6|>
AUDIO_BOS_TOKEN_ID = 128013  # <|audio_out_bos|>
EOS_TOKEN_ID = 128009  # <|eot_id|>

LM_CONFIG = dict(
    vocab_size=128256,
    hidden_size=64,
    intermediate_size=160,
    num_hidden_layers=3,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    hidden_act="silu",
    max_position_embeddings=4096,
    rms_norm_eps=1e-5,
    tie_word_embeddings=False,
    attention_bias=False,
    mlp_bias=False,
    num_codebooks=NUM_CODEBOOKS,
    codebook_size=LM_CODEBOOK_SIZE,
    audio_token_id=AUDIO_TOKEN_ID,
    audio_bos_token_id=AUDIO_BOS_TOKEN_ID,
    audio_delay_token_id=AUDIO_DELAY_TOKEN_ID,
    audio_stream_bos_id=STREAM_BOS,
    audio_stream_eos_id=STREAM_EOS,
    pad_token_id=128001,
    eos_token_id=EOS_TOKEN_ID,
)
LM_ROPE = dict(
    rope_type="llama3",
    rope_theta=500000.0,
    factor=8.0,
    low_freq_factor=1.0,
    high_freq_factor=4.0,
    original_max_position_embeddings=64,
)

# Codec: same structure as bosonai/higgs-audio-v2-tokenizer (hop 960 = 8*5*4*2*3, 25 frames/s,
# 8 codebooks of 1024, HuBERT-style semantic model at 16 kHz, DAC encoder/decoder), reduced widths.
CODEC_DAC = dict(
    encoder_hidden_size=2,  # real: 64  (encoder blocks 4, 8, 16, 32, 64 channels)
    downsampling_ratios=[8, 5, 4, 2, 3],
    decoder_hidden_size=64,  # real: 1024 (decoder blocks 32, 16, 8, 4, 2 channels)
    upsampling_ratios=[8, 5, 4, 2, 3],  # not reversed, as in the real checkpoint
    hidden_size=16,  # acoustic latent, real: 256
    sampling_rate=24000,
    codebook_size=1024,
)
CODEC_HUBERT = dict(
    hidden_size=32,  # real: 768
    num_hidden_layers=2,  # real: 12
    num_attention_heads=2,  # real: 12
    intermediate_size=64,  # real: 3072
    conv_dim=[16] * 7,  # real: 512
    conv_stride=[5, 2, 2, 2, 2, 2, 2],
    conv_kernel=[10, 3, 3, 3, 3, 2, 2],
    conv_bias=False,
    num_conv_pos_embeddings=128,
    num_conv_pos_embedding_groups=16,
    feat_extract_norm="group",
    do_stable_layer_norm=False,
    hidden_act="gelu",
    feat_extract_activation="gelu",
    layer_norm_eps=1e-5,
    mask_time_prob=0.0,
)
CODEC_TOP = dict(
    target_bandwidths=[0.5, 1, 1.5, 2],  # -> num_quantizers = 2000 // (25 * 10) = 8
    sample_rate=24000,
    kernel_size=3,
    channel_ratios=[1, 1],
    strides=[1, 1],
    block_dilations=[1, 1],
    unit_kernel_size=3,
    codebook_size=1024,
    codebook_dim=8,  # real: 64
    semantic_sample_rate=16000,
    downsample_factor=320,
)

REF_FRAMES = 6  # raw frames of the reference clip -> 6 + 2 (bos/eos) + 7 (delay) = 15 positions
TF_CODE_FRAMES = 12  # teacher forcing: bos + 12 codes + eos, delayed -> 21 columns, feed the first 20
GREEDY_MAX_NEW_TOKENS = 24
DECODE_FRAMES = (1, 7, 25)
ENCODE_SAMPLES = (960 * 5, 960 * 25)
DEBUG_DECODE_T = 7  # decoder block outputs are stored for this T only
DEBUG_ENCODE_N = 960 * 5  # encoder block outputs are stored for this N only

SMART_PROMPT = (
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
    "Generate audio following instruction.<|eot_id|>"
    "<|start_header_id|>user<|end_header_id|>\n\n"
    "The sun rises in the east.<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n<|audio_out_bos|>"
)
SMART_SCENE_PROMPT = (
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
    "Generate audio following instruction.\n\n"
    "<|scene_desc_start|>\nAudio is recorded from a quiet room.\n<|scene_desc_end|><|eot_id|>"
    "<|start_header_id|>user<|end_header_id|>\n\n"
    "The sun rises in the east and sets in the west.<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n<|audio_out_bos|>"
)
CLONE_PROMPT = (
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi.<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n"
    "<|audio_out_bos|><|AUDIO_OUT|><|audio_eos|><|eot_id|>"
    "<|start_header_id|>user<|end_header_id|>\n\nGo.<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n<|audio_out_bos|>"
)


def expand_audio_placeholders(text, num_delayed_frames, num_codebooks=NUM_CODEBOOKS):
    """HF HiggsAudioV2Processor.get_audio_tokens: one placeholder per delayed frame."""
    rep = "<|AUDIO_OUT|>" * (num_delayed_frames - (num_codebooks - 1)) + "<|reserved_special_token_6|>" * (
        num_codebooks - 1
    )
    return text.replace("<|AUDIO_OUT|>", rep)


CLONE_PROMPT_EXPANDED = expand_audio_placeholders(CLONE_PROMPT, REF_FRAMES + 2 + NUM_CODEBOOKS - 1)

TOKEN_PROMPTS = [
    ("smart_voice", SMART_PROMPT, "smart-voice ChatML prompt (HF chat-template layout), ends with <|audio_out_bos|>; LM prompt of greedy.smart"),
    ("smart_voice_scene", SMART_SCENE_PROMPT, "smart-voice prompt with a <|scene_desc_start|>..<|scene_desc_end|> block"),
    ("voice_clone", CLONE_PROMPT, "voice-clone prompt, reference audio as ONE <|AUDIO_OUT|> placeholder (before expansion)"),
    ("voice_clone_expanded", CLONE_PROMPT_EXPANDED, "the voice-clone prompt after HF placeholder expansion (8x <|AUDIO_OUT|> + 7x <|reserved_special_token_6|> for a 15-frame delayed clip); LM prompt of prefill / teacher_forced / greedy.clone"),
    ("plain_english", "The quick brown fox jumps over the lazy dog. It's 12:30, isn't it? Numbers: 3.14159 and 1,000,000.", "plain English text"),
    ("inline_specials", "Hello<|eot_id|>world <|AUDIO|><|audio_bos|> and <|audio_eos|>\n\n<|begin_of_text|>end", "text with special tokens inline (must be single ids)"),
    ("whitespace", "  leading spaces\ttabs\n\nnew paragraph   trailing  \n", "whitespace runs, tabs and newlines"),
    ("unicode", "Caf\u00e9 na\u00efve \u2014 \u201cquotes\u201d \u4f60\u597d\uff0c\u4e16\u754c\uff01\U0001f642 \u00f1", "non-ASCII text (byte fallback of byte-level BPE)"),
    ("multi_speaker", "[SPEAKER0] I can't believe it!\n[SPEAKER1] Oh, come on.", "multi-speaker transcript tags"),
    ("sound_events", "She laughed <SE>[Laughter]</SE> and the band played <SE_s>[Music]</SE_s> on and on<SE_e>[Music]</SE_e>.", "sound-event markup as transcript normalization writes it (<SE>, <SE_s>, <SE_e> and their closers are added tokens)"),
]

SPECIAL_RE = re.compile(r"(<\|[^<>|]+\|>)")


def log(*args):
    print(*args, flush=True)


# --------------------------------------------------------------------------------------------
# small helpers (no transformers)
# --------------------------------------------------------------------------------------------


def seed_for(base, name):
    return (int(base) * 1_000_003 + zlib.crc32(name.encode("utf-8"))) % (2**31 - 1)


def make_gen(seed):
    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g


def split_specials(text):
    return [p for p in SPECIAL_RE.split(text) if p != ""]


def synthetic_text_ids(piece):
    return [1000 + b for b in piece.encode("utf-8")]


def prompt_ids(text, tok=None):
    """Ids of a prompt: known specials from SPECIAL_TOKENS, other <|...|> pieces via the tokenizer,
    text pieces via tokenizer.encode(piece, add_special_tokens=False) or, without a tokenizer, the
    synthetic rule 1000 + utf-8 byte."""
    ids = []
    for piece in split_specials(text):
        if piece in SPECIAL_TOKENS:
            ids.append(SPECIAL_TOKENS[piece])
            continue
        if tok is not None:
            if SPECIAL_RE.fullmatch(piece):
                tid = tok.token_to_id(piece)
                if tid is not None:
                    ids.append(int(tid))
                    continue
            ids.extend(int(i) for i in tok.encode(piece, add_special_tokens=False).ids)
        else:
            ids.extend(synthetic_text_ids(piece))
    return ids


def delay_pattern(codes, add_bos_eos=True, bos=STREAM_BOS, eos=STREAM_EOS):
    """codes [K, T] -> [K, T' + K - 1] with T' = T + 2 if add_bos_eos (HF build_delay_pattern):
    row k is shifted right by k, cells left of the data are bos, cells right of it are eos."""
    k_num, _ = codes.shape
    if add_bos_eos:
        seq = torch.cat(
            [
                torch.full((k_num, 1), bos, dtype=torch.long),
                codes.to(torch.long),
                torch.full((k_num, 1), eos, dtype=torch.long),
            ],
            dim=1,
        )
    else:
        seq = codes.to(torch.long)
    s_len = seq.shape[1]
    out = torch.empty((k_num, s_len + k_num - 1), dtype=torch.long)
    for k in range(k_num):
        out[k, :k] = bos
        out[k, k : k + s_len] = seq[k]
        out[k, k + s_len :] = eos
    return out


def revert_delay_pattern(frames):
    """HF HiggsAudioV2Processor.revert_delay_pattern: frames [S, K] -> [S - K + 1, K]."""
    seq_len, k_num = frames.shape
    return torch.cat([frames[i : seq_len - k_num + 1 + i, i : i + 1] for i in range(k_num)], dim=1)


def hf_batch_decode_codes(audio_seq, k_num=NUM_CODEBOOKS):
    """The code trimming of HF HiggsAudioV2Processor.batch_decode for one sequence.
    audio_seq [F, K] (all frames, prompt audio included) -> ([K, T] codes or None, info)."""
    bos_rows = (audio_seq == STREAM_BOS).all(-1).nonzero()
    if bos_rows.numel() == 0:
        return None, {"reason": "no all-bos frame"}
    start = int(bos_rows[-1, 0])
    a = audio_seq[start:]
    eos_rows = (a == STREAM_EOS).all(-1).nonzero()
    end = int(eos_rows[0, 0]) if eos_rows.numel() else int(a.shape[0])
    a = a[1:end]
    info = {"start_frame": start, "end_frame_relative": end, "frames_kept_before_revert": int(a.shape[0])}
    if a.shape[0] - k_num + 1 <= 0:
        info["reason"] = "too few frames to revert the delay pattern"
        return None, info
    rev = revert_delay_pattern(a).clamp(0, STREAM_BOS - 1)
    return rev.t().contiguous(), info


def llama3_inv_freq(head_dim, theta, factor, low_freq_factor, high_freq_factor, old_context_len):
    """transformers _compute_llama3_parameters, recomputed independently."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(torch.float32) / head_dim))
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed = (1 - smooth) * inv_freq_llama / factor + smooth * inv_freq_llama
    is_medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium, smoothed, inv_freq_llama)


def maxabs(a, b):
    return float((a.detach().float().cpu() - b.detach().float().cpu()).abs().max()) if a.numel() else 0.0


def sig(obj):
    try:
        return str(inspect.signature(obj))
    except Exception as e:  # noqa: BLE001
        return f"<no signature: {e!r}>"


def srcfile(obj):
    try:
        return inspect.getsourcefile(obj)
    except Exception:  # noqa: BLE001
        return "?"


def output_logits(out):
    return out.logits if hasattr(out, "logits") else out[0]


def output_cache(out):
    return getattr(out, "past_key_values", None)


# --------------------------------------------------------------------------------------------
# state
# --------------------------------------------------------------------------------------------


class GoldenStore:
    def __init__(self):
        self.tensors = {LM_FILE: {}, CODEC_FILE: {}}
        self.entries = {LM_FILE: {}, CODEC_FILE: {}}

    def add(self, fname, name, tensor, meaning):
        t = tensor.detach().to("cpu")
        if t.dtype == torch.bool or not t.is_floating_point():
            t = t.to(torch.int64)
            dt = "I64"
        else:
            t = t.to(torch.float32)
            dt = "F32"
        t = t.contiguous().clone()
        self.tensors[fname][name] = t
        entry = {"shape": list(t.shape), "dtype": dt, "meaning": meaning}
        if t.numel():
            if dt == "F32":
                entry["absmax"] = float(t.abs().max())
            else:
                entry["min"] = int(t.min())
                entry["max"] = int(t.max())
        self.entries[fname][name] = entry
        return t


class Ctx:
    def __init__(self, args):
        self.args = args
        self.out = args.out
        self.device = None
        self.golden = GoldenStore()
        self.status = {}
        self.checks = {}
        self.failed_checks = []
        self.warnings = []
        self.versions = {}
        self.info = {}  # goes into the manifest
        self.previous = None  # OUT's earlier manifest and golden tensors (--keep-previous)
        self.lm = None
        self.codec = None
        self.prefill = None
        self.ref = None
        self.tok = None
        self.tok_loaded = False
        self.tok_error = None

    def expect(self, cond, msg):
        """A soft check: recorded, printed, makes the exit code 1, but the section goes on."""
        if not cond:
            self.failed_checks.append(msg)
            log(f"CHECK FAILED: {msg}")
        return bool(cond)

    def warn(self, msg):
        self.warnings.append(msg)
        log(f"WARNING: {msg}")


def get_tokenizer(ctx):
    if ctx.tok_loaded:
        return ctx.tok
    ctx.tok_loaded = True
    path = ctx.args.tokenizer
    if not os.path.isfile(path):
        ctx.tok_error = f"tokenizer file not found: {path}"
        log(ctx.tok_error)
        return None
    try:
        from tokenizers import Tokenizer

        ctx.tok = Tokenizer.from_file(path)
        log(f"tokenizer loaded: {path} (vocab with added tokens: {ctx.tok.get_vocab_size(with_added_tokens=True)})")
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        ctx.tok_error = f"tokenizer load failed: {type(e).__name__}: {e}"
        ctx.tok = None
    return ctx.tok


def lm_prompt(ctx, text):
    tok = get_tokenizer(ctx)
    src = "tokenizer" if tok is not None else "synthetic"
    prev = ctx.info.get("lm_prompt_ids_source")
    if prev is not None and prev != src:
        ctx.warn(f"LM prompt id source changed between sections: {prev} -> {src}")
    ctx.info["lm_prompt_ids_source"] = src
    return prompt_ids(text, tok)


# --------------------------------------------------------------------------------------------
# weight init (deterministic per tensor name, independent of module registration order)
# --------------------------------------------------------------------------------------------


def init_params(model, base_seed, rule):
    n = 0
    with torch.no_grad():
        for mname, mod in model.named_modules():
            for pname, p in mod.named_parameters(recurse=False):
                full = f"{mname}.{pname}" if mname else pname
                g = make_gen(seed_for(base_seed, full))
                new = rule(full, mname, mod, pname, p, g)
                if tuple(new.shape) != tuple(p.shape):
                    raise RuntimeError(f"init rule shape mismatch for {full}: {tuple(new.shape)} vs {tuple(p.shape)}")
                p.copy_(new.to(device=p.device, dtype=p.dtype))
                n += 1
    return n


def round_params_bf16(model):
    with torch.no_grad():
        for p in model.parameters():
            if p.is_floating_point():
                p.copy_(p.to(torch.bfloat16).to(p.dtype))


def lm_rule(full, mname, mod, pname, p, g):
    shape = tuple(p.shape)
    if isinstance(mod, nn.Embedding):
        std = 0.35 if "embed_audio_tokens" in mname else 1.0
        return torch.randn(shape, generator=g) * std
    if isinstance(mod, nn.Linear):
        if pname == "weight":
            gain = 2.0 if mname.endswith("audio_lm_head") else 1.0
            return torch.randn(shape, generator=g) * (gain / math.sqrt(shape[1]))
        return torch.randn(shape, generator=g) * 0.02
    if p.dim() == 1 and pname == "weight":  # RMSNorm
        return 1.0 + 0.1 * torch.randn(shape, generator=g)
    if p.dim() == 1:
        return 0.02 * torch.randn(shape, generator=g)
    return torch.randn(shape, generator=g) / math.sqrt(shape[-1])


def codec_rule(full, mname, mod, pname, p, g):
    shape = tuple(p.shape)
    if pname == "alpha":  # Snake1d, [1, C, 1]
        return (1.0 + 0.2 * torch.randn(shape, generator=g)).clamp_min(0.3)
    if pname in ("original0", "weight_g"):  # weight-norm magnitude (HuBERT pos_conv, dim=2)
        return 0.3 + 0.4 * torch.rand(shape, generator=g)
    if pname in ("original1", "weight_v"):  # weight-norm direction
        return torch.randn(shape, generator=g)
    if isinstance(mod, nn.ConvTranspose1d) and pname == "weight":  # [in, out/groups, k]
        stride = mod.stride[0] if isinstance(mod.stride, tuple) else int(mod.stride)
        return torch.randn(shape, generator=g) / math.sqrt(shape[0] * shape[2] / stride)
    if isinstance(mod, nn.Conv1d) and pname == "weight":  # [out, in/groups, k]
        gain = 0.3 if ("res_unit" in mname and mname.endswith("conv2")) else 1.0
        return torch.randn(shape, generator=g) * (gain / math.sqrt(shape[1] * shape[2]))
    if isinstance(mod, nn.Linear) and pname == "weight":
        return torch.randn(shape, generator=g) / math.sqrt(shape[1])
    if isinstance(mod, (nn.LayerNorm, nn.GroupNorm)):
        if pname == "weight":
            return 1.0 + 0.1 * torch.randn(shape, generator=g)
        return 0.05 * torch.randn(shape, generator=g)
    if pname == "bias":
        return 0.02 * torch.randn(shape, generator=g)
    if isinstance(mod, nn.Embedding):
        return 0.5 * torch.randn(shape, generator=g)
    return 0.1 * torch.randn(shape, generator=g)


def init_codebooks(codec, base_seed):
    """HF zero-inits the RVQ codebooks (buffers); give them bf16-exact random entries."""
    n = 0
    with torch.no_grad():
        for mname, mod in codec.named_modules():
            if all(hasattr(mod, a) for a in ("embed", "embed_avg", "cluster_size", "inited")) and isinstance(
                getattr(mod, "embed"), torch.Tensor
            ):
                g = make_gen(seed_for(base_seed, mname + ".embed"))
                e = torch.randn(tuple(mod.embed.shape), generator=g).to(torch.bfloat16).to(torch.float32)
                mod.embed.copy_(e.to(mod.embed.device))
                mod.embed_avg.copy_(e.to(mod.embed_avg.device))
                mod.cluster_size.fill_(1.0)
                mod.inited.fill_(1.0)
                n += 1
    return n


def set_eager(obj, what):
    try:
        obj._attn_implementation = "eager"
    except Exception as e:  # noqa: BLE001
        log(f"could not set _attn_implementation on {what}: {e!r}")


def force_model_eager(model, what):
    fn = getattr(model, "set_attn_implementation", None)
    if fn is not None:
        try:
            fn("eager")
        except Exception as e:  # noqa: BLE001
            log(f"{what}.set_attn_implementation('eager') failed: {e!r}")
    got = getattr(model.config, "_attn_implementation", None)
    log(f"{what}: config._attn_implementation = {got!r}")
    return got


def read_safetensors_header(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return {k: {"dtype": v["dtype"], "shape": v["shape"]} for k, v in sorted(header.items())}


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def config_json(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except Exception as e:  # noqa: BLE001
        return {"error": repr(e)}


def state_dicts_equal(a, b):
    ka, kb = set(a.keys()), set(b.keys())
    diff = []
    if ka != kb:
        diff.append(f"key sets differ: only-in-memory={sorted(ka - kb)[:10]} only-reloaded={sorted(kb - ka)[:10]}")
    for k in sorted(ka & kb):
        x, y = a[k].detach().cpu(), b[k].detach().cpu()
        if x.shape != y.shape:
            diff.append(f"{k}: shape {tuple(x.shape)} vs {tuple(y.shape)}")
        elif x.is_floating_point():
            if not torch.equal(x.float(), y.float()):
                diff.append(f"{k}: max |diff| {float((x.float() - y.float()).abs().max()):.3e}")
        elif not torch.equal(x, y):
            diff.append(f"{k}: integer values differ")
    return diff


# --------------------------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------------------------


def section_preflight(ctx):
    import transformers

    v = ctx.versions
    v["python"] = sys.version.split()[0]
    v["platform"] = platform.platform()
    v["torch"] = torch.__version__
    v["transformers"] = transformers.__version__
    for mod in ("tokenizers", "safetensors", "numpy", "torchaudio", "huggingface_hub"):
        try:
            v[mod] = __import__(mod).__version__
        except Exception as e:  # noqa: BLE001
            v[mod] = f"unavailable: {type(e).__name__}: {e}"
    log("versions: " + json.dumps(v))
    log(f"transformers at {os.path.dirname(transformers.__file__)}")
    log(f"torch threads: {torch.get_num_threads()}, cuda available: {torch.cuda.is_available()}")

    classes = [
        "HiggsAudioV2Config",
        "HiggsAudioV2Model",
        "HiggsAudioV2ForConditionalGeneration",
        "HiggsAudioV2TokenizerConfig",
        "HiggsAudioV2TokenizerModel",
        "DacConfig",
        "HubertConfig",
        "GenerationConfig",
    ]
    methods = {
        "HiggsAudioV2Model": ["forward", "get_placeholder_mask"],
        "HiggsAudioV2ForConditionalGeneration": [
            "__init__",
            "forward",
            "prepare_inputs_for_generation",
            "generate",
            "_get_logits_processor",
            "_select_next_tokens",
            "_sample",
            "save_pretrained",
            "from_pretrained",
            "set_attn_implementation",
        ],
        "HiggsAudioV2TokenizerModel": [
            "encode",
            "decode",
            "forward",
            "_extract_semantic_features",
            "_get_conv1d_output_lengths",
        ],
    }
    for name in classes:
        # A class that cannot load here (the codec without torchaudio) only fails its own sections.
        try:
            obj = getattr(transformers, name)
            log(f"[sig] {name}{sig(obj)}  <{srcfile(obj)}>")
            for m in methods.get(name, []):
                fn = getattr(obj, m, None)
                if fn is None:
                    log(f"[sig]   {name}.{m}: (not defined)")
                    continue
                owner = next((c.__name__ for c in inspect.getmro(obj) if m in c.__dict__), "?")
                log(f"[sig]   {name}.{m}{sig(fn)}  (defined in {owner})")
        except Exception as e:  # noqa: BLE001
            log(f"[sig] {name}: UNAVAILABLE: {type(e).__name__}: {str(e).strip()}")
    try:
        from transformers.models.higgs_audio_v2 import generation_higgs_audio_v2 as gen_mod

        log(f"[sig] generation module: {srcfile(gen_mod)}; names: {sorted(n for n in dir(gen_mod) if 'Higgs' in n)}")
    except Exception as e:  # noqa: BLE001
        log(f"[sig] generation module unavailable: {e!r}")


def section_lm_model(ctx):
    from transformers import HiggsAudioV2Config, HiggsAudioV2ForConditionalGeneration

    kw = dict(LM_CONFIG)
    legacy = {k: val for k, val in LM_ROPE.items() if k != "rope_theta"}
    cfg, errors = None, []
    for label, extra in (
        ("rope_parameters", {"rope_parameters": dict(LM_ROPE)}),
        ("rope_theta + rope_scaling (legacy)", {"rope_theta": LM_ROPE["rope_theta"], "rope_scaling": legacy}),
    ):
        try:
            cfg = HiggsAudioV2Config(**kw, **extra)
            ctx.info["lm_config_call"] = label
            break
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            errors.append(f"{label}: {type(e).__name__}: {e}")
    if cfg is None:
        raise RuntimeError("HiggsAudioV2Config rejected every variant: " + " | ".join(errors))
    set_eager(cfg, "HiggsAudioV2Config")
    log(f"LM config via {ctx.info['lm_config_call']}; rope_parameters: {getattr(cfg, 'rope_parameters', None)!r}; rope_scaling: {getattr(cfg, 'rope_scaling', None)!r}")

    torch.manual_seed(SEEDS["torch_manual_seed_before_build"])
    lm = HiggsAudioV2ForConditionalGeneration(cfg)
    ctx.info["lm_attn_implementation"] = force_model_eager(lm, "lm")
    ctx.expect(ctx.info["lm_attn_implementation"] == "eager", f"LM attention is {ctx.info['lm_attn_implementation']!r}, not eager")
    lm.eval()
    if getattr(lm, "text_lm_head", None) is not None:
        raise RuntimeError("text_lm_head is present; expected the audio-only model (use_text_head=False)")

    n = init_params(lm, SEEDS["lm_init"], lm_rule)
    round_params_bf16(lm)
    lm.to(ctx.device)
    n_params = sum(p.numel() for p in lm.parameters())
    log(f"LM: {n} parameter tensors initialised, {n_params} parameters")
    ctx.info["lm"] = {
        "num_parameters": n_params,
        "init": "per-tensor torch.Generator(seed_for(lm_init, name)); Embedding N(0,1) (audio codebook table N(0,0.35)); "
        "Linear N(0,1/in) (audio_lm_head x2 std); RMSNorm weight 1+N(0,0.1); then rounded to bf16",
    }
    ctx.lm = lm

    # RoPE: compare the model's inv_freq with an independent llama3 computation.
    inv = lm.model.rotary_emb.inv_freq.detach().float().cpu()
    exp = llama3_inv_freq(
        LM_CONFIG["head_dim"],
        LM_ROPE["rope_theta"],
        LM_ROPE["factor"],
        LM_ROPE["low_freq_factor"],
        LM_ROPE["high_freq_factor"],
        LM_ROPE["original_max_position_embeddings"],
    )
    rel = float(((inv - exp).abs() / exp.abs()).max())
    ctx.checks["lm.rope_inv_freq_max_rel_err_vs_llama3_formula"] = rel
    ctx.expect(rel < 1e-5, f"LM inv_freq differs from the llama3 formula (max rel err {rel:.3e}): rope_parameters not applied?")
    scaling = getattr(lm.model.rotary_emb, "attention_scaling", None)
    ctx.checks["lm.rope_attention_scaling"] = None if scaling is None else float(scaling)
    ctx.golden.add(LM_FILE, "lm.rope_inv_freq", inv, "model.rotary_emb.inv_freq of the LM (llama3-scaled RoPE inverse frequencies, head_dim/2 values)")


def convert_folder_to_bf16(folder):
    """Fallback: rewrite model.safetensors of a float32 save_pretrained folder in bf16 (lossless here)."""
    from safetensors.torch import load_file, save_file

    path = os.path.join(folder, "model.safetensors")
    tensors = load_file(path)
    save_file({k: (v.to(torch.bfloat16) if v.is_floating_point() else v).contiguous() for k, v in tensors.items()}, path, metadata={"format": "pt"})
    cpath = os.path.join(folder, "config.json")
    with open(cpath, "r", encoding="utf-8") as f:
        cfg = json.load(f)
    keys = [k for k in ("dtype", "torch_dtype") if k in cfg] or ["dtype"]
    for k in keys:
        cfg[k] = "bfloat16"
    with open(cpath, "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")


def section_lm_save(ctx):
    lm = ctx.lm
    lm_dir = os.path.join(ctx.out, "lm")
    shutil.rmtree(lm_dir, ignore_errors=True)
    how = None
    try:
        # Save in bf16 (lossless: every parameter is bf16-exact) from a copy, so the fp32 model keeps
        # its fp32 buffers (RoPE inv_freq).
        m2 = copy.deepcopy(lm).to("cpu").to(torch.bfloat16)
        # Mirror the converter's generation_config.json (RAS on); the goldens disable RAS per call.
        m2.generation_config.ras_win_len = 7
        m2.generation_config.ras_win_max_num_repeat = 2
        m2.save_pretrained(lm_dir)
        del m2
        how = "copy.deepcopy(model).to(bfloat16).save_pretrained(lm)"
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        ctx.warn(f"lm_save: bf16 copy path failed ({type(e).__name__}: {e}); saving float32 and converting the file")
        shutil.rmtree(lm_dir, ignore_errors=True)
        saved = (getattr(lm.generation_config, "ras_win_len", None), getattr(lm.generation_config, "ras_win_max_num_repeat", None))
        lm.generation_config.ras_win_len, lm.generation_config.ras_win_max_num_repeat = 7, 2
        try:
            lm.save_pretrained(lm_dir)
        finally:
            lm.generation_config.ras_win_len, lm.generation_config.ras_win_max_num_repeat = saved
        convert_folder_to_bf16(lm_dir)
        how = "model.save_pretrained(lm) in float32, then model.safetensors rewritten in bf16 and config dtype patched"
    files = sorted(os.listdir(lm_dir))
    log(f"saved LM to {lm_dir}: {files} ({how})")
    st = os.path.join(lm_dir, "model.safetensors")
    ctx.info["lm"].update(
        {
            "dir": "lm",
            "files": files,
            "saved_with": how,
            "saved_dtype": "bfloat16",
            "weights_bf16_exact": True,
            "config_json": config_json(os.path.join(lm_dir, "config.json")),
            "generation_config_json": config_json(os.path.join(lm_dir, "generation_config.json")),
            "saved_tensors": read_safetensors_header(st) if os.path.isfile(st) else None,
        }
    )


def section_tokens(ctx):
    tok = get_tokenizer(ctx)
    if tok is None:
        raise FileNotFoundError(ctx.tok_error or "tokenizer unavailable")
    special = {}
    bad = []
    for name, want in SPECIAL_TOKENS.items():
        got = tok.token_to_id(name)
        special[name] = {"expected": want, "got": got}
        if got != want:
            bad.append(f"{name}: expected {want}, got {got}")
    for name in OPTIONAL_SPECIALS:
        special[name] = {"expected": None, "got": tok.token_to_id(name)}
    entries = []
    for name, text, meaning in TOKEN_PROMPTS:
        ids = [int(i) for i in tok.encode(text, add_special_tokens=False).ids]
        tname = f"tokens.{name}"
        ctx.golden.add(LM_FILE, tname, torch.tensor(ids, dtype=torch.int64), f"{meaning}. tokenizer.encode(text, add_special_tokens=False).ids; the text is manifest.json tokens.prompts[name == {name!r}].text")
        seg = prompt_ids(text, tok)
        try:
            rt = tok.decode(ids, skip_special_tokens=False)
        except Exception as e:  # noqa: BLE001
            rt = f"<decode failed: {e!r}>"
        entry = {
            "name": name,
            "tensor": tname,
            "text": text,
            "num_ids": len(ids),
            "segmentwise_equal": seg == ids,
            "decode_roundtrip_equal": rt == text,
        }
        entries.append(entry)
        log(f"tokens.{name}: {len(ids)} ids, segmentwise_equal={entry['segmentwise_equal']}, roundtrip={entry['decode_roundtrip_equal']}")
        if not entry["segmentwise_equal"]:
            ctx.warn(f"tokens.{name}: encoding the whole string differs from encoding the text between specials")
    ctx.info["tokens"] = {
        "tokenizer_path": os.path.relpath(ctx.args.tokenizer, REPO_ROOT) if ctx.args.tokenizer.startswith(REPO_ROOT) else ctx.args.tokenizer,
        "tokenizer_sha256": file_sha256(ctx.args.tokenizer),
        "encode_call": "tokenizers.Tokenizer.from_file(path).encode(text, add_special_tokens=False).ids",
        "special_token_ids": special,
        "prompts": entries,
    }
    if bad:
        raise AssertionError("special token ids differ from the Llama-3/Higgs table: " + "; ".join(bad))


def make_ref_clip(ctx):
    if ctx.ref is None:
        g = make_gen(SEEDS["ref_codes"])
        codes = torch.randint(0, 1024, (NUM_CODEBOOKS, REF_FRAMES), generator=g, dtype=torch.long)
        delayed = delay_pattern(codes)  # [8, REF_FRAMES + 9]
        ctx.ref = (codes, delayed)
    return ctx.ref


def prefill_inputs(ctx):
    ids = lm_prompt(ctx, CLONE_PROMPT_EXPANDED)
    codes, delayed = make_ref_clip(ctx)
    n_frames = delayed.shape[1]
    input_ids = torch.tensor([ids], dtype=torch.long)
    placeholder = (input_ids == AUDIO_TOKEN_ID) | (input_ids == AUDIO_DELAY_TOKEN_ID)
    if int(placeholder.sum()) != n_frames:
        raise RuntimeError(f"prompt has {int(placeholder.sum())} audio placeholders, clip has {n_frames} delayed frames")
    audio_input_ids = delayed.t().contiguous().unsqueeze(0)  # [1, N, 8]
    audio_mask = torch.ones((1, n_frames), dtype=torch.bool)
    attention_mask = torch.ones_like(input_ids)
    return {
        "ids": ids,
        "codes": codes,
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "audio_input_ids": audio_input_ids,
        "audio_input_ids_mask": audio_mask,
        "placeholder": placeholder,
        "L": input_ids.shape[1],
        "N": n_frames,
    }


def model_inputs(p, dev):
    return {
        "input_ids": p["input_ids"].to(dev),
        "attention_mask": p["attention_mask"].to(dev),
        "audio_input_ids": p["audio_input_ids"].to(dev),
        "audio_input_ids_mask": p["audio_input_ids_mask"].to(dev),
    }


def section_prefill(ctx):
    lm, dev = ctx.lm, ctx.device
    p = prefill_inputs(ctx)
    L, N = p["L"], p["N"]
    log(f"prefill prompt: L={L} tokens, N={N} audio frames, ids source={ctx.info.get('lm_prompt_ids_source')}")
    inputs = model_inputs(p, dev)

    layer_out = {}
    pre = {}

    def make_hook(i):
        def hook(mod, args, output):
            t = output[0] if isinstance(output, (tuple, list)) else output
            layer_out[i] = t.detach().float().cpu().clone()

        return hook

    def pre_hook(mod, args, kwargs):
        h = args[0] if len(args) else kwargs.get("hidden_states")
        if h is not None:
            pre["h"] = h.detach().float().cpu().clone()

    handles = []
    try:
        for i, layer in enumerate(lm.model.layers):
            handles.append(layer.register_forward_hook(make_hook(i)))
        try:
            handles.append(lm.model.layers[0].register_forward_pre_hook(pre_hook, with_kwargs=True))
        except Exception as e:  # noqa: BLE001
            log(f"pre-hook unavailable: {e!r}")
        out = lm(**inputs, use_cache=False)
    finally:
        for h in handles:
            h.remove()
    logits = output_logits(out).float().cpu()  # [1, L, 8*1026]
    if tuple(logits.shape) != (1, L, NUM_CODEBOOKS * LM_CODEBOOK_SIZE):
        raise RuntimeError(f"unexpected prefill logits shape {tuple(logits.shape)}")

    base = lm.model(**inputs, use_cache=False)
    last_hidden = base.last_hidden_state.float().cpu()
    head = lm.audio_lm_head(base.last_hidden_state).float().cpu()
    d = maxabs(head, logits)
    ctx.checks["prefill.audio_lm_head(last_hidden_state)_vs_logits_maxabs"] = d
    ctx.expect(d < 1e-5, f"prefill: audio_lm_head(model(...).last_hidden_state) differs from logits by {d:.3e}")

    # Embeddings after the placeholder merge, recomputed from the modules.
    with torch.no_grad():
        emb = lm.model.embed_tokens(inputs["input_ids"]).float().cpu()
        aemb = lm.model.embed_audio_tokens(inputs["audio_input_ids"]).float().cpu()  # [1, N, H]
        merged = emb.clone()
        merged[p["placeholder"]] = aemb[p["audio_input_ids_mask"]]
    if "h" in pre:
        d = maxabs(pre["h"], merged)
        ctx.checks["prefill.inputs_embeds_vs_layer0_input_maxabs"] = d
        ctx.expect(d < 1e-6, f"prefill: recomputed merged embeddings differ from layer-0 input by {d:.3e}")
    if len(layer_out) == LM_CONFIG["num_hidden_layers"]:
        layers = torch.stack([layer_out[i] for i in range(LM_CONFIG["num_hidden_layers"])], dim=0)
    else:
        layers = None
        ctx.warn(f"captured {len(layer_out)} decoder layer outputs, expected {LM_CONFIG['num_hidden_layers']}")

    G = ctx.golden
    G.add(LM_FILE, "prefill.input_ids", p["input_ids"], "input_ids [1, L] of the voice-clone prompt (tokens.voice_clone_expanded built with table specials + tokenizer text pieces; see manifest prompts.lm_prompt_ids_source)")
    G.add(LM_FILE, "prefill.attention_mask", p["attention_mask"], "attention_mask [1, L], all ones")
    G.add(LM_FILE, "prefill.position_ids", torch.arange(L).unsqueeze(0), "position ids used by the model, 0..L-1 (computed internally, not passed)")
    G.add(LM_FILE, "prefill.ref_codes", p["codes"], f"raw reference clip codes [8, {REF_FRAMES}] in 0..1023 (before bos/eos and delay)")
    G.add(LM_FILE, "prefill.audio_input_ids", p["audio_input_ids"], "audio_input_ids [1, N, 8] fed to the model: ref_codes with a 1024 column in front and a 1025 column behind, in delay-pattern form (row k shifted right by k), transposed to frames x codebooks")
    G.add(LM_FILE, "prefill.audio_input_ids_mask", p["audio_input_ids_mask"], "audio_input_ids_mask [1, N] (1 = valid frame), all ones")
    G.add(LM_FILE, "prefill.audio_token_mask", p["placeholder"], "[1, L] 1 where input_ids is <|AUDIO_OUT|> (128016) or <|reserved_special_token_6|> (128014): these positions take the audio-frame embeddings in order and go through the audio FFN path")
    G.add(LM_FILE, "prefill.inputs_embeds", merged, "[1, L, hidden] embeddings after the merge: embed_tokens(input_ids) with placeholder rows replaced by sum_k embed_audio_tokens[k*1026 + code_k]")
    if layers is not None:
        G.add(LM_FILE, "prefill.layer_outputs", layers, "[num_layers, 1, L, hidden] output of each decoder layer (residual stream, before the final norm)")
    G.add(LM_FILE, "prefill.last_hidden_state", last_hidden, "[1, L, hidden] HiggsAudioV2Model output (after the final RMSNorm)")
    G.add(LM_FILE, "prefill.logits", logits.view(1, L, NUM_CODEBOOKS, LM_CODEBOOK_SIZE), "[1, L, 8, 1026] audio logits at EVERY position (HF logits [1, L, 8208] viewed as codebook-major [8, 1026]); the last position predicts generated frame 0")
    ctx.prefill = dict(p, logits=logits)


def section_teacher_forced(ctx):
    lm, dev, P = ctx.lm, ctx.device, ctx.prefill
    L, N = P["L"], P["N"]
    inputs = model_inputs(P, dev)
    out = lm(**inputs, use_cache=True)
    cache = output_cache(out)
    if cache is None:
        raise RuntimeError("prefill with use_cache=True returned no past_key_values")
    d = maxabs(output_logits(out).float().cpu(), P["logits"])
    ctx.checks["teacher_forced.prefill_with_cache_vs_prefill_maxabs"] = d
    ctx.expect(d < 1e-5, f"teacher_forced: cached prefill logits differ from prefill goldens by {d:.3e}")

    g = make_gen(SEEDS["tf_codes"])
    codes = torch.randint(0, 1024, (NUM_CODEBOOKS, TF_CODE_FRAMES), generator=g, dtype=torch.long)
    delayed = delay_pattern(codes)  # [8, TF_CODE_FRAMES + 9]; the last column is all eos
    frames = delayed[:, : TF_CODE_FRAMES + NUM_CODEBOOKS].t().contiguous()  # [S, 8]
    S = frames.shape[0]
    ctx.expect(bool((frames[0] == STREAM_BOS).all()), "teacher_forced: frame 0 is not all-bos")

    step_logits = []
    for s in range(S):
        o = lm(audio_input_ids=frames[s].view(1, 1, NUM_CODEBOOKS).to(dev), past_key_values=cache, use_cache=True)
        lg = output_logits(o)
        if tuple(lg.shape) != (1, 1, NUM_CODEBOOKS * LM_CODEBOOK_SIZE):
            raise RuntimeError(f"decode step {s}: unexpected logits shape {tuple(lg.shape)}")
        step_logits.append(lg[0, -1].float().cpu())
        nc = output_cache(o)
        if nc is not None:
            cache = nc
    try:
        seq_len = int(cache.get_seq_length())
        ctx.checks["teacher_forced.final_cache_length"] = seq_len
        ctx.expect(seq_len == L + S, f"teacher_forced: cache length {seq_len} != L + S = {L + S}")
    except Exception as e:  # noqa: BLE001
        log(f"cache length unavailable: {e!r}")
    flat = torch.stack(step_logits, dim=0)  # [S, 8208]

    # The same logits from one forward without cache over prompt + S placeholder positions.
    full_ids = torch.cat([P["input_ids"], torch.full((1, S), AUDIO_TOKEN_ID, dtype=torch.long)], dim=1)
    full_audio = torch.cat([P["audio_input_ids"], frames.unsqueeze(0)], dim=1)
    of = lm(
        input_ids=full_ids.to(dev),
        attention_mask=torch.ones_like(full_ids).to(dev),
        audio_input_ids=full_audio.to(dev),
        audio_input_ids_mask=torch.ones((1, N + S), dtype=torch.bool).to(dev),
        use_cache=False,
    )
    d = maxabs(output_logits(of)[0, L : L + S].float().cpu(), flat)
    ctx.checks["teacher_forced.cached_steps_vs_full_forward_maxabs"] = d
    ctx.expect(d < 1e-4, f"teacher_forced: cached decode logits differ from a full forward by {d:.3e}")

    lg = flat.view(S, NUM_CODEBOOKS, LM_CODEBOOK_SIZE)
    G = ctx.golden
    G.add(LM_FILE, "teacher_forced.codes", codes, f"raw codes [8, {TF_CODE_FRAMES}] behind the fed frames")
    G.add(LM_FILE, "teacher_forced.frames", frames, f"[S={S}, 8] frames fed one per decode step after the prefill of prefill.* (delay pattern of [1024 | codes | 1025]: frame 0 all-bos, ramp-in, data, ramp-out; the final all-eos column is not fed)")
    G.add(LM_FILE, "teacher_forced.positions", torch.arange(L, L + S), "[S] position (= KV-cache length before the step) of each fed frame")
    G.add(LM_FILE, "teacher_forced.logits", lg, "[S, 8, 1026] audio logits of decode step s (input: only audio_input_ids = frames[s] as [1, 1, 8], past_key_values from prefill + steps < s; no input_ids, so the whole step takes the audio path); they predict frame s+1")
    G.add(LM_FILE, "teacher_forced.argmax", lg.argmax(-1), "[S, 8] argmax of teacher_forced.logits per codebook (no delay masking)")


def replay_greedy(ctx, kwargs, ids, gen_frames):
    """Re-derive HF greedy frames with an explicit implementation of the delay-pattern logits
    processor (batch 1), teacher-forcing HF's own frames. Returns (frames, raw margins)."""
    lm, dev = ctx.lm, ctx.device
    out = lm(**kwargs, use_cache=True)
    cache = output_cache(out)
    scores = output_logits(out)[0, -1].float().cpu().view(NUM_CODEBOOKS, LM_CODEBOOK_SIZE)
    window = ids[-NUM_CODEBOOKS:]
    bos_pos = [i for i, t in enumerate(window) if t == AUDIO_BOS_TOKEN_ID]
    eos_pos = [i for i, t in enumerate(window) if t == AUDIO_DELAY_TOKEN_ID]
    bos_delay = [k + 1 - (NUM_CODEBOOKS - bos_pos[0]) for k in range(NUM_CODEBOOKS)] if bos_pos else [0] * NUM_CODEBOOKS
    eos_delay = [k + 1 - (NUM_CODEBOOKS - eos_pos[0]) for k in range(NUM_CODEBOOKS)] if eos_pos else [k + 1 for k in range(NUM_CODEBOOKS)]
    last_text = ids[-1]
    frames, margins = [], []
    ninf = float("-inf")
    for t in range(gen_frames.shape[0]):
        top2 = scores.topk(2, dim=-1).values
        margins.append(top2[:, 0] - top2[:, 1])
        s = scores.clone()
        for k in range(NUM_CODEBOOKS):
            if bos_delay[k] >= 0:
                keep = float(s[k, STREAM_BOS])
                s[k, :] = ninf
                s[k, STREAM_BOS] = keep
                bos_delay[k] -= 1
        if last_text == AUDIO_DELAY_TOKEN_ID:
            eos_delay = [e - 1 for e in eos_delay]
        for k in range(NUM_CODEBOOKS):
            if eos_delay[k] <= 0:
                keep = float(s[k, STREAM_EOS])
                s[k, :] = ninf
                s[k, STREAM_EOS] = keep
        frames.append(s.argmax(-1))
        hf = gen_frames[t].cpu()
        is_eos = hf == STREAM_EOS
        if bool(is_eos.all()):
            last_text = EOS_TOKEN_ID
        elif bool(is_eos.any()) or last_text == AUDIO_DELAY_TOKEN_ID:
            last_text = AUDIO_DELAY_TOKEN_ID
        else:
            last_text = AUDIO_TOKEN_ID
        if t + 1 < gen_frames.shape[0]:
            o = lm(audio_input_ids=hf.view(1, 1, NUM_CODEBOOKS).to(dev), past_key_values=cache, use_cache=True)
            nc = output_cache(o)
            if nc is not None:
                cache = nc
            scores = output_logits(o)[0, -1].float().cpu().view(NUM_CODEBOOKS, LM_CODEBOOK_SIZE)
    return torch.stack(frames, 0), torch.stack(margins, 0)


def greedy_one(ctx, name, text, with_audio):
    lm, dev = ctx.lm, ctx.device
    ids = lm_prompt(ctx, text)
    input_ids = torch.tensor([ids], dtype=torch.long)
    kwargs = {"input_ids": input_ids.to(dev), "attention_mask": torch.ones_like(input_ids).to(dev)}
    n_prompt_audio = 0
    audio_input_ids = None
    if with_audio:
        _, delayed = make_ref_clip(ctx)
        audio_input_ids = delayed.t().contiguous().unsqueeze(0)
        n_prompt_audio = audio_input_ids.shape[1]
        kwargs["audio_input_ids"] = audio_input_ids.to(dev)
        kwargs["audio_input_ids_mask"] = torch.ones((1, n_prompt_audio), dtype=torch.bool).to(dev)

    if getattr(lm, "generation_config", None) is None:
        from transformers import GenerationConfig

        lm.generation_config = GenerationConfig.from_model_config(lm.config)
    gen_cfg = copy.deepcopy(lm.generation_config)
    gen_cfg.ras_win_len = None  # RAS off (HF reads getattr(generation_config, "ras_win_len", None))
    gen_cfg.ras_win_max_num_repeat = None
    gen_cfg.do_sample = False
    gen_cfg.num_beams = 1
    gen_cfg.max_new_tokens = GREEDY_MAX_NEW_TOKENS
    saved = (getattr(lm.generation_config, "ras_win_len", None), getattr(lm.generation_config, "ras_win_max_num_repeat", None))
    lm.generation_config.ras_win_len = None
    lm.generation_config.ras_win_max_num_repeat = None
    attempts = [
        ("generation_config + return_dict_in_generate + output_logits", dict(generation_config=gen_cfg, do_sample=False, max_new_tokens=GREEDY_MAX_NEW_TOKENS, return_dict_in_generate=True, output_logits=True)),
        ("return_dict_in_generate", dict(do_sample=False, max_new_tokens=GREEDY_MAX_NEW_TOKENS, return_dict_in_generate=True)),
        ("plain, as in the HF integration tests", dict(do_sample=False, max_new_tokens=GREEDY_MAX_NEW_TOKENS)),
    ]
    out, errors = None, []
    try:
        for label, extra in attempts:
            try:
                torch.manual_seed(SEEDS["generate"])
                out = lm.generate(**kwargs, **extra)
                ctx.info.setdefault("greedy_generate_call", {})[name] = label
                break
            except Exception as e:  # noqa: BLE001
                traceback.print_exc()
                errors.append(f"{label}: {type(e).__name__}: {e}")
                log(f"greedy.{name}: generate ({label}) failed: {type(e).__name__}: {e}")
    finally:
        lm.generation_config.ras_win_len, lm.generation_config.ras_win_max_num_repeat = saved
    if out is None:
        raise RuntimeError("generate failed in every variant: " + " | ".join(errors))
    if errors:
        ctx.warn(f"greedy.{name}: generate needed a fallback call: {errors}")

    if isinstance(out, torch.Tensor):
        audio_seq, sequences, raw_logits = out, None, None
    else:
        audio_seq = getattr(out, "audio_sequences", None)
        sequences = getattr(out, "sequences", None)
        raw_logits = getattr(out, "logits", None)
    if audio_seq is None:
        raise RuntimeError(f"generate returned no audio_sequences: {type(out).__name__}")
    audio_seq = audio_seq.detach().cpu()
    log(f"greedy.{name}: audio_sequences {tuple(audio_seq.shape)}, sequences {None if sequences is None else tuple(sequences.shape)}")
    gen_frames = audio_seq[0, n_prompt_audio:]
    F_ = gen_frames.shape[0]
    ctx.checks[f"greedy.{name}.num_generated_frames"] = int(F_)
    ctx.expect(F_ >= 1 and bool((gen_frames[0] == STREAM_BOS).all()), f"greedy.{name}: generated frame 0 is not all-bos")
    if with_audio:
        ctx.expect(torch.equal(audio_seq[0, :n_prompt_audio], audio_input_ids[0]), f"greedy.{name}: audio_sequences does not start with the prompt audio")

    G = ctx.golden
    pre = f"greedy.{name}"
    G.add(LM_FILE, f"{pre}.input_ids", input_ids, f"input_ids [1, L] given to generate ({'voice-clone, same as prefill.input_ids' if with_audio else 'smart-voice prompt tokens.smart_voice'})")
    if with_audio:
        G.add(LM_FILE, f"{pre}.audio_input_ids", audio_input_ids, "audio_input_ids [1, N, 8] given to generate (same as prefill.audio_input_ids); audio_input_ids_mask all ones; attention_mask all ones")
    G.add(LM_FILE, f"{pre}.audio_sequences", audio_seq, f"audio_sequences exactly as generate returns them [1, N_prompt_audio + F, 8] (prompt audio frames first, N_prompt_audio = {n_prompt_audio}); do_sample=False, ras_win_len=None, max_new_tokens={GREEDY_MAX_NEW_TOKENS}")
    G.add(LM_FILE, f"{pre}.generated_frames", gen_frames, "[F, 8] generated frames only (frame 0 is the forced all-bos frame), in delay-pattern form")
    if sequences is not None:
        G.add(LM_FILE, f"{pre}.sequences", sequences.detach().cpu(), "text stream returned by generate [1, L + F]: prompt then one placeholder per frame (128016 audio, 128014 delay once a codebook emitted 1025, 128009 after an all-eos frame)")
    trimmed, tinfo = hf_batch_decode_codes(audio_seq[0])
    ctx.info.setdefault("greedy", {})[name] = {"trim": tinfo, "num_prompt_audio_frames": n_prompt_audio, "prompt_len": len(ids)}
    if trimmed is not None and trimmed.numel():
        G.add(LM_FILE, f"{pre}.trimmed_codes", trimmed, "[8, T] codes that HF processor.batch_decode would hand to the codec: from the last all-bos frame (exclusive) to the first all-eos frame (exclusive), delay reverted, clipped to 0..1023")
    else:
        log(f"{pre}: no trimmed codes ({tinfo})")

    margins = None
    if raw_logits is not None and len(raw_logits) == F_:
        rl = torch.stack([x.detach().float().cpu().reshape(-1) for x in raw_logits], 0).view(F_, NUM_CODEBOOKS, LM_CODEBOOK_SIZE)
        top2 = rl.topk(2, dim=-1).values
        margins = top2[..., 0] - top2[..., 1]
    try:
        rep, rep_margins = replay_greedy(ctx, kwargs, ids, gen_frames)
        match = torch.equal(rep, gen_frames)
        ctx.checks[f"{pre}.replay_with_explicit_delay_rules_matches"] = bool(match)
        ctx.expect(match, f"{pre}: explicit delay-rule replay differs from HF generate (first diff at frame {int((rep != gen_frames).any(-1).nonzero()[0, 0]) if not match else -1})")
        if margins is None:
            margins = rep_margins
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        ctx.warn(f"{pre}: replay check failed: {type(e).__name__}: {e}")
    if margins is not None:
        G.add(LM_FILE, f"{pre}.raw_logit_margin", margins, "[F, 8] top1 - top2 of the raw (unmasked) audio logits that produced each frame; small values mark argmax decisions sensitive to rounding")
        free = margins[1:][gen_frames[1:] != STREAM_BOS] if F_ > 1 else margins[:0]
        ctx.checks[f"{pre}.min_margin_unforced"] = float(free.min()) if free.numel() else None


def section_greedy(ctx):
    prompts = {"smart": (SMART_PROMPT, False), "clone": (CLONE_PROMPT_EXPANDED, True)}
    run_items(ctx, "greedy", list(prompts), lambda name: greedy_one(ctx, name, *prompts[name]))


def section_codec_model(ctx):
    from transformers import DacConfig, HiggsAudioV2TokenizerConfig, HiggsAudioV2TokenizerModel, HubertConfig

    dac = DacConfig(**CODEC_DAC)
    # DacConfig derives hidden_size/upsampling_ratios itself; make sure the explicit values won.
    for attr in ("hidden_size", "upsampling_ratios", "downsampling_ratios", "encoder_hidden_size", "decoder_hidden_size"):
        want = CODEC_DAC[attr]
        got = getattr(dac, attr, None)
        same = list(got) == list(want) if isinstance(want, list) and got is not None else got == want
        if not same:
            log(f"DacConfig.{attr} = {got!r}, forcing {want!r}")
            setattr(dac, attr, list(want) if isinstance(want, list) else want)
    hub = HubertConfig(**CODEC_HUBERT)
    cfg = HiggsAudioV2TokenizerConfig(acoustic_model_config=dac, semantic_model_config=hub, **CODEC_TOP)
    set_eager(cfg, "HiggsAudioV2TokenizerConfig")
    set_eager(cfg.semantic_model_config, "semantic_model_config")
    derived = {
        "num_quantizers": cfg.num_quantizers,
        "hop_length": cfg.hop_length,
        "frame_rate": cfg.frame_rate,
        "semantic_downsample_factor": cfg.semantic_downsample_factor,
        "hidden_size": cfg.hidden_size,
        "acoustic_hidden_size": cfg.acoustic_model_config.hidden_size,
        "semantic_hidden_size": cfg.semantic_model_config.hidden_size,
    }
    log(f"codec derived config: {derived}")
    want = {"num_quantizers": 8, "hop_length": 960, "frame_rate": 25, "semantic_downsample_factor": 2, "hidden_size": 48}
    for k, val in want.items():
        if derived[k] != val:
            raise RuntimeError(f"codec config {k} = {derived[k]}, expected {val}")

    torch.manual_seed(SEEDS["torch_manual_seed_before_build"])
    codec = HiggsAudioV2TokenizerModel(cfg)
    force_model_eager(codec, "codec")
    sem_attn = getattr(codec.semantic_model.config, "_attn_implementation", None)
    log(f"codec.semantic_model: config._attn_implementation = {sem_attn!r}")
    ctx.info["codec_semantic_attn_implementation"] = sem_attn
    ctx.expect(sem_attn == "eager", f"codec semantic model attention is {sem_attn!r}, not eager")
    codec.eval()

    n = init_params(codec, SEEDS["codec_init"], codec_rule)
    nq = init_codebooks(codec, SEEDS["codec_init"])
    if nq != 8:
        raise RuntimeError(f"found {nq} RVQ codebooks, expected 8")
    round_params_bf16(codec)
    codec.to(ctx.device)
    n_params = sum(p.numel() for p in codec.parameters())
    log(f"codec: {n} parameter tensors + {nq} codebooks initialised, {n_params} parameters")

    # Structure checks for the HF adjustments of DAC (output_padding = stride % 2, no tanh).
    tanh = getattr(codec.acoustic_decoder, "tanh", None)
    ctx.expect(tanh is None or not isinstance(tanh, nn.Tanh), "codec: acoustic_decoder.tanh is still nn.Tanh")
    for mname, mod in codec.acoustic_decoder.named_modules():
        if isinstance(mod, nn.ConvTranspose1d):
            st = mod.stride[0]
            ctx.expect(tuple(mod.output_padding) == (st % 2,), f"codec: {mname} output_padding {mod.output_padding} != stride%2")

    ctx.info["codec"] = {
        "num_parameters": n_params,
        "derived": derived,
        "init": "per-tensor torch.Generator(seed_for(codec_init, name)); conv N(0,1/fan_in) (residual-unit conv2 x0.3), "
        "ConvTranspose N(0, stride/(in*k)), Linear N(0,1/in), Snake alpha 1+N(0,0.2) clamped >= 0.3, norms 1+N(0,0.1)/N(0,0.05), "
        "weight-norm g U(0.3,0.7) v N(0,1), biases N(0,0.02), RVQ codebook embed N(0,1) (embed_avg = embed, cluster_size = 1, inited = 1); "
        "then every parameter rounded to bf16 (saved as float32)",
    }
    ctx.codec = codec


def section_codec_save(ctx):
    codec_dir = os.path.join(ctx.out, "codec")
    shutil.rmtree(codec_dir, ignore_errors=True)
    ctx.codec.save_pretrained(codec_dir)
    files = sorted(os.listdir(codec_dir))
    log(f"saved codec to {codec_dir}: {files}")
    st = os.path.join(codec_dir, "model.safetensors")
    ctx.info["codec"].update(
        {
            "dir": "codec",
            "files": files,
            "saved_dtype": "float32",
            "weights_bf16_exact": True,
            "config_json": config_json(os.path.join(codec_dir, "config.json")),
            "saved_tensors": read_safetensors_header(st) if os.path.isfile(st) else None,
        }
    )


def capture_outputs_of(modules):
    """Register forward hooks on (name, module) pairs; returns (store, handles)."""
    store, handles = {}, []
    for name, mod in modules:
        def hook(m, args, output, _n=name):
            t = output[0] if isinstance(output, (tuple, list)) else output
            store[_n] = t.detach().float().cpu().clone()

        handles.append(mod.register_forward_hook(hook))
    return store, handles


def run_items(ctx, what, items, fn):
    """Run fn(item) for each item; a failing item prints its traceback, the others still run."""
    failed = []
    for item in items:
        try:
            fn(item)
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            log(f"{what} {item} FAILED: {type(e).__name__}: {e}")
            failed.append(item)
    if failed:
        raise RuntimeError(f"{what} failed for: {failed}")


def codec_decode_one(ctx, T):
    codec, dev = ctx.codec, ctx.device
    G = ctx.golden
    pre = f"decode.T{T}"
    g = make_gen(SEEDS["decode_codes"] + T)
    codes = torch.randint(0, 1024, (1, NUM_CODEBOOKS, T), generator=g, dtype=torch.long)
    G.add(CODEC_FILE, f"{pre}.codes", codes, f"audio_codes [1, 8, {T}] (random, 0..1023) passed to HiggsAudioV2TokenizerModel.decode")
    # Step by step first (stored even if the HF decode call fails).
    q = codec.quantizer.decode(codes.to(dev).transpose(0, 1))  # [1, hidden, T]
    G.add(CODEC_FILE, f"{pre}.rvq_sum", q, f"[1, hidden={q.shape[1]}, {T}] quantizer.decode(codes.transpose(0,1)): sum over codebooks q=0..7 of project_out_q(embed_q[codes[q]]) (the dequantized latent)")
    a = codec.fc2(q.transpose(1, 2)).transpose(1, 2)  # [1, acoustic_hidden, T]
    G.add(CODEC_FILE, f"{pre}.fc2_out", a, f"[1, {a.shape[1]}, {T}] fc2 applied to the RVQ sum (input of the acoustic decoder)")
    hooks, store = [], {}
    if T == DEBUG_DECODE_T:
        mods = [("dec_conv1", codec.acoustic_decoder.conv1)] + [(f"dec_block{i}", b) for i, b in enumerate(codec.acoustic_decoder.block)]
        store, hooks = capture_outputs_of(mods)
    try:
        audio2 = codec.acoustic_decoder(a).float().cpu()
    finally:
        for h in hooks:
            h.remove()
    for k in sorted(store):
        G.add(CODEC_FILE, f"{pre}.{k}", store[k], f"output of acoustic_decoder.{k.replace('dec_', '').replace('block', 'block.')} {list(store[k].shape)}")
    out = codec.decode(codes.to(dev), return_dict=True)
    audio = (out.audio_values if hasattr(out, "audio_values") else out[0]).float().cpu()
    ctx.expect(tuple(audio.shape) == (1, 1, T * 960), f"decode T={T}: audio shape {tuple(audio.shape)} != (1, 1, {T * 960})")
    d = maxabs(audio2, audio)
    ctx.checks[f"codec_decode.T{T}.stepwise_vs_decode_maxabs"] = d
    ctx.expect(d < 1e-5, f"decode T={T}: step-by-step decode differs from codec.decode by {d:.3e}")
    G.add(CODEC_FILE, f"{pre}.audio", audio, f"[1, 1, {T * 960}] decode(codes).audio_values (24 kHz, no tanh)")


def section_codec_decode(ctx):
    run_items(ctx, "codec_decode T", DECODE_FRAMES, lambda T: codec_decode_one(ctx, T))


def encode_waveform(N):
    g = make_gen(SEEDS["encode_audio"] + N)
    t = torch.arange(N, dtype=torch.float64) / 24000.0
    wave = (
        0.30 * torch.sin(2 * math.pi * 220.0 * t)
        + 0.20 * torch.sin(2 * math.pi * 1375.5 * t + 0.3)
        + 0.10 * torch.sin(2 * math.pi * 3210.0 * t + 1.1)
    ).to(torch.float32) + 0.05 * torch.randn(N, generator=g)
    return wave.view(1, 1, N)


def codec_encode_one(ctx, N):
    codec, dev = ctx.codec, ctx.device
    cfg = codec.config
    G = ctx.golden
    pre = f"encode.N{N}"
    note = {}
    ctx.info.setdefault("codec_encode", {})[f"N{N}"] = note
    x = encode_waveform(N).to(dev)
    T = N // 960
    G.add(CODEC_FILE, f"{pre}.input", x, f"[1, 1, {N}] 24 kHz input waveform (three sines + N(0, 0.05^2) noise), passed to HiggsAudioV2TokenizerModel.encode")

    # Acoustic branch (independent of the semantic one).
    hooks, store = [], {}
    if N == DEBUG_ENCODE_N:
        mods = [("enc_conv1", codec.acoustic_encoder.conv1)] + [(f"enc_block{i}", b) for i, b in enumerate(codec.acoustic_encoder.block)]
        store, hooks = capture_outputs_of(mods)
    try:
        e_ac = codec.acoustic_encoder(x)
    finally:
        for h in hooks:
            h.remove()
    for k in sorted(store):
        G.add(CODEC_FILE, f"{pre}.{k}", store[k], f"output of acoustic_encoder.{k.replace('enc_', '').replace('block', 'block.')} {list(store[k].shape)}")
    note["acoustic_frames_unpadded"] = int(e_ac.shape[2])

    # Semantic branch: the model's own feature extraction, plus a manual re-derivation.
    try:
        import torchaudio

        x16 = torchaudio.functional.resample(x, cfg.sample_rate, cfg.semantic_sample_rate)
        G.add(CODEC_FILE, f"{pre}.resampled_16k", x16, f"[1, 1, {x16.shape[-1]}] torchaudio.functional.resample(input, 24000, 16000) (defaults: sinc_interp_hann, width 6, rolloff 0.99)")
        hs = codec.semantic_model(F.pad(x16[:, 0, :], (160, 160)), output_hidden_states=True).hidden_states
        hubert_states = torch.stack([h.float() for h in hs], dim=0)  # [layers+1, 1, H, Hs]
        mean_full = hubert_states.mean(dim=0)  # [1, H, Hs]
        G.add(CODEC_FILE, f"{pre}.hubert_hidden_states", hubert_states, f"[num_hubert_layers+1, 1, H, {hubert_states.shape[-1]}] semantic_model(pad(resampled_16k[:, 0], (160, 160)), output_hidden_states=True).hidden_states (embedding output after pos-conv + LayerNorm, then each layer)")
        G.add(CODEC_FILE, f"{pre}.semantic_layer_mean_full", mean_full, "[1, H, Hs] mean over the hidden_states axis (HuBERT 50 Hz frames, before the ::2 downsample)")
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        mean_full = None
        ctx.warn(f"{pre}: manual semantic path failed: {type(e).__name__}: {e}")
    try:
        sem = codec._extract_semantic_features(x)  # [1, T, Hs]
        note["semantic_source"] = "HiggsAudioV2TokenizerModel._extract_semantic_features"
    except Exception as e:  # noqa: BLE001
        if mean_full is None:
            raise
        traceback.print_exc()
        sem = mean_full[:, :: cfg.semantic_downsample_factor, :]
        note["semantic_source"] = "manual (resample, pad 160, HuBERT hidden_states mean, [::2])"
        ctx.expect(False, f"{pre}: _extract_semantic_features failed ({type(e).__name__}: {e}); used the manual semantic path")
    G.add(CODEC_FILE, f"{pre}.semantic_layer_mean", sem, f"[1, {sem.shape[1]}, {sem.shape[2]}] _extract_semantic_features(input): HuBERT layer mean, frames [::semantic_downsample_factor=2] (25 Hz)")
    if mean_full is not None:
        d = maxabs(mean_full[:, :: cfg.semantic_downsample_factor, :], sem)
        note["manual_semantic_mean_vs_hf_maxabs"] = d
        ctx.expect(d < 1e-5, f"{pre}: manual HuBERT layer mean (pad 160) differs from _extract_semantic_features by {d:.3e}")
    e_sem = codec.encoder_semantic(sem.transpose(1, 2))  # [1, Hs, T]
    G.add(CODEC_FILE, f"{pre}.e_semantic", e_sem, f"[1, Hs, {e_sem.shape[2]}] encoder_semantic(semantic_layer_mean.transpose(1, 2))")
    padded = e_ac.shape[2] != e_sem.shape[2]
    note["acoustic_input_padded"] = bool(padded)
    ctx.expect(not padded, f"{pre}: acoustic branch needed padding (N = {N} should be a multiple of 960)")
    if padded:
        e_ac = codec.acoustic_encoder(F.pad(x, (codec.pad, codec.pad)))
    G.add(CODEC_FILE, f"{pre}.e_acoustic", e_ac, f"[1, {e_ac.shape[1]}, {e_ac.shape[2]}] acoustic_encoder(input) (DAC encoder, no padding for N % 960 == 0)")
    emb = codec.fc(torch.cat([e_ac, e_sem], dim=1).transpose(1, 2)).transpose(1, 2)  # [1, hidden, T]
    G.add(CODEC_FILE, f"{pre}.fc_prior_out", emb, f"[1, hidden={emb.shape[1]}, {emb.shape[2]}] fc(cat([e_acoustic, e_semantic], dim=1).transpose(1, 2)).transpose(1, 2): the RVQ input (acoustic channels first)")

    # RVQ, re-derived with nearest-neighbour margins (to judge code flips in a port).
    residual = emb
    margins, manual_codes = [], []
    for qz in codec.quantizer.quantizers[:NUM_CODEBOOKS]:
        h = qz.project_in(residual.permute(0, 2, 1))  # [1, T, cd]
        hf = h.reshape(-1, h.shape[-1])
        E = qz.codebook.embed
        dist = -(hf.pow(2).sum(1, keepdim=True) - 2 * hf @ E.t() + E.pow(2).sum(1)[None, :])
        top2 = dist.topk(2, dim=-1)
        idx = top2.indices[:, 0].view(h.shape[0], h.shape[1])
        margins.append((top2.values[:, 0] - top2.values[:, 1]).view(h.shape[0], h.shape[1]).float().cpu())
        manual_codes.append(idx.cpu())
        residual = residual - qz.decode(idx)
    manual = torch.stack(manual_codes, 0).transpose(0, 1)  # [1, 8, T]
    margins = torch.stack(margins, 0)[:, 0, :]  # [8, T]
    note["min_rvq_margin"] = float(margins.min())
    G.add(CODEC_FILE, f"{pre}.rvq_margin", margins, f"[8, {T}] per codebook stage: best minus second-best of -squared-distance in the nearest-codeword search (0 would be a tie)")
    try:
        codes_steps = codec.quantizer.encode(emb, None).transpose(0, 1).cpu()
        note["manual_rvq_codes_equal_quantizer"] = bool(torch.equal(manual, codes_steps))
        ctx.expect(note["manual_rvq_codes_equal_quantizer"], f"{pre}: manual RVQ codes differ from quantizer.encode")
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        codes_steps = manual
        ctx.expect(False, f"{pre}: quantizer.encode failed ({type(e).__name__}: {e}); using the manual RVQ codes")

    codes_hf = None
    try:
        ref = codec.encode(x, return_dict=True)
        codes_hf = (ref.audio_codes if hasattr(ref, "audio_codes") else ref[0]).cpu()
        ctx.expect(tuple(codes_hf.shape) == (1, NUM_CODEBOOKS, T), f"{pre}: codes shape {tuple(codes_hf.shape)} != (1, 8, {T})")
        same = torch.equal(codes_steps, codes_hf)
        note["stepwise_codes_equal_encode"] = bool(same)
        ctx.expect(same, f"{pre}: step-by-step codes differ from codec.encode")
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        ctx.expect(False, f"{pre}: codec.encode failed ({type(e).__name__}: {e}); stored the step-by-step codes")
    codes = codes_hf if codes_hf is not None else codes_steps
    note["codes_source"] = "encode(input).audio_codes" if codes_hf is not None else "step by step (codec.encode failed)"
    G.add(CODEC_FILE, f"{pre}.codes", codes, f"[1, 8, {T}] encode(input).audio_codes")
    log(f"{pre}: codes {tuple(codes.shape)}, {note}")


def section_codec_encode(ctx):
    run_items(ctx, "codec_encode N", ENCODE_SAMPLES, lambda N: codec_encode_one(ctx, N))


def _alt_names(key):
    """Weight-norm naming variants (parametrizations.weight.original0/1 <-> weight_g/weight_v)."""
    alts = [key]
    for a, b in ((".parametrizations.weight.original0", ".weight_g"), (".parametrizations.weight.original1", ".weight_v")):
        if key.endswith(a):
            alts.append(key[: -len(a)] + b)
        if key.endswith(b):
            alts.append(key[: -len(b)] + a)
    return alts


def compare_saved_file(ctx, what, model, path):
    """Compare the saved safetensors file with the in-memory weights, independent of from_pretrained."""
    from safetensors import safe_open

    sd = model.state_dict()
    with safe_open(path, framework="pt") as f:
        file_keys = set(f.keys())
        missing, mismatched, matched = [], [], set()
        for k, v in sd.items():
            name = next((a for a in _alt_names(k) if a in file_keys), None)
            if name is None:
                missing.append(k)
                continue
            matched.add(name)
            t = f.get_tensor(name)
            if tuple(t.shape) != tuple(v.shape):
                mismatched.append(f"{k}: shape {tuple(t.shape)} vs {tuple(v.shape)}")
            elif not torch.equal(t.float(), v.detach().float().cpu()):
                mismatched.append(f"{k}: max |diff| {float((t.float() - v.detach().float().cpu()).abs().max()):.3e}")
        extra = sorted(file_keys - matched)
    ctx.checks[f"{what}.saved_file_vs_memory"] = {"tensors_in_file": len(file_keys), "missing_in_file": missing[:20], "extra_in_file": extra[:20], "mismatched": mismatched[:20]}
    ctx.expect(not mismatched, f"{what}: saved weights differ from the weights used for the goldens: {mismatched[:5]}")
    if missing:
        ctx.warn(f"{what}: state_dict keys not found in {os.path.basename(path)}: {missing[:10]}")
    if extra:
        ctx.warn(f"{what}: extra tensors in {os.path.basename(path)}: {extra[:10]}")
    log(f"{what}: file has {len(file_keys)} tensors, mismatched={len(mismatched)}, missing={len(missing)}, extra={len(extra)}")


def load_pretrained(ctx, cls, path):
    errors = []
    for kwargs in ({"dtype": torch.float32, "attn_implementation": "eager"}, {"torch_dtype": torch.float32, "attn_implementation": "eager"}, {}):
        try:
            m = cls.from_pretrained(path, **kwargs)
            ctx.checks[f"from_pretrained_call.{os.path.basename(path)}"] = {k: str(v) for k, v in kwargs.items()}
            return m.float().eval().to(ctx.device)
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            errors.append(f"{kwargs}: {type(e).__name__}: {e}")
    raise RuntimeError(f"{cls.__name__}.from_pretrained({path}) failed: " + " | ".join(errors))


def section_lm_reload(ctx):
    from transformers import HiggsAudioV2ForConditionalGeneration

    lm_dir = os.path.join(ctx.out, "lm")
    compare_saved_file(ctx, "lm_reload", ctx.lm, os.path.join(lm_dir, "model.safetensors"))
    # Diagnostics through from_pretrained (a mismatch here is reported as a warning).
    m = load_pretrained(ctx, HiggsAudioV2ForConditionalGeneration, lm_dir)
    pdt = next(m.parameters()).dtype
    diffs = state_dicts_equal(ctx.lm.state_dict(), m.state_dict())
    ctx.checks["lm_reload.from_pretrained_param_dtype"] = str(pdt)
    ctx.checks["lm_reload.from_pretrained_state_dict_differences"] = diffs[:20]
    if diffs:
        ctx.warn(f"lm_reload: from_pretrained state_dict differs from memory: {diffs[:5]}")
    inv_d = maxabs(m.model.rotary_emb.inv_freq, ctx.lm.model.rotary_emb.inv_freq)
    ctx.checks["lm_reload.from_pretrained_inv_freq_maxabs"] = inv_d
    out = m(**model_inputs(ctx.prefill, ctx.device), use_cache=False)
    d = maxabs(output_logits(out).float().cpu(), ctx.prefill["logits"])
    ctx.checks["lm_reload.from_pretrained_prefill_logits_maxabs"] = d
    if not d < 1e-5:
        ctx.warn(f"lm_reload: prefill logits of the from_pretrained model differ from the goldens by {d:.3e}")
    log(f"lm_reload: from_pretrained dtype={pdt}, state_dict diffs={len(diffs)}, inv_freq maxabs={inv_d:.3e}, prefill logits maxabs={d:.3e}")


def section_codec_reload(ctx):
    from transformers import HiggsAudioV2TokenizerModel

    codec_dir = os.path.join(ctx.out, "codec")
    compare_saved_file(ctx, "codec_reload", ctx.codec, os.path.join(codec_dir, "model.safetensors"))
    m = load_pretrained(ctx, HiggsAudioV2TokenizerModel, codec_dir)
    diffs = state_dicts_equal(ctx.codec.state_dict(), m.state_dict())
    ctx.checks["codec_reload.from_pretrained_state_dict_differences"] = diffs[:20]
    if diffs:
        ctx.warn(f"codec_reload: from_pretrained state_dict differs from memory: {diffs[:5]}")
    tens = ctx.golden.tensors[CODEC_FILE]
    key = f"decode.T{DEBUG_DECODE_T}"
    if f"{key}.codes" in tens:
        out = m.decode(tens[f"{key}.codes"].to(ctx.device), return_dict=True)
        audio = (out.audio_values if hasattr(out, "audio_values") else out[0]).float().cpu()
        d = maxabs(audio, tens[f"{key}.audio"])
        ctx.checks["codec_reload.from_pretrained_decode_maxabs"] = d
        if not d < 1e-5:
            ctx.warn(f"codec_reload: decode of the from_pretrained codec differs from the goldens by {d:.3e}")
    key = f"encode.N{DEBUG_ENCODE_N}"
    if f"{key}.codes" in tens:
        out = m.encode(tens[f"{key}.input"].to(ctx.device), return_dict=True)
        codes = (out.audio_codes if hasattr(out, "audio_codes") else out[0]).cpu()
        same = torch.equal(codes, tens[f"{key}.codes"])
        ctx.checks["codec_reload.from_pretrained_encode_codes_equal"] = bool(same)
        if not same:
            ctx.warn("codec_reload: encode codes of the from_pretrained codec differ from the goldens")
    log(f"codec_reload: from_pretrained state_dict diffs={len(diffs)}")


SECTIONS = [
    ("preflight", section_preflight, ()),
    ("lm_model", section_lm_model, ()),
    ("lm_save", section_lm_save, ("lm_model",)),
    ("tokens", section_tokens, ()),
    ("prefill", section_prefill, ("lm_model",)),
    ("teacher_forced", section_teacher_forced, ("lm_model", "prefill")),
    ("greedy", section_greedy, ("lm_model",)),
    ("codec_model", section_codec_model, ()),
    ("codec_save", section_codec_save, ("codec_model",)),
    ("codec_decode", section_codec_decode, ("codec_model",)),
    ("codec_encode", section_codec_encode, ("codec_model",)),
    ("lm_reload", section_lm_reload, ("lm_save", "prefill")),
    ("codec_reload", section_codec_reload, ("codec_save",)),
]


# Sections whose outputs are the goldens; the others (preflight, *_reload) are diagnostics.
CORE_SECTIONS = ["lm_model", "lm_save", "tokens", "prefill", "teacher_forced", "greedy", "codec_model", "codec_save", "codec_decode", "codec_encode"]


def run_section(ctx, name, fn, requires):
    log(f"\n========== SECTION {name} ==========")
    t0 = time.time()
    missing = [r for r in requires if not ctx.status.get(r, {}).get("ok")]
    if missing:
        msg = f"skipped: needs {missing}"
        ctx.status[name] = {"ok": False, "error": msg, "seconds": 0.0}
        log(f"SECTION {name} FAILED ({msg})")
        return
    try:
        with torch.no_grad():
            fn(ctx)
        ctx.status[name] = {"ok": True, "error": None, "seconds": round(time.time() - t0, 2)}
        log(f"SECTION {name} OK ({time.time() - t0:.1f}s)")
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        sys.stderr.flush()
        err = f"{type(e).__name__}: {e}"
        ctx.status[name] = {"ok": False, "error": err[:2000], "seconds": round(time.time() - t0, 2)}
        log(f"SECTION {name} FAILED: {err[:500]}")


# --------------------------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------------------------


def command_line():
    return " ".join(shlex.quote(a) for a in ["python3"] + sys.argv)


def json_safe(obj):
    """Non-finite floats become strings (JSON has no NaN/Infinity); tuples become lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else repr(obj)
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    return str(obj)


def load_previous(out):
    """OUT's manifest and golden tensors, for a --only run that keeps what it does not remake."""
    from safetensors.torch import load_file

    path = os.path.join(out, "manifest.json")
    if not os.path.exists(path):
        raise SystemExit(f"--keep-previous: {path} does not exist (run every section once first)")
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    tensors = {}
    for fname in (LM_FILE, CODEC_FILE):
        file = os.path.join(out, fname)
        tensors[fname] = load_file(file) if os.path.exists(file) else {}
    return {"manifest": manifest, "tensors": tensors}


def merge_previous(ctx, manifest):
    """--keep-previous: the earlier run's sections, tensors and facts stay where this run has none."""
    old = ctx.previous["manifest"]
    kept = [name for name in old.get("sections", {}) if name not in ctx.status]
    for key in ("tokens", "greedy", "codec_encode"):
        if manifest.get(key) is None:
            manifest[key] = old.get(key)
    for key in ("lm", "codec"):
        manifest[key] = {**old.get(key, {}), **manifest[key]}
    for fname in (LM_FILE, CODEC_FILE):
        manifest["files"][fname]["tensors"] = {**old["files"][fname]["tensors"], **manifest["files"][fname]["tensors"]}
    merged = {**old["sections"], **manifest["sections"]}
    manifest["sections"] = {name: merged[name] for name, _, _ in SECTIONS if name in merged}
    # Facts only the skipped sections record (e.g. the attention implementation) stay as they were.
    for current, earlier in ((manifest["numerics"]["attn_implementation"], old.get("numerics", {}).get("attn_implementation", {})), (manifest["prompts"], old.get("prompts", {}))):
        for key, value in earlier.items():
            if current.get(key) is None:
                current[key] = value
    manifest["checks"] = {**old.get("checks", {}), **manifest["checks"]}
    manifest["failed_checks"] = [c for c in old.get("failed_checks", []) if c not in manifest["failed_checks"]] + manifest["failed_checks"]
    # Where the kept sections come from (an earlier keep is carried along, not lost).
    earlier = old.get("kept_from_earlier_runs", [])
    manifest["kept_from_earlier_runs"] = [
        *[{**run, "sections": [s for s in run["sections"] if s in kept]} for run in earlier],
        {"command": old.get("command"), "versions": old.get("versions"), "device": old.get("device"),
         "sections": [s for s in kept if not any(s in run["sections"] for run in earlier)]},
    ]
    manifest["kept_from_earlier_runs"] = [run for run in manifest["kept_from_earlier_runs"] if run["sections"]]
    return manifest


def build_manifest(ctx):
    manifest = build_run_manifest(ctx)
    return json_safe(merge_previous(ctx, manifest)) if ctx.previous else manifest


def build_run_manifest(ctx):
    return json_safe({
        "format": "higgs-audio goldens v1",
        "generator": "scripts/goldens/make_goldens.py",
        "command": command_line(),
        "argv": sys.argv[1:],
        "versions": ctx.versions,
        "device": str(ctx.device),
        "compute_dtype": "float32",
        "numerics": {
            "torch.backends.cuda.matmul.allow_tf32": False,
            "torch.backends.cudnn.allow_tf32": False,
            "float32_matmul_precision": "highest",
            "use_deterministic_algorithms": "True (warn_only)",
            "attn_implementation": {"lm": ctx.info.get("lm_attn_implementation"), "codec_semantic": ctx.info.get("codec_semantic_attn_implementation")},
        },
        "seeds": SEEDS,
        "seed_rule": "weights: torch.Generator().manual_seed(seed_for(base, tensor_name)), seed_for = (base*1000003 + crc32(name)) % (2^31-1); data: torch.Generator().manual_seed(seed)",
        "constants": {
            "num_codebooks": NUM_CODEBOOKS,
            "lm_codebook_size": LM_CODEBOOK_SIZE,
            "audio_stream_bos_id": STREAM_BOS,
            "audio_stream_eos_id": STREAM_EOS,
            "audio_token_id": AUDIO_TOKEN_ID,
            "audio_delay_token_id": AUDIO_DELAY_TOKEN_ID,
            "audio_bos_token_id": AUDIO_BOS_TOKEN_ID,
            "eos_token_id": EOS_TOKEN_ID,
            "ref_frames": REF_FRAMES,
            "teacher_forced_steps": TF_CODE_FRAMES + NUM_CODEBOOKS,
            "greedy_max_new_tokens": GREEDY_MAX_NEW_TOKENS,
            "decode_frames": list(DECODE_FRAMES),
            "encode_samples": list(ENCODE_SAMPLES),
        },
        "special_tokens": SPECIAL_TOKENS,
        "prompts": {
            "smart_voice": SMART_PROMPT,
            "voice_clone": CLONE_PROMPT,
            "voice_clone_expanded": CLONE_PROMPT_EXPANDED,
            "lm_prompt_ids_source": ctx.info.get("lm_prompt_ids_source"),
            "lm_prompt_ids_rule": "split at <|...|>; known specials -> SPECIAL_TOKENS ids; other <|...|> -> tokenizer.token_to_id; "
            "text pieces -> tokenizer.encode(piece, add_special_tokens=False).ids, or 1000 + utf-8 byte when source is 'synthetic' (no tokenizer)",
        },
        "lm": {"config": {k: v for k, v in LM_CONFIG.items()}, "rope_parameters": LM_ROPE, **ctx.info.get("lm", {})},
        "codec": {"dac": CODEC_DAC, "hubert": CODEC_HUBERT, "top": CODEC_TOP, **ctx.info.get("codec", {})},
        "tokens": ctx.info.get("tokens"),
        "greedy": ctx.info.get("greedy"),
        "codec_encode": ctx.info.get("codec_encode"),
        "files": {fname: {"tensors": ctx.golden.entries[fname]} for fname in (LM_FILE, CODEC_FILE)},
        "checks": ctx.checks,
        "failed_checks": ctx.failed_checks,
        "warnings": ctx.warnings,
        "sections": ctx.status,
        "core_sections": CORE_SECTIONS,
    })


def render_readme(ctx, manifest):
    lines = [
        "# Parity goldens (generated)",
        "",
        "Generated by `scripts/goldens/make_goldens.py` (see `scripts/goldens/README.md`). Do not edit by hand;",
        "re-run the script instead. Everything here is deterministic for a given torch/transformers version.",
        "",
        "## Command",
        "",
        "```",
        manifest["command"],
        "```",
        "",
        "## Versions",
        "",
    ]
    for k, v in manifest["versions"].items():
        lines.append(f"- {k}: {v}")
    for run in manifest.get("kept_from_earlier_runs", []):
        versions = ", ".join(f"{k} {v}" for k, v in (run.get("versions") or {}).items() if k in ("torch", "transformers", "tokenizers"))
        lines += ["", f"Kept from an earlier run ({versions}; device {run.get('device')}): sections {', '.join(run['sections'])}.",
                  f"Its command: `{run.get('command')}`"]
    lines += [
        "",
        f"Device: {manifest['device']}, compute dtype float32, TF32 off, eager attention "
        f"(LM: {manifest['numerics']['attn_implementation']['lm']}, HuBERT: {manifest['numerics']['attn_implementation']['codec_semantic']}).",
        "",
        "## Layout",
        "",
        "- `lm/`: tiny HiggsAudioV2ForConditionalGeneration, `save_pretrained` output (config.json, generation_config.json,",
        "  model.safetensors in bf16; every weight is bf16-exact, goldens were computed in fp32 with the same values).",
        "- `codec/`: tiny HiggsAudioV2TokenizerModel (config.json, model.safetensors in fp32 holding bf16-exact values).",
        "- `lm_goldens.safetensors`, `codec_goldens.safetensors`: F32 / I64 tensors listed below.",
        "- `manifest.json`: every tensor's shape, dtype and meaning, seeds, configs, prompts, checks, section status.",
        "",
        "## Sections",
        "",
        "| section | status | seconds | error |",
        "|---|---|---|---|",
    ]
    for name, st in manifest["sections"].items():
        err = (st.get("error") or "").replace("|", "\\|").replace("\n", " ")[:160]
        lines.append(f"| {name} | {'ok' if st.get('ok') else 'FAILED'} | {st.get('seconds')} | {err} |")
    if manifest["failed_checks"]:
        lines += ["", "Failed checks:", ""] + [f"- {c}" for c in manifest["failed_checks"]]
    for fname in (LM_FILE, CODEC_FILE):
        lines += ["", f"## {fname}", "", "| tensor | dtype | shape | meaning |", "|---|---|---|---|"]
        for name, e in manifest["files"][fname]["tensors"].items():
            meaning = e["meaning"].replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{name}` | {e['dtype']} | {e['shape']} | {meaning} |")
    lines.append("")
    return "\n".join(lines)


def write_outputs(ctx, verbose=True):
    from safetensors.torch import save_file

    meta = {"generator": "scripts/goldens/make_goldens.py", "torch": str(ctx.versions.get("torch")), "transformers": str(ctx.versions.get("transformers"))}
    for fname in (LM_FILE, CODEC_FILE):
        path = os.path.join(ctx.out, fname)
        tensors = ctx.golden.tensors[fname]
        if tensors and ctx.previous:  # --keep-previous: this run's tensors replace theirs, the rest stay
            tensors = {**ctx.previous["tensors"].get(fname, {}), **tensors}
        if tensors:  # a file without tensors in this run (e.g. --only) is left as it is
            save_file(tensors, path, metadata=meta)
            if verbose:
                log(f"wrote {path} ({len(tensors)} tensors)")
        elif verbose:
            log(f"no tensors for {fname}; not written")
    manifest = build_manifest(ctx)
    with open(os.path.join(ctx.out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, sort_keys=False, allow_nan=False)
        f.write("\n")
    with open(os.path.join(ctx.out, "README.md"), "w", encoding="utf-8") as f:
        f.write(render_readme(ctx, manifest))
    if verbose:
        log(f"wrote {os.path.join(ctx.out, 'manifest.json')} and README.md")


def folder_sizes(root, skip=()):
    sizes = {}
    for dirpath, _, files in os.walk(root):
        for fn in files:
            p = os.path.join(dirpath, fn)
            if os.path.abspath(p) in skip:
                continue
            sizes[os.path.relpath(p, root)] = os.path.getsize(p)
    return dict(sorted(sizes.items()))


def make_bundle(out_dir, bundle_dir, summary_text):
    os.makedirs(bundle_dir, exist_ok=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in folder_sizes(out_dir):
            tar.add(os.path.join(out_dir, rel), arcname=rel, recursive=False)
    data = buf.getvalue()
    for fn in os.listdir(bundle_dir):
        if fn.startswith("goldens.tar.part"):
            os.remove(os.path.join(bundle_dir, fn))
    lines = [f"{hashlib.sha256(data).hexdigest()}  goldens.tar"]
    parts = []
    for i in range(0, max(len(data), 1), BUNDLE_PART_BYTES):
        name = f"goldens.tar.part{i // BUNDLE_PART_BYTES:02d}"
        chunk = data[i : i + BUNDLE_PART_BYTES]
        with open(os.path.join(bundle_dir, name), "wb") as f:
            f.write(chunk)
        lines.append(f"{hashlib.sha256(chunk).hexdigest()}  {name}")
        parts.append(name)
    with open(os.path.join(bundle_dir, "goldens.sha256"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(bundle_dir, "SUMMARY.txt"), "w", encoding="utf-8") as f:
        f.write(summary_text)
        f.write(
            "\nReassemble: cat goldens.tar.part* > goldens.tar && sha256sum -c goldens.sha256 --ignore-missing"
            " && mkdir -p test/fixtures/goldens && tar -xf goldens.tar -C test/fixtures/goldens\n"
        )
    return parts, len(data)


def summary_text(ctx, sizes, total):
    rows = ["section          status   secs  note"]
    for name, _, _ in SECTIONS:
        st = ctx.status.get(name)
        if st is None:
            rows.append(f"{name:<16} {'SKIP':<7} {0.0:5.1f}  not selected (--only)")
            continue
        note = "" if st["ok"] else (st.get("error") or "")[:90]
        rows.append(f"{name:<16} {'OK' if st['ok'] else 'FAILED':<7} {st.get('seconds', 0):5.1f}  {note}")
    rows.append(f"failed checks: {len(ctx.failed_checks)}")
    for c in ctx.failed_checks[:20]:
        rows.append(f"  - {c[:200]}")
    rows.append(f"warnings: {len(ctx.warnings)}")
    for w in ctx.warnings[:10]:
        rows.append(f"  - {w[:200]}")
    rows.append(f"output folder {ctx.out}: {total} bytes ({total / 1e6:.2f} MB, limit {SIZE_LIMIT_BYTES / 1e6:.0f} MB)")
    for rel, sz in sizes.items():
        rows.append(f"  {sz:>10}  {rel}")
    return "\n".join(rows) + "\n"


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


class Tee(io.TextIOBase):
    def __init__(self, stream, fh):
        super().__init__()
        self._stream = stream
        self._fh = fh

    def write(self, s):
        self._stream.write(s)
        try:
            self._fh.write(s)
        except Exception:  # noqa: BLE001
            pass
        return len(s)

    def flush(self):
        self._stream.flush()
        try:
            self._fh.flush()
        except Exception:  # noqa: BLE001
            pass

    def isatty(self):
        return False

    def fileno(self):
        return self._stream.fileno()

    @property
    def encoding(self):
        return getattr(self._stream, "encoding", "utf-8")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: test/fixtures/goldens)")
    ap.add_argument("--tokenizer", default=DEFAULT_TOKENIZER, help="tiny tokenizer.json (default: test/fixtures/tiny/tokenizer.json)")
    ap.add_argument("--device", default="cpu", help="torch device for the reference computation (default: cpu)")
    ap.add_argument("--bundle", default=None, help="also write OUT as goldens.tar split into <=15 MiB parts (+ sha256, SUMMARY.txt, log) into this folder, e.g. $OUT on the device machine")
    ap.add_argument("--log", default=None, help="log file (default: BUNDLE/make_goldens.log with --bundle, else OUT/make_goldens.log)")
    ap.add_argument("--only", default=None, help="comma-separated sections to run (their prerequisites are added)")
    ap.add_argument("--keep-previous", action="store_true", help="with --only: keep OUT's goldens of the sections not run (merged into the files and the manifest)")
    args = ap.parse_args(argv)
    args.out = os.path.abspath(args.out)
    args.tokenizer = os.path.abspath(args.tokenizer)
    if args.bundle:
        args.bundle = os.path.abspath(args.bundle)
    if args.log is None:
        args.log = os.path.join(args.bundle or args.out, "make_goldens.log")
    args.log = os.path.abspath(args.log)
    if args.keep_previous and not args.only:
        ap.error("--keep-previous needs --only")
    return args


def selected_sections(only):
    if not only:
        return [s[0] for s in SECTIONS]
    want = {s.strip() for s in only.split(",") if s.strip()}
    want.add("preflight")
    deps = {name: req for name, _, req in SECTIONS}
    unknown = want - set(deps)
    if unknown:
        raise SystemExit(f"unknown sections: {sorted(unknown)}; known: {list(deps)}")
    changed = True
    while changed:
        changed = False
        for name in list(want):
            for r in deps[name]:
                if r not in want:
                    want.add(r)
                    changed = True
    return [s[0] for s in SECTIONS if s[0] in want]


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(os.path.dirname(args.log), exist_ok=True)
    log_fh = open(args.log, "w", encoding="utf-8")
    orig_out, orig_err = sys.stdout, sys.stderr
    sys.stdout = Tee(orig_out, log_fh)
    sys.stderr = Tee(orig_err, log_fh)
    t_start = time.time()
    log(f"make_goldens: {command_line()}  [python: {sys.executable}]")
    log(f"out={args.out} tokenizer={args.tokenizer} device={args.device} bundle={args.bundle} log={args.log}")

    global torch, nn, F
    try:
        import torch as _torch
        import torch.nn as _nn
        import torch.nn.functional as _F
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        log("FATAL: torch is not importable")
        return 1
    torch, nn, F = _torch, _nn, _F

    numerics = [
        ("torch.backends.cuda.matmul.allow_tf32 = False", lambda: setattr(torch.backends.cuda.matmul, "allow_tf32", False)),
        ("torch.backends.cudnn.allow_tf32 = False", lambda: setattr(torch.backends.cudnn, "allow_tf32", False)),
        ("torch.backends.cudnn.benchmark = False", lambda: setattr(torch.backends.cudnn, "benchmark", False)),
        ("torch.backends.cudnn.deterministic = True", lambda: setattr(torch.backends.cudnn, "deterministic", True)),
        ("torch.set_float32_matmul_precision('highest')", lambda: torch.set_float32_matmul_precision("highest")),
        ("torch.use_deterministic_algorithms(True, warn_only=True)", lambda: torch.use_deterministic_algorithms(True, warn_only=True)),
    ]
    for label, fn in numerics:
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            log(f"could not apply {label}: {type(e).__name__}: {e}")

    ctx = Ctx(args)
    ctx.device = torch.device(args.device)
    if args.keep_previous:
        ctx.previous = load_previous(args.out)
    names = selected_sections(args.only)
    for name, fn, req in SECTIONS:
        if name in names:
            run_section(ctx, name, fn, req)
            try:  # keep partial outputs on disk in case a later section kills the process
                write_outputs(ctx, verbose=False)
            except Exception as e:  # noqa: BLE001
                log(f"(incremental write failed: {type(e).__name__}: {e})")

    log("\n========== WRITING OUTPUTS ==========")
    write_ok = True
    try:
        write_outputs(ctx)
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        write_ok = False
        log(f"WRITING OUTPUTS FAILED: {type(e).__name__}: {e}")
    sizes = folder_sizes(args.out, skip={args.log})
    total = sum(sizes.values())
    size_ok = total < SIZE_LIMIT_BYTES
    if not size_ok:
        log(f"SIZE CHECK FAILED: {total} bytes >= {SIZE_LIMIT_BYTES}")
    summary = summary_text(ctx, sizes, total)
    summary += f"total time {time.time() - t_start:.1f}s\n"
    failed = [n for n in names if not ctx.status.get(n, {}).get("ok")]
    rc = 1 if (failed or ctx.failed_checks or not write_ok or not size_ok) else 0
    core_failed = [n for n in failed if n in CORE_SECTIONS]
    kept_ok = {n for n, st in (ctx.previous["manifest"]["sections"].items() if ctx.previous else []) if st.get("ok")}
    complete = not core_failed and all(n in names or n in kept_ok for n in CORE_SECTIONS) and write_ok and size_ok
    summary += (
        f"RESULT: {'OK' if rc == 0 else 'FAILED'} (failed sections: {failed}, failed checks: {len(ctx.failed_checks)}, "
        f"write ok: {write_ok}, size ok: {size_ok}); goldens complete: {'yes' if complete else 'NO'}"
        f"{' (only diagnostic sections failed)' if failed and not core_failed else ''}\n"
    )
    log("\n========== SUMMARY ==========")
    log(summary)
    sys.stdout, sys.stderr = orig_out, orig_err
    log_fh.close()
    if args.bundle:
        try:
            parts, nbytes = make_bundle(args.out, args.bundle, summary)
            print(f"bundle: {nbytes} bytes in {parts} under {args.bundle}", flush=True)
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            print(f"BUNDLE FAILED: {type(e).__name__}: {e}", flush=True)
            rc = 1
    print(f"exit code {rc}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
