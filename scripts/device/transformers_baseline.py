#!/usr/bin/env python3
"""Transformers baseline for the higgs-bench table (issue 8): the same measurements as
build/higgs-bench, taken with transformers' own HiggsAudioV2ForConditionalGeneration.

What it does, on one GPU, in well under two minutes:
  1. Builds HiggsAudioV2ForConditionalGeneration from a HiggsAudioV2Config of the full 3B-base
     shape (28 dual-FFN layers, hidden 3072, 24/8 heads of 128, vocab 128256, 8 codebooks of 1026,
     llama3 RoPE) directly on the GPU in bfloat16, then overwrites every parameter with seeded
     normal noise (std 0.02; 1-D parameters, i.e. the RMSNorm weights, set to 1). Random weights,
     nothing is downloaded.
  2. Prefills a prompt laid out like higgs-bench's: the first half text ids (1000 + i), the second
     half <|AUDIO_OUT|> placeholders whose frames come in audio_input_ids / audio_input_ids_mask,
     into a transformers StaticCache sized prompt + warm-up + steps. Median of --prefill-runs timed
     runs after one warm-up run, each with a fresh cache.
  3. Checks once that a cached decode step matches a forward without cache over prompt + frame.
  4. Decodes one audio frame per step the way HiggsAudioV2's generation loop feeds the model in
     decoding mode: audio_input_ids [1, 1, 8] only (no input_ids, so every layer takes the audio
     path), past_key_values, use_cache=True, logits_to_keep=1. --warmup untimed steps, then --steps
     steps each timed with torch.cuda.synchronize() on both sides.
  5. Writes a JSON report with the keys higgs-bench writes (plus a few more) and prints a table row.

Usage (repository root, on the GPU machine):
    python3 scripts/device/transformers_baseline.py --json "$OUT/bench-transformers.json"
    python3 scripts/device/transformers_baseline.py --layers 2 --steps 8      # quick smoke test
    python3 scripts/device/transformers_baseline.py --compile default          # + inductor decode

Exit code 0 when every measurement ran, 1 otherwise (a partial JSON with "error" is still written).
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import statistics
import sys
import time
import traceback

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

T0 = time.perf_counter()

# The full bosonai/higgs-audio-v2-generation-3B-base LM in transformers' flat HiggsAudioV2Config form
# (docs/model.md#checkpoint-formats and #shape-of-the-released-model). codebook_size counts the
# stream bos/eos ids.
FULL_SHAPE = dict(
    vocab_size=128256,
    hidden_size=3072,
    intermediate_size=8192,
    num_hidden_layers=28,
    num_attention_heads=24,
    num_key_value_heads=8,
    head_dim=128,
    rms_norm_eps=1e-5,
    max_position_embeddings=131072,
    tie_word_embeddings=False,
    num_codebooks=8,
    codebook_size=1026,
)
ROPE = dict(
    rope_type="llama3",
    rope_theta=500000.0,
    factor=32.0,
    low_freq_factor=1.0,
    high_freq_factor=4.0,
    original_max_position_embeddings=8192,
)
INIT_STD = 0.02

torch = None  # imported in main() so that --help works without torch
DTYPE = None  # torch.bfloat16 or torch.float32, from --dtype


def log(msg: str) -> None:
    print(f"[transformers-baseline +{time.perf_counter() - T0:6.1f}s] {msg}", flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--prompt", type=int, default=512, help="prefill positions (default 512)")
    p.add_argument("--prompt-audio", type=int, default=-1,
                   help="audio-frame positions at the end of the prompt (default: prompt - prompt//2, as higgs-bench)")
    p.add_argument("--steps", type=int, default=64, help="timed decode steps (default 64)")
    p.add_argument("--warmup", type=int, default=8, help="untimed decode steps before the timed ones (default 8)")
    p.add_argument("--prefill-runs", type=int, default=3, help="timed prefill runs after one warm-up run (default 3)")
    p.add_argument("--json", default="", help="write the JSON report here")
    p.add_argument("--device", default="cuda", help="torch device (default cuda)")
    p.add_argument("--layers", type=int, default=0, help="override num_hidden_layers (quick tests)")
    p.add_argument("--attn", default="sdpa", help="attn_implementation to ask for (default sdpa; falls back to eager)")
    p.add_argument("--feed", choices=["fixed", "argmax"], default="fixed",
                   help="frame fed at each decode step: fixed codes (position*17+k)%%1024 as higgs-bench (default), "
                        "or the argmax of the previous step's logits per codebook")
    p.add_argument("--compile", nargs="?", const="reduce-overhead", default="off",
                   choices=["off", "default", "reduce-overhead", "max-autotune-no-cudagraphs"],
                   help="also time a torch.compile'd decode step (after the eager one; bare --compile = reduce-overhead)")
    p.add_argument("--seed", type=int, default=0, help="weight-noise seed (default 0)")
    p.add_argument("--no-check", action="store_true", help="skip the cached-vs-uncached logits check")
    p.add_argument("--dtype", choices=["bfloat16", "float32"], default="bfloat16",
                   help="parameter and cache dtype (default bfloat16; float32 for the CPU comparison)")
    p.add_argument("--save", default="", help="also save the random model here (save_pretrained, safetensors) for higgs-bench --model")
    p.add_argument("--load", default="", help="time a model saved with --save (from_pretrained) instead of building one")
    return p.parse_args(argv)


def percentile(values, p):
    """Same rule as higgs-bench: sorted, index round(p * (n - 1))."""
    v = sorted(values)
    i = int(p * (len(v) - 1) + 0.5)
    return v[min(i, len(v) - 1)]


def llama3_inv_freq(head_dim, theta, factor, low, high, orig):
    out = []
    low_wavelen, high_wavelen = orig / low, orig / high
    for j in range(head_dim // 2):
        f = 1.0 / theta ** (2.0 * j / head_dim)
        wavelen = 2.0 * math.pi / f
        if wavelen < high_wavelen:
            out.append(f)
        elif wavelen > low_wavelen:
            out.append(f / factor)
        else:
            s = (orig / wavelen - low) / (high - low)
            out.append((1.0 - s) * f / factor + s * f)
    return out


def signature_of(obj) -> str:
    try:
        return str(inspect.signature(obj))
    except Exception as e:  # noqa: BLE001
        return f"<no signature: {e!r}>"


def param_names(fn):
    try:
        return set(inspect.signature(fn).parameters)
    except Exception:  # noqa: BLE001
        return set()


class Report:
    def __init__(self, path):
        self.path = path
        self.data = {"tool": "transformers-baseline", "version": 1}
        self.notes = []

    def note(self, text):
        log("note: " + text)
        self.notes.append(text)

    def write(self):
        self.data["notes"] = " ".join(self.notes)
        text = json.dumps(self.data, indent=2, default=str)
        if self.path:
            d = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(d, exist_ok=True)
            with open(self.path, "w", encoding="utf-8") as f:
                f.write(text + "\n")
        return text


class Phase:
    """Logs a phase with its duration; on an exception prints the traceback and re-raises."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.t = time.perf_counter()
        log(f"--- {self.name}")
        return self

    def __exit__(self, exc_type, exc, tb):
        dt = time.perf_counter() - self.t
        if exc_type is None:
            log(f"--- {self.name}: done in {dt:.2f} s")
        else:
            log(f"--- {self.name}: FAILED after {dt:.2f} s: {exc_type.__name__}: {exc}")
            traceback.print_exception(exc_type, exc, tb)
            sys.stdout.flush()
            sys.stderr.flush()
            try:
                exc._baseline_printed = True
            except Exception:  # noqa: BLE001
                pass
        return False


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


