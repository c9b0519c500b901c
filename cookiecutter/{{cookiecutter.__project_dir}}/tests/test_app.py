import pytest
from flask import request

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.config import ConfigError
from {{ cookiecutter.package_name }}.health import register_check

# A key long enough to be accepted outside testing (the app refuses short ones).
KEY = "0123456789abcdef" * 4


def test_index_shows_the_project(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "<h1>{{ cookiecutter.project_name | e }}</h1>" in response.get_data(as_text=True)


def test_stylesheet_is_linked_and_served(client):
    assert b"/static/style.css" in client.get("/").data
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"


def test_healthz_is_ok_and_never_cached(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "release": "development", "failures": {}}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_names_a_failing_check(app, client):
    def database():
        raise ConnectionError("refused")

    register_check(app, "database", database)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "fail"
    assert response.json["failures"] == {"database": "ConnectionError: refused"}


def test_livez_answers_while_a_check_fails(app, client):
    def database():
        raise ConnectionError("refused")

    register_check(app, "database", database)
    assert client.get("/healthz").status_code == 503
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_reports_draining_while_the_drain_file_exists(app, client, tmp_path):
    # A deploy makes this file before a restart, so load balancers send elsewhere.
    app.config["DRAIN_FILE"] = str(tmp_path / "draining")
    assert client.get("/healthz").status_code == 200
    (tmp_path / "draining").touch()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "draining" in response.json["failures"]
    assert client.get("/livez").status_code == 200


def test_settings_come_from_flask_prefixed_environment(monkeypatch):
    monkeypatch.setenv("FLASK_SECRET_KEY", "from-env-" + KEY)
    monkeypatch.setenv("FLASK_RELEASE_ID", "20260101-abc1234")
    monkeypatch.setenv("FLASK_TRUSTED_PROXY_COUNT", "1")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env-" + KEY
    assert app.config["TRUSTED_PROXY_COUNT"] == 1
    assert app.test_client().get("/healthz").json["release"] == "20260101-abc1234"


def test_release_id_comes_from_the_release_marker(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "RELEASE").write_text("20261124101500-abc1234\n")
    app = create_app({"TESTING": True, "SECRET_KEY": "k"})
    assert app.test_client().get("/healthz").json["release"] == "20261124101500-abc1234"


def test_missing_secret_key_refuses_to_start_in_production(monkeypatch):
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(ConfigError, match="FLASK_SECRET_KEY"):
        create_app()


@pytest.mark.parametrize("key", ["change-me", "short-but-not-empty", "x" * 31])
def test_a_guessable_secret_key_refuses_to_start_in_production(monkeypatch, key):
    monkeypatch.setenv("FLASK_SECRET_KEY", key)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(ConfigError, match="placeholder or shorter than 32 characters"):
        create_app()


def test_the_request_size_limit_is_the_answer_given(app):
    assert app.config["MAX_CONTENT_LENGTH"] == {{ cookiecutter.max_body_size_mb }} * 1024 * 1024


{% if cookiecutter.tls != 'none' %}
def test_sessions_and_external_links_are_https_only(app):
    assert app.config["SESSION_COOKIE_SECURE"] is True
    with app.test_request_context():
        assert app.url_for("health.healthz", _external=True).startswith("https://")


{% endif %}
def test_debug_runs_get_a_throwaway_secret_key(monkeypatch):
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    first = create_app({"DEBUG": True}).config["SECRET_KEY"]
    second = create_app({"DEBUG": True}).config["SECRET_KEY"]
    assert len(first) == 64
    assert first != second


@pytest.mark.parametrize("bad", ["-1", "true", '"two"'])
def test_bad_proxy_count_is_refused(monkeypatch, bad):
    monkeypatch.setenv("FLASK_TRUSTED_PROXY_COUNT", bad)
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_COUNT"):
        create_app({"SECRET_KEY": KEY})


def _seen_remote_addr(app, headers):
    @app.get("/_whoami")
    def whoami():
        return {"addr": request.remote_addr, "scheme": request.scheme}

    # Over plain HTTP from 127.0.0.1, whatever PREFERRED_URL_SCHEME the client would use.
    env = {"REMOTE_ADDR": "127.0.0.1"}
    client = app.test_client()
    return client.get("http://localhost/_whoami", headers=headers, environ_base=env).json


def test_behind_one_proxy_a_client_cannot_spoof_its_address():
    app = create_app({"SECRET_KEY": KEY, "TRUSTED_PROXY_COUNT": 1})
    # The client sent "6.6.6.6"; the proxy appended the address it really saw.
    seen = _seen_remote_addr(
        app, {"X-Forwarded-For": "6.6.6.6, 203.0.113.7", "X-Forwarded-Proto": "https"}
    )
    assert seen == {"addr": "203.0.113.7", "scheme": "https"}


def test_without_a_proxy_forwarded_headers_are_ignored():
    app = create_app({"SECRET_KEY": KEY})
    seen = _seen_remote_addr(app, {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"})
    assert seen == {"addr": "127.0.0.1", "scheme": "http"}


def test_request_body_over_the_limit_is_refused():
    app = create_app({"SECRET_KEY": KEY, "MAX_CONTENT_LENGTH": 10})

    @app.post("/_upload")
    def upload():
        return {"size": len(request.get_data())}

    client = app.test_client()
    assert client.post("/_upload", data=b"x" * 10).status_code == 200
    assert client.post("/_upload", data=b"x" * 11).status_code == 413
