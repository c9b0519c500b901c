#!/bin/sh
# Server side of `make deploy`, `make rollback` and `make releases` for {{ cookiecutter.project_name }}.
# Ansible runs it on each server as root (deploy/ansible/*.yml); it is not meant to be
# run by hand, though it is safe to:
#
#   release.sh activate BUNDLE_DIR RELEASE_ID   build, check, switch to and verify a release
#   release.sh rollback [RELEASE_ID]            switch back to the previous (or a named) release
#   release.sh list                             the releases, the live one marked with *
{% if cookiecutter.database != 'none' %}
#   release.sh backup [LABEL]                   back up the database into shared/backups/
#   release.sh restore BACKUP                   restore the database from a backup there
#   release.sh downgrade REVISION               undo the migrations after REVISION
#
# With MIGRATE=1 (`make deploy` sets it on the first server of a rollout), activate also
# runs the new release's migrations, after a backup, before the switch.
{% endif %}
#
# Layout: {{ cookiecutter.install_path }}/releases/<id>/ (code + its own .venv), {{ cookiecutter.install_path }}/shared/
# (app.env), {{ cookiecutter.install_path }}/current -> releases/<id>. The switch is one atomic rename,
# and nothing touches the live release before the new one has passed its checks.
set -eu

ROOT="{{ cookiecutter.install_path }}"
SERVICE_USER="{{ cookiecutter.service_user }}"
KEEP_RELEASES="${KEEP_RELEASES:-5}"
DRAIN_SECONDS="${DRAIN_SECONDS:-0}"
# While it exists the app's /healthz answers 503 "draining" (FLASK_DRAIN_FILE). In /run,
# so that a deploy killed midway or a crash never leaves it past the next boot.
DRAIN_FILE="/run/{{ cookiecutter.project_slug }}-draining"
{% if cookiecutter.database != 'none' %}
KEEP_BACKUPS="${KEEP_BACKUPS:-10}"
MIGRATE="${MIGRATE:-0}"
BACKUPS="$ROOT/shared/backups"
{% endif %}
HEALTH_URL="{{ 'http' if cookiecutter.tls == 'none' else 'https' }}://{{ cookiecutter.domain }}/healthz"
# Ask the web server on this machine, whatever the domain resolves to.
CONNECT_TO="{{ cookiecutter.domain }}:{{ '80' if cookiecutter.tls == 'none' else '443' }}:127.0.0.1:{{ '80' if cookiecutter.tls == 'none' else '443' }}"

say() { printf '%s: %s\n' "$(hostname)" "$*"; }
die() {
    printf '%s: FAILED: %s\n' "$(hostname)" "$*" >&2
    exit 1
}

# Root runs what is under $ROOT: every directory from / down to it must be root's and
# writable by root alone, or another user could swap a release or the link to it (on
# Debian, /var/local is writable by the group staff, for one).
check_tree_is_roots() {
    dir=$ROOT
    while :; do
        [ ! -L "$dir" ] || die "$dir is a symbolic link: set install_path to the real directory"
        owner=$(stat -c %u "$dir")
        mode=$(stat -c %a "$dir")
        [ "$owner" = 0 ] || die "$dir belongs to uid $owner, not root: \`chown root: $dir\` (and find out why)"
        [ $((0$mode & 022)) = 0 ] || die "$dir is writable by group or others: \`chmod go-w $dir\`"
        [ "$dir" != / ] || break
        dir=$(dirname "$dir")
    done
}
check_tree_is_roots

# A deploy holds this lock for its whole run; a second one waits for up to a minute,
# then gives up. The kernel drops the lock when this process ends, however it ends.
exec 9>"$ROOT/.deploy.lock"
flock -w 60 9 || die "another deploy or rollback is running on this server"

live_release() {
    if [ -L "$ROOT/current" ]; then basename "$(readlink -f "$ROOT/current")"; fi
}

