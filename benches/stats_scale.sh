#!/usr/bin/env bash
# Statistics latency at scale: seeds synthetic enterprises and self-assessments, starts the
# release server on loopback and times each statistics figure for one industry with curl.
#
#   benches/stats_scale.sh                      # SQLite under /tmp/csr-scale, 100,000 × 10
#   ENTERPRISES=10000 benches/stats_scale.sh    # a smaller run
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/csr_scale benches/stats_scale.sh
#
# Seeding is skipped when DIR records that it was done (delete DIR, and drop the PostgreSQL
# database, to start again). Prints a Markdown table: p50 and maximum of REPEAT requests each.
set -euo pipefail

ENTERPRISES=${ENTERPRISES:-100000}
PER_ENTERPRISE=${PER_ENTERPRISE:-10}
REPEAT=${REPEAT:-21}
DIR=${DIR:-/tmp/csr-scale}
PORT=${PORT:-18181}
INDUSTRY=${INDUSTRY:-C14}
BIN=${CARGO_TARGET_DIR:-target}/release/csr-assess

cargo build --release --locked --quiet
mkdir -p "$DIR"
export CSR_DATA_DIR="$DIR"
# Statistics need an administrator (or an industry body); this one is the benchmark's own.
export CSR_ADMIN_EMAIL=bench-admin@example.com CSR_ADMIN_PASSWORD='bench admin password 1'

marker="$DIR/.seeded-$ENTERPRISES-$PER_ENTERPRISE${DATABASE_URL:+-pg}"
if [ ! -f "$marker" ]; then
  start=$(date +%s)
  "$BIN" seed-demo --enterprises "$ENTERPRISES" --submissions-per-enterprise "$PER_ENTERPRISE"
  echo "seeded in $(( $(date +%s) - start )) s" >&2
  touch "$marker"
fi
# Fresh statistics and visibility maps, as autovacuum keeps them on a running server.
if [ -n "${DATABASE_URL:-}" ]; then
  psql -q "$DATABASE_URL" -c 'VACUUM ANALYZE'
fi

CSR_BIND=127.0.0.1:$PORT RUST_LOG=warn "$BIN" serve >"$DIR/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break
  sleep 0.2
done
token=$(curl -fs "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$CSR_ADMIN_EMAIL\",\"password\":\"$CSR_ADMIN_PASSWORD\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

echo "| figure | p50 | max |"
echo "|---|---:|---:|"
for figure in "funnel?industry=$INDUSTRY" "funnel?industry=$INDUSTRY&group_by=province" \
  "scores?industry=$INDUSTRY" "criteria?industry=$INDUSTRY" "levels?industry=$INDUSTRY" \
  "trends?industry=$INDUSTRY" "funnel?group_by=section" "scores"; do
  for _ in $(seq 1 "$REPEAT"); do
    curl -fs -o /dev/null -w '%{time_total}\n' -H "authorization: Bearer $token" \
      "http://127.0.0.1:$PORT/api/v1/stats/$figure"
  done | sort -n | awk -v f="$figure" '{ t[NR] = $1 * 1000 }
    END { printf "| `%s` | %.1f ms | %.1f ms |\n", f, t[int((NR + 1) / 2)], t[NR] }'
done
