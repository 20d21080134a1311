"""The DVC pipeline end to end with its small defaults shrunk further, in a temporary git + DVC
repository holding a copy of this project's dvc.yaml, params.yaml and DVC config: a tiny corpus,
a handful of QA records, 2 fine-tuning steps, an evaluation limit of 3."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

DEMO = {
    "hybrid.txt": "Hybrid search runs BM25 keyword search and dense vector search and fuses the two ranked lists.",
    "dvc.txt": "DVC versions datasets and models: dvc.lock records the md5 of every stage output.",
    "privacy.txt": "Logs redact emails and phone numbers before a query is stored.",
}
CORPUS = [
    ("d1", "Keyword search ranks documents with BM25 term statistics."),
    ("d2", "Dense retrieval embeds queries and documents as vectors."),
    ("d3", "Reciprocal rank fusion merges two ranked lists."),
    ("d4", "Wings of supersonic aircraft meet shock waves."),
]
QUERIES = [("q1", "BM25 keyword ranking"), ("q2", "vector embeddings for retrieval")]
# Six articles of two paragraphs each, one question per paragraph: both halves of a 50/50 split
# hold enough other-article paragraphs for distractors and refusals.
ARTICLES = {
    title: [(f"{title} {fact}", question, answer) for fact, question, answer in facts]
    for title, facts in {
        "Paris": [
            ("is the capital of France.", "What is France's capital?", "Paris"),
            ("has a tower finished in 1889.", "When was the tower finished?", "1889"),
        ],
        "Nile": [
            ("flows north into the Mediterranean Sea.", "Where does the Nile flow?", "the Mediterranean Sea"),
            ("is about 6650 km long.", "How long is the Nile?", "about 6650 km"),
        ],
        "Rome": [
            ("is the capital of Italy.", "What is Italy's capital?", "Rome"),
            ("has a Colosseum for 50000 people.", "How many people fit the Colosseum?", "50000"),
        ],
        "Oslo": [
            ("is the capital of Norway.", "What is Norway's capital?", "Oslo"),
            ("lies at the head of the Oslofjord.", "Where does Oslo lie?", "at the head of the Oslofjord"),
        ],
        "Lima": [
            ("is the capital of Peru.", "What is Peru's capital?", "Lima"),
            ("was founded in 1535.", "When was Lima founded?", "1535"),
        ],
        "Kyiv": [
            ("is the capital of Ukraine.", "What is Ukraine's capital?", "Kyiv"),
            ("stands on the Dnipro river.", "Which river is Kyiv on?", "the Dnipro river"),
        ],
    }.items()
}


def write_inputs(repo: Path) -> None:
    for name, text in DEMO.items():
        (repo / "data" / "demo").mkdir(parents=True, exist_ok=True)
        (repo / "data" / "demo" / name).write_text(text + "\n")
    beir = repo / "inputs" / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": i, "title": "", "text": t}) + "\n" for i, t in CORPUS)
    )
    (beir / "queries.jsonl").write_text("".join(json.dumps({"_id": i, "text": t}) + "\n" for i, t in QUERIES))
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    rows = [
        {
            "id": f"{title}-{n}",
            "title": title,
            "context": context,
            "question": question,
            "answers": [answer],
            "answer_start": [context.index(answer)],
        }
        for title, paragraphs in ARTICLES.items()
        for n, (context, question, answer) in enumerate(paragraphs)
    ]
    (repo / "inputs" / "squad.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def tiny_params() -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["prepare"].update(corpus="inputs/beir", squad="inputs/squad.jsonl")
    params["build_qa"].update(dev_fraction=0.5)
    params["finetune"].update(max_steps=2, batch_size=2, dev_limit=2)
    params["evaluate"].update(qa_limit=3)
    return params


def write_params(repo: Path, params: dict) -> None:
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def run(repo: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return done


def sh(repo: Path, env: dict, *args: str) -> str:
    done = run(repo, env, *args)
    return done.stdout + done.stderr


def sh_stdout(repo: Path, env: dict, *args: str) -> str:
    return run(repo, env, *args).stdout


def rag_json(repo: Path, env: dict, *args: str):
    return json.loads(sh_stdout(repo, env, str(BIN / "rag"), *args, "--json"))


def ran_stages(output: str) -> list[str]:
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")]


@pytest.fixture
def repo(tmp_path, database_url):
    repo = tmp_path / "repo"
    (repo / ".dvc").mkdir(parents=True)
    for name in ("dvc.yaml", ".dvcignore", ".dvc/config", ".dvc/.gitignore"):
        shutil.copy(ROOT / name, repo / name)
    write_params(repo, tiny_params())
    (repo / ".gitignore").write_text(".rag/\n")
    write_inputs(repo)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "RAG_DATA_DIR": str(tmp_path / "rag-data"),
        "RAG_DATABASE_URL": database_url,
        "HF_HUB_OFFLINE": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    sh(repo, env, "git", "init", "-q")
    sh(repo, env, "git", "add", ".")
    sh(repo, env, "git", "commit", "-q", "-m", "inputs")
    return repo, env


def assert_dataset_versions_match_dvc_lock(repo: Path, env: dict) -> None:
    """The dataset versions in Postgres carry the md5s dvc.lock holds, and show what used them."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    outs = {o["path"]: o["md5"] for stage in lock.values() for o in stage.get("outs", [])}
    deps = {d["path"]: d["md5"] for stage in lock.values() for d in stage.get("deps", [])}
    versions = {v["name"]: v for v in rag_json(repo, env, "datasets", "list")}
    assert versions["corpus"]["md5"] == outs["data/corpus"]
    assert versions["squad"]["md5"] == outs["data/squad"]
    assert versions["qa"]["md5"] == outs["data/qa"]
    assert versions["feedback"]["md5"] == outs["data/feedback.jsonl"]
    assert versions["demo"]["md5"] == deps["data/demo"]
    assert rag_json(repo, env, "datasets", "show", "qa")["used_by"]["models"]
    assert rag_json(repo, env, "datasets", "show", "corpus")["used_by"]["sources"] == len(CORPUS)