# Run a command in a release as the service user, with the environment file read by
# systemd itself (EnvironmentFile=), exactly as the service gets it: never by a shell
# as root, so a `$(...)` or a backquote in a secret stays a string.
# Usage: as_app DIR [systemd-run options] -- COMMAND... (options given here come after
# the defaults, and win: the database's commands lift the time limit).
as_app() {
    app_dir=$1
    shift
    # RuntimeMaxSec: a check that hangs is stopped, and the deploy lock with it.
    systemd-run --quiet --wait --pipe --collect --service-type=exec -p RuntimeMaxSec=300 \
        -p User="$SERVICE_USER" -p Group="$SERVICE_USER" -p WorkingDirectory="$app_dir" \
        -p EnvironmentFile="$ROOT/shared/app.env" "$@"
}

# Release names, oldest first (they start with a UTC timestamp).
releases() {
    find "$ROOT/releases" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort
}

# A release that once served /healthz while live carries this marker: only those are
# rollback targets. A release that failed its checks is removed, never kept.
HEALTHY_MARK=.served-healthy
mark_healthy() { touch "$ROOT/releases/$1/$HEALTHY_MARK"; }
was_healthy() { [ -e "$ROOT/releases/$1/$HEALTHY_MARK" ]; }

# The last deploy on this server and how it ended ("<release> started", "live" or
# "failed"): `make releases` and the report of a stopped rollout read it to tell a
# server that failed from one the rollout never reached.
LAST_DEPLOY="$ROOT/shared/last-deploy"
record() { # RELEASE_ID OUTCOME
    printf '%s %s\n' "$1" "$2" >"$LAST_DEPLOY.new" && mv -f "$LAST_DEPLOY.new" "$LAST_DEPLOY"
}

switch_to() {
    ln -sfn "releases/$1" "$ROOT/.current.new"
    mv -T "$ROOT/.current.new" "$ROOT/current"
}

restart_app() { # [RELEASE that was live before the switch]
{% if cookiecutter.app_server == 'mod_wsgi' %}
    # mod_wsgi's daemon processes restart when their script changes; Apache keeps their
    # socket, so requests wait rather than fail.
    # (A release made for another app server has no such script: it fails /healthz.)
    if [ -e "$ROOT/current/deploy/mod_wsgi_entry.py" ]; then
        touch "$ROOT/current/deploy/mod_wsgi_entry.py"
    fi
    # A daemon that never loaded the script does not watch it: the release before was
    # made for another app server (the project changed to mod_wsgi). A graceful reload
    # of Apache starts the daemons afresh.
    if [ -n "${1:-}" ] && [ ! -e "$ROOT/releases/$1/deploy/mod_wsgi_entry.py" ]; then
        systemctl reload {{ cookiecutter.__web_server_service }}
    fi
{% else %}
    # systemd holds the socket: requests queue during the restart, none is lost. A
    # restart (not a reload) is needed so the new release's venv is used.
    # A crash loop may have hit the unit's start limit: clear it, or no restart happens.
    systemctl reset-failed {{ cookiecutter.project_slug }}.service 2>/dev/null || true
    if ! systemctl restart {{ cookiecutter.project_slug }}.service; then
        journalctl --no-pager -n 30 -u {{ cookiecutter.project_slug }}.service >&2
        return 1
    fi
{% endif %}
}

