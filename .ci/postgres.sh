#!/usr/bin/env bash
# Makes a PostgreSQL server answer on 127.0.0.1:$PG_PORT (default 5432) for the database tests:
# on a fresh machine it installs the server from Debian's registry, creates the cluster when it
# is missing, trusts local TCP logins (a throwaway CI database), starts or reloads the cluster,
# and creates the roles (postgres, root) and databases (test, root) the tests use.
# Prints a warning and exits 0 when it cannot: those tests then report themselves skipped.
set -euo pipefail
port="${PG_PORT:-5432}"
cluster="${PG_CLUSTER:-main}"

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi

if ! answers; then
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        if ! command -v apt-get >/dev/null 2>&1; then
            echo "warning: no PostgreSQL on 127.0.0.1:$port and no apt-get to install it"
            exit 0
        fi
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql
    fi
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
    for _ in $(seq 1 30); do answers && break; sleep 1; done
fi

if ! answers; then
    echo "warning: no PostgreSQL on 127.0.0.1:$port; its tests will report themselves skipped"
    exit 0
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
