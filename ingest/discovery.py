"""Find the sources under the given paths, streaming: a file is one source, a JSONL file is
a corpus with one source per line. Each source carries its uri, its content hash and a
``load`` that returns its raw text, so an unchanged source is skipped without parsing.

Symbolic links: a source is known by the path given (a link's own path, never its target's),
so its uri is stable and ``--prune`` sees it. A link to a file is followed once; a file whose
target was already read in this run (the real file, or an earlier link to it) is a counted
duplicate, not a failure; real files are read before links, so the real file is the source.
A dangling link, or a link to a folder, is counted as skipped (folders are walked without
following links, so a link cannot make a loop)."""

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.cleaning import ReadError
from ingest.readers import JSONL_MIME, JSONL_SUFFIXES, READERS, Reader, ReadText, read


@dataclass(frozen=True)
class SourceInput:
    uri: str
    sha256: str
    size_bytes: int
    mime_type: str
    load: Callable[[], ReadText]
    metadata: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class FailedInput:
    uri: str
    error: str


@dataclass(frozen=True)
class SkippedInput:
    uri: str


@dataclass(frozen=True)
class DuplicateInput:
    """A path whose target was already read in this run (through another path or link)."""

    uri: str


Discovered = SourceInput | FailedInput | SkippedInput | DuplicateInput


def path_uri(path: Path) -> str:
    """The uri of the path as given: absolute, normalised, links not resolved."""
    return Path(os.path.abspath(path)).as_uri()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def uri_patterns(path: Path) -> list[str]:
    """SQL ``LIKE`` patterns matching the uri of every source found under ``path``."""
    uri = _escape_like(path_uri(path))
    return [uri + "/%"] if path.is_dir() else [uri, uri + "#%"]


def discover(path: Path, targets: set[Path], max_bytes: int) -> Iterator[Discovered]:
    """Sources under ``path`` (a file or a folder, recursive, hidden names skipped): real files
    in order, then links. ``targets`` holds the files read so far in this run; a file (or JSONL
    row) over ``max_bytes`` fails by name before it is read."""
    entries = (
        [path]
        if not path.is_dir()
        else [
            p
            for p in path.rglob("*")
            if (p.is_file() or p.is_symlink()) and not any(part.startswith(".") for part in p.relative_to(path).parts)
        ]
    )
    for file in sorted(entries, key=lambda p: (p.is_symlink(), p)):
        if not file.is_file():
            yield SkippedInput(path_uri(file))  # a dangling link or a link to a folder
            continue
        target = file.resolve()
        if target in targets:
            yield DuplicateInput(path_uri(file))
            continue
        targets.add(target)
        suffix = file.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            yield from _jsonl_rows(file, max_bytes)
        elif suffix in READERS:
            yield _file_source(file, *READERS[suffix], max_bytes)
        else:
            yield SkippedInput(path_uri(file))


def too_large(uri: str, size: int, max_bytes: int) -> FailedInput:
    return FailedInput(
        uri, f"{size} bytes is over the limit of {max_bytes} (RAG_MAX_SOURCE_BYTES); split the file or raise the limit"
    )


def _file_source(file: Path, mime_type: str, reader: Reader, max_bytes: int) -> Discovered:
    try:
        size = file.stat().st_size
        if size > max_bytes:
            return too_large(path_uri(file), size, max_bytes)
        data = file.read_bytes()
    except OSError as exc:
        return FailedInput(path_uri(file), f"cannot read the file ({exc.strerror})")
    return SourceInput(
        uri=path_uri(file),
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        mime_type=mime_type,
        load=lambda: read(reader, data),
    )


def row_text(row: dict) -> str:
    """A corpus row's text; a title goes first, it matters for retrieval."""
    text = str(row.get("text") or "")
    title = str(row.get("title") or "").strip()
    return f"{title}\n\n{text}" if title else text


def _jsonl_rows(file: Path, max_bytes: int) -> Iterator[Discovered]:
    base = path_uri(file)
    with file.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if len(line) > max_bytes:
                yield too_large(f"{base}#line-{number}", len(line), max_bytes)
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ReadError("a row must be a JSON object")
            except (ValueError, ReadError) as exc:
                yield FailedInput(f"{base}#line-{number}", f"invalid JSONL row: {exc}")
                continue
            row_id = row.get("_id", row.get("id"))
            uri = f"{base}#{row_id if row_id not in (None, '') else f'line-{number}'}"
            metadata = row.get("metadata")
            text = row_text(row)
            yield SourceInput(
                uri=uri,
                sha256=hashlib.sha256(line.rstrip(b"\r\n")).hexdigest(),
                size_bytes=len(line),
                mime_type=JSONL_MIME,
                load=lambda text=text: ReadText([text]),
                metadata=metadata if isinstance(metadata, dict) else {},
            )