healthy() { # RELEASE_ID: /healthz through the web server reports that release
    # Every 0.2 s (the wait is paid on every deploy and rollback), for 15 s at most.
    deadline=$(($(date +%s) + 15))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if curl -fsS --max-time 5 --connect-to "$CONNECT_TO" {{ '' if cookiecutter.tls == 'none' else '--insecure ' }}"$HEALTH_URL" 2>/dev/null |
            grep -q "\"release\":\"$1\""; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

check_release() { # DIR: the release works before anything live is touched
    dir=$1
    # One interpreter for both checks (an import costs a second on a small server); exit
    # status 3 says which of them failed.
    status=0
    as_app "$dir" -- "$dir/.venv/bin/python" - <<'PY' || status=$?
import sys
import traceback

try:
    from {{ cookiecutter.package_name }}.wsgi import app
except Exception:
    traceback.print_exc()
    sys.exit(3)
response = app.test_client().get("/healthz")
print(response.get_data(as_text=True).strip())
sys.exit(response.status_code != 200)
PY
    case $status in
    0) ;;
    3) die "the new release does not import ({{ cookiecutter.package_name }}.wsgi): see the error above" ;;
    *) die "the new release's /healthz fails: see above" ;;
    esac
{% if cookiecutter.app_server != 'mod_wsgi' %}
    # Root's directory, and in it one the app server may write its socket to: the output
    # file stays root's, so nothing the app plants there (a link, a FIFO) makes root
    # write or wait anywhere else.
    check_dir=$(mktemp -d /run/{{ cookiecutter.project_slug }}-check.XXXXXX)
    chmod 0711 "$check_dir"
    install -d -o "$SERVICE_USER" -g "$SERVICE_USER" -m 0700 "$check_dir/sock"
    # A transient unit of its own, stopped by name (never by a pid the app could write).
    # In the background, without the deploy lock (fd 9).
    check_unit="{{ cookiecutter.project_slug }}-check-${check_dir##*.}"
{% if cookiecutter.app_server == 'gunicorn' %}
    as_app "$dir" --unit="$check_unit" \
        --setenv=GUNICORN_CMD_ARGS="--bind unix:$check_dir/sock/app.sock --workers 1" \
        -- "$dir/.venv/bin/gunicorn" -c deploy/gunicorn.conf.py \
        >"$check_dir/log" 2>&1 9>&- &
{% else %}
    as_app "$dir" --unit="$check_unit" \
        -- "$dir/.venv/bin/uwsgi" --http-socket "$check_dir/sock/app.sock" \
        --processes 1 --ini deploy/uwsgi.ini \
        >"$check_dir/log" 2>&1 9>&- &
{% endif %}
    check_pid=$!
    started=no
    # Every 0.1 s (the app server is usually up in under a second), for 10 s at most.
    deadline=$(($(date +%s) + 10))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        # As the service user: root never connects to whatever the app left at that path.
        if setpriv --reuid="$SERVICE_USER" --regid="$SERVICE_USER" --clear-groups \
            curl -fsS --max-time 5 --unix-socket "$check_dir/sock/app.sock" \
            -H "Host: {{ cookiecutter.domain }}" http://localhost/healthz >/dev/null 2>&1; then
            started=yes
            break
        fi
        sleep 0.1
    done
    systemctl stop "$check_unit" 2>/dev/null || true
    wait "$check_pid" 2>/dev/null || true
    if [ "$started" != yes ]; then
        cat "$check_dir/log" >&2
        rm -rf "$check_dir"
        die "the new release did not answer /healthz under {{ cookiecutter.__app_server_label }} on a temporary socket"
    fi
    rm -rf "$check_dir"
{% endif %}
    {{ cookiecutter.__web_server_config_test }} || die "the {{ cookiecutter.__web_server_label }} configuration test fails"
}

prune() {
    live=$(live_release)
    # Newest first; keep KEEP_RELEASES of them and, always, the live one.
    releases | sort -r | tail -n +"$((KEEP_RELEASES + 1))" | while read -r old; do
        [ "$old" = "$live" ] || rm -rf "${ROOT:?}/releases/$old"
    done
}

