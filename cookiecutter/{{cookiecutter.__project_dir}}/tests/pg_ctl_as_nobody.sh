#!/bin/sh
# pg_ctl for the tests when they run as root, as CI often does (conftest.py passes it to
# pytest-postgresql then; REAL_PG_CTL is the real one). PostgreSQL refuses to run as
# root, so this runs it as nobody. Its data directory and log are in pytest's temporary
# directory, which only root may enter: nobody keeps exactly one of root's powers for
# them, CAP_DAC_OVERRIDE (files are read and written whatever their permissions), and
# can gain no other (no setuid programs, nothing else in the bounding set).
set -eu
exec setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --no-new-privs \
    --bounding-set=-all,+dac_override --inh-caps=-all,+dac_override \
    --ambient-caps=-all,+dac_override "$REAL_PG_CTL" "$@"
