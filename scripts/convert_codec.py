#!/usr/bin/env python3
"""Convert the ORIGINAL Higgs Audio V2 audio tokenizer release into the transformers format.

INPUT_DIR holds the original bosonai/higgs-audio-v2-tokenizer config.json + model.pth (pickled
state_dict). OUTPUT_DIR gets model.safetensors + config.json (model_type higgs_audio_v2_tokenizer)
+ preprocessor_config.json, the layout the C++ codec loader and transformers read. Tensors are
renamed ORIG -> HF, DAC weight norm is folded (g * v / ||v||, norm over all dims but 0, float32),
the HuBERT pos conv stays weight-normed as parametrizations.weight.original0/1, and the result is
checked against the full expected name/shape table (527 tensors) before anything is written.
Needs torch only; `--self-test` and `--print-config` need nothing. Details and commands:
scripts/convert_codec.md (reference: docs/model.md#codec-checkpoint).
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import math
import os
import re
import struct
import sys
from pathlib import Path

# --- Configuration ---

# Fixed in the original constructor (not in its config.json): DAC encoder width 64, decoder 1024,
# HuBERT at 16 kHz with a 320-sample hop. The widths are the defaults of the conversion's cfg;
# `--sizes` overrides them for small test checkpoints (the release needs none).
ENCODER_HIDDEN = 64
DECODER_HIDDEN = 1024
SEMANTIC_SAMPLE_RATE = 16000
SEMANTIC_HOP = 320
SEMANTIC_TEACHERS = ("hubert_base_general", "hubert_base")

# transformers HubertConfig values of HuBERT base (the `semantic_techer` of the release).
HUBERT_BASE = {
    "model_type": "hubert", "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
    "intermediate_size": 3072, "hidden_act": "gelu", "conv_dim": [512] * 7,
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2], "conv_bias": False,
    "feat_extract_norm": "group", "feat_extract_activation": "gelu", "feat_proj_layer_norm": True,
    "do_stable_layer_norm": False, "num_conv_pos_embeddings": 128, "num_conv_pos_embedding_groups": 16,
    "conv_pos_batch_norm": False, "layer_norm_eps": 1e-5,
    "mask_time_prob": 0.0,  # as HiggsAudioV2TokenizerConfig sets it: no masked_spec_embed
}
# What a --sizes file may set: the two DAC widths, and these HuBERT fields under "hubert".
HUBERT_SIZE_KEYS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "conv_dim",
                    "num_conv_pos_embeddings", "num_conv_pos_embedding_groups")


class ConversionError(Exception):
    """A problem with the input files; printed without a traceback."""


def read_original_config(path: Path) -> dict:
    """The original config.json, checked, with the derived values the conversion needs."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConversionError(f"{path}: cannot read JSON ({e})") from e
    if not isinstance(raw, dict):
        raise ConversionError(f"{path}: expected a JSON object")
    if raw.get("model_type") == "higgs_audio_v2_tokenizer":
        raise ConversionError(f"{path}: already in the transformers format; nothing to convert")

    def need(key, kind):
        value = raw.get(key)
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if kind is list:
            ok = ok and len(value) > 0 and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        elif kind is int:
            ok = ok and value > 0
        if not ok:
            raise ConversionError(f"{path}: field {key!r} is missing or invalid (got {value!r})")
        return value

    cfg = {key: need(key, int) for key in ("D", "n_q", "bins", "codebook_dim", "sample_rate")}
    cfg["ratios"] = need("ratios", list)
    cfg["target_bandwidths"] = raw.get("target_bandwidths")
    teacher = raw.get("semantic_techer", "hubert_base_general")  # sic, the release's spelling
    if teacher not in SEMANTIC_TEACHERS:
        raise ConversionError(f"{path}: semantic_techer {teacher!r} is not HuBERT base; only {SEMANTIC_TEACHERS} are supported")
    cfg["hop"] = math.prod(cfg["ratios"])
    cfg["frame_rate"] = math.ceil(cfg["sample_rate"] / cfg["hop"])
    cfg["nbits"] = math.ceil(math.log2(cfg["bins"]))
    return with_widths(cfg)