# ----------------------------------------------------------------------------------------------------
# model


def build_config(args, report):
    from transformers import HiggsAudioV2Config

    kw = dict(FULL_SHAPE)
    if args.layers > 0:
        kw["num_hidden_layers"] = args.layers
    try:
        cfg = HiggsAudioV2Config(**kw, rope_parameters=dict(ROPE))
    except Exception as e:  # noqa: BLE001
        report.note(f"HiggsAudioV2Config(rope_parameters=...) rejected ({e}); used rope_theta/rope_scaling.")
        legacy = {k: v for k, v in ROPE.items() if k != "rope_theta"}
        cfg = HiggsAudioV2Config(**kw, rope_theta=ROPE["rope_theta"], rope_scaling=legacy)
    try:
        cfg._attn_implementation = args.attn
    except Exception as e:  # noqa: BLE001
        log(f"could not set config._attn_implementation: {e!r}")
    for key in ("num_hidden_layers", "hidden_size", "num_codebooks", "codebook_size", "audio_token_id", "rope_parameters"):
        log(f"config.{key} = {getattr(cfg, key, None)!r}")
    return cfg


def set_attention(model, wanted, report):
    fn = getattr(model, "set_attn_implementation", None)
    for name in [wanted] + (["eager"] if wanted != "eager" else []):
        try:
            if fn is not None:
                fn(name)
            else:
                model.config._attn_implementation = name
            break
        except Exception as e:  # noqa: BLE001
            report.note(f"attn_implementation={name!r} refused ({e!r}).")
    got = getattr(model.config, "_attn_implementation", None)
    if got != wanted:
        report.note(f"attention runs as {got!r}, not {wanted!r}.")
    return got


