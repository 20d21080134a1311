import json

from typer.testing import CliRunner

from cli.main import app
from service.keys import find_key

runner = CliRunner()


def use_database(monkeypatch, settings):
    monkeypatch.setenv("RAG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RAG_DATA_DIR", str(settings.data_dir))


def test_keys_create_prints_the_key_alone_on_its_last_line(monkeypatch, settings, conn):
    use_database(monkeypatch, settings)
    result = runner.invoke(app, ["keys", "create", "--role", "reader", "--name", "bot"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    key = find_key(conn, secret)
    assert key is not None and key.role.value == "reader" and key.name == "bot"

    listed = runner.invoke(app, ["keys", "list", "--json"])
    assert [row["name"] for row in json.loads(listed.stdout)] == ["bot"]
    assert runner.invoke(app, ["keys", "revoke", str(key.id)]).exit_code == 0
    assert find_key(conn, secret) is None


def test_keys_create_json(monkeypatch, settings, conn):
    use_database(monkeypatch, settings)
    result = runner.invoke(app, ["keys", "create", "--role", "admin", "--json"])
    document = json.loads(result.stdout)
    assert document["role"] == "admin" and find_key(conn, document["key"]).id == document["id"]


def test_keys_create_rejects_an_unknown_role(monkeypatch, settings):
    use_database(monkeypatch, settings)
    result = runner.invoke(app, ["keys", "create", "--role", "root"])
    assert result.exit_code != 0 and "root" in result.output


def test_logs_export_writes_jsonl(monkeypatch, settings, conn, tmp_path):
    use_database(monkeypatch, settings)
    out = tmp_path / "rated.jsonl"
    result = runner.invoke(app, ["logs", "export", "--min-score", "4", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"out": str(out), "exchanges": 0, "min_score": 4}
    assert out.read_text() == ""
