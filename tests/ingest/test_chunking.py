from ingest.chunking import chunk_text, pack_units, segments, span_pages

TEXT = (
    "Transformers use self-attention. Each token attends to every other token in the sequence! "
    "Why does it matter? Because long-range context helps.\n\nTransfer learning reuses a model "
    "trained on one task for another task; fine-tuning adapts its weights. " * 6
).strip()


def test_spans_map_back_to_the_source(fake_embedder):
    chunks = chunk_text(TEXT, fake_embedder.tokenizer, 40, 10)
    assert len(chunks) > 3
    assert all(TEXT[c.start : c.end] == c.text for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(TEXT)


def test_chunks_respect_the_token_budget_and_overlap(fake_embedder):
    chunks = chunk_text(TEXT, fake_embedder.tokenizer, 40, 10)
    assert max(c.token_count for c in chunks) <= 40
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:]))  # consecutive chunks overlap
    assert all(b.start > a.start for a, b in zip(chunks, chunks[1:]))


def test_chunks_start_at_sentence_boundaries(fake_embedder):
    for chunk in chunk_text(TEXT, fake_embedder.tokenizer, 40, 10):
        assert chunk.start == 0 or TEXT[chunk.start - 1] in " \n"


def test_a_long_sentence_is_cut_by_tokens(fake_embedder):
    text = "word " * 100
    chunks = chunk_text(text.strip(), fake_embedder.tokenizer, 30, 0)
    assert [c.token_count for c in chunks] == [30, 30, 30, 10]


def test_empty_text_has_no_chunks(fake_embedder):
    assert chunk_text("", fake_embedder.tokenizer, 32, 8) == []


def test_pack_units_overlaps_whole_units():
    units = [(0, 10), (10, 20), (20, 30), (30, 40)]
    assert pack_units(units, 20, 10) == [(0, 20), (10, 30), (20, 40)]
    assert pack_units(units, 20, 0) == [(0, 20), (20, 40)]


def test_span_pages_names_every_page_a_span_touches():
    starts = [(0, 1), (10, 2), (25, 4)]
    assert span_pages(0, 5, starts) == (1,)
    assert span_pages(8, 12, starts) == (1, 2)
    assert span_pages(10, 30, starts) == (2, 4)
    assert span_pages(3, 7, []) == ()


def test_segments_cover_the_text_and_cut_at_the_widest_boundary():
    text = "First paragraph here.\n\nSecond one. It goes on a while longer than that."
    ranges = list(segments(text, 40))
    assert [text[a:b] for a, b in ranges][0] == "First paragraph here.\n\n"
    assert ranges[0][0] == 0 and ranges[-1][1] == len(text)
    assert all(b - a <= 40 and b == c for (a, b), (c, _) in zip(ranges, ranges[1:]))
    assert list(segments("x" * 25, 10)) == [(0, 10), (10, 20), (20, 25)]  # no boundary: a hard cut


def test_a_long_text_is_chunked_one_segment_at_a_time(fake_embedder):
    chunks = chunk_text(TEXT, fake_embedder.tokenizer, 40, 10, segment_chars=300)
    bounds = {b for _, b in segments(TEXT, 300)}
    assert all(TEXT[c.start : c.end] == c.text and c.token_count <= 40 for c in chunks)
    assert not any(c.start < b < c.end for c in chunks for b in bounds)  # no chunk spans two segments
    covered = " ".join(TEXT[c.start : c.end] for c in chunks)
    assert set(TEXT.split()) == set(covered.split())