server_uv() { # BUNDLE_DIR: the path of the uv the bundle names, checked, unpacked once
    tools="$ROOT/shared/tools"
    # The bundle, checked on upload, names the uv wheel shipped beside it and its
    # checksum: root runs nothing from a wheel that does not match.
    read -r digest name <"$1/uv.sha256" || die "the bundle names no uv wheel: rebuild it (\`make bundle\`)"
    case $name in
    */* | "") die "the bundle names no valid uv wheel: $name" ;;
    uv-*.whl) ;;
    *) die "the bundle names no valid uv wheel: $name" ;;
    esac
    unpacked="$tools/${name%.whl}"
    if [ ! -d "$unpacked" ]; then
        if [ -f "$tools/$name" ] &&
            ! printf '%s  %s\n' "$digest" "$tools/$name" | sha256sum --check --status; then
            # Cut short by a killed upload, or changed: never run, and sent again.
            rm -f "$tools/$name"
            say "$tools/$name does not match the checksum in the bundle: removed" >&2
        fi
        if [ ! -f "$tools/$name" ]; then
            # `make deploy` ships it and runs this again.
            say "needs $name in $tools first" >&2
            exit 75
        fi
        # A wheel is a zip; unpack beside, then rename, so a half-unpacked uv is never used.
        rm -rf "$unpacked.new"
        {{ cookiecutter.__server_python }} -m zipfile -e "$tools/$name" "$unpacked.new" >&2
        chmod 755 "$unpacked.new"/*.data/scripts/uv
        mv -T "$unpacked.new" "$unpacked"
    fi
    # Only this uv is used: drop the ones earlier deploys shipped.
    find "$tools" -mindepth 1 -maxdepth 1 ! -name "$name" ! -name "${name%.whl}" -exec rm -rf {} +
    echo "$unpacked"/*.data/scripts/uv
}

# Room for one more release, checked before anything is written: a release is about the
# size of the live one (code and its venv), or on a first deploy a few times the bundle.
# A disk that fills up later anyway fails the build, and the release is removed.
check_disk_space() { # BUNDLE_DIR PREVIOUS_RELEASE
    if [ -n "$2" ]; then
        need=$(du -sm "$ROOT/releases/$2" | cut -f 1)
    else
        need=$(($(du -sm "$1" | cut -f 1) * 4))
    fi
    need=$((need + need / 5 + 10))
    free=$(df -Pm "$ROOT/releases" | awk 'NR == 2 {print $4}')
    [ "$free" -ge "$need" ] || die "no space left for a new release on the disk holding \
$ROOT: $free MB free, about $need MB needed. Free some (\`make releases\` lists the \
releases kept; \`journalctl --disk-usage\` shows the logs' share), then deploy again"
}

{% if cookiecutter.database != 'none' %}
backup() { # RELEASE_DIR LABEL: a backup of the database into $BACKUPS; prints its path
    [ "$KEEP_BACKUPS" -ge 1 ] || die "KEEP_BACKUPS is $KEEP_BACKUPS: keep at least the backup being taken"
    install -d -o root -g root -m 0700 "$BACKUPS"
    # What a backup cut short left (one running now is minutes old at most).
    find "$BACKUPS" -mindepth 1 -maxdepth 1 -name '*.partial' -mmin +60 -exec rm -f {} + || true
    file="$BACKUPS/$(date -u +%Y%m%dT%H%M%SZ)-$2.{{ cookiecutter.__database_backup_suffix }}"
    # The app's user reads the database; root writes the file, which no one else reads.
    if ! as_app "$1" -p RuntimeMaxSec=infinity -- "$1/.venv/bin/python" deploy/database_backup.py dump >"$file.partial"; then
        rm -f "$file.partial"
        return 1
    fi
    mv "$file.partial" "$file"
    # The newest KEEP_BACKUPS stay (names start with the time they were taken).
    find "$BACKUPS" -mindepth 1 -maxdepth 1 -type f -name '*.{{ cookiecutter.__database_backup_suffix }}' -printf '%f\n' |
        sort -r | tail -n +"$((KEEP_BACKUPS + 1))" | while read -r old; do
        rm -f "${BACKUPS:?}/$old"
    done
    echo "$file"
}

# A dump, a restore, a migration take as long as the data needs: no time limit.
restore_from() { # RELEASE_DIR FILE
    as_app "$1" -p RuntimeMaxSec=infinity -- "$1/.venv/bin/python" deploy/database_backup.py restore <"$2"
}

# The migrations the new release has and the database has not had, described in one
# line ("<current> -> <head>"), or nothing when the database is up to date. (The app
# may log to stdout too: only the line marked PENDING counts.)
pending_migrations() { # RELEASE_DIR
    as_app "$1" -- "$1/.venv/bin/python" - <<'PY'
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from {{ cookiecutter.package_name }}.extensions import db, migrate
from {{ cookiecutter.package_name }}.wsgi import app

with app.app_context():
    script = ScriptDirectory.from_config(migrate.get_config())
    heads = set(script.get_heads())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    known = {revision.revision for revision in script.walk_revisions()}
    if len(heads) > 1:
        print(f"BRANCHES {' '.join(sorted(heads))}")
    elif current - known:
        print(f"UNKNOWN {' '.join(sorted(current - known))}")
    elif current != heads:
        print(f"PENDING {' '.join(sorted(current)) or 'an empty database'} -> {' '.join(sorted(heads))}")
PY
}

# Before the switch, while the live release serves: a backup, then `flask db upgrade`.
# The live code runs against the migrated schema until the switch (and for good, should
# the new release fail after it): migrations must keep the schema usable by the release
# before them (expand now, contract in a later release; see the README).
migrate() { # RELEASE_DIR RELEASE_ID PREVIOUS_RELEASE
    state=$(pending_migrations "$1") || die "could not read the database's migration state: see above"
    pending=$(printf '%s\n' "$state" | sed -n 's/^PENDING //p')
    unknown=$(printf '%s\n' "$state" | sed -n 's/^UNKNOWN //p')
    branches=$(printf '%s\n' "$state" | sed -n 's/^BRANCHES //p')
    [ -z "$branches" ] || die "the release's migrations have several heads ($branches): \
merge them (\`flask db merge\`) and deploy again; nothing was changed"
    if [ -n "$unknown" ]; then
        # A fix built on the release before a migration, deployed after it: that code
        # already runs on this schema after a rollback (expand, then contract).
        say "the database is at migration $unknown, newer than this release knows: no migration to run"
        return 0
    fi
    if [ -z "$pending" ]; then
        say "the database is up to date: no migration to run"
        return 0
    fi
    backup_file=$(backup "$1" "before-$2") ||
        die "the backup before migrating failed (see above): nothing was migrated"
    say "backed up the database to $backup_file"
    say "migrating the database: $pending"
    log=$(mktemp)
    if ! as_app "$1" -p RuntimeMaxSec=infinity -- "$1/.venv/bin/flask" --app {{ cookiecutter.package_name }}.wsgi db upgrade >"$log" 2>&1; then
        cat "$log" >&2
        failed=$(sed -n 's/.*Running upgrade //p' "$log" | tail -n 1)
        reason=$(grep -E '^[A-Za-z_][A-Za-z0-9_.]*(Error|Exception): |\] Error: ' "$log" | tail -n 1)
        rm -f "$log"
{% if cookiecutter.database == 'sqlite' %}
        # SQLite changes its schema outside Alembic's transaction: the backup undoes it.
        restore_from "$1" "$backup_file" ||
            die "migration ${failed:-(unknown)} failed, and restoring $backup_file failed too: \
restore it with \`make db-restore FILE=$(basename "$backup_file")\`"
        undone="the backup taken before it was restored"
{% else %}
        undone="PostgreSQL rolled the migrations back"
{% endif %}
        die "migration ${failed:-(unknown)} failed: ${reason:-see above}. The schema and \
the data are as they were ($undone); ${3:-nothing} is still live"
    fi
    sed -n 's/.*Running upgrade /ran /p' "$log"
    rm -f "$log"
}

{% endif %}
activate() { # BUNDLE_DIR RELEASE_ID
    bundle=$1
    id=$2
    case $DRAIN_SECONDS in
    *[!0-9]* | "") die "drain_seconds is $DRAIN_SECONDS: a whole number of seconds (0: no draining)" ;;
    esac
    dir="$ROOT/releases/$id"
    previous=$(live_release)
    # A link to a release that is gone is no release to go back to.
    if [ -n "$previous" ] && [ ! -d "$ROOT/releases/$previous" ]; then previous=""; fi
    # A rollout run again after it stopped skips the servers it updated.
    if [ "$id" = "$previous" ]; then
        say "$id is live already"
        return
    fi
    # It is serving as this deploy begins (releases from before the marker existed).
    [ -z "$previous" ] || mark_healthy "$previous"
    # Whatever ends this run before $id is live, its directory goes with it, and the
    # server's record says the deploy failed.
    unfinished=$dir
    trap 'rm -f "$DRAIN_FILE"; if [ -n "$unfinished" ]; then rm -rf "$unfinished"; record "$id" failed; fi' EXIT
    record "$id" started

    uv=$(server_uv "$bundle")
    say "building $id"
    rm -rf "$dir" # what an interrupted deploy may have left
    # Uploads of deploys killed before they cleaned up (a running one is minutes old).
    find "$ROOT" -mindepth 1 -maxdepth 1 -name '.upload-*' -mmin +60 -exec rm -rf {} + || true
    check_disk_space "$bundle" "$previous"
    mkdir -p "$dir"
    tar -xf "$bundle/source.tar" -C "$dir"
    printf '%s\n' "$id" >"$dir/RELEASE"
    "$uv" venv --quiet --no-cache --python {{ cookiecutter.__server_python }} "$dir/.venv"
    # Bytecode now, once, for everything installed: the service user cannot write
    # __pycache__ into the release, so without it every worker of every start would
    # compile every import again. (uv compiles only what an install installs: both.)
    "$uv" pip install --quiet --no-cache --offline --no-index --python "$dir/.venv/bin/python" \
        --compile-bytecode --find-links "$bundle/wheelhouse" --require-hashes -r "$bundle/requirements.txt"
    "$uv" pip install --quiet --no-cache --offline --no-index --python "$dir/.venv/bin/python" \
        --compile-bytecode --no-deps "$bundle"/wheelhouse/{{ cookiecutter.project_slug | replace('-', '_') }}-*.whl
    chown -R root:root "$dir"
    chmod -R go-w,a+rX "$dir"

    say "checking $id before it goes live"
    check_release "$dir"
{% if cookiecutter.database != 'none' %}
    if [ "$MIGRATE" = 1 ]; then migrate "$dir" "$id" "$previous"; fi
{% endif %}

    # Behind a load balancer: /healthz answers 503 for DRAIN_SECONDS first, so the
    # balancer's health checks take this server out before its restart, and no client
    # waits on it meanwhile. The marker goes as soon as the app has restarted.
    if [ -n "$previous" ] && [ "$DRAIN_SECONDS" -gt 0 ]; then
        say "draining for $DRAIN_SECONDS s: /healthz answers 503, so load balancers send elsewhere"
        touch "$DRAIN_FILE"
        sleep "$DRAIN_SECONDS"
    fi
    say "switching to $id (was ${previous:-none})"
    switch_to "$id"
    restarted=0
    if restart_app "$previous"; then restarted=1; fi
    rm -f "$DRAIN_FILE"
    if [ "$restarted" = 0 ] || ! healthy "$id"; then
        if [ -n "$previous" ]; then
            switch_to "$previous"
            restart_app "$id" || true
        else
            rm -f "$ROOT/current" # a first deploy: nothing to go back to, no dangling link
        fi
        die "$id did not start or pass /healthz through {{ cookiecutter.__web_server_label }} after the switch; back on ${previous:-nothing}"
    fi
    mark_healthy "$id"
    unfinished=""
    record "$id" live
    say "$id is live"
    prune
}

rollback() { # [RELEASE_ID]
    rm -f "$DRAIN_FILE" # what a deploy killed while draining may have left
    live=$(live_release)
    if [ $# -gt 0 ]; then
        target=$1
    else
        # The newest release before the live one that ever served healthily.
        target=$(releases | while read -r release; do
            [ "$release" != "$live" ] || break
            if was_healthy "$release"; then echo "$release"; fi
        done | tail -n 1)
    fi
    # Named and live already: a server a stopped rollout never reached, when the
    # fleet goes back to the release its other servers left.
    if [ $# -gt 0 ] && [ "$target" = "$live" ]; then
        say "$target is live already"
        return
    fi
    if [ -z "$target" ] || [ "$target" = "$live" ]; then
        die "no release before $live that ever served healthily: nothing to roll back to"
    fi
    [ -x "$ROOT/releases/$target/.venv/bin/python" ] || die "no release $target on this server"
    was_healthy "$target" || die "$target never served healthily here: not a rollback target"
    say "rolling back from $live to $target"
    switch_to "$target"
    if ! restart_app "$live" || ! healthy "$target"; then
        switch_to "$live"
        restart_app "$target" || true
        die "$target did not pass /healthz after the rollback; switched back to $live"
    fi
    say "$target is live"
{% if cookiecutter.database != 'none' %}
    say "the database keeps its schema: a rollback never downgrades it (\`make db-downgrade-servers REV=...\` is for a person to decide)"
{% endif %}
}

list() {
    live=$(live_release)
    releases | while read -r release; do
        if [ "$release" = "$live" ]; then echo "* $release"; else echo "  $release"; fi
    done
    if [ -f "$LAST_DEPLOY" ]; then echo "last deploy: $(cat "$LAST_DEPLOY")"; fi
}

{% if cookiecutter.database != 'none' %}
backup_command() { # [LABEL]
    label=${1:-manual}
    case $label in
    *[!a-z0-9-]* | "") die "a backup label is lowercase letters, digits and -: $label" ;;
    esac
    [ -n "$(live_release)" ] || die "no live release: deploy first"
    file=$(backup "$ROOT/current" "$label") || die "the backup failed: see above"
    say "backed up the database to $file"
}

restore_command() { # BACKUP: the name of a file in $BACKUPS
    case ${1:-} in
    */* | .* | "") die "name a backup in $BACKUPS (\`ls\` there, or \`make db-backup\` makes one)" ;;
    esac
    [ -f "$BACKUPS/$1" ] || die "no backup $1 in $BACKUPS"
    [ -n "$(live_release)" ] || die "no live release: deploy first"
    say "restoring the database from $BACKUPS/$1"
    restore_from "$ROOT/current" "$BACKUPS/$1" || die "the restore failed (see above): the database is as it was"
    say "restored $1; the schema is the backup's: the live release must work with it (\`make rollback\` if not)"
}

