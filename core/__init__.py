"""rag: grounded answers from your own documents.

Two settings of the environment must be made before the libraries they concern load, so they
are made here, where every entry point starts; a value already in the environment wins.

torch's OpenMP threads spin-wait after each parallel region by default; on two cores they then
starve the OpenBLAS threads that decode tokens (``models/decoding.py``: 2 tok/s instead of 30).
Passive waiting must be chosen before torch loads, so it is set here, where every entry point
starts.

transformers prints notices meant for its developers on every load (the legacy-tokenizer
notice of a tokenizer read from GGUF); its errors still show (``TRANSFORMERS_VERBOSITY``).

platformdirs warns on every command where ``XDG_RUNTIME_DIR`` is unset (containers, CI): the
fallback it takes is fine here, so the warning is silenced."""

import os
import warnings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