@pytest.mark.slow
def test_pipeline_runs_end_to_end_and_versions_its_data(repo):
    repo, env = repo
    dvc = str(BIN / "dvc")

    first = sh(repo, env, dvc, "repro")
    assert sorted(ran_stages(first)) == sorted(
        ["prepare", "ingest", "build_qa", "export_feedback", "finetune", "evaluate"]
    )
    shown = sh(repo, env, dvc, "metrics", "show")
    assert "metrics/retrieval.json" in shown and "metrics/qa_finetuned.json" in shown
    for plot in ("ndcg", "qa", "loss"):
        assert json.loads((repo / "plots" / f"{plot}.json").read_text())

    assert ran_stages(sh(repo, env, dvc, "repro")) == []  # a second run does nothing

    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["export_feedback"]["min_score"] = 5  # the cheapest stage to rerun
    write_params(repo, params)
    assert ran_stages(sh(repo, env, dvc, "repro")) == ["export_feedback"]
    params["finetune"]["lr"] = 0.0001  # DVC sees the change in exactly the stage that reads it
    write_params(repo, params)
    assert list(json.loads(sh_stdout(repo, env, dvc, "status", "--json"))) == ["finetune"]
    params["finetune"]["lr"] = tiny_params()["finetune"]["lr"]
    write_params(repo, params)

    assert_dataset_versions_match_dvc_lock(repo, env)

    # push, lose the data and the cache, pull it back
    sh(repo, env, dvc, "push")
    shutil.rmtree(repo / "data" / "qa")
    shutil.rmtree(repo / "data" / "finetune")
    shutil.rmtree(repo / ".dvc" / "cache")
    sh(repo, env, dvc, "pull")
    assert (repo / "data" / "qa" / "train.jsonl").is_file() and (repo / "data" / "finetune" / "model").is_dir()
    assert "up to date" in sh(repo, env, dvc, "status")

    # an answer logged now replays identically; after another model is promoted, replay says so
    answer = rag_json(repo, env, "ask", "How does hybrid search combine results?", "--collection", "demo")
    replay = rag_json(repo, env, "replay", str(answer["log_id"]))
    assert replay["identical"] and replay["changed"] == [], replay
    finetuned = json.loads((repo / "metrics" / "finetune.json").read_text())["model_id"]
    sh(repo, env, str(BIN / "rag"), "models", "promote", str(finetuned), "--force")
    replay = rag_json(repo, env, "replay", str(answer["log_id"]))
    assert replay["identical"] and "model" in replay["changed"], replay
    assert replay["current"]["model"]["id"] == finetuned