def fill_parameters(model, dev, seed):
    gen = torch.Generator(device=dev)
    gen.manual_seed(seed)
    n_tensors = 0
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.dtype != DTYPE:
                p.data = p.data.to(DTYPE)
            if p.dim() <= 1:
                p.fill_(1.0)
            else:
                p.normal_(mean=0.0, std=INIT_STD, generator=gen)
            n_tensors += 1
    return n_tensors


def check_buffers(model, cfg, dev, report):
    """Buffers are computed at construction (on the GPU); check them and repair the codebook offsets."""
    expected = torch.arange(cfg.num_codebooks, device=dev, dtype=torch.long) * cfg.codebook_size
    for name, mod in model.named_modules():
        off = getattr(mod, "audio_tokens_offsets", None)
        if isinstance(off, torch.Tensor):
            if off.shape != expected.shape or not torch.equal(off.to(expected.dtype), expected):
                report.note(f"{name}.audio_tokens_offsets was {off.tolist()}; reset to arange*codebook_size.")
                with torch.no_grad():
                    off.copy_(expected.to(off.dtype))
    rot = getattr(getattr(model, "model", None), "rotary_emb", None)
    inv = getattr(rot, "inv_freq", None)
    if isinstance(inv, torch.Tensor):
        want = torch.tensor(
            llama3_inv_freq(cfg.head_dim, ROPE["rope_theta"], ROPE["factor"], ROPE["low_freq_factor"],
                            ROPE["high_freq_factor"], ROPE["original_max_position_embeddings"]),
            dtype=torch.float64,
        )
        got = inv.detach().double().cpu()
        rel = float(((got - want).abs() / want.abs()).max()) if got.shape == want.shape else float("inf")
        log(f"rotary inv_freq dtype {inv.dtype}, max rel err vs llama3 formula {rel:.2e}, "
            f"attention_scaling {getattr(rot, 'attention_scaling', None)!r}")
        if not rel < 1e-4 or inv.dtype != torch.float32:
            report.note(f"RoPE inv_freq ({inv.dtype}) differed from the llama3 formula (max rel err {rel:.2e}); "
                        "replaced by the formula's values in float32.")
            fixed = want.to(device=inv.device, dtype=torch.float32)
            rot.inv_freq = fixed
            if isinstance(getattr(rot, "original_inv_freq", None), torch.Tensor):
                rot.original_inv_freq = fixed.clone()
    else:
        report.note("model.model.rotary_emb.inv_freq not found; RoPE not checked.")


def load_model(args, dev, report):
    """A model saved by --save, loaded as transformers loads checkpoints (from_pretrained)."""
    from transformers import HiggsAudioV2ForConditionalGeneration

    model = HiggsAudioV2ForConditionalGeneration.from_pretrained(args.load, dtype=DTYPE).to(dev)
    model.eval()
    model.requires_grad_(False)
    attn = set_attention(model, args.attn, report)
    n_params = sum(p.numel() for p in model.parameters())
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    return model, attn, n_params, weight_bytes


