"""A stand-in for torchaudio where no torchaudio wheel can be installed (the offline wheelhouse has
none): transformers' Higgs Audio V2 codec imports torchaudio and calls only
torchaudio.functional.resample. That one function is implemented here, op for op as the
project's C++ port (native/core/codec/resample16k.cc), so the codec sections of make_goldens.py
run on such a machine. Regenerated goldens say which torchaudio made them (manifest versions).
"""
from . import functional  # noqa: F401

__version__ = "0.0.0+higgs.standin"