def with_widths(cfg: dict, sizes: dict | None = None, source: str = "the release's widths") -> dict:
    """cfg plus the widths the original config.json does not carry: the release's, or those of a
    --sizes object {encoder_hidden, decoder_hidden, hubert: {HUBERT_SIZE_KEYS...}} (test checkpoints)."""
    sizes = {} if sizes is None else sizes
    if not isinstance(sizes, dict) or not isinstance(sizes.get("hubert", {}), dict):
        raise ConversionError(f"{source}: expected a JSON object with an object under 'hubert'")
    hubert = sizes.get("hubert", {})
    unknown = sorted(set(sizes) - {"encoder_hidden", "decoder_hidden", "hubert"})
    unknown += [f"hubert.{k}" for k in sorted(set(hubert) - set(HUBERT_SIZE_KEYS))]
    if unknown:
        allowed = f"encoder_hidden, decoder_hidden, hubert.{{{', '.join(HUBERT_SIZE_KEYS)}}}"
        raise ConversionError(f"{source}: unknown fields {unknown} (allowed: {allowed})")

    def positive(v):
        return isinstance(v, int) and not isinstance(v, bool) and v > 0

    out = dict(cfg, encoder_hidden=sizes.get("encoder_hidden", ENCODER_HIDDEN),
               decoder_hidden=sizes.get("decoder_hidden", DECODER_HIDDEN))
    out["hubert"] = h = {**HUBERT_BASE, **hubert}
    fields = [(k, out[k]) for k in ("encoder_hidden", "decoder_hidden")] + [(f"hubert.{k}", h[k]) for k in HUBERT_SIZE_KEYS]
    for key, value in fields:
        if key == "hubert.conv_dim":  # one width per feature-encoder layer (conv_kernel has 7)
            ok = isinstance(value, list) and len(value) == len(h["conv_kernel"]) and all(positive(v) for v in value)
        else:
            ok = positive(value)
        if not ok:
            raise ConversionError(f"{source}: field {key!r} is invalid (got {value!r})")
    if out["decoder_hidden"] % 2 ** len(cfg["ratios"]):
        raise ConversionError(f"{source}: decoder_hidden {out['decoder_hidden']} cannot halve once per ratio {cfg['ratios']}")
    for key in ("num_attention_heads", "num_conv_pos_embedding_groups"):
        if h["hidden_size"] % h[key]:
            raise ConversionError(f"{source}: hubert hidden_size {h['hidden_size']} is not divisible by {key} {h[key]}")
    return out


def read_sizes(path: Path, cfg: dict) -> dict:
    """cfg with the widths of a --sizes JSON file."""
    try:
        sizes = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConversionError(f"{path}: cannot read JSON ({e})") from e
    return with_widths(cfg, sizes, str(path))


