"""rag: grounded answers from your own documents.

torch's OpenMP threads spin-wait after each parallel region by default; on two cores they then
starve the OpenBLAS threads that decode tokens (``models/decoding.py``: 2 tok/s instead of 30).
Passive waiting must be chosen before torch loads, so it is set here, where every entry point
starts; an ``OMP_WAIT_POLICY`` already in the environment wins."""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
