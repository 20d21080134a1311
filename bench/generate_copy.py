"""What copy decoding's constraint (``models.copy_constraint``) costs beside the fused decode
step (``python -m bench.generate --copy``), measured in the same run."""

import time
from pathlib import Path

from core.settings import Settings
from models.decoding import Decoder
from models.generator import end_of_turn_ids, ensure_base_model, load_model


def copy_constraint_cost(settings: Settings, text_file: Path, tokens: int, passage_chars: int = 1200) -> dict:
    """Milliseconds to build the copy constraint over 5 passages of ``text_file``, per token to
    choose under it, and per token of the fused decode step it steers; the share the constraint
    adds."""
    from models.cite_constraint import MarkerBook
    from models.copy_constraint import CopyConstraint, word_start_tokens
    from models.prompt import render_prompt

    model, tokenizer = load_model(settings, ensure_base_model(settings))
    text = " ".join(text_file.read_text().split())
    passages = [text[i * passage_chars : (i + 1) * passage_chars] for i in range(5)]
    prompt_ids = tokenizer(
        render_prompt("What does the service log?", passages, tokenizer), add_special_tokens=False
    ).input_ids
    book, word_starts = MarkerBook(tokenizer), word_start_tokens(tokenizer)
    session = Decoder(model).start(prompt_ids, capacity=len(prompt_ids) + tokens)
    started = time.perf_counter()
    constraint = CopyConstraint(
        tokenizer, book, word_starts, passages, end_of_turn_ids(tokenizer), max_new_tokens=tokens
    )
    build = time.perf_counter() - started
    logits, ids, choosing, stepping = session.logits, [], 0.0, 0.0
    while len(ids) < tokens - 1:
        started = time.perf_counter()
        token = constraint.next_token(ids, logits)
        choosing += time.perf_counter() - started
        if token is None:
            break
        ids.append(token)
        started = time.perf_counter()
        logits = session.step(token)
        stepping += time.perf_counter() - started
    n = max(1, len(ids))
    return {
        "passages": len(passages),
        "spans": int(constraint.span_count),
        "tokens": len(ids),
        "build_ms": round(build * 1000, 2),
        "choose_ms_per_token": round(choosing * 1000 / n, 3),
        "step_ms_per_token": round(stepping * 1000 / n, 2),
        "constraint_share_of_decode": round((build + choosing) / stepping, 4) if stepping else None,
        "answer": tokenizer.decode(ids),
    }
