#!/usr/bin/env bash
# The wheel as a user gets it: build it, install it with NO extras into a clean venv, then `openagc --version`,
# `init-db` + `seed --demo` into an SQLite file, `serve` on a free port answering `version`, `external_pause`,
# `/openapi.json` and `/docs` over HTTP, and `init-db` on MariaDB (OPENAGC_TEST_MARIADB, as tests/support.py) when
# it answers.
# Everything happens in a temporary directory, removed at the end; one line on success, the log on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
MARIADB=${OPENAGC_TEST_MARIADB:-mysql+pymysql://openagc_test:openagc_test@127.0.0.1:3306}  # the tests' account
unset PYTHONPATH OPENAGC_CONFIG OPENAGC_DATABASE
started=$SECONDS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/openagc-wheel.XXXXXX")
log="$tmp/check.log"
server=""

cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "check-wheel: FAILED: $1" >&2
    tail -n 40 "$log" >&2
    exit 1
}

step() {  # step "what" command…: run it with its output in the log
    local what=$1
    shift
    echo "\$ $*" >>"$log"
    "$@" >>"$log" 2>&1 || fail "$what"
}

# Build from a copy of the sources, so the build leaves nothing (build/, *.egg-info) in the checkout.
mkdir "$tmp/src"
cp pyproject.toml README.md "$tmp/src/"
cp -r src "$tmp/src/src"
find "$tmp/src" \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +
step "building the wheel" "$PYTHON" -m pip wheel -v --no-deps -w "$tmp/dist" "$tmp/src"
if grep -q "DeprecationWarning" "$log"; then
    fail "the build printed a deprecation warning"
fi
wheel=$(cd "$tmp/dist" && ls openagc-*.whl)

# A venv without pip of its own (this pip installs into it), bytecode compiled on first import: quicker.
step "creating a clean venv" "$PYTHON" -m venv --without-pip "$tmp/venv"
bin="$tmp/venv/bin"
step "installing the wheel without extras" \
    "$PYTHON" -m pip --python "$bin/python" install -q --no-compile "$tmp/dist/$wheel"

cd "$tmp"  # the installed package, not the checkout; the default var/ would land here
version=$("$bin/openagc" --version 2>>"$log") || fail "openagc --version"
[[ $version == "openagc "* ]] || fail "openagc --version printed '$version'"
step "openagc init-db (SQLite)" "$bin/openagc" init-db --database "$tmp/openagc.db"
step "openagc seed --demo (SQLite)" "$bin/openagc" seed --demo --database "$tmp/openagc.db"

port=$("$bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/openagc" serve --port "$port" --database "$tmp/openagc.db" >>"$log" 2>&1 &
server=$!
step "openagc serve answering version, external_pause, /openapi.json and /docs" "$bin/python" - "$port" "$server" <<'EOF'
import os, sys, time, urllib.error, urllib.request

port, pid = sys.argv[1], int(sys.argv[2])
base = f"http://127.0.0.1:{port}/agc/api.php?"
deadline = time.monotonic() + 30
while True:  # until the server answers (or has died, or 30 s have passed)
    try:
        text = urllib.request.urlopen(base + "function=version", timeout=5).read().decode()
        break
    except (urllib.error.URLError, ConnectionError):
        os.kill(pid, 0)  # raises when the server is gone
        if time.monotonic() > deadline:
            sys.exit("the server did not answer within 30 s")
        time.sleep(0.2)
print(text, end="")
assert text.startswith("VERSION: "), text
query = "source=test&user=6666&pass=1234&agent_user=1000&function=external_pause&value=PAUSE"
text = urllib.request.urlopen(base + query, timeout=5).read().decode()
print(text, end="")
assert text == "ERROR: agent_user is not logged in - 1000\n", text
import json
doc = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=30))  # package data
assert doc["openapi"] == "3.1.0" and "external_pause" in doc["paths"]["/agc/api.php"]["get"]["x-functions"], doc
page = urllib.request.urlopen(f"http://127.0.0.1:{port}/docs", timeout=30).read().decode()
assert 'id="function-external_pause"' in page, page[:200]
print(f"/openapi.json: {len(doc['paths'])} paths; /docs rendered")
EOF
kill "$server"
wait "$server" 2>/dev/null || true
server=""
# The Asterisk adapter is the `asterisk` extra: without it, serve says so in one line.
refusal=$("$bin/openagc" serve --switch asterisk --database "$tmp/openagc.db" 2>&1 >/dev/null) && fail "serve --switch asterisk without panoramisk started"
[[ $refusal == "error: --switch asterisk needs the asterisk extra: pip install 'openagc[asterisk]'" ]] \
    || fail "serve --switch asterisk without panoramisk printed: $refusal"

# MariaDB: a throwaway database, init-db with the async URL the README shows, its tables counted, dropped.
name="openagc_wheel_$$"
admin() {  # admin create|drop: the database $name, through the installed SQLAlchemy and PyMySQL
    "$bin/python" - "$MARIADB" "$name" "$1" <<'EOF'
import sys
import sqlalchemy as sa

root, name, action = sys.argv[1:]
with sa.create_engine(root, isolation_level="AUTOCOMMIT").connect() as c:
    if action == "create":
        c.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        print(sa.make_url(root).set(drivername="mysql+asyncmy", database=name).render_as_string(False))
    else:
        print(c.exec_driver_sql(f"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{name}'")
              .scalar())
        c.exec_driver_sql(f"DROP DATABASE {name}")
EOF
}
mariadb="MariaDB not reachable at ${MARIADB##*@}, its init-db not checked"
if url=$(admin create 2>>"$log"); then
    if ! "$bin/openagc" init-db --database "$url" >>"$log" 2>&1; then
        admin drop >/dev/null 2>&1
        fail "openagc init-db (MariaDB)"
    fi
    tables=$(admin drop 2>>"$log") || fail "dropping the MariaDB database $name"
    [ "$tables" -gt 0 ] || fail "openagc init-db (MariaDB) created no table"
    mariadb="init-db on MariaDB ($tables tables)"
fi

echo "check-wheel: $wheel installs with no extras; ${version}: init-db, seed --demo and serve on SQLite" \
    "(version, external_pause, /openapi.json and /docs answered), $mariadb; $((SECONDS - started)) s"
