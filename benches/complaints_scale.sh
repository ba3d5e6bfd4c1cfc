#!/usr/bin/env bash
# Complaint figures at scale: seeds synthetic enterprises with complaints (no self-assessments),
# starts the release server on loopback and times, with curl, one enterprise's quarterly
# measures (a different enterprise each request) and the complaint statistics of one industry,
# by province, and of the whole country.
#
#   benches/complaints_scale.sh                     # SQLite under /tmp/csr-complaints, 100,000 × 20
#   ENTERPRISES=10000 benches/complaints_scale.sh   # a smaller run
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/csr_complaints benches/complaints_scale.sh
#
# Seeding is skipped when DIR records that it was done (delete DIR, and drop the PostgreSQL
# database, to start again). Prints a Markdown table: p50 and maximum of REPEAT requests each.
set -euo pipefail

ENTERPRISES=${ENTERPRISES:-100000}
PER_ENTERPRISE=${PER_ENTERPRISE:-20}
REPEAT=${REPEAT:-21}
DIR=${DIR:-/tmp/csr-complaints}
PORT=${PORT:-18182}
INDUSTRY=${INDUSTRY:-C14}
BIN=${CARGO_TARGET_DIR:-target}/release/csr-assess

cargo build --release --locked --quiet
mkdir -p "$DIR"
export CSR_DATA_DIR="$DIR"
export CSR_ADMIN_EMAIL=bench-admin@example.com CSR_ADMIN_PASSWORD='bench admin password 1'

marker="$DIR/.seeded-$ENTERPRISES-$PER_ENTERPRISE${DATABASE_URL:+-pg}"
if [ ! -f "$marker" ]; then
  start=$(date +%s)
  "$BIN" seed-demo --enterprises "$ENTERPRISES" --submissions-per-enterprise 0 \
    --complaints-per-enterprise "$PER_ENTERPRISE"
  echo "seeded in $(( $(date +%s) - start )) s" >&2
  touch "$marker"
fi
if [ -n "${DATABASE_URL:-}" ]; then
  psql -q "$DATABASE_URL" -c 'VACUUM ANALYZE'
fi

CSR_BIND=127.0.0.1:$PORT CSR_COMPLAINT_SWEEP_SECS=0 RUST_LOG=warn "$BIN" serve >"$DIR/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break
  sleep 0.2
done
token=$(curl -fs "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$CSR_ADMIN_EMAIL\",\"password\":\"$CSR_ADMIN_PASSWORD\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
quarter=$(date -u +%Y)Q$(( ($(date -u +%-m) - 1) / 3 + 1 ))

time_it() { # label, then one path per line on stdin
  local label=$1
  while read -r path; do
    curl -fs -o /dev/null -w '%{time_total}\n' -H "authorization: Bearer $token" \
      "http://127.0.0.1:$PORT/api/v1/$path"
  done | sort -n | awk -v f="$label" '{ t[NR] = $1 * 1000 }
    END { printf "| `%s` | %.1f ms | %.1f ms |\n", f, t[int((NR + 1) / 2)], t[NR] }'
}

echo "| request | p50 | max |"
echo "|---|---:|---:|"
for i in $(seq 1 "$REPEAT"); do
  echo "enterprises/$(( (i * 4799) % ENTERPRISES + 1 ))/complaint-measures?quarter=$quarter"
done | time_it "enterprises/{id}/complaint-measures?quarter=$quarter"
for figure in "complaints?industry=$INDUSTRY" "complaints?industry=$INDUSTRY&group_by=province" \
  "complaints?group_by=section" "complaints"; do
  for _ in $(seq 1 "$REPEAT"); do echo "stats/$figure"; done | time_it "stats/$figure"
done
