#!/usr/bin/env python3
"""Compares two goldens folders (make_goldens.py outputs): every tensor of the golden files and of
the saved lm/ and codec/ models, as bit-equal, or the largest absolute and relative difference.
Prints a table and a verdict line; exits 1 when a tensor is missing on one side or differs in
shape or dtype (values that differ are reported, not failed: a torch version may round
differently)."""
import os
import sys

from safetensors.torch import load_file

FILES = ["lm_goldens.safetensors", "codec_goldens.safetensors", "lm/model.safetensors", "codec/model.safetensors"]


def main(old_dir, new_dir):
    missing = 0
    rows = []
    for name in FILES:
        a_path, b_path = os.path.join(old_dir, name), os.path.join(new_dir, name)
        if not (os.path.exists(a_path) and os.path.exists(b_path)):
            print(f"{name}: missing in {'the committed' if not os.path.exists(a_path) else 'the new'} goldens")
            missing += 1
            continue
        a, b = load_file(a_path), load_file(b_path)
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                rows.append((name, key, "only in " + ("new" if key not in a else "committed"), ""))
                missing += 1
                continue
            x, y = a[key], b[key]
            if x.shape != y.shape or x.dtype != y.dtype:
                rows.append((name, key, f"shape/dtype {tuple(x.shape)} {x.dtype} vs {tuple(y.shape)} {y.dtype}", ""))
                missing += 1
            elif x.dtype.is_floating_point:
                diff = (x.double() - y.double()).abs().max().item() if x.numel() else 0.0
                scale = x.double().abs().max().item() if x.numel() else 0.0
                rows.append((name, key, "equal" if diff == 0 else f"max |diff| {diff:.3g}", f"{diff / scale:.3g}" if diff and scale else ""))
            else:
                rows.append((name, key, "equal" if bool((x == y).all()) else f"{int((x != y).sum())} of {x.numel()} differ", ""))
    equal = sum(1 for r in rows if r[2] == "equal")
    for r in rows:
        if r[2] != "equal":
            print(f"{r[0]} {r[1]}: {r[2]}{'  (relative ' + r[3] + ')' if r[3] else ''}")
    print(f"goldens: {equal} of {len(rows)} tensors bit-equal, {len(rows) - equal - missing} differ in value, {missing} missing or reshaped")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