def hf_target_bandwidths(cfg: dict) -> list:
    """Bandwidths whose last entry gives exactly n_q quantizers under the transformers property
    num_quantizers = int(1000 * bw[-1] // (frame_rate * nbits)). The release lists up to 4 kbps
    ([0.5, 1, 1.5, 2, 4]: 16 quantizers) but stores 8, so entries above n_q's bandwidth go."""
    per_quantizer = cfg["frame_rate"] * cfg["nbits"]
    full = cfg["n_q"] * per_quantizer / 1000
    given = cfg["target_bandwidths"] if isinstance(cfg["target_bandwidths"], list) else []
    kept = [b for b in given if isinstance(b, (int, float)) and not isinstance(b, bool) and 0 < b <= full]
    if not kept or int(1000 * kept[-1] // per_quantizer) != cfg["n_q"]:
        kept.append(int(full) if float(full).is_integer() else full)
    return kept


def hf_config(cfg: dict) -> dict:
    """config.json in the HiggsAudioV2TokenizerConfig layout (what save_pretrained writes)."""
    return {
        "architectures": ["HiggsAudioV2TokenizerModel"],
        "model_type": "higgs_audio_v2_tokenizer",
        "sample_rate": cfg["sample_rate"],
        "semantic_sample_rate": SEMANTIC_SAMPLE_RATE,
        "downsample_factor": SEMANTIC_HOP,
        "codebook_size": cfg["bins"],
        "codebook_dim": cfg["codebook_dim"],
        "target_bandwidths": hf_target_bandwidths(cfg),
        "kernel_size": 3,
        "unit_kernel_size": 3,
        "channel_ratios": [1, 1],
        "strides": [1, 1],
        "block_dilations": [1, 1],
        "initializer_range": 0.02,
        "dtype": "float32",
        "acoustic_model_config": {
            "model_type": "dac",
            "encoder_hidden_size": cfg["encoder_hidden"],
            "decoder_hidden_size": cfg["decoder_hidden"],
            "hidden_size": cfg["D"],
            "downsampling_ratios": list(cfg["ratios"]),
            "upsampling_ratios": list(cfg["ratios"]),
            "sampling_rate": cfg["sample_rate"],
            "hop_length": cfg["hop"],
        },
        "semantic_model_config": dict(cfg["hubert"]),
    }


def preprocessor_config(cfg: dict) -> dict:
    """The DacFeatureExtractor the transformers converter saves next to the model."""
    return {
        "feature_extractor_type": "DacFeatureExtractor",
        "feature_size": 1,
        "hop_length": cfg["hop"],
        "padding_side": "right",
        "padding_value": 0.0,
        "return_attention_mask": True,
        "sampling_rate": cfg["sample_rate"],
    }


# --- Expected transformers tensors (names and shapes), from the config alone ---

RES_INNER = ("snake1", "conv1", "snake2", "conv2")  # DAC ResidualUnit: Snake, conv k7, Snake, conv k1


def _res_unit(out: dict, prefix: str, ch: int) -> None:
    out[f"{prefix}.snake1.alpha"] = (1, ch, 1)
    out[f"{prefix}.conv1.weight"] = (ch, ch, 7)
    out[f"{prefix}.conv1.bias"] = (ch,)
    out[f"{prefix}.snake2.alpha"] = (1, ch, 1)
    out[f"{prefix}.conv2.weight"] = (ch, ch, 1)
    out[f"{prefix}.conv2.bias"] = (ch,)


def expected_hf_shapes(cfg: dict) -> dict:
    """Every tensor HiggsAudioV2TokenizerModel holds for this config, name -> shape."""
    out: dict = {}
    ratios, latent = cfg["ratios"], cfg["D"]

    p = "acoustic_encoder"
    ch = cfg["encoder_hidden"]
    out[f"{p}.conv1.weight"], out[f"{p}.conv1.bias"] = (ch, 1, 7), (ch,)
    for i, s in enumerate(ratios):
        for u in (1, 2, 3):
            _res_unit(out, f"{p}.block.{i}.res_unit{u}", ch)
        out[f"{p}.block.{i}.snake1.alpha"] = (1, ch, 1)
        out[f"{p}.block.{i}.conv1.weight"], out[f"{p}.block.{i}.conv1.bias"] = (2 * ch, ch, 2 * s), (2 * ch,)
        ch *= 2
    out[f"{p}.snake1.alpha"] = (1, ch, 1)
    out[f"{p}.conv2.weight"], out[f"{p}.conv2.bias"] = (latent, ch, 3), (latent,)

    p = "acoustic_decoder"
    ch = cfg["decoder_hidden"]
    out[f"{p}.conv1.weight"], out[f"{p}.conv1.bias"] = (ch, latent, 7), (ch,)
    for i, s in enumerate(ratios):
        out[f"{p}.block.{i}.snake1.alpha"] = (1, ch, 1)
        out[f"{p}.block.{i}.conv_t1.weight"], out[f"{p}.block.{i}.conv_t1.bias"] = (ch, ch // 2, 2 * s), (ch // 2,)
        ch //= 2
        for u in (1, 2, 3):
            _res_unit(out, f"{p}.block.{i}.res_unit{u}", ch)
    out[f"{p}.snake1.alpha"] = (1, ch, 1)
    out[f"{p}.conv2.weight"], out[f"{p}.conv2.bias"] = (1, ch, 7), (1,)

    sem = cfg["hubert"]["hidden_size"]
    for p, first, last in (("encoder_semantic", "conv", None), ("decoder_semantic", "conv1", "conv2")):
        out[f"{p}.{first}.weight"] = (sem, sem, 3)
        for b in (0, 1):
            out[f"{p}.conv_blocks.{b}.conv.weight"], out[f"{p}.conv_blocks.{b}.conv.bias"] = (sem, sem, 3), (sem,)
            for u in (0, 1):
                out[f"{p}.conv_blocks.{b}.res_units.{u}.conv1.weight"] = (sem, sem, 3)
                out[f"{p}.conv_blocks.{b}.res_units.{u}.conv2.weight"] = (sem, sem, 1)
        if last:
            out[f"{p}.{last}.weight"] = (sem, sem, 3)

    hidden = latent + sem
    out["fc.weight"], out["fc.bias"] = (hidden, hidden), (hidden,)
    out["fc1.weight"], out["fc1.bias"] = (sem, hidden), (sem,)
    out["fc2.weight"], out["fc2.bias"] = (latent, hidden), (latent,)

    dim, bins = cfg["codebook_dim"], cfg["bins"]
    for q in range(cfg["n_q"]):
        p = f"quantizer.quantizers.{q}"
        out[f"{p}.project_in.weight"], out[f"{p}.project_in.bias"] = (dim, hidden), (dim,)
        out[f"{p}.project_out.weight"], out[f"{p}.project_out.bias"] = (hidden, dim), (hidden,)
        out[f"{p}.codebook.embed"], out[f"{p}.codebook.embed_avg"] = (bins, dim), (bins, dim)
        out[f"{p}.codebook.cluster_size"], out[f"{p}.codebook.inited"] = (bins,), (1,)

    out.update(expected_hubert_shapes(cfg["hubert"], "semantic_model"))
    return out


def expected_hubert_shapes(h: dict, p: str) -> dict:
    """transformers HubertModel (group-norm feature encoder, post-LN layers, no masked_spec_embed)."""
    hid, ff, dims = h["hidden_size"], h["intermediate_size"], h["conv_dim"]
    out: dict = {}
    fe = f"{p}.feature_extractor.conv_layers"
    for i, (c, k) in enumerate(zip(dims, h["conv_kernel"])):
        out[f"{fe}.{i}.conv.weight"] = (c, 1 if i == 0 else dims[i - 1], k)
    out[f"{fe}.0.layer_norm.weight"] = out[f"{fe}.0.layer_norm.bias"] = (dims[0],)  # the GroupNorm
    out[f"{p}.feature_projection.layer_norm.weight"] = out[f"{p}.feature_projection.layer_norm.bias"] = (dims[-1],)
    out[f"{p}.feature_projection.projection.weight"] = (hid, dims[-1])
    out[f"{p}.feature_projection.projection.bias"] = (hid,)
    pos = f"{p}.encoder.pos_conv_embed.conv"
    kernel, groups = h["num_conv_pos_embeddings"], h["num_conv_pos_embedding_groups"]
    out[f"{pos}.bias"] = (hid,)
    out[f"{pos}.parametrizations.weight.original0"] = (1, 1, kernel)  # g of weight_norm(dim=2)
    out[f"{pos}.parametrizations.weight.original1"] = (hid, hid // groups, kernel)  # v
    out[f"{p}.encoder.layer_norm.weight"] = out[f"{p}.encoder.layer_norm.bias"] = (hid,)
    for layer in range(h["num_hidden_layers"]):
        lp = f"{p}.encoder.layers.{layer}"
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            out[f"{lp}.attention.{proj}.weight"], out[f"{lp}.attention.{proj}.bias"] = (hid, hid), (hid,)
        for norm in ("layer_norm", "final_layer_norm"):
            out[f"{lp}.{norm}.weight"] = out[f"{lp}.{norm}.bias"] = (hid,)
        out[f"{lp}.feed_forward.intermediate_dense.weight"] = (ff, hid)
        out[f"{lp}.feed_forward.intermediate_dense.bias"] = (ff,)
        out[f"{lp}.feed_forward.output_dense.weight"] = (hid, ff)
        out[f"{lp}.feed_forward.output_dense.bias"] = (hid,)
    return out


# --- Renaming plan: ORIG key -> HF key, without touching tensor data (so it can be self-tested) ---

# The two spellings torch uses for a weight-normed parameter: (g suffix, v suffix).
NORM_SPELLINGS = ((".weight_g", ".weight_v"), (".parametrizations.weight.original0", ".parametrizations.weight.original1"))
HUBERT_POS_CONV = "semantic_model.encoder.pos_conv_embed.conv"
DROPPED = {"semantic_model.masked_spec_embed": "training-only mask embedding (transformers ignores it)"}


def rename_module(path: str, n_blocks: int) -> str:
    """The HF module path of an ORIG module path (no parameter suffix). Raises KeyError if unknown."""
    for pattern, hf in (("encoder.block", "acoustic_encoder"), ("decoder_2.model", "acoustic_decoder")):
        m = re.fullmatch(re.escape(pattern) + r"\.(\d+)(.*)", path)
        if not m:
            continue
        i, rest = int(m[1]), m[2]
        # Index 0 is the first conv; the blocks follow, then the final Snake and conv.
        ends = {0: "conv1", n_blocks + 1: "snake1", n_blocks + 2: "conv2"}
        if rest == "" and i in ends:
            return f"{hf}.{ends[i]}"
        if not 1 <= i <= n_blocks:
            raise KeyError(path)
        block = f"{hf}.block.{i - 1}"
        if hf == "acoustic_encoder":  # EncoderBlock: 3 residual units, Snake, strided conv
            r = re.fullmatch(r"\.block\.([012])\.block\.([0-3])", rest)
            simple = {".block.3": "snake1", ".block.4": "conv1"}
            first_unit = 0
        else:  # DecoderBlock: Snake, transposed conv, 3 residual units
            r = re.fullmatch(r"\.block\.([234])\.block\.([0-3])", rest)
            simple = {".block.0": "snake1", ".block.1": "conv_t1"}
            first_unit = 2
        if r:
            return f"{block}.res_unit{int(r[1]) - first_unit + 1}.{RES_INNER[int(r[2])]}"
        if rest in simple:
            return f"{block}.{simple[rest]}"
        raise KeyError(path)
    if path.startswith(("encoder_semantic.", "decoder_semantic.")):
        # The original wraps nn.Conv1d in a module with an inner `.conv`; HF uses nn.Conv1d directly.
        for name in ("conv", "conv1", "conv2"):
            path = re.sub(rf"\.{name}\.conv(?=\.|$)", f".{name}", path)
        return path
    for old, new in (("fc_prior", "fc"), ("fc_post1", "fc1"), ("fc_post2", "fc2")):
        if path == old:
            return new
    m = re.fullmatch(r"quantizer\.vq\.layers\.(\d+)\.(project_in|project_out|_codebook)", path)
    if m:
        return f"quantizer.quantizers.{m[1]}.{'codebook' if m[2] == '_codebook' else m[2]}"
    if path.startswith("semantic_model."):
        return path  # HubertModel names are the same in both formats
    raise KeyError(path)


PARAM = re.compile(r"(.*)\.(weight|bias|alpha|embed|embed_avg|cluster_size|inited)")


def rename_param(key: str, n_blocks: int) -> str:
    m = PARAM.fullmatch(key)
    if not m:
        raise KeyError(key)
    return f"{rename_module(m[1], n_blocks)}.{m[2]}"


def plan_conversion(shapes: dict, n_blocks: int):
    """What to do with every ORIG entry, from names and shapes only.

    `shapes` maps each ORIG key to a tuple shape, or None for a non-tensor entry. Returns
    (ops, dropped): ops maps HF name -> ("copy", key) | ("fold", g_key, v_key) and shape;
    dropped lists (key, reason). Raises ConversionError listing every key it cannot place.
    """
    ops: dict = {}
    dropped: list = []
    unknown: list = []
    used: set = set()

    def put(name, op, shape, source):
        if name in ops:
            unknown.append(f"{source} (maps to {name}, which another entry already produced)")
        ops[name] = (op, tuple(shape))

    for key in sorted(shapes):
        if key in used:
            continue
        shape = shapes[key]
        if shape is None:
            dropped.append((key, "not a tensor"))
            continue
        if key in DROPPED:
            dropped.append((key, DROPPED[key]))
            continue
        spelling = next((s for s in NORM_SPELLINGS if key.endswith(s[0]) or key.endswith(s[1])), None)
        if spelling:
            g_suffix, v_suffix = spelling
            base = key[: -len(g_suffix)] if key.endswith(g_suffix) else key[: -len(v_suffix)]
            g_key, v_key = base + g_suffix, base + v_suffix
            if shapes.get(g_key) is None or shapes.get(v_key) is None:
                unknown.append(f"{key} (weight-norm pair incomplete: needs {g_key} and {v_key})")
                continue
            used.update((g_key, v_key))
            if base == HUBERT_POS_CONV:  # stays weight-normed, in the parametrization spelling
                put(f"{base}.parametrizations.weight.original0", ("copy", g_key), shapes[g_key], key)
                put(f"{base}.parametrizations.weight.original1", ("copy", v_key), shapes[v_key], key)
                continue
            g_shape, v_shape = tuple(shapes[g_key]), tuple(shapes[v_key])
            if len(v_shape) < 2 or g_shape != (v_shape[0],) + (1,) * (len(v_shape) - 1):
                unknown.append(f"{key} (weight norm g {g_shape} is not the dim-0 magnitude of v {v_shape})")
                continue
            try:
                put(f"{rename_module(base, n_blocks)}.weight", ("fold", g_key, v_key), v_shape, key)
            except KeyError:
                unknown.append(key)
            continue
        try:
            put(rename_param(key, n_blocks), ("copy", key), shape, key)
        except KeyError:
            unknown.append(key)
    if unknown:
        listed = "\n  ".join(unknown[:40]) + ("\n  ..." if len(unknown) > 40 else "")
        raise ConversionError(f"{len(unknown)} checkpoint entries cannot be converted:\n  {listed}")
    return ops, dropped


def check_against_expected(ops: dict, expected: dict) -> None:
    """Refuse to write a file the loaders would reject: every name and shape must match."""
    missing = sorted(set(expected) - set(ops))
    extra = sorted(set(ops) - set(expected))
    wrong = sorted(n for n in set(ops) & set(expected) if tuple(ops[n][1]) != tuple(expected[n]))
    problems = [f"missing {n} {expected[n]}" for n in missing]
    problems += [f"unexpected {n} {ops[n][1]}" for n in extra]
    problems += [f"shape of {n} is {ops[n][1]}, expected {expected[n]}" for n in wrong]
    if problems:
        listed = "\n  ".join(problems[:40]) + ("\n  ..." if len(problems) > 40 else "")
        raise ConversionError(f"converted tensors do not match the expected layout ({len(problems)} problems):\n  {listed}")


# --- Tensor work (torch) ---


def load_checkpoint(path: Path, trust_pickle: bool):
    import io

    import torch

    try:
        # The release's pickle holds io.BytesIO entries next to the tensors; allow just that class.
        add_safe = getattr(torch.serialization, "add_safe_globals", None)
        if add_safe:
            add_safe([io.BytesIO])
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means: not loadable safely
        if not trust_pickle:
            raise ConversionError(
                f"{path}: torch.load(weights_only=True) failed ({type(e).__name__}: {e}). If this file is the "
                "official bosonai/higgs-audio-v2-tokenizer model.pth, re-run with --trust-pickle (full unpickling "
                "runs code from the file: only do this for a file you trust)."
            ) from e
        state = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ConversionError(f"{path}: expected a state_dict (a dict of tensors), got {type(state).__name__}")
    return state


def build_tensors(state: dict, ops: dict) -> dict:
    """Executes the plan: copies and weight-norm folds, floating tensors as contiguous float32."""
    import torch

    out = {}
    for name, (op, _shape) in ops.items():
        if op[0] == "copy":
            t = state[op[1]]
        else:
            g, v = state[op[1]].float(), state[op[2]].float()
            # Same expression as transformers' converter (norm over dims 1..), in float32.
            t = g * v / v.norm(dim=list(range(1, v.dim())), keepdim=True)
        if t.is_floating_point():
            t = t.to(torch.float32)
        out[name] = t.detach().cpu().contiguous()
    return out


SAFETENSORS_DTYPES = {
    "torch.float32": "F32", "torch.float64": "F64", "torch.float16": "F16", "torch.bfloat16": "BF16",
    "torch.int64": "I64", "torch.int32": "I32", "torch.int16": "I16", "torch.int8": "I8",
    "torch.uint8": "U8", "torch.bool": "BOOL",
}


def write_safetensors(path: Path, tensors: dict, metadata: dict) -> None:
    """A plain safetensors file (8-byte little-endian header size, JSON header padded to 8 bytes,
    tensors back to back in name order), written to a temp file and renamed into place."""
    if sys.byteorder != "little":
        raise ConversionError("safetensors data is little-endian; run this on a little-endian machine")
    header: dict = {"__metadata__": metadata}
    offset = 0
    names = sorted(tensors)
    for name in names:
        t = tensors[name]
        nbytes = t.numel() * t.element_size()
        header[name] = {"dtype": SAFETENSORS_DTYPES[str(t.dtype)], "shape": list(t.shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(temp, "wb") as f:
            f.write(struct.pack("<Q", len(blob)))
            f.write(blob)
            for name in names:
                t = tensors[name]
                if t.numel():
                    f.write(ctypes.string_at(t.data_ptr(), t.numel() * t.element_size()))
        if temp.stat().st_size != 8 + len(blob) + offset:
            raise ConversionError(f"{temp}: wrote {temp.stat().st_size} bytes, expected {8 + len(blob) + offset}")
        os.replace(temp, path)
    finally:
        if temp.exists():
            temp.unlink()


def write_json(path: Path, value: dict) -> None:
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temp.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    os.replace(temp, path)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_input_config(input_dir: Path, sizes_path: Path | None) -> dict:
    """INPUT_DIR/config.json (first, so an already-converted directory is named as such) + --sizes."""
    config_path = input_dir / "config.json"
    if not config_path.is_file():
        raise ConversionError(f"{config_path}: missing (INPUT_DIR must hold the original config.json and model.pth)")
    cfg = read_original_config(config_path)
    return read_sizes(sizes_path, cfg) if sizes_path else cfg


def convert(input_dir: Path, output_dir: Path, overwrite: bool, trust_pickle: bool, sizes_path: Path | None = None) -> None:
    cfg = read_input_config(input_dir, sizes_path)
    model_path = input_dir / "model.pth"
    if not model_path.is_file():
        raise ConversionError(f"{model_path}: missing (INPUT_DIR must hold the original config.json and model.pth)")
    if output_dir.resolve() == input_dir.resolve():
        raise ConversionError("OUTPUT_DIR must differ from INPUT_DIR (the original config.json would be overwritten)")
    target = output_dir / "model.safetensors"
    if target.exists() and not overwrite:
        raise ConversionError(f"{target}: exists (pass --overwrite to replace it)")

    print(f"reading {model_path} ...", flush=True)
    state = load_checkpoint(model_path, trust_pickle)
    import torch

    shapes = {k: (tuple(v.shape) if isinstance(v, torch.Tensor) else None) for k, v in state.items()}
    ops, dropped = plan_conversion(shapes, len(cfg["ratios"]))
    check_against_expected(ops, expected_hf_shapes(cfg))
    for key, reason in dropped:
        print(f"  dropped {key}: {reason}")
    folds = sum(1 for op, _ in ops.values() if op[0] == "fold")
    print(f"  {len(ops)} tensors ({folds} weight-norm folds) match the expected layout")

    tensors = build_tensors(state, ops)
    del state
    output_dir.mkdir(parents=True, exist_ok=True)
    metadata = {"format": "pt", "converted_by": "scripts/convert_codec.py", "source_sha256": sha256_file(model_path)}
    write_safetensors(target, tensors, metadata)
    write_json(output_dir / "preprocessor_config.json", preprocessor_config(cfg))
    write_json(output_dir / "config.json", hf_config(cfg))  # last: its presence marks a finished conversion
    print(f"wrote {output_dir}: model.safetensors (sha256 {sha256_file(target)}), config.json, preprocessor_config.json")


# --- Self-test without torch: a synthetic ORIG name/shape table (docs/model.md#codec-checkpoint) through the plan ---


def synthetic_original_shapes(cfg: dict, pos_conv_spelling: int) -> dict:
    """The ORIG checkpoint's keys and shapes as documented (all DAC convs weight-normed)."""
    out: dict = {}

    def wn(prefix, shape, bias_size=None):
        out[f"{prefix}.weight_g"] = (shape[0],) + (1,) * (len(shape) - 1)  # old weight_norm, dim=0
        out[f"{prefix}.weight_v"] = tuple(shape)
        out[f"{prefix}.bias"] = (shape[0] if bias_size is None else bias_size,)

    def res(prefix, ch):
        out[f"{prefix}.block.0.alpha"] = (1, ch, 1)
        wn(f"{prefix}.block.1", (ch, ch, 7))
        out[f"{prefix}.block.2.alpha"] = (1, ch, 1)
        wn(f"{prefix}.block.3", (ch, ch, 1))

    ratios, n, latent = cfg["ratios"], len(cfg["ratios"]), cfg["D"]
    ch = cfg["encoder_hidden"]
    wn("encoder.block.0", (ch, 1, 7))
    for i, s in enumerate(ratios, start=1):
        for j in range(3):
            res(f"encoder.block.{i}.block.{j}", ch)
        out[f"encoder.block.{i}.block.3.alpha"] = (1, ch, 1)
        wn(f"encoder.block.{i}.block.4", (2 * ch, ch, 2 * s))
        ch *= 2
    out[f"encoder.block.{n + 1}.alpha"] = (1, ch, 1)
    wn(f"encoder.block.{n + 2}", (latent, ch, 3))

    ch = cfg["decoder_hidden"]
    wn("decoder_2.model.0", (ch, latent, 7))
    for i, s in enumerate(ratios, start=1):
        out[f"decoder_2.model.{i}.block.0.alpha"] = (1, ch, 1)
        wn(f"decoder_2.model.{i}.block.1", (ch, ch // 2, 2 * s), ch // 2)  # ConvTranspose1d [in, out, k]: g over in
        ch //= 2
        for j in (2, 3, 4):
            res(f"decoder_2.model.{i}.block.{j}", ch)
    out[f"decoder_2.model.{n + 1}.alpha"] = (1, ch, 1)
    wn(f"decoder_2.model.{n + 2}", (1, ch, 7))

    sem = cfg["hubert"]["hidden_size"]
    for p, first, last in (("encoder_semantic", "conv", None), ("decoder_semantic", "conv1", "conv2")):
        out[f"{p}.{first}.conv.weight"] = (sem, sem, 3)
        for b in (0, 1):
            out[f"{p}.conv_blocks.{b}.conv.conv.weight"], out[f"{p}.conv_blocks.{b}.conv.conv.bias"] = (sem, sem, 3), (sem,)
            for u in (0, 1):
                out[f"{p}.conv_blocks.{b}.res_units.{u}.conv1.conv.weight"] = (sem, sem, 3)
                out[f"{p}.conv_blocks.{b}.res_units.{u}.conv2.weight"] = (sem, sem, 1)
        if last:
            out[f"{p}.{last}.conv.weight"] = (sem, sem, 3)

    hidden = latent + sem
    for name, rows in (("fc_prior", hidden), ("fc_post1", sem), ("fc_post2", latent)):
        out[f"{name}.weight"], out[f"{name}.bias"] = (rows, hidden), (rows,)
    dim, bins = cfg["codebook_dim"], cfg["bins"]
    for q in range(cfg["n_q"]):
        p = f"quantizer.vq.layers.{q}"
        out[f"{p}.project_in.weight"], out[f"{p}.project_in.bias"] = (dim, hidden), (dim,)
        out[f"{p}.project_out.weight"], out[f"{p}.project_out.bias"] = (hidden, dim), (hidden,)
        for buf, shape in (("embed", (bins, dim)), ("embed_avg", (bins, dim)), ("cluster_size", (bins,)), ("inited", (1,))):
            out[f"{p}._codebook.{buf}"] = shape

    hubert = expected_hubert_shapes(cfg["hubert"], "semantic_model")
    g_suffix, v_suffix = NORM_SPELLINGS[pos_conv_spelling]
    for suffix, spelled in ((".parametrizations.weight.original0", g_suffix), (".parametrizations.weight.original1", v_suffix)):
        hubert[HUBERT_POS_CONV + spelled] = hubert.pop(HUBERT_POS_CONV + suffix)
    out.update(hubert)
    out["semantic_model.masked_spec_embed"] = (sem,)
    out["some_bytesio_entry"] = None  # the pickle's non-tensor entries
    return out


# The tiny codec of the goldens (test/fixtures/goldens/codec), as a --sizes object plus its D / codebook_dim.
TINY_SIZES = {"encoder_hidden": 2, "decoder_hidden": 64, "hubert": {
    "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64, "conv_dim": [16] * 7}}


def _check_tables(cfg: dict, groups: dict, total: int) -> None:
    """Synthetic ORIG table -> plan -> expected HF table, for both pos-conv spellings."""
    expected = expected_hf_shapes(cfg)
    for prefix, count in groups.items():
        got = sum(1 for n in expected if n.startswith(prefix))
        assert got == count, f"{prefix}: {got} tensors, expected {count}"
    assert len(expected) == total, len(expected)
    for spelling in (0, 1):
        orig = synthetic_original_shapes(cfg, spelling)
        assert sum(1 for k in orig if k.startswith("encoder.")) == 147
        assert sum(1 for k in orig if k.startswith("decoder_2.")) == 147
        ops, dropped = plan_conversion(orig, len(cfg["ratios"]))
        check_against_expected(ops, expected)
        assert sum(1 for op, _ in ops.values() if op[0] == "fold") == 74, "37 folds per DAC half"
        assert sorted(k for k, _ in dropped) == ["semantic_model.masked_spec_embed", "some_bytesio_entry"]


def self_test() -> None:
    release = {"D": 256, "ratios": [8, 5, 4, 2, 3], "n_q": 8, "bins": 1024, "codebook_dim": 64, "sample_rate": 24000,
               "target_bandwidths": [0.5, 1, 1.5, 2, 4], "hop": 960, "frame_rate": 25, "nbits": 10}
    cfg = with_widths(release)
    groups = {"semantic_model.": 210, "acoustic_encoder.": 110, "acoustic_decoder.": 110, "quantizer.": 64,
              "encoder_semantic.": 13, "decoder_semantic.": 14, "fc": 6}
    _check_tables(cfg, groups, 527)  # the counts of the published HF checkpoint (docs/model.md#codec-checkpoint)
    assert hf_target_bandwidths(cfg) == [0.5, 1, 1.5, 2]
    assert hf_config(cfg)["acoustic_model_config"]["hop_length"] == 960
    assert hf_config(cfg)["semantic_model_config"] == HUBERT_BASE, "no --sizes: the release's HuBERT base"

    # Shrunk widths: the same plan gives the goldens codec's 367 tensors (2 HuBERT layers of 16, not 12).
    tiny = with_widths(dict(release, D=16, codebook_dim=8), TINY_SIZES)
    _check_tables(tiny, dict(groups, **{"semantic_model.": 50}), 367)
    shapes = expected_hf_shapes(tiny)
    assert shapes["acoustic_encoder.block.4.conv1.weight"] == (64, 32, 6)
    assert shapes["acoustic_decoder.block.0.conv_t1.weight"] == (64, 32, 16)
    assert shapes["semantic_model.encoder.pos_conv_embed.conv.parametrizations.weight.original1"] == (32, 2, 128)
    assert shapes["quantizer.quantizers.7.project_in.weight"] == (8, 48)
    acoustic = hf_config(tiny)["acoustic_model_config"]
    assert (acoustic["encoder_hidden_size"], acoustic["decoder_hidden_size"], acoustic["hidden_size"]) == (2, 64, 16)
    for bad in ({"decoder_hidden": 48}, {"hubert": {"num_attention_heads": 5}}, {"hubert": {"conv_dim": [16] * 6}},
                {"encoder_hidden": 0}, {"hidden": 8}, {"hubert": {"conv_kernel": [3] * 7}}, [1]):
        try:
            with_widths(release, bad)
        except ConversionError:
            continue
        raise AssertionError(f"--sizes {bad} must be refused")

    spot = {
        "encoder.block.3.block.1.block.3": "acoustic_encoder.block.2.res_unit2.conv2",
        "decoder_2.model.5.block.4.block.0": "acoustic_decoder.block.4.res_unit3.snake1",
        "encoder_semantic.conv_blocks.1.res_units.0.conv1.conv": "encoder_semantic.conv_blocks.1.res_units.0.conv1",
        "quantizer.vq.layers.7._codebook": "quantizer.quantizers.7.codebook",
    }
    for orig_path, hf_path in spot.items():
        assert rename_module(orig_path, 5) == hf_path, (orig_path, rename_module(orig_path, 5))
    try:
        plan_conversion({"encoder.block.9.alpha": (1, 2, 1)}, 5)
    except ConversionError:
        pass
    else:
        raise AssertionError("an unknown key must be refused")
    print("self-test passed: 527 tensors (release widths) and 367 (the goldens' tiny widths), "
          "both pos-conv spellings, 74 weight-norm folds, bad --sizes refused")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="See scripts/convert_codec.md.")
    parser.add_argument("input_dir", nargs="?", type=Path, help="directory with the original config.json and model.pth")
    parser.add_argument("output_dir", nargs="?", type=Path, help="directory to write model.safetensors + config.json into")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUTPUT_DIR/model.safetensors")
    parser.add_argument("--trust-pickle", action="store_true", help="allow full unpickling if weights_only loading fails")
    parser.add_argument("--sizes", type=Path, metavar="FILE",
                        help="JSON widths for a small test checkpoint: encoder_hidden, decoder_hidden, hubert: {"
                        + ", ".join(HUBERT_SIZE_KEYS) + "} (the release needs none)")
    parser.add_argument("--print-config", action="store_true",
                        help="print the config.json the conversion would write for INPUT_DIR and stop (no torch)")
    parser.add_argument("--self-test", action="store_true", help="check the renaming plan (no torch, no files)")
    args = parser.parse_args(argv)
    try:
        if args.self_test:
            self_test()
            return 0
        if args.print_config:
            if args.input_dir is None or args.output_dir is not None:
                parser.error("--print-config takes INPUT_DIR only")
            print(json.dumps(hf_config(read_input_config(args.input_dir, args.sizes)), indent=2))
            return 0
        if args.input_dir is None or args.output_dir is None:
            parser.error("INPUT_DIR and OUTPUT_DIR are required")
        convert(args.input_dir, args.output_dir, args.overwrite, args.trust_pickle, args.sizes)
        return 0
    except ConversionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
