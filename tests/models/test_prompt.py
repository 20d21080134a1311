from models.prompt import (
    REFUSAL,
    TEMPLATE,
    drop_invalid_markers,
    format_answer,
    parse_citations,
    render_prompt,
    store_template,
)
from tests.stand_ins import ChatTokenizer


def test_prompt_numbers_passages_and_ends_where_the_answer_begins():
    prompt = render_prompt("Who met Pierre?", ["Marie  met\nPierre.", "Paris is big."], ChatTokenizer())
    assert "[1] Marie met Pierre.\n[2] Paris is big." in prompt
    assert "Question: Who met Pierre?" in prompt
    assert REFUSAL in prompt
    assert prompt.endswith("<|im_start|>assistant\n")


def test_template_is_versioned_and_stored_once(conn):
    store_template(conn)
    store_template(conn)
    rows = conn.execute("SELECT id, version, text FROM prompt_templates").fetchall()
    assert rows == [(TEMPLATE.id, TEMPLATE.version, TEMPLATE.text)]
    assert TEMPLATE.system in TEMPLATE.text


def test_format_answer_puts_markers_after_the_short_answer():
    assert format_answer(" Saint Bernadette Soubirous ", [2]) == "Saint Bernadette Soubirous [2]"
    assert format_answer("Paris", [1, 3]) == "Paris [1][3]"
    assert format_answer(REFUSAL, []) == REFUSAL


def test_parse_citations_valid_invalid_and_missing():
    parsed = parse_citations("Paris [2] and Lyon [1, 2], not [7] nor [0]; again [2]", n_passages=3)
    assert parsed.valid == [2, 1]
    assert parsed.invalid == ["[7]", "[0]"]
    missing = parse_citations("Paris, without any marker", n_passages=3)
    assert missing.valid == [] and missing.invalid == []


def test_a_marker_mixing_valid_and_invalid_numbers_is_invalid():
    assert parse_citations("x [1, 9]", n_passages=3).invalid == ["[1, 9]"]


def test_drop_invalid_markers_keeps_the_valid_ones():
    assert drop_invalid_markers("Paris [2] [7] is big [1].", n_passages=2) == "Paris [2] is big [1]."
