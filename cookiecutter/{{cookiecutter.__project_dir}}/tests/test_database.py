"""The database: the migrations, a write and a read through /notes, /healthz's check."""

import logging
import re
import time
{% if cookiecutter.database == 'sqlite' %}
from pathlib import Path
{% endif %}

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.config import ConfigError
from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.models import NOTE_MAX_LENGTH, Note

KEY = "0123456789abcdef" * 4


def stored_notes(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Note.text).order_by(Note.id)))


def form_token(client) -> str:
    page = client.get("/notes")
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, "the form carries no CSRF token"
    return found.group(1)


def test_the_migrations_build_an_empty_database_into_what_the_models_describe(migrations):
    app = create_app({"TESTING": True, "SECRET_KEY": KEY})
    with app.app_context():
        assert inspect(db.engine).get_table_names() == []
        upgrade(directory=migrations)
        assert "notes" in inspect(db.engine).get_table_names()
        # A model changed without `make db-migrate` differs from its tables: fails here.
        with db.engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), db.metadata) == []
        downgrade(directory=migrations, revision="base")
        assert inspect(db.engine).get_table_names() == ["alembic_version"]
        db.engine.dispose()


def test_a_note_posted_through_the_form_is_stored_and_listed(app, client):
    token = form_token(client)
    posted = client.post("/notes", data={"text": "  Hello <b>database</b> ", "csrf_token": token})
    # Post/redirect/get: the browser loads the list again instead of re-posting.
    assert posted.status_code == 303
    assert posted.headers["Location"] == "/notes"
    listed = client.get("/notes").get_data(as_text=True)
    assert "Hello &lt;b&gt;database&lt;/b&gt;" in listed  # escaped, never markup
    assert stored_notes(app) == ["Hello <b>database</b>"]


@pytest.mark.parametrize("token", [None, "", "forged-by-another-site"])
def test_a_post_without_the_forms_token_writes_nothing(app, client, token):
    form_token(client)  # the session has a token; the post does not carry it
    data = {"text": "from another site"} | ({} if token is None else {"csrf_token": token})
    assert client.post("/notes", data=data).status_code == 400
    assert stored_notes(app) == []


@pytest.mark.parametrize("text", ["", "   ", "x" * (NOTE_MAX_LENGTH + 1)])
def test_an_empty_or_too_long_note_is_refused(app, client, text):
    response = client.post("/notes", data={"text": text, "csrf_token": form_token(client)})
    assert response.status_code == 400
    assert f"1 to {NOTE_MAX_LENGTH} characters" in response.get_data(as_text=True)
    assert stored_notes(app) == []


def test_healthz_fails_quickly_and_briefly_when_the_database_is_unreachable(
    unreachable_database_url, caplog
):
    app = create_app(
        {"TESTING": True, "SECRET_KEY": KEY, "SQLALCHEMY_DATABASE_URI": unreachable_database_url}
    )
    started = time.monotonic()
    response = app.test_client().get("/healthz")
    assert time.monotonic() - started < 5  # the connect timeout, not a hang
    assert response.status_code == 503
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json["status"] == "fail"
    # Short, and without host names: /healthz is public. The details go to the log.
    assert response.json["failures"] == {
        "database": "DatabaseUnavailable: SELECT 1 failed (OperationalError); see the app's log"
    }
    assert any(
        record.levelno == logging.WARNING and "database check failed" in record.getMessage()
        for record in caplog.records
    )


def test_each_process_keeps_a_pool_sized_to_what_it_serves_at_once(app, monkeypatch):
    with app.app_context():
        assert db.engine.pool.size() == {{ cookiecutter.__database_pool_size }}
    # Any engine option can be set from the environment, without touching the defaults.
    monkeypatch.setenv("FLASK_SQLALCHEMY_ENGINE_OPTIONS__pool_size", "4")
    with create_app({"TESTING": True, "SECRET_KEY": KEY}).app_context():
        assert db.engine.pool.size() == 4
    monkeypatch.delenv("FLASK_SQLALCHEMY_ENGINE_OPTIONS__pool_size")
    with create_app({"TESTING": True, "SECRET_KEY": KEY}).app_context():
        assert db.engine.pool.size() == {{ cookiecutter.__database_pool_size }}
{% if cookiecutter.database == 'postgresql' %}


def test_every_connection_has_a_statement_timeout(app):
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "5s"


def test_database_url_is_required(monkeypatch):
    monkeypatch.delenv("DATABASE_URL")
    with pytest.raises(ConfigError, match="DATABASE_URL is not set"):
        create_app({"TESTING": True, "SECRET_KEY": KEY})
{% else %}


def test_sqlite_connections_use_wal_and_enforce_foreign_keys(app):
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        # The busy timeout: how long a write waits for another one's lock (ms).
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_without_database_url_the_database_is_in_the_instance_folder(monkeypatch):
    monkeypatch.delenv("DATABASE_URL")
    app = create_app({"TESTING": True, "SECRET_KEY": KEY})
    expected = Path(app.instance_path) / "{{ cookiecutter.package_name }}.sqlite3"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{expected}"


def test_on_a_server_database_url_is_required(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "RELEASE").write_text("20261124101500-abc1234\n")  # a deployed release
    with pytest.raises(ConfigError, match="DATABASE_URL is not set: on a server"):
        create_app({"TESTING": True, "SECRET_KEY": KEY})
{% endif %}
