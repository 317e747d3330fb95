#!/bin/sh
# Run a command with no network at all but loopback (a new network namespace), with a
# private PostgreSQL on 127.0.0.1:5432 inside it (the machine's own server is outside).
#     tests/reliability/offline.sh make test
# Needs root (unshare -n) and the PostgreSQL server binaries (Debian's postgresql package).
set -eu
exec unshare -n sh -c '
  set -eu
  ip link set lo up
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  data=$(mktemp -d)
  chown postgres "$data"
  runuser -u postgres -- "$bin/initdb" -D "$data/db" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$bin/pg_ctl" -D "$data/db" -l "$data/log" -w \
    -o "-c listen_addresses=127.0.0.1 -c unix_socket_directories=$data" start >/dev/null
  trap "runuser -u postgres -- \"$bin/pg_ctl\" -D \"$data/db\" -m fast stop >/dev/null; rm -rf \"$data\"" EXIT
  runuser -u postgres -- "$bin/createdb" -h 127.0.0.1 test
  if ip route get 1.1.1.1 >/dev/null 2>&1; then echo "offline.sh: a route out exists" >&2; exit 2; fi
  "$@"
' offline "$@"