# The database's current revision, one line marked CURRENT.
current_revision() {
    state=$(as_app "$ROOT/current" -- "$ROOT/current/.venv/bin/python" - <<'PY'
from sqlalchemy import text

from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.wsgi import app

with app.app_context(), db.engine.connect() as connection:
    rows = connection.execute(text("SELECT version_num FROM alembic_version"))
    print("CURRENT", " ".join(row[0] for row in rows))
PY
) || die "could not read the database's migration state: see above"
    printf '%s\n' "$state" | sed -n 's/^CURRENT //p'
}

# With the migrations of the newest release that has the database's current one (after
# a rollback, the live release may not have it), a backup first.
downgrade_command() { # REVISION
    case ${1:-} in
    *[!A-Za-z0-9_+-]* | -* | "") die "name the revision to go back to (\`make db-history\` lists them; base undoes all)" ;;
    esac
    [ -n "$(live_release)" ] || die "no live release: deploy first"
    current=$(current_revision)
    case $current in
    *[!A-Za-z0-9_]* | "") die "the database is at \"$current\": not one migration to go back from" ;;
    esac
    source=$(releases | sort -r | while read -r release; do
        if grep -qsE "^revision(: str)? = ['\"]${current}['\"]" "$ROOT/releases/$release"/migrations/versions/*.py; then
            echo "$release"
            break
        fi
    done)
    [ -n "$source" ] || die "no release here has migration $current, the database's: deploy one that has it"
    file=$(backup "$ROOT/releases/$source" before-downgrade) || die "the backup failed: nothing was downgraded"
    say "backed up the database to $file"
    say "downgrading the database from $current to $1 with the migrations of $source"
    as_app "$ROOT/releases/$source" -p RuntimeMaxSec=infinity -- "$ROOT/releases/$source/.venv/bin/flask" \
        --app {{ cookiecutter.package_name }}.wsgi db downgrade -- "$1" 2>&1 || die "the downgrade failed: see above"
    say "downgraded; the live release is $(live_release): it must work with this schema"
}

{% endif %}
command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
activate) activate "$@" ;;
rollback) rollback "$@" ;;
list) list ;;
{% if cookiecutter.database != 'none' %}
backup) backup_command "$@" ;;
restore) restore_command "$@" ;;
downgrade) downgrade_command "$@" ;;
*) die "usage: release.sh activate BUNDLE_DIR RELEASE_ID | rollback [RELEASE_ID] | list | backup [LABEL] | restore BACKUP | downgrade REVISION" ;;
{% else %}
*) die "usage: release.sh activate BUNDLE_DIR RELEASE_ID | rollback [RELEASE_ID] | list" ;;
{% endif %}
esac
