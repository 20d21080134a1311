"""What every index and retriever returns: ``(chunk_id, score)`` pairs, best first."""

Ranked = list[tuple[int, float]]
