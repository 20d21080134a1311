"""400 mutated PDFs (bytes flipped, cut, deleted, filter names swapped) in one run beside good
files: each PDF is stored or fails alone, by name; the good files are stored; the run ends
with its report and a final status. Slow: pypdf parses every mutant."""

import io

import numpy as np
import pytest

from ingest.pipeline import ingest_paths

pytestmark = pytest.mark.slow

MUTANTS = 400


def _pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    for n in range(3):
        page.drawString(72, 720, f"Page {n + 1} says that hybrid search fuses keyword and vector rankings.")
        page.showPage()
    page.save()
    return buffer.getvalue()


def _mutant(data: bytes, rng: np.random.Generator) -> bytes:
    kind = rng.integers(4)
    if kind == 0:  # flip a few bytes
        mutable = bytearray(data)
        for at in rng.integers(len(data), size=rng.integers(1, 8)):
            mutable[at] = rng.integers(256)
        return bytes(mutable)
    if kind == 1:  # cut short
        return data[: rng.integers(len(data))]
    if kind == 2:  # delete a slice
        start = rng.integers(len(data))
        return data[:start] + data[start + rng.integers(1, 200) :]
    names = [b"/ASCII85Decode", b"/FlateDecode", b"/Length", b"/Type", b"/Page", b"/Font"]
    return data.replace(names[rng.integers(len(names))], b"/X" + bytes(rng.integers(65, 91, size=6).tolist()))


def test_every_mutated_pdf_is_stored_or_fails_alone(small_settings, conn, fake_embedder, tmp_path):
    rng, good = np.random.default_rng(15), _pdf()
    for n in range(MUTANTS):
        (tmp_path / f"m{n:03}.pdf").write_bytes(_mutant(good, rng))
    (tmp_path / "good.pdf").write_bytes(good)
    (tmp_path / "good.txt").write_text("Dataset versioning records the exact bytes of every training file.")

    report = ingest_paths(small_settings, [tmp_path], collection="docs", embedder=fake_embedder, show_progress=False)

    assert report.new + report.failed == MUTANTS + 2
    assert all(uri.endswith(".pdf") and error for uri, error in report.failures)
    stored = {r[0].rsplit("/", 1)[-1] for r in conn.execute("SELECT uri FROM sources")}
    assert {"good.pdf", "good.txt"} <= stored and len(stored) == report.new
    status = conn.execute("SELECT status FROM ingest_runs").fetchone()[0]
    assert status == ("failed" if report.failed else "succeeded")