def build_model(cfg, args, dev, report):
    from transformers import HiggsAudioV2ForConditionalGeneration

    log(f"HiggsAudioV2ForConditionalGeneration.forward{signature_of(HiggsAudioV2ForConditionalGeneration.forward)}")
    try:
        from transformers import HiggsAudioV2Model

        log(f"HiggsAudioV2Model.forward{signature_of(HiggsAudioV2Model.forward)}")
    except Exception as e:  # noqa: BLE001
        log(f"HiggsAudioV2Model unavailable: {e!r}")

    # Parameters are allocated in bf16 directly on the GPU (no CPU init, no fp32 copy); the module
    # initialisers then run there (cheap), and fill_parameters overwrites every parameter anyway.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(DTYPE)
    try:
        with torch.device(dev):
            model = HiggsAudioV2ForConditionalGeneration(cfg)
    finally:
        torch.set_default_dtype(previous)
    model.eval()
    model.requires_grad_(False)
    attn = set_attention(model, args.attn, report)
    n = fill_parameters(model, dev, args.seed)
    check_buffers(model, cfg, dev, report)
    sync(dev)
    if getattr(model, "text_lm_head", None) is not None:
        report.note("text_lm_head is present (use_text_head=True?); it is not used by the audio forward.")
    n_params = sum(p.numel() for p in model.parameters())
    log(f"parameters: {n_params}; expected from the config without a text head: {expected_parameters(cfg)}")
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    devices = sorted({str(p.device) for p in model.parameters()})
    dtypes = sorted({str(p.dtype) for p in model.parameters()})
    log(f"model: {n} parameter tensors filled, {n_params} parameters, {weight_bytes / 1e9:.3f} GB, devices {devices}, "
        f"dtypes {dtypes}, attention {attn!r}")
    return model, attn, n_params, weight_bytes


def expected_parameters(cfg):
    """Parameter count of HiggsAudioV2ForConditionalGeneration without text head (5,377,281,024 at full shape)."""
    H, I, hd = cfg.hidden_size, cfg.intermediate_size, cfg.head_dim
    attention = H * cfg.num_attention_heads * hd * 2 + H * cfg.num_key_value_heads * hd * 2
    layer = attention + 2 * 3 * H * I + 4 * H
    return cfg.vocab_size * H + cfg.num_hidden_layers * layer + H + 2 * cfg.num_codebooks * cfg.codebook_size * H


def audio_step_weight_bytes(cfg):
    """Weights one audio decode step reads (higgs-bench's formula): attention, audio MLP, the two audio
    norms per layer, the final norm and the audio head, in bf16."""
    H, I = cfg.hidden_size, cfg.intermediate_size
    hd = cfg.head_dim
    attention = H * cfg.num_attention_heads * hd * 2 + H * cfg.num_key_value_heads * hd * 2
    audio_mlp = 3 * H * I
    params = cfg.num_hidden_layers * (attention + audio_mlp + 2 * H) + H + cfg.num_codebooks * cfg.codebook_size * H
    return params * 2


# ----------------------------------------------------------------------------------------------------
# cache and inputs


def static_cache_class():
    try:
        from transformers import StaticCache
    except ImportError:
        from transformers.cache_utils import StaticCache
    return StaticCache


def make_cache(model, max_len, dev):
    StaticCache = static_cache_class()
    try:
        return StaticCache(config=model.config, max_cache_len=max_len)
    except TypeError as e:
        log(f"StaticCache(config=, max_cache_len=) failed ({e}); trying the 4.x signature")
        return StaticCache(config=model.config, max_batch_size=1, max_cache_len=max_len, device=dev, dtype=DTYPE)


def cache_length(cache):
    try:
        return int(cache.get_seq_length())
    except Exception as e:  # noqa: BLE001
        log(f"cache.get_seq_length() failed: {e!r}")
        return None


def prompt_inputs(cfg, length, n_audio, dev):
    """higgs-bench's prompt: text ids 1000+i, then n_audio <|AUDIO_OUT|> placeholders with codes (i*31+k*7)%1024."""
    text = length - n_audio
    K = cfg.num_codebooks
    ids = [1000 + i for i in range(text)] + [cfg.audio_token_id] * n_audio
    inputs = {"input_ids": torch.tensor([ids], dtype=torch.long, device=dev)}
    if n_audio > 0:
        codes = [[(i * 31 + k * 7) % 1024 for k in range(K)] for i in range(text, length)]
        inputs["audio_input_ids"] = torch.tensor([codes], dtype=torch.long, device=dev)  # [1, n_audio, K]
        inputs["audio_input_ids_mask"] = torch.ones((1, n_audio), dtype=torch.bool, device=dev)
    return inputs


def decode_frames(cfg, first_position, count, dev):
    """higgs-bench's decode frames: codes (position*17 + k) % 1024, one row per position."""
    K = cfg.num_codebooks
    rows = [[((first_position + j) * 17 + k) % 1024 for k in range(K)] for j in range(count)]
    return torch.tensor(rows, dtype=torch.long, device=dev)  # [count, K]


