import psycopg
import pytest

from core.migrate import applied_versions, available_migrations, migrate, schema_version


def test_blank_database_migrates_to_latest(database_url):
    with psycopg.connect(database_url) as conn:
        assert schema_version(conn) == 0
        applied = migrate(conn)
        latest = available_migrations()[-1].version
        assert applied == [m.version for m in available_migrations()]
        assert schema_version(conn) == latest
        assert conn.execute("SELECT to_regclass('chunks') IS NOT NULL").fetchone()[0]


def test_second_run_is_a_no_op(database_url):
    with psycopg.connect(database_url) as conn:
        migrate(conn)
        assert migrate(conn) == []


def test_upgrade_from_an_older_version(database_url, tmp_path):
    older = tmp_path / "sql"
    older.mkdir()
    (older / "001_first.sql").write_text("CREATE TABLE things (id int PRIMARY KEY);")
    with psycopg.connect(database_url) as conn:
        assert migrate(conn, folder=older) == [1]
        (older / "002_second.sql").write_text("ALTER TABLE things ADD COLUMN name text;")
        (older / "003_third.sql").write_text("INSERT INTO things VALUES (1, 'one');")
        assert migrate(conn, folder=older) == [2, 3]
        assert applied_versions(conn) == {1, 2, 3}
        assert conn.execute("SELECT name FROM things").fetchone()[0] == "one"


def test_upgrade_real_schema_from_first_migration(database_url):
    with psycopg.connect(database_url) as conn:
        assert migrate(conn, upto=1) == [1]
        rest = [m.version for m in available_migrations() if m.version > 1]
        assert migrate(conn) == rest


def test_failed_migration_rolls_back_and_is_not_recorded(database_url, tmp_path):
    folder = tmp_path / "sql"
    folder.mkdir()
    (folder / "001_ok.sql").write_text("CREATE TABLE a (id int);")
    (folder / "002_broken.sql").write_text("CREATE TABLE b (id int); SELECT no_such_function();")
    with psycopg.connect(database_url) as conn:
        with pytest.raises(psycopg.errors.UndefinedFunction, match="no_such_function"):
            migrate(conn, folder=folder)
        assert applied_versions(conn) == {1}
        assert conn.execute("SELECT to_regclass('a')").fetchone()[0] == "a"
        assert conn.execute("SELECT to_regclass('b')").fetchone()[0] is None
