"""A database on the booted Debian servers: provision, migrations inside the deploy,
backups, restores, the app reaching PostgreSQL locally and from another server.

Two fleets, each driven through the generated project's own Makefile and Ansible:
- PostgreSQL: web1 is also the database server (the app connects over the Unix socket
  with peer authentication), web2 reaches it over TCP with TLS and a password;
- SQLite: one server, the database a file under shared/.
Select with `pytest -m deploy`.
"""

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from conftest import git
from debian_server import Lab
from test_deploy import (
    DOMAIN,
    Fleet,
    committed_project,
    connects_from,
    connects_from_client,
    listen,
    recap,
    start_load,
)
from test_units import MAX_EXPOSURE, exposure

pytestmark = [pytest.mark.slow, pytest.mark.deploy]

PACKAGE = "my_flask_app"
SERVICE = "my-flask-app.service"
BACKUPS = "/srv/my-flask-app/shared/backups"
VERSIONS = "migrations/versions"


def psql(server, sql: str) -> str:
    """A query on the PostgreSQL server, as its superuser: what is really stored."""
    result = server.run(f"runuser -u postgres -- psql -X -At -d {PACKAGE} -c \"{sql}\"")
    return result.stdout.strip()


def post_note(fleet: Fleet, server, text: str) -> None:
    """Write a note through the web server the way a browser does: the form's CSRF
    token and the session cookie, then the POST."""
    jar = str(fleet.project.parent / f"cookies-{server.name}")
    common = ["curl", "-sS", "--max-time", "10", "-H", f"Host: {DOMAIN}", "-b", jar, "-c", jar]
    form = fleet.lab.client([*common, f"http://{server.address}/notes"])
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.stdout)
    assert token, form.stdout[-2000:]
    posted = fleet.lab.client([*common, "-o", "/dev/null", "-w", "%{http_code}",
                               "--data-urlencode", f"text={text}",
                               "--data-urlencode", f"csrf_token={token[1]}",
                               f"http://{server.address}/notes"])
    assert posted.stdout == "303", posted


def first_revision(project: Path) -> str:
    return re.search(r'^revision = "(\w+)"', next((project / VERSIONS).glob("*.py")).read_text(),
                     re.MULTILINE)[1]


def commit_migration(project: Path, revision: str, down: str, upgrade: str,
                     downgrade: str = "    pass") -> None:
    """A hand-written migration, as `make db-migrate` would leave it after review."""
    (project / VERSIONS / f"{revision}_test.py").write_text(
        f'"""A migration of the tests."""\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f'revision = "{revision}"\ndown_revision = "{down}"\nbranch_labels = None\n'
        f"depends_on = None\n\n\ndef upgrade():\n{upgrade}\n\n\ndef downgrade():\n{downgrade}\n")
    git(project, "add", "-A")
    git(project, "commit", "-qm", f"migration {revision}")


def backups(server) -> list[str]:
    return server.run(f"ls {BACKUPS}").stdout.split()


def assert_hardened(server) -> None:
    result = server.run(f"systemd-analyze security --no-pager {SERVICE}", check=False)
    assert exposure(result.stdout) <= MAX_EXPOSURE, result.stdout


# --- PostgreSQL: web1 holds the database, web2 connects over TCP -------------------------