class Forward:
    """Calls the model with the keyword arguments its forward takes."""

    def __init__(self, model, dev):
        self.model = model
        self.dev = dev
        names = param_names(model.forward)
        if "audio_input_ids" in names:
            self.has_cache_position = "cache_position" in names
            self.has_logits_to_keep = "logits_to_keep" in names
        else:
            # An opaque (*args, **kwargs) signature: assume the 5.x API read for this script
            # (logits_to_keep yes, cache_position no).
            log(f"WARNING: model.forward lists no audio_input_ids ({sorted(names)}); assuming the 5.x forward")
            self.has_cache_position = False
            self.has_logits_to_keep = True

    def kwargs(self, cache, start, length, **inputs):
        kw = dict(inputs)
        kw["past_key_values"] = cache
        kw["use_cache"] = cache is not None
        if self.has_logits_to_keep:
            kw["logits_to_keep"] = 1
        if self.has_cache_position and cache is not None:
            kw["cache_position"] = torch.arange(start, start + length, device=self.dev)
        return kw

    def __call__(self, cache, start, length, **inputs):
        return self.model(**self.kwargs(cache, start, length, **inputs))


# ----------------------------------------------------------------------------------------------------
# measurements


def run_prefill(fwd, model, inputs, P, max_len, runs, dev, report):
    times = []
    cache = out = None
    for r in range(1 + runs):
        cache = None
        out = None
        cache = make_cache(model, max_len, dev)
        sync(dev)
        t0 = time.perf_counter()
        out = fwd(cache, 0, P, **inputs)
        sync(dev)
        dt = (time.perf_counter() - t0) * 1e3
        log(f"prefill run {r} ({'warm-up' if r == 0 else 'timed'}): {dt:.2f} ms")
        if r > 0:
            times.append(dt)
    logits = out.logits
    log(f"prefill logits {tuple(logits.shape)} {logits.dtype}; cache {type(cache).__name__}, "
        f"layer {type(cache.layers[0]).__name__ if getattr(cache, 'layers', None) else '?'}, length {cache_length(cache)}")
    expect = model.config.num_codebooks * model.config.codebook_size
    if logits.shape[-1] != expect or logits.shape[1] != 1:
        report.note(f"unexpected prefill logits shape {tuple(logits.shape)}.")
    return cache, out, times


def layer0_keys(cache):
    layers = getattr(cache, "layers", None)
    if layers:
        k = getattr(layers[0], "keys", None)
        if isinstance(k, torch.Tensor):
            return k
    kc = getattr(cache, "key_cache", None)
    if kc:
        return kc[0]
    return None


