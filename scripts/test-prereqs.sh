#!/usr/bin/env bash
# Make sure what the test suite needs is here: MariaDB and Redis (installed and running), Chromium and axe-core.
# Installs Debian packages when missing and running as root; starts MariaDB and Redis when they are stopped.
# MariaDB's root account is not changed: the tests use their own account, openagc_test (password openagc_test),
# allowed only on databases named openagc_* (plus PROCESS, to read InnoDB's transaction list in one test).
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
# apt-get waits up to 10 minutes for another package manager's lock instead of failing at once.
apt_get() { as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -q "$@" >/dev/null; }
apt_install() { apt_get install "$@" || { apt_get update && apt_get install "$@"; }; }

mariadb_up() { mariadb-admin --host=127.0.0.1 --user=root ping >/dev/null 2>&1; }

if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  echo "installing MariaDB (Debian package mariadb-server)"
  apt_install mariadb-server mariadb-client
fi
if ! mariadb_up; then
  echo "starting MariaDB"
  as_root mkdir -p /run/mysqld && as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql \
    || as_root service mariadb start || true
  for _ in $(seq 1 60); do mariadb_up && break; sleep 1; done
fi
if ! mariadb_up; then echo "MariaDB is not reachable on 127.0.0.1:3306 as root" >&2; exit 1; fi
# The tests' own account (tests/support.py: OPENAGC_TEST_MARIADB), created once through root's socket login
# (Debian's default) or, failing that, root over TCP without a password.
test_account_ok() { mariadb --host=127.0.0.1 --user=openagc_test --password=openagc_test \
  -e "CREATE DATABASE IF NOT EXISTS openagc_prereq_check; DROP DATABASE openagc_prereq_check" >/dev/null 2>&1; }
if ! test_account_ok; then
  echo "creating the MariaDB account openagc_test (databases openagc_* only)"
  sql="CREATE USER IF NOT EXISTS 'openagc_test'@'localhost' IDENTIFIED BY 'openagc_test';
CREATE USER IF NOT EXISTS 'openagc_test'@'127.0.0.1' IDENTIFIED BY 'openagc_test';
GRANT ALL PRIVILEGES ON \`openagc\\_%\`.* TO 'openagc_test'@'localhost', 'openagc_test'@'127.0.0.1';
GRANT PROCESS ON *.* TO 'openagc_test'@'localhost', 'openagc_test'@'127.0.0.1';"
  as_root mariadb --user=root -e "$sql" 2>/dev/null || mariadb --host=127.0.0.1 --user=root -e "$sql"
fi
if ! test_account_ok; then echo "MariaDB account openagc_test cannot create databases openagc_*" >&2; exit 1; fi

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing Redis (Debian package redis-server)"
  apt_install redis-server
fi
if ! redis_up; then
  echo "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "installing Chromium (Debian package chromium)"
  apt_install chromium
fi
# axe-core for the console's accessibility test (tests/console/test_accessibility.py): the npm registry's package,
# pinned, unpacked into var/cache/ (git-ignored; never committed). npm itself from Debian when missing.
AXE_VERSION=4.10.3
AXE_DIR="$(cd "$(dirname "$0")/.." && pwd)/var/cache/axe-core-$AXE_VERSION"
if [ ! -s "$AXE_DIR/axe.min.js" ]; then
  command -v npm >/dev/null 2>&1 || { echo "installing npm (Debian package npm)"; apt_install npm; }
  echo "fetching axe-core $AXE_VERSION (npm pack)"
  axe_tmp=$(mktemp -d)
  (cd "$axe_tmp" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null)
  mkdir -p "$AXE_DIR"
  tar -xzf "$axe_tmp/axe-core-$AXE_VERSION.tgz" -C "$AXE_DIR" --strip-components=1 package/axe.min.js package/LICENSE
  rm -rf "$axe_tmp"
fi
# The Asterisk tier (tests/asterisk, when an Asterisk is installed: $ASTERISK_BIN, `asterisk` on PATH or
# /opt/asterisk/sbin/asterisk) plays Debian's sounds and hold music (docs/asterisk.md, step 1): without them its
# customers hang up at once and the tier fails.
asterisk_bin="${ASTERISK_BIN:-$(command -v asterisk || echo /opt/asterisk/sbin/asterisk)}"
if [ -x "$asterisk_bin" ] && [ ! -d /usr/share/asterisk/sounds/en ]; then
  echo "installing Asterisk's sounds (Debian packages asterisk-core-sounds-en-gsm asterisk-moh-opsound-gsm)"
  apt_install asterisk-core-sounds-en-gsm asterisk-moh-opsound-gsm
fi
echo "test prerequisites ready: $(mariadb --version | cut -d, -f1); $(/usr/bin/chromium --version 2>/dev/null || echo 'no chromium')"
