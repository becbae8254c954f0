#!/usr/bin/env bash
# Make sure what the app's tests use is there: PostgreSQL and Redis answering on their standard
# local addresses, and Chromium for the storefront's browser tests. Starts them if installed, installs them from Debian's packages if
# not (as root), and fails with a clear message when neither works. Never skips silently.
set -euo pipefail

PG_HOST=${TEST_PG_HOST:-127.0.0.1}
PG_PORT=${TEST_PG_PORT:-5432}
REDIS_HOST=${TEST_REDIS_HOST:-127.0.0.1}
REDIS_PORT=${TEST_REDIS_PORT:-6379}

say() { printf '[services] %s\n' "$*"; }
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

wait_for() {  # name host port
    for _ in $(seq 1 30); do
        port_open "$2" "$3" && { say "$1 is answering on $2:$3"; return 0; }
        sleep 1
    done
    return 1
}

apt_install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        return 1
    fi
    say "installing $* from Debian's packages"
    # make test runs the lab's host tests beside this: wait for the other's apt-get, never fail on its lock.
    apt-get -o DPkg::Lock::Timeout=600 update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
}

ensure_postgres() {
    port_open "$PG_HOST" "$PG_PORT" && { say "PostgreSQL is answering on $PG_HOST:$PG_PORT"; return; }
    command -v pg_ctlcluster >/dev/null || apt_install postgresql || true
    if command -v pg_ctlcluster >/dev/null; then
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        say "starting PostgreSQL $version"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    fi
    wait_for PostgreSQL "$PG_HOST" "$PG_PORT" && return
    say "PostgreSQL is not reachable on $PG_HOST:$PG_PORT and could not be started."
    say "Start one, or point TEST_POSTGRES_URL at a running server."
    exit 1
}

ensure_redis() {
    port_open "$REDIS_HOST" "$REDIS_PORT" && { say "Redis is answering on $REDIS_HOST:$REDIS_PORT"; return; }
    command -v redis-server >/dev/null || apt_install redis-server || true
    if command -v redis-server >/dev/null; then
        say "starting Redis"
        mkdir -p /var/lib/redis /var/log/redis
        redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
            --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
    fi
    wait_for Redis "$REDIS_HOST" "$REDIS_PORT" && return
    say "Redis is not reachable on $REDIS_HOST:$REDIS_PORT and could not be started."
    say "Start one, or point TEST_REDIS_URL at a running server."
    exit 1
}

ensure_chromium() {
    command -v chromium >/dev/null && { say "Chromium is installed"; return; }
    apt_install chromium || true
    command -v chromium >/dev/null && return
    say "Chromium is missing and could not be installed; the storefront's browser tests need it."
    exit 1
}

ensure_postgres
ensure_redis
ensure_chromium
