"""Models: the sentence embedder (and, from other features, generator and registry)."""
