"""Versioned datasets and replayable answers: dataset versions in Postgres that match what DVC
tracks (``rag datasets``), the plots of the DVC pipeline (``rag plots``), and ``rag replay``."""
