#!/usr/bin/env bash
# The ingest benchmark: opsbot's POST /api/v1/events against a bare net/http
# handler that only decodes the JSON, side by side in one run, with wrk:
# 64 keep-alive connections, 2 threads, a 3 s warm-up, then 10 s measured,
# single-event POSTs (bench/ingest/post.lua). Then opsbot is stopped and the
# events in its database are counted: every acknowledged (202) event must be
# there. Run from the repository root: bash bench/ingest/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
CONNS=${CONNS:-64} DURATION=${DURATION:-10s} WARMUP=${WARMUP:-3s}
OPSBOT_PORT=${OPSBOT_PORT:-18080} BARE_PORT=${BARE_PORT:-18081}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/opsbot" ./cmd/opsbot
go build -o "$work/bare" ./bench/ingest/bare
go build -o "$work/count" ./bench/ingest/count

data="$work/data"
export OPSBOT_TOKEN=$("$work/opsbot" --data "$data" token create --name bench --scope events:write)
(cd "$work" && exec ./opsbot --data "$data" serve --listen "127.0.0.1:$OPSBOT_PORT" 2>"$work/opsbot.log") & pids+=($!)
"$work/bare" -listen "127.0.0.1:$BARE_PORT" & pids+=($!)
for url in "http://127.0.0.1:$OPSBOT_PORT/readyz" "http://127.0.0.1:$BARE_PORT/"; do
  for _ in $(seq 100); do curl -s -o /dev/null "$url" && break; sleep 0.1; done
done
for _ in $(seq 100); do [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$OPSBOT_PORT/readyz")" = 200 ] && break; sleep 0.1; done

run() { # name url duration
  wrk -t2 -c"$CONNS" -d"$3" --latency -s bench/ingest/post.lua "$2/api/v1/events"
}
echo "== warm-up ($WARMUP each)"
run bare "http://127.0.0.1:$BARE_PORT" "$WARMUP" >/dev/null
run opsbot "http://127.0.0.1:$OPSBOT_PORT" "$WARMUP" >"$work/warm.txt"
echo "== bare net/http handler (decode only), $CONNS connections, $DURATION"
run bare "http://127.0.0.1:$BARE_PORT" "$DURATION" | tee "$work/bare.txt"
echo "== opsbot POST /api/v1/events, $CONNS connections, $DURATION"
run opsbot "http://127.0.0.1:$OPSBOT_PORT" "$DURATION" | tee "$work/opsbot.txt"

curl -s "http://127.0.0.1:$OPSBOT_PORT/metrics" | grep -E '^opsbot_event_ingest_batch_size_(sum|count)' >"$work/batch.txt" || true
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
stored=$("$work/count" -data "$data")
acked=$(( $(awk '/^acked/{print $2}' "$work/warm.txt") + $(awk '/^acked/{print $2}' "$work/opsbot.txt") ))
rate() { awk '/^Requests\/sec/{print $2}' "$1"; }
p99() { awk '$1=="99%"{print $2}' "$1"; }
bsum=$(awk '/_sum/{print $2}' "$work/batch.txt"); bcount=$(awk '/_count/{print $2}' "$work/batch.txt")
echo "== summary"
echo "bare:   $(rate "$work/bare.txt") req/s, p99 $(p99 "$work/bare.txt")"
echo "opsbot: $(rate "$work/opsbot.txt") req/s, p99 $(p99 "$work/opsbot.txt")"
awk -v o="$(rate "$work/opsbot.txt")" -v b="$(rate "$work/bare.txt")" 'BEGIN{printf "ratio:  %.2f of the bare handler (target >= 0.5)\n", o/b}'
[ -n "$bcount" ] && awk -v s="$bsum" -v c="$bcount" 'BEGIN{printf "mean group commit: %.1f events per transaction\n", s/c}'
echo "acknowledged (202, warm-up + run): $acked; stored after the server stopped: $stored"
if [ "$stored" -lt "$acked" ]; then echo "LOST $((acked - stored)) acknowledged events" >&2; exit 1; fi
echo "every acknowledged event is stored"
