#!/usr/bin/env bash
# Make sure what the test suite needs is here: MariaDB and Redis (installed and running) and Chromium.
# Installs Debian packages when missing and running as root; starts MariaDB when it is stopped.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null \
    || { as_root apt-get update -q >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
}

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
# Root without a password over TCP (Debian's default is unix_socket only on a fresh install).
as_root mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES;" 2>/dev/null || true

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
echo "test prerequisites ready: $(mariadb --version | cut -d, -f1); $(/usr/bin/chromium --version 2>/dev/null || echo 'no chromium')"
