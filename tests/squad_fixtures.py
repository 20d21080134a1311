"""A tiny SQuAD file of six articles, written in both the flat JSONL and the nested form."""

import json

import pytest

ARTICLES = {
    "Alpha": ["The alpha river flows north past the old mill built in 1820 by Jane Smith.", "Alpha town has a bridge."],
    "Beta": ["Beta mountain is 3,000 metres high and was first climbed in 1901."],
    "Gamma": ["Gamma lake holds trout and pike; fishing opens in May every year."],
    "Delta": ["Delta city hosts a jazz festival each July on the river bank."],
    "Epsilon": ["Epsilon station opened in 1999 with two platforms."],
    "Zeta": ["Zeta island is reached by ferry from the harbour."],
}
ANSWERS = {"Alpha": "1820", "Beta": "1901", "Gamma": "May", "Delta": "July", "Epsilon": "1999", "Zeta": "ferry"}


def squad_rows() -> list[dict]:
    rows = []
    for title, paragraphs in ARTICLES.items():
        context = paragraphs[0]
        answer = ANSWERS[title]
        for i in range(3):
            rows.append(
                {
                    "id": f"{title}-{i}",
                    "title": title,
                    "context": context,
                    "question": f"When, for {title} ({i})?",
                    "answers": [answer],
                    "answer_start": [context.index(answer)],
                }
            )
    return rows


@pytest.fixture
def squad_jsonl(tmp_path):
    path = tmp_path / "squad.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in squad_rows()))
    return path


@pytest.fixture
def squad_nested(tmp_path):
    data = [
        {
            "title": title,
            "paragraphs": [
                {
                    "context": ARTICLES[title][0],
                    "qas": [
                        {
                            "id": r["id"],
                            "question": r["question"],
                            "answers": [{"text": r["answers"][0], "answer_start": r["answer_start"][0]}],
                        }
                        for r in squad_rows()
                        if r["title"] == title
                    ],
                }
            ],
        }
        for title in ARTICLES
    ]
    path = tmp_path / "squad.json"
    path.write_text(json.dumps({"version": "1.1", "data": data}))
    return path