def run_check(fwd, model, cache, inputs, P, frame, report):
    """One cached decode step at position P against one forward without cache over prompt + frame, plus a
    look at layer 0's key cache: the step must write slot P and leave slot 0 alone. (With random weights
    attention is nearly uniform, so a misplaced write barely moves the logits; the slot check catches it.)"""
    cfg = model.config
    K, C = cfg.num_codebooks, cfg.codebook_size
    keys = layer0_keys(cache)
    slots = None
    if keys is not None and keys.dim() == 4 and keys.shape[2] > P:
        slot0 = keys[0, :, 0].clone()
        slot_p_before = float(keys[0, :, P].float().abs().sum())
    dec = fwd(cache, P, 1, audio_input_ids=frame).logits[0, -1].float()
    if keys is not None and keys.dim() == 4 and keys.shape[2] > P:
        keys = layer0_keys(cache)
        slots = {"slot_P_was_empty": slot_p_before == 0.0,
                 "slot_P_written": bool(float(keys[0, :, P].float().abs().sum()) > 0.0),
                 "slot_0_unchanged": bool(torch.equal(keys[0, :, 0], slot0))}
    ids = torch.cat([inputs["input_ids"], torch.full((1, 1), cfg.audio_token_id, dtype=torch.long, device=frame.device)], 1)
    if "audio_input_ids" in inputs:
        audio = torch.cat([inputs["audio_input_ids"], frame], 1)
    else:
        audio = frame
    full = dict(input_ids=ids, audio_input_ids=audio,
                audio_input_ids_mask=torch.ones(audio.shape[:2], dtype=torch.bool, device=frame.device))
    ref = fwd(None, 0, ids.shape[1], **full).logits[0, -1].float()
    diff = float((dec - ref).abs().max())
    scale = float(ref.abs().max())
    agree = int((dec.view(K, C).argmax(-1) == ref.view(K, C).argmax(-1)).sum())
    length = cache_length(cache)
    ok = bool(math.isfinite(diff) and diff <= 0.1 * max(scale, 1e-6) and agree >= K // 2 and length in (None, P + 1))
    if slots is not None:
        ok = ok and all(slots.values())
    res = {"max_abs_diff": diff, "ref_max_abs": scale, "argmax_agree": agree, "codebooks": K,
           "cache_length_after": length, "layer0_key_slots": slots, "ok": ok}
    log(f"cache check: {res}")
    if not ok:
        report.note(f"WARNING: cached decode step disagrees with an uncached forward ({res}); the decode path may be "
                    "mis-positioned.")
    return res


def make_step(fwd, cache, feed, K, C):
    model = fwd.model
    has_ltk = fwd.has_logits_to_keep

    def step(frame, cache_position):
        kw = {"audio_input_ids": frame, "past_key_values": cache, "use_cache": True}
        if has_ltk:
            kw["logits_to_keep"] = 1
        if cache_position is not None:
            kw["cache_position"] = cache_position
        logits = model(**kw).logits
        if feed == "argmax":
            return logits, logits[:, -1].reshape(1, K, C).argmax(-1).reshape(1, 1, K)
        return logits, None

    return step


def run_decode(fn, fwd, start, frames, warmup, steps, feed, dev, K, mark_step=False):
    """Calls fn warmup + steps times from cache position `start`; returns (first-call ms, timed ms list)."""
    feeds = [frames[j].view(1, 1, K).clone() for j in range(warmup + steps + 1)]  # separate tensors, made untimed
    frame = feeds[0]
    times = []
    first_ms = None
    pos = start
    for i in range(warmup + steps):
        cpos = torch.arange(pos, pos + 1, device=dev) if fwd.has_cache_position else None
        if mark_step:
            torch.compiler.cudagraph_mark_step_begin()
        sync(dev)
        t0 = time.perf_counter()
        logits, nxt = fn(frame, cpos)
        if feed == "argmax":
            frame = nxt.clone()
        sync(dev)
        dt = (time.perf_counter() - t0) * 1e3
        if i == 0:
            first_ms = dt
        if i >= warmup:
            times.append(dt)
        pos += 1
        if feed == "fixed":
            frame = feeds[i + 1]
    return first_ms, times


def summarize(times):
    p50, p90 = percentile(times, 0.5), percentile(times, 0.9)
    return {
        "decode_steps": len(times),
        "decode_ms_p50": p50,
        "decode_ms_p90": p90,
        "decode_ms_mean": statistics.fmean(times),
        "decode_ms_min": min(times),
        "decode_ms_max": max(times),
        "frames_per_s": 1e3 / p50,
        "real_time_factor": p50 * 25.0 / 1e3,
    }


def table_row(label, d, prefill_tokens):
    return (f"| {label} | {d.get('dtype', '?')} | {d['decode_ms_p50']:.3f} | {d['decode_ms_p90']:.3f} | {d['frames_per_s']:.1f} | "
            f"{d['real_time_factor']:.4f} | {d['weight_bytes_per_step'] / 1e9:.3f} | {d['achieved_gb_per_s']:.1f} | "
            f"{d['prefill_ms']:.2f} ({prefill_tokens}) | {d['load_s']:.2f} |")


# ----------------------------------------------------------------------------------------------------


def main(argv=None):
    global torch, DTYPE
    args = parse_args(argv)
    if args.prompt < 1 or args.steps < 1 or args.warmup < 0 or args.prefill_runs < 1:
        print("need --prompt >= 1, --steps >= 1, --warmup >= 0, --prefill-runs >= 1", file=sys.stderr)
        return 2
    report = Report(args.json)
    R = report.data
    failed = False
    try:
        with Phase("environment"):
            import torch as _torch

            torch = _torch
            DTYPE = getattr(torch, args.dtype)
            import transformers

            dev = torch.device(args.device)
            if dev.type == "cuda":
                if not torch.cuda.is_available():
                    raise RuntimeError("CUDA is not available")
                if dev.index is None:
                    dev = torch.device("cuda", torch.cuda.current_device())
                gpu = torch.cuda.get_device_name(dev)
            else:
                gpu = "cpu"
            R.update({"gpu": gpu, "torch": torch.__version__, "cuda": torch.version.cuda,
                      "transformers": transformers.__version__, "python": sys.version.split()[0],
                      "device": str(dev), "dtype": args.dtype, "threads": torch.get_num_threads()})
            log(f"gpu {gpu}; torch {torch.__version__} (cuda {torch.version.cuda}); transformers {transformers.__version__}")
            StaticCache = static_cache_class()
            log(f"StaticCache.__init__{signature_of(StaticCache.__init__)}")
            try:
                from transformers.cache_utils import StaticLayer

                log(f"StaticLayer.update{signature_of(StaticLayer.update)}")
            except Exception as e:  # noqa: BLE001
                log(f"StaticLayer unavailable: {e!r}")

        with Phase("build model"):
            t_build = time.perf_counter()
            cfg = build_config(args, report)
            model, attn, n_params, weight_bytes = load_model(args, dev, report) if args.load else build_model(cfg, args, dev, report)
            load_s = time.perf_counter() - t_build
            cfg = model.config
            K, C = cfg.num_codebooks, cfg.codebook_size
            step_bytes = audio_step_weight_bytes(cfg)
            R.update({"model": args.load or ("random:full" if args.layers <= 0 else f"random:full-{cfg.num_hidden_layers}layers"),
                      "layers": cfg.num_hidden_layers, "attn_implementation": attn, "parameters": n_params,
                      "weight_bytes": weight_bytes, "load_s": load_s, "weight_bytes_per_step": step_bytes})
            report.note(f"Random weights (normal std {INIT_STD}, 1-D params = 1, seed {args.seed}) in {args.dtype}, built "
                        f"directly on {dev.type} in {load_s:.1f} s; {cfg.num_hidden_layers} layers; attention {attn}.")
            if args.save:
                # The same weights for higgs-bench --model: one run compares both on one model.
                model.save_pretrained(args.save, safe_serialization=True)
                R["saved_to"] = args.save
                report.note(f"Saved to {args.save} (save_pretrained, safetensors, {args.dtype}).")
            if dev.type == "cuda":
                torch.cuda.reset_peak_memory_stats(dev)

        fwd = Forward(model, dev)
        log(f"model.forward{signature_of(model.forward)}")
        log(f"forward takes cache_position: {fwd.has_cache_position}; logits_to_keep: {fwd.has_logits_to_keep}")
        P = args.prompt
        n_audio = (P - P // 2) if args.prompt_audio < 0 else min(args.prompt_audio, P)
        check = not args.no_check
        extra = 1 if check else 0
        max_len = P + extra + args.warmup + args.steps
        R.update({"prefill_tokens": P, "prompt_audio_frames": n_audio, "max_cache_len": max_len,
                  "warmup_steps": args.warmup, "feed": args.feed, "cuda_graphs": False, "compile": "off"})

        with torch.no_grad():
            with Phase(f"prefill ({P} positions, {n_audio} audio frames; 1 warm-up + {args.prefill_runs} timed)"):
                inputs = prompt_inputs(cfg, P, n_audio, dev)
                cache, out, ptimes = run_prefill(fwd, model, inputs, P, max_len, args.prefill_runs, dev, report)
                R["prefill_ms"] = statistics.median(ptimes)
                R["prefill_ms_runs"] = ptimes
                R["cache_class"] = type(cache).__name__
                report.note(f"Prompt as higgs-bench: {P - n_audio} text ids then {n_audio} <|AUDIO_OUT|> placeholders "
                            "filled from audio_input_ids/audio_input_ids_mask; prefill_ms is the median of "
                            f"{len(ptimes)} runs after 1 warm-up, each into a fresh StaticCache(max_cache_len={max_len}), "
                            "logits_to_keep=1.")

            frames = decode_frames(cfg, P, extra + args.warmup + args.steps + 1, dev)
            if check:
                with Phase("cache check (cached decode step vs uncached forward)"):
                    R["cache_check"] = run_check(fwd, model, cache, inputs, P, frames[0].view(1, 1, K), report)
            del out

            with Phase(f"eager decode ({args.warmup} warm-up + {args.steps} timed steps)"):
                step = make_step(fwd, cache, args.feed, K, C)
                _, times = run_decode(step, fwd, P + extra, frames[extra:], args.warmup, args.steps, args.feed, dev, K)
                R.update(summarize(times))
                R["achieved_gb_per_s"] = step_bytes / (R["decode_ms_p50"] * 1e-3) / 1e9
                length = cache_length(cache)
                R["cache_length_after_decode"] = length
                if length is not None and length != max_len:
                    report.note(f"WARNING: cache length after decode is {length}, expected {max_len}.")
                report.note(
                    "Decode: one frame per step as HiggsAudioV2's generation loop feeds it in decoding mode: "
                    f"audio_input_ids [1,1,{K}] only (no input_ids, all layers on the audio path), the StaticCache, "
                    "use_cache=True, logits_to_keep=1"
                    + (", cache_position" if fwd.has_cache_position else ", no cache_position (the cache tracks it)")
                    + "; frames: "
                    + ("fixed codes (position*17+k)%1024 as higgs-bench" if args.feed == "fixed"
                       else "argmax per codebook of the previous step's logits (on the GPU)")
                    + f". {args.warmup} untimed steps, then {args.steps} steps each timed with torch.cuda.synchronize() "
                    "before and after the forward; excludes generate()'s logits processors (delay pattern, RAS), "
                    "sampling and stopping-criteria syncs. p50/p90 use higgs-bench's percentile rule.")
                if dev.type == "cuda":
                    R["peak_memory_bytes"] = torch.cuda.max_memory_allocated(dev)
                    report.note("peak_memory_bytes: torch.cuda.max_memory_allocated after the stats were reset "
                                "post-build (includes the weights).")
                else:
                    R["peak_memory_bytes"] = None
            report.write()
            log("eager: " + table_row("transformers eager", R, P))

            if args.compile != "off":
                with Phase(f"compiled decode (torch.compile mode={args.compile})"):
                    try:
                        cwarm = max(args.warmup, 3)
                        cmax = P + cwarm + args.steps
                        ccache = make_cache(model, cmax, dev)
                        fwd(ccache, 0, P, **inputs)
                        cstep = torch.compile(make_step(fwd, ccache, args.feed, K, C), mode=args.compile, dynamic=False)
                        mark = args.compile == "reduce-overhead" and hasattr(torch, "compiler") and hasattr(
                            torch.compiler, "cudagraph_mark_step_begin")
                        cframes = decode_frames(cfg, P, cwarm + args.steps + 1, dev)
                        first_ms, ctimes = run_decode(cstep, fwd, P, cframes, cwarm, args.steps,
                                                      args.feed, dev, K, mark_step=mark)
                        cres = summarize(ctimes)
                        cres["first_call_ms"] = first_ms
                        cres["mode"] = args.compile
                        cres["achieved_gb_per_s"] = step_bytes / (cres["decode_ms_p50"] * 1e-3) / 1e9
                        R["compiled"] = cres
                        R["compile"] = args.compile
                        report.note(f"compiled: torch.compile(decode step, mode={args.compile}) p50 "
                                    f"{cres['decode_ms_p50']:.3f} ms after {cwarm} warm-up calls "
                                    f"(first call {first_ms / 1e3:.1f} s, includes compilation); the top-level decode_* "
                                    "keys stay eager.")
                    except Exception as e:  # noqa: BLE001
                        traceback.print_exc()
                        R["compiled"] = {"mode": args.compile, "error": f"{type(e).__name__}: {e}"}
                        report.note(f"torch.compile mode={args.compile} failed: {type(e).__name__}: {e}")
                    if dev.type == "cuda":
                        R["peak_memory_bytes_with_compile"] = torch.cuda.max_memory_allocated(dev)
    except Exception as e:  # noqa: BLE001
        failed = True
        R["error"] = f"{type(e).__name__}: {e}"
        if not getattr(e, "_baseline_printed", False):
            traceback.print_exc()
        sys.stderr.flush()

    text = report.write()
    print(text, flush=True)
    if not failed and "decode_ms_p50" in R:
        print("| shape | dtype | decode ms p50 | p90 | frames/s | RTF | weights GB/step | GB/s | prefill ms (positions) | load s |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        print(table_row(f"transformers {R.get('transformers', '?')} {R.get('attn_implementation', '?')} eager", R,
                        R["prefill_tokens"]))
        c = R.get("compiled")
        if isinstance(c, dict) and "decode_ms_p50" in c:
            row = dict(R)
            row.update(c)
            print(table_row(f"transformers compile={c['mode']}", row, R["prefill_tokens"]))
        sys.stdout.flush()
    if failed:
        log("FAILED")
        return 1
    log(f"done in {time.perf_counter() - T0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
