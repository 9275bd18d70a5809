#!/usr/bin/env bash
# The ingest benchmark on PostgreSQL with 1 and 3 opsbot replicas, beside
# SQLite, in one run: POST /api/v1/events with wrk (single-event POSTs,
# bench/ingest/post.lua), 64 keep-alive connections in all (spread evenly
# over the replicas: one wrk per replica, run at once), a warm-up, then
# DURATION measured. After each case the servers are stopped and the events
# in the database counted: every acknowledged event must be there.
#
# PostgreSQL is started by the script on loopback (Debian's postgresql, run
# as the postgres user when started as root). On a 2-core machine, three
# replicas, wrk and PostgreSQL share the same two cores: this measures
# contention, not scale-out.
# Run from the repository root: bash bench/ingest/replicas.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
CONNS=${CONNS:-64} DURATION=${DURATION:-10s} WARMUP=${WARMUP:-3s} PGPORT=${PGPORT:-15439}
work=$(mktemp -d)
chmod 755 "$work"
pids=()
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  as_pg "$PGBIN/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/opsbot" ./cmd/opsbot
go build -o "$work/count" ./bench/ingest/count

mkdir -p "$work/pg"
[ "$(id -u)" -eq 0 ] && chown postgres "$work/pg"
as_pg "$PGBIN/initdb" -D "$work/pg" -U postgres --auth=trust -E UTF8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$work/pg" -o "-p $PGPORT -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=200" -l "$work/pg/log" -w start >/dev/null
psql() { as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -Atq "$@"; }

# case NAME DATABASE REPLICAS
run_case() {
  local name=$1 db=$2 n=$3 data="$work/data-$1"
  local args=(--data "$data")
  [ -n "$db" ] && args+=(--database "$db")
  export OPSBOT_TOKEN=$("$work/opsbot" "${args[@]}" token create --name bench --scope events:write 2>/dev/null)
  local ports=() spids=()
  for i in $(seq "$n"); do
    local port=$((18090 + i))
    (cd "$work" && exec ./opsbot "${args[@]}" serve --listen "127.0.0.1:$port" 2>"$work/$name-$i.log") & spids+=($!)
    pids+=("${spids[-1]}")
    ports+=("$port")
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 200); do [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] && break; sleep 0.1; done
  done
  local per=$((CONNS / n))
  wrk_all() { # duration prefix
    local wp=()
    for port in "${ports[@]}"; do
      wrk -t1 -c"$per" -d"$1" --latency -s bench/ingest/post.lua "http://127.0.0.1:$port/api/v1/events" >"$work/$2-$port.txt" & wp+=($!)
    done
    wait "${wp[@]}"
  }
  wrk_all "$WARMUP" "$name-warm"
  wrk_all "$DURATION" "$name-run"
  for p in "${spids[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
  local stored
  if [ -n "$db" ]; then local dbname=${db##*/}; stored=$(psql -d "${dbname%%\?*}" -c "SELECT count(*) FROM events"); else stored=$("$work/count" -data "$data"); fi
  local acked rate p99s
  acked=$(cat "$work/$name"-warm-*.txt "$work/$name"-run-*.txt | awk '/^acked/{s+=$2} END{print s}')
  rate=$(cat "$work/$name"-run-*.txt | awk '/^Requests\/sec/{s+=$2} END{printf "%.0f", s}')
  p99s=$(cat "$work/$name"-run-*.txt | awk '$1=="99%"{printf "%s ", $2}')
  printf "%-22s %8s req/s   p99 per replica: %-30s acknowledged %d, stored %d\n" "$name" "$rate" "$p99s" "$acked" "$stored"
  if [ "$stored" -lt "$acked" ]; then echo "LOST $((acked - stored)) acknowledged events in $name" >&2; exit 1; fi
}

echo "== POST /api/v1/events, $CONNS connections in all, warm-up $WARMUP, measured $DURATION"
run_case sqlite "" 1
psql -c "CREATE DATABASE bench1"
run_case postgres-1-replica "postgres://postgres@127.0.0.1:$PGPORT/bench1?sslmode=disable" 1
psql -c "CREATE DATABASE bench3"
run_case postgres-3-replicas "postgres://postgres@127.0.0.1:$PGPORT/bench3?sslmode=disable" 3
echo "every acknowledged event is stored"
