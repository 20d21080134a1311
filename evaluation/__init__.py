"""Measuring the system: retrieval quality on BEIR folders (``rag eval retrieval``), the
choice of hybrid fusion by cross-validation (``rag eval fusion``), and answer quality."""
