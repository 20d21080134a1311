"""Benchmarks (``python -m bench.NAME``). Importing ``rag`` first sets its OpenMP wait policy
before any benchmark loads torch (see ``core/__init__.py``)."""

import core  # noqa: F401
