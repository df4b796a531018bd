#!/usr/bin/env bash
# Makes the servers the tests use answer on 127.0.0.1, on a fresh machine or a used one:
#   postgres  :5432  roles postgres and root, databases test and root, trust auth over TCP
#   mariadb   :3306  root with an empty password, database test
#   redis     :6379  no persistence
# For each: nothing is started when its port already answers; an installed server that is down
# is started with the machine's own commands; a missing one is installed from Debian's registry
# first. Exits 1 naming every service that did not come up (under CI=true their tests would fail).
# Usage: bash .ci/services.sh [postgres] [mariadb] [redis]   (all three by default)
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Retries a command once a second for up to $1 seconds; its last status is returned.
retry() {
    local seconds=$1
    shift
    for _ in $(seq 2 "$seconds"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
    "$@" >/dev/null 2>&1
}

apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: $* is not installed and there is no apt-get to install it" >&2
        return 1
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@"
}

up_postgres() {
    local port="${PG_PORT:-5432}" cluster="${PG_CLUSTER:-main}" version hba
    if ! answers "$port"; then
        if ! command -v pg_ctlcluster >/dev/null 2>&1; then apt_install postgresql; fi
        version="$(ls /etc/postgresql | sort -V | tail -n 1)"
        if [ ! -d "/etc/postgresql/$version/$cluster" ]; then
            $SUDO pg_createcluster "$version" "$cluster" --port "$port"
        fi
        hba="/etc/postgresql/$version/$cluster/pg_hba.conf"
        if ! $SUDO grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
            $SUDO sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
        fi
        # apt's post-install script may already have started the cluster (without the trust lines).
        if pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c' | grep -q online; then
            $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" reload
        else
            $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start
        fi
    fi
    if ! retry 30 psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc 'SELECT 1'; then
        echo "error: PostgreSQL does not accept logins on 127.0.0.1:$port (see /var/log/postgresql/)" >&2
        return 1
    fi
    sql() { psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -tAc "$1"; }
    for role in postgres root; do
        sql "SELECT 1 FROM pg_roles WHERE rolname = '$role'" | grep -q 1 \
            || sql "CREATE ROLE $role SUPERUSER LOGIN"
    done
    for db in test root; do
        sql "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
            || sql "CREATE DATABASE $db"
    done
    echo "PostgreSQL answers on 127.0.0.1:$port"
}

up_mariadb() {
    local port=3306 client
    if ! answers "$port"; then
        if [ ! -x /usr/sbin/mariadbd ]; then apt_install mariadb-server; fi
        # Debian's init script makes the socket directory; starting the daemon directly does not.
        $SUDO install -d -o mysql -g mysql /run/mysqld
        $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
    fi
    client="$(command -v mariadb || command -v mysql)"
    if ! retry 60 "$client" -h 127.0.0.1 -P "$port" -u root -e 'SELECT 1'; then
        # A fresh install lets root in through the Unix socket only: allow an empty password
        # over TCP too (a throwaway CI database, like PostgreSQL's trust lines above).
        $SUDO "$client" -u root -e "
            ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
            CREATE USER IF NOT EXISTS root@'127.0.0.1' IDENTIFIED BY '';
            GRANT ALL PRIVILEGES ON *.* TO root@'127.0.0.1' WITH GRANT OPTION;" || true
    fi
    if ! "$client" -h 127.0.0.1 -P "$port" -u root -e 'CREATE DATABASE IF NOT EXISTS test'; then
        echo "error: MariaDB does not let root in without a password on 127.0.0.1:$port (see /var/log/mysql/)" >&2
        return 1
    fi
    echo "MariaDB answers on 127.0.0.1:$port"
}

up_redis() {
    local port=6379
    if ! answers "$port"; then
        if ! command -v redis-server >/dev/null 2>&1; then apt_install redis-server; fi
        $SUDO install -d /var/lib/redis /var/log/redis
        $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$port" --save "" \
            --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    fi
    if ! retry 30 sh -c "redis-cli -h 127.0.0.1 -p $port ping | grep -q PONG"; then
        echo "error: Redis does not answer PING on 127.0.0.1:$port (see /var/log/redis/ci.log)" >&2
        return 1
    fi
    echo "Redis answers on 127.0.0.1:$port"
}

[ $# -gt 0 ] || set -- postgres mariadb redis
failed=()
for service in "$@"; do
    case "$service" in
        postgres | mariadb | redis) ;;
        *) echo "error: unknown service \`$service\` (postgres, mariadb, redis)" >&2; exit 2 ;;
    esac
    echo "== $service"
    # A subshell of its own, so `set -e` stops this service's steps and not the others'.
    set +e
    (set -e; "up_$service")
    status=$?
    set -e
    [ "$status" = 0 ] || failed+=("$service")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "error: did not come up: ${failed[*]} (messages above); the tests that need them fail under CI=true" >&2
    exit 1
fi