@pytest.fixture(scope="module")
def pg(rendered, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("pg")
    project = committed_project(
        rendered(tls="none", domain=DOMAIN, deploy_hosts="web1 web2", database="postgresql"),
        workdir)
    lab = Lab(workdir)
    try:
        fleet = Fleet(lab, project, servers=2, groups="[db]\nweb1\n")
        lab.route_between_servers()
        yield fleet
    finally:
        lab.close()


def test_provision_installs_postgresql_once_and_changes_nothing_the_second_time(pg):
    pg.make("provision")
    web1, web2 = pg.servers
    assert web1.run("systemctl is-active postgresql").stdout.strip() == "active"
    # Only the database server runs PostgreSQL; web2 has the client programs.
    assert web2.run("systemctl is-active postgresql", check=False).stdout.strip() != "active"
    assert web2.run("command -v pg_dump").returncode == 0
    # PostgreSQL listens on the network, and its firewall lets in web2 alone.
    assert connects_from(web2, web1.address, 5432)
    assert not connects_from_client(pg.lab, web1.address, 5432)
    again = recap(pg.make("provision").stdout)
    assert {host: counts["changed"] for host, counts in again.items()} == {
        "web1": 0, "web2": 0}, again


def test_no_password_on_the_database_server_and_none_in_the_repository(pg):
    web1, web2 = pg.servers
    local = web1.run("grep ^DATABASE_URL= /srv/my-flask-app/shared/app.env").stdout.strip()
    assert local == f"DATABASE_URL=postgresql+psycopg:///{PACKAGE}?host=/run/postgresql"
    remote = web2.run("grep ^DATABASE_URL= /srv/my-flask-app/shared/app.env").stdout.strip()
    password = re.fullmatch(
        rf"DATABASE_URL=postgresql\+psycopg://my-flask-app:(\w{{40}})@{web1.address}/"
        rf"{PACKAGE}\?sslmode=verify-full&sslrootcert=/srv/my-flask-app/shared/"
        r"database-server\.crt", remote)
    assert password, remote
    tracked = subprocess.run(["git", "grep", "-q", password[1]], cwd=pg.project, check=False)
    assert tracked.returncode == 1
    # PostgreSQL keeps a SCRAM verifier, not the password.
    assert psql(web1, "SELECT rolpassword FROM pg_authid WHERE rolname = 'my-flask-app'"
                ).startswith("SCRAM-SHA-256$")


def test_a_note_posted_through_each_web_server_lands_in_postgresql(pg):
    pg.deploy()
    web1, web2 = pg.servers
    post_note(pg, web1, "through web1, over the socket")
    post_note(pg, web2, "through web2, over TLS")
    assert psql(web1, "SELECT text FROM notes ORDER BY id").splitlines() == [
        "through web1, over the socket", "through web2, over TLS"]
    # web2's pooled connection is open now: TCP from its address, encrypted.
    connections = psql(web1, "SELECT a.client_addr, s.ssl FROM pg_stat_activity a "
                             "JOIN pg_stat_ssl s USING (pid) WHERE a.usename = 'my-flask-app'")
    assert f"{web2.address}|t" in connections.splitlines(), connections
    for server in pg.servers:
        status, body = pg.get(server, "/healthz")
        assert (status, json.loads(body)["failures"]) == ("200", {}), body


def test_the_unit_stays_hardened_and_opens_the_network_to_the_database_alone(pg):
    web1, web2 = pg.servers
    for server in pg.servers:
        assert_hardened(server)
    assert web1.run(f"systemctl show -p PrivateNetwork {SERVICE}").stdout.strip() == \
        "PrivateNetwork=yes"
    assert web2.run(f"systemctl show -p IPAddressAllow {SERVICE}").stdout.strip() == \
        f"IPAddressAllow={web1.address}/32"
    # Everything else stays denied (the unit's IPAddressDeny=any).
    denied = web2.run(f"systemctl show -p IPAddressDeny {SERVICE}").stdout.strip()
    assert set(denied.removeprefix("IPAddressDeny=").split()) == {"0.0.0.0/0", "::/0"}


def test_a_migration_adding_a_column_deploys_under_load_without_a_failed_request(pg):
    web1, web2 = pg.servers
    project = pg.project
    commit_migration(project, "a1b2c3d4e5f6", first_revision(project),
                     '    op.add_column("notes", sa.Column("mood", sa.String(20), '
                     'nullable=False, server_default="calm"))',
                     '    op.drop_column("notes", "mood")')
    pg.commit(f"src/{PACKAGE}/models.py", "    # Set by the app, in UTC",
              "    mood: Mapped[str] = mapped_column(String(20), server_default='calm')\n"
              "    # Set by the app, in UTC")
    pg.commit(f"src/{PACKAGE}/templates/notes.html", "}}</time> {{ note.text }}",
              "}}</time> {{ note.text }} ({{ note.mood }})")
    bundle = pg.bundle()
    load = start_load(pg, web1, 30, path="/notes")
    result = pg.make("deploy", f"BUNDLE={bundle}")
    out, _ = load.communicate(timeout=120)
    counts = json.loads(out)
    assert counts["total"] > 100 and counts["failed"] == 0, counts
    output = result.stdout
    # Once for the fleet, on the first server, after a backup.
    assert output.count("migrating the database") == 1, output[-4000:]
    assert "web1: migrating the database" in output and "ran " in output
    assert any(name.endswith(".dump") and "-before-" in name for name in backups(web1))
    assert psql(web1, "SELECT column_default FROM information_schema.columns "
                      "WHERE table_name = 'notes' AND column_name = 'mood'").startswith("'calm'")
    for server in pg.servers:
        assert "through web2, over TLS (calm)" in pg.get(server, "/notes")[1]
    print(f"migrating redeploy under load: {counts['total']} requests to /notes, "
          f"{counts['failed']} failed")


def test_a_failing_migration_changes_nothing_and_the_old_release_keeps_serving(pg):
    web1, _ = pg.servers
    project = pg.project
    before = {s.name: pg.live_release(s) for s in pg.servers}
    # (pg_dump guards its output with a random \restrict key: the same key each time.)
    dump = f"runuser -u postgres -- pg_dump --no-owner --restrict-key=test {PACKAGE}"
    schema_and_rows = web1.run(dump).stdout
    assert "CREATE TABLE public.notes" in schema_and_rows and "over TLS" in schema_and_rows
    # Halfway: the first step works, the second fails.
    commit_migration(project, "f00f00f00f00", "a1b2c3d4e5f6",
                     '    op.add_column("notes", sa.Column("half", sa.Integer()))\n'
                     '    op.execute("UPDATE no_such_table SET x = 1")')
    result = pg.deploy(check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "migration a1b2c3d4e5f6 -> f00f00f00f00" in output, output[-4000:]
    assert "UndefinedTable" in output and "The schema and the data are as they were" in output
    assert web1.run(dump).stdout == schema_and_rows
    assert {s.name: pg.live_release(s) for s in pg.servers} == before
    assert "(calm)" in pg.get(web1, "/notes")[1]
    git(project, "revert", "--no-edit", "HEAD")


def test_db_backup_then_db_restore_round_trips_the_data(pg):
    web1, web2 = pg.servers
    result = pg.make("db-backup")
    name = re.search(r"backed up the database to \S+/(\S+\.dump)", result.stdout)[1]
    local = pg.project / "backups" / name
    assert local.stat().st_size > 0
    post_note(pg, web2, "after the backup")
    assert "after the backup" in psql(web1, "SELECT text FROM notes")
    # A name on the server ...
    pg.make("db-restore", f"FILE={name}")
    texts = psql(web1, "SELECT text FROM notes ORDER BY id").splitlines()
    assert texts == ["through web1, over the socket", "through web2, over TLS"]
    # ... or a copy from here, uploaded first; the app serves through both restores.
    post_note(pg, web1, "after the first restore")
    pg.make("db-restore", f"FILE={local}")
    assert "after the first restore" not in psql(web1, "SELECT text FROM notes")
    assert pg.get(web2, "/notes")[0] == "200"
    # Only a backup: a path to anything else on the server is never read.
    refused = pg.make("db-restore", "FILE=/etc/passwd.d/../passwd", check=False)
    assert refused.returncode != 0 and "no backup passwd in" in refused.stdout, refused.stdout
    assert pg.get(web2, "/notes")[0] == "200"


def test_a_rollback_keeps_the_schema_and_says_so(pg):
    result = pg.make("rollback")
    assert "a rollback never downgrades it" in result.stdout
    web1, _ = pg.servers
    assert psql(web1, "SELECT count(*) FROM information_schema.columns "
                      "WHERE table_name = 'notes' AND column_name = 'mood'") == "1"
    # The release before the migration runs on the expanded schema.
    for server in pg.servers:
        status, body = pg.get(server, "/notes")
        assert status == "200" and "(calm)" not in body and "over TLS" in body


def test_a_redeploy_with_nothing_to_migrate_takes_no_backup(pg):
    web1, _ = pg.servers
    kept = backups(web1)
    bundle = pg.bundle()
    started = time.monotonic()
    result = pg.make("deploy", f"BUNDLE={bundle}")
    print(f"redeploy of two servers, PostgreSQL, nothing to migrate: "
          f"{time.monotonic() - started:.1f}s")
    assert "web1: the database is up to date: no migration to run" in result.stdout, \
        result.stdout[-5000:]
    assert backups(web1) == kept


def test_a_database_url_of_your_own_is_left_alone_and_still_reached(pg):
    """A DATABASE_URL outside provision's block is the user's: an external database.
    Here the same URLs, written by the user at the top of app.env, where a block left
    by an earlier provision would come after it and win: provision removes the block."""
    web1, web2 = pg.servers
    move_up = ("import pathlib, re; p = pathlib.Path('/srv/my-flask-app/shared/app.env'); "
               "t = p.read_text(); p.write_text(re.search('(?m)^DATABASE_URL=.*$', t)[0] "
               "+ chr(10) + t)")
    for server in pg.servers:
        server.run(f'python3 -c "{move_up}"')
    result = pg.make("provision")
    assert result.stdout.count("sets its own DATABASE_URL: provision installs no database") == 2
    # The database server's play sets nothing up.
    assert re.search(r"TASK \[Install and set up PostgreSQL\][^\n]*\n+skipping: \[web1\]",
                     result.stdout), result.stdout[-4000:]
    for server in pg.servers:
        env = server.run("cat /srv/my-flask-app/shared/app.env").stdout
        assert "\n# BEGIN DATABASE_URL" not in env and env.startswith("DATABASE_URL="), env
    again = recap(pg.make("provision").stdout)
    assert {host: counts["changed"] for host, counts in again.items()} == {
        "web1": 0, "web2": 0}, again
    # Its host (web1) is still the one address the app on web2 may reach.
    assert web2.run(f"systemctl show -p IPAddressAllow {SERVICE}").stdout.strip() == \
        f"IPAddressAllow={web1.address}/32"
    post_note(pg, web2, "with a database of my own")
    assert "with a database of my own" in psql(web1, "SELECT text FROM notes")


def test_a_fix_built_before_a_migration_deploys_on_the_newer_schema(pg):
    """The release before the migration, rebuilt as a fix: the database is at a revision
    it does not know, which is the schema it already ran on after the rollback."""
    web1, _ = pg.servers
    project = pg.project
    first_commit = git(project, "rev-list", "--max-parents=0", "HEAD").strip()
    git(project, "checkout", "-q", "-b", "fix", first_commit)
    try:
        pg.commit(f"src/{PACKAGE}/templates/notes.html", "<h1>Notes</h1>",
                  "<h1>Notes (fixed)</h1>")
        result = pg.deploy()
    finally:
        git(project, "checkout", "-q", "main")
    said = " ".join(result.stdout.split())  # Ansible's YAML output folds long lines
    assert "is at migration a1b2c3d4e5f6, newer than this release knows: no migration to run" \
        in said, result.stdout[-3000:]
    assert "Notes (fixed)" in pg.get(web1, "/notes")[1]


def test_db_downgrade_servers_undoes_a_migration_after_a_backup(pg):
    web1, _ = pg.servers
    pg.make("rollback", f"RELEASE={pg.releases(web1)[0]}")
    result = pg.make("db-downgrade-servers", f"REV={first_revision(pg.project)}")
    assert "backed up the database to" in result.stdout
    assert any("-before-downgrade." in name for name in backups(web1))
    assert psql(web1, "SELECT count(*) FROM information_schema.columns "
                      "WHERE table_name = 'notes' AND column_name = 'mood'") == "0"
    assert psql(web1, "SELECT version_num FROM alembic_version") == first_revision(pg.project)
    for server in pg.servers:
        assert pg.get(server, "/notes")[0] == "200"


def test_a_database_server_that_serves_no_site(rendered, tmp_path):
    """[db] names a host that is not a web server: it gets PostgreSQL and nothing else,
    and the web server's app, backups and restores reach it over TCP with TLS."""
    project = committed_project(rendered(tls="none", domain=DOMAIN, deploy_hosts="web1",
                                         database="postgresql"), tmp_path)
    lab = Lab(tmp_path)
    try:
        fleet = Fleet(lab, project, servers=1)
        db1 = lab.boot("db1")
        lab.route_between_servers()
        web1 = fleet.servers[0]
        fleet.inventory.write_text(fleet.inventory.read_text().replace(
            "[all:vars]", f"[db]\ndb1 ansible_host={db1.address}\n\n[all:vars]"))
        fleet.make("provision")
        fleet.deploy()
        post_note(fleet, web1, "stored on db1")
        assert psql(db1, "SELECT text FROM notes") == "stored on db1"
        assert web1.run("systemctl is-active postgresql", check=False).stdout.strip() != "active"
        assert db1.run("systemctl is-active nginx", check=False).stdout.strip() != "active"
        assert db1.run("test -e /srv/my-flask-app", check=False).returncode != 0
        # Its firewall: PostgreSQL for web1 alone, and no web ports (a listener on 80
        # answers inside only).
        assert connects_from(web1, db1.address, 5432)
        assert not connects_from_client(lab, db1.address, 5432)
        listen(db1, 80)
        assert not connects_from_client(lab, db1.address, 80)
        assert connects_from_client(lab, web1.address, 80)
        assert_hardened(web1)
        # pg_dump and the restore over TLS with the password, from web1.
        name = re.search(r"backed up the database to \S+/(\S+\.dump)",
                         fleet.make("db-backup").stdout)[1]
        post_note(fleet, web1, "after the backup")
        fleet.make("db-restore", f"FILE={name}")
        assert psql(db1, "SELECT text FROM notes") == "stored on db1"
    finally:
        lab.close()


# --- SQLite: one server --------------------------------------------------------------------

def sqlite_rows(server) -> list[str]:
    return server.run(
        "python3 -c \"import sqlite3; c = sqlite3.connect("
        "'file:/srv/my-flask-app/shared/data/my-flask-app.sqlite3?mode=ro', uri=True); "
        "print('\\n'.join(r[0] for r in c.execute('SELECT text FROM notes ORDER BY id')))\""
    ).stdout.split("\n")[:-1]


def sqlite_schema(server) -> str:
    return server.run(
        "python3 -c \"import sqlite3; c = sqlite3.connect("
        "'file:/srv/my-flask-app/shared/data/my-flask-app.sqlite3?mode=ro', uri=True); "
        "print('\\n'.join(c.iterdump()))\"").stdout


def test_sqlite_on_one_server_migrations_backups_and_a_failing_migration(rendered, tmp_path):
    project = committed_project(
        rendered(tls="none", domain=DOMAIN, deploy_hosts="web1", database="sqlite"), tmp_path)
    lab = Lab(tmp_path)
    try:
        fleet = Fleet(lab, project, servers=1)
        fleet.make("provision")
        fleet.deploy()
        web1 = fleet.servers[0]
        post_note(fleet, web1, "kept in SQLite")
        assert sqlite_rows(web1) == ["kept in SQLite"]
        # The file and its WAL, the app's own, in the one directory it may write to.
        owners = web1.run("stat -c '%U %n' /srv/my-flask-app/shared/data/*").stdout
        assert "my-flask-app /srv/my-flask-app/shared/data/my-flask-app.sqlite3-wal" in owners
        assert_hardened(web1)
        denied = web1.run(f"systemctl show -p ReadWritePaths {SERVICE}").stdout.strip()
        assert denied == "ReadWritePaths=/srv/my-flask-app/shared/data"

        # A migration that fails after its first step: SQLite runs DDL outside
        # Alembic's transaction, so the backup taken before it puts everything back.
        live = fleet.live_release(web1)
        schema = sqlite_schema(web1)
        commit_migration(project, "badbadbadbad", first_revision(project),
                         '    op.add_column("notes", sa.Column("half", sa.Integer()))\n'
                         '    op.execute("UPDATE no_such_table SET x = 1")')
        failed = fleet.deploy(check=False)
        output = failed.stdout + failed.stderr
        assert failed.returncode != 0
        assert "-> badbadbadbad" in output and "the backup taken before it was restored" in output
        assert sqlite_schema(web1) == schema
        assert fleet.live_release(web1) == live
        assert fleet.get(web1, "/notes")[0] == "200"

        # make db-backup, a write, make db-restore: the write is gone.
        name = re.search(r"backed up the database to \S+/(\S+\.sqlite3)",
                         fleet.make("db-backup").stdout)[1]
        post_note(fleet, web1, "after the backup")
        fleet.make("db-restore", f"FILE={name}")
        assert sqlite_rows(web1) == ["kept in SQLite"]
        post_note(fleet, web1, "after the restore")
        assert sqlite_rows(web1) == ["kept in SQLite", "after the restore"]
    finally:
        lab.close()
