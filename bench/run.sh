#!/usr/bin/env bash
# Gatehouse load benchmark: every figure is a ratio measured in this one run.
#
#   bench/run.sh            full run (3 x 5 s of load per phase, 1,000,000 seeded users/sessions)
#   bench/run.sh --quick    smoke run (3 x 2 s of load per phase, 100,000 seeded rows)
#   bench/run.sh --keep     keep the logs, databases and wrk/oha output (prints where)
#   bench/run.sh --mint     only the token-minting phases 1a and 1b (~1 min)
#   bench/run.sh --pages    only the hosted-pages phase 5 (~1 min)
#
# The server runs pinned to one core (SERVER_CPU, default 1), the load generator to the
# other (LOAD_CPU, default 0); the raw-operation baselines (examples/raw_ops.rs) run
# single-threaded on the server's core, interleaved with the load slices. See
# docs/PERFORMANCE.md for what each phase measures. Needs 2+ cores, Linux, and installs
# what is missing (wrk, curl, jq, sqlite3 from Debian; oha into bench/.tools). Not run in CI.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

QUICK=0
KEEP=0
MINT_ONLY=0
PAGES_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --keep) KEEP=1 ;;
    --mint) MINT_ONLY=1 ;;
    --pages) PAGES_ONLY=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

if [[ $QUICK == 1 ]]; then
  SLICE=${SLICE:-2}; SEED_ROWS=${SEED_ROWS:-100000}; RAW_SLICE=${RAW_SLICE:-1}
else
  SLICE=${SLICE:-5}; SEED_ROWS=${SEED_ROWS:-1000000}; RAW_SLICE=${RAW_SLICE:-1.5}
fi
ROUNDS=${ROUNDS:-3}                 # load slices per interleaved phase
DURATION=$((ROUNDS * SLICE))        # seconds of load per phase
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
K=${K:-64}                          # users/sessions the load cycles through
MINT_CONNS=${MINT_CONNS:-16}        # closed-loop connections for throughput phases
SIGNIN_CONNS=${SIGNIN_CONNS:-4}     # = hash_queue with hash_concurrency 1: no 429 at capacity
MEM_CONNS=${MEM_CONNS:-1000}
PAGE_RATE=${PAGE_RATE:-1000}        # requests/s of the pages phase (constant rate, oha)
PAGE_CONNS=${PAGE_CONNS:-16}
PASSWORD="bench-Horse-Battery-Staple-9"
MASTER_KEY="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
SECRET_KEY="sk_bench_0123456789abcdefghijklmnop"

# ---------------------------------------------------------------- tools and build

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

[[ $(nproc --all) -ge 2 ]] || die "needs at least 2 cores"
apt_install() {
  log "installing $* from Debian"
  (apt-get update -qq && apt-get install -y -qq "$@") >/dev/null || die "apt-get install $* failed"
}
for tool in curl jq sqlite3 wrk; do
  command -v "$tool" >/dev/null || apt_install "$tool"
done
OHA=${OHA:-"$ROOT/bench/.tools/bin/oha"}
if [[ ! -x $OHA && $MINT_ONLY == 0 ]]; then
  log "installing oha into bench/.tools (once; a few minutes)"
  cargo install oha --locked --root "$ROOT/bench/.tools" >/dev/null 2>&1 || die "cargo install oha failed"
fi

log "building --release (gatehouse, examples/raw_ops)"
cargo build --release --quiet -p gatehouse --bin gatehouse --example raw_ops
BIN="$ROOT/target/release/gatehouse"
RAW="$ROOT/target/release/examples/raw_ops"

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench.XXXXXX")
SERVER_PID=""
STARTS=0
cleanup() {
  if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [[ -n $HALT_POLL_WAS ]]; then echo "$HALT_POLL_WAS" >"$HALT_POLL_FILE" 2>/dev/null || true; fi
  if [[ $KEEP == 0 ]]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)

# Idle vCPUs. In a VM whose idle driver halts at once (cpuidle "haltpoll" with
# guest_halt_poll_ns = 0), each loopback response that finds the load generator's vCPU
# halted makes the server's core pay a hypervisor exit to wake it: ~15-30 µs of the
# server's CPU per response on a KVM guest, charged only to endpoints slow enough that the
# load generator sleeps between responses (docs/PERFORMANCE.md, "Idle vCPUs"). The run
# lets an idle vCPU poll for up to 1 ms before halting, longer than the load generator
# waits for a response in any throughput phase (an RS256 mint: 300-450 µs), and restores
# the machine's value at exit; HALT_POLL_NS=keep leaves the machine as it is.
HALT_POLL_FILE=/sys/module/haltpoll/parameters/guest_halt_poll_ns
HALT_POLL_NS=${HALT_POLL_NS:-1000000}
HALT_POLL_WAS=""
HALT_POLL_NOTE="no guest haltpoll idle driver"
if [[ -r $HALT_POLL_FILE ]]; then
  was=$(cat "$HALT_POLL_FILE")
  HALT_POLL_NOTE="guest_halt_poll_ns $was (the machine's)"
  if [[ $HALT_POLL_NS != keep && $was != "$HALT_POLL_NS" ]]; then
    if echo "$HALT_POLL_NS" >"$HALT_POLL_FILE" 2>/dev/null; then
      HALT_POLL_WAS=$was
      HALT_POLL_NOTE="guest_halt_poll_ns $HALT_POLL_NS for this run (the machine's: $was)"
    else
      HALT_POLL_NOTE="guest_halt_poll_ns $was (the machine's; could not set $HALT_POLL_NS)"
    fi
  fi
fi
log "idle vCPUs: $HALT_POLL_NOTE"

# ---------------------------------------------------------------- helpers

# start_server NAME ALGORITHM: a fresh or existing data dir $WORK/NAME; sets PUB, ADM, SERVER_PID.
start_server() {
  local name=$1 alg=$2
  mkdir -p "$WORK/$name"
  STARTS=$((STARTS + 1))
  local log="$WORK/$name.$STARTS.log"
  env GATEHOUSE_DATA_DIR="$WORK/$name" \
      GATEHOUSE_LISTEN=127.0.0.1:0 GATEHOUSE_ADMIN_LISTEN=127.0.0.1:0 \
      GATEHOUSE_PUBLIC_URL=http://127.0.0.1 \
      GATEHOUSE_MASTER_KEY="$MASTER_KEY" GATEHOUSE_SECRET_KEY="$SECRET_KEY" \
      GATEHOUSE_RATE_LIMITS__ENABLED=false GATEHOUSE_AUTH__VERIFY_EMAIL_AT_SIGN_UP=false \
      GATEHOUSE_AUTH__PASSWORD__HASH_CONCURRENCY=1 GATEHOUSE_TOKENS__ALGORITHM="$alg" \
      ${SERVER_EXTRA_ENV:-} \
      taskset -c "$SERVER_CPU" "$BIN" serve >"$log" 2>&1 &
  SERVER_PID=$!
  local i
  for i in $(seq 200); do
    if grep -q "Backend API:" "$log" 2>/dev/null; then break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; die "server $name did not start"; }
    sleep 0.05
  done
  PUB=$(grep -o 'Frontend API: http://[0-9.:]*' "$log" | sed 's/Frontend API: //')
  ADM=$(grep -o 'Backend API:  http://[0-9.:]*' "$log" | sed 's/Backend API:  //')
  [[ -n $PUB && -n $ADM ]] || die "could not read the listen addresses of $name"
  curl -sf "$PUB/healthz" >/dev/null || die "server $name is not healthy"
}

stop_server() {
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# cpu_ticks: "server_ticks core_busy_ticks" (1/100 s) of the server process and its core.
cpu_ticks() {
  local server core
  server=$(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0)
  core=$(awk -v c="cpu$SERVER_CPU" '$1 == c { print $2 + $3 + $4 + $7 + $8 }' /proc/stat)
  echo "$server $core"
}

# wrk_run MODE FILE CONNS SECONDS PATH: one closed-loop run on the load core; prints its
# JSON with the server's CPU seconds and its core's busy seconds added.
wrk_run() {
  local mode=$1 file=$2 conns=$3 seconds=$4 path=$5 s0 c0 s1 c1 out
  read -r s0 c0 < <(cpu_ticks)
  out=$(BENCH_MODE=$mode BENCH_FILE=$file BENCH_PASSWORD=$PASSWORD \
    taskset -c "$LOAD_CPU" wrk -t1 -c"$conns" -d"${seconds}s" --timeout 10s \
      -s "$ROOT/bench/wrk/gatehouse.lua" "$PUB$path" 2>&1 | tee -a "$WORK/wrk.log" |
    sed -n 's/^WRK_JSON //p')
  read -r s1 c1 < <(cpu_ticks)
  [[ -n $out ]] || die "wrk printed no result (see $WORK/wrk.log)"
  jq -c --argjson s "$(( s1 - s0 ))" --argjson c "$(( c1 - c0 ))" \
    '. + { server_cpu_s: ($s / 100), core_busy_s: ($c / 100) }' <<<"$out"
}

# raw OP SECONDS: "ops_per_wall_s ops_per_cpu_s" of one raw operation on the server core.
raw() {
  taskset -c "$SERVER_CPU" "$RAW" "$2" "$1" | tee -a "$WORK/raw.txt" | awk '{ print $2, $3 }'
}

# interleaved MODE FILE CONNS PATH OP: ROUNDS rounds of (OP raw on the server's core while
# the server idles, then SLICE seconds of load), so that a drifting machine moves both
# sides of the ratio alike. Prints the runs combined: summed counts, rps over the load
# time, the median p50 and p99 of the rounds (and the worst p99), and the raw OP's mean rates.
# OP "healthz" alternates with a GET /healthz run instead of a raw operation.
interleaved() {
  local mode=$1 file=$2 conns=$3 path=$4 op=$5 r runs="" raws=""
  for r in $(seq "$ROUNDS"); do
    if [[ $op == healthz ]]; then
      raws+=$(wrk_run get "" "$conns" "$SLICE" /healthz | jq -c '{wall: .rps, cpu: (.requests / .server_cpu_s)}')
    else
      raws+=$(raw "$op" "$RAW_SLICE" | awk '{ printf "{\"wall\":%s,\"cpu\":%s}", $1, $2 }')
    fi
    runs+=$(wrk_run "$mode" "$file" "$conns" "$SLICE" "$path")
  done
  jq -cn --argjson runs "[$(sed 's/}{/},{/g' <<<"$runs")]" \
        --argjson raws "[$(sed 's/}{/},{/g' <<<"$raws")]" '
    def median: sort | .[(length / 2 | floor)];
    ($runs | map(.requests) | add) as $n |
    ($runs | map(.seconds) | add) as $t |
    { requests: $n, seconds: $t, rps: ($n / $t),
      non2xx: ($runs | map(.non2xx) | add),
      socket_errors: ($runs | map(.socket_errors) | add),
      p50_ms: ($runs | map(.p50_ms) | median), p99_ms: ($runs | map(.p99_ms) | median),
      p99_max_ms: ($runs | map(.p99_ms) | max),
      server_cpu_s: ($runs | map(.server_cpu_s) | add),
      core_busy_s: ($runs | map(.core_busy_s) | add),
      per_cpu_s: ($n / ($runs | map(.server_cpu_s) | add)),
      raw_wall: ($raws | map(.wall) | add / length),
      raw_cpu: ($raws | map(.cpu) | add / length),
      rounds: ($runs | map(.rps | floor)),
      raw_rounds: ($raws | map(.wall | floor)) }'
}

# create_users FILE PREFIX N: users PREFIX1..N@bench.example via the Backend API.
create_users() {
  local file=$1 prefix=$2 n=$3 i email
  : >"$file"
  for i in $(seq "$n"); do
    email="$prefix$i@bench.example"
    curl -sf -X POST "$ADM/v1/users" -H "Authorization: Bearer $SECRET_KEY" \
      -H 'Content-Type: application/json' \
      -d "{\"email_address\":[\"$email\"],\"password\":\"$PASSWORD\",\"skip_password_checks\":true}" \
      >/dev/null || die "could not create user $email"
    echo "$email" >>"$file"
  done
}

# sign_in_all USERS PAIRS: one Frontend API sign-in per user, each a fresh client;
# writes "client_token session_id" lines.
sign_in_all() {
  local users=$1 pairs=$2 email headers body token sid
  : >"$pairs"
  while read -r email; do
    headers=$(mktemp); body=$(mktemp)
    curl -sf -D "$headers" -o "$body" -X POST "$PUB/v1/client/sign_ins" \
      -H 'Content-Type: application/json' \
      -d "{\"identifier\":\"$email\",\"password\":\"$PASSWORD\"}" || die "sign-in of $email failed"
    token=$(grep -i '^gatehouse-client:' "$headers" | tail -1 | cut -d' ' -f2 | tr -d '\r')
    sid=$(jq -r '.response.created_session_id' "$body")
    [[ -n $token && $sid == sess_* ]] || die "sign-in of $email returned no session"
    echo "$token $sid" >>"$pairs"
    rm -f "$headers" "$body"
  done <"$users"
}

# ratio A B: A/B with 3 decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
# verdict COND: PASS or FAIL from an awk condition.
verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
j() { jq -r "$2" <<<"$1"; }

RESULTS="$WORK/results.txt"
row() { printf '%-58s %-44s %-8s %s\n' "$1" "$2" "$3" "$4" | tee -a "$RESULTS"; }

# ---------------------------------------------------------------- 5. hosted pages

# oha_rate OUT PATH [COOKIE]: a constant PAGE_RATE GETs/s of PATH for SLICE seconds on the
# load core (per-request CSV to OUT).
oha_rate() {
  local out=$1 path=$2 cookie=${3:-}
  local args=(--no-tui -q "$PAGE_RATE" -z "${SLICE}s" -c "$PAGE_CONNS" --latency-correction
    --disable-compression -t 10s --output-format csv --redirect 0)
  if [[ -n $cookie ]]; then args+=(-H "Cookie: $cookie"); fi
  taskset -c "$LOAD_CPU" "$OHA" "${args[@]}" "$PUB$path" >"$out" 2>>"$WORK/oha.err" || true
}

# p99_of CSV STATUS_REGEX -> "count p50 p99 max" (ms) of the requests with those statuses.
p99_of() {
  awk -F, -v re="$2" 'NR > 1 && $7 ~ "^(" re ")$" { print $5 * 1000 }' "$1" | sort -g |
    awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "0 0 0 0"; exit }
      i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
      i99 = int(NR * 0.99 + 0.999); if (i99 > NR) i99 = NR
      printf "%d %.3f %.3f %.3f\n", NR, v[i50], v[i99], v[NR] }'
}

# Each page, and GET /healthz, at the same constant rate on the same server: ROUNDS rounds
# of (healthz and every page, in a rotating order), so a drifting machine moves both sides
# alike. The
# median p99 over the rounds of each page is compared with that of /healthz.
PAGE_NAMES=(sign-in sign-up verify user sign-out)
pages_phase() {
  # The seeded phase just wrote a 1+ GiB database: let its writeback finish, or the
  # pages' own small fsyncs queue behind it and the p99s measure the disk.
  sync
  sleep 2
  log "pages: server on cpu $SERVER_CPU, $PAGE_RATE req/s (oha, $PAGE_CONNS connections), $ROUNDS x ${SLICE}s each"
  start_server pages RS256
  create_users "$WORK/users_pages.txt" page 1
  sign_in_all "$WORK/users_pages.txt" "$WORK/pairs_pages.txt"
  local token sid r name path cookie
  read -r token sid <"$WORK/pairs_pages.txt"
  local signed_in="__client=$token"
  # name -> "path|cookie": the sign-in pages as a first visit, the account pages signed in.
  declare -A PAGE=(
    [sign-in]="/sign-in|"
    [sign-up]="/sign-up|"
    [verify]="/verify?__gatehouse_status=failed|"
    [user]="/user|$signed_in"
    [sign-out]="/sign-out|$signed_in"
  )
  curl -sf -o /dev/null -b "$signed_in" "$PUB/user" || die "GET /user failed for the signed-in client"
  oha_rate "$WORK/warm.csv" /sign-in
  PAGE[healthz]="/healthz|"
  local order=(healthz "${PAGE_NAMES[@]}") n i
  n=${#order[@]}
  for r in $(seq "$ROUNDS"); do
    # Each round starts one place further along, so something periodic on the machine
    # does not land on the same page in every round (the median would keep it).
    for i in $(seq 0 $((n - 1))); do
      name=${order[$(((i + r - 1) % n))]}
      IFS='|' read -r path cookie <<<"${PAGE[$name]}"
      oha_rate "$WORK/$name.$r.csv" "$path" "$cookie"
    done
  done
  stop_server
}

# median_p99 NAME: "median_p99 worst_p99 ok_count other_count" over the rounds.
median_p99() {
  local name=$1 r ps=() ok=0 other=0 n p50 p99 max
  for r in $(seq "$ROUNDS"); do
    read -r n p50 p99 max < <(p99_of "$WORK/$name.$r.csv" '200')
    ps+=("$p99"); ok=$((ok + n))
    other=$((other + $(awk -F, 'NR > 1 && $7 != "200"' "$WORK/$name.$r.csv" | wc -l)))
  done
  printf '%s\n' "${ps[@]}" | sort -g | awk -v ok="$ok" -v other="$other" \
    '{ v[NR] = $1 } END { printf "%s %s %d %d\n", v[int((NR + 1) / 2)], v[NR], ok, other }'
}

pages_report() {
  local hz hz_worst hz_ok hz_other name p99 worst ok other R
  read -r hz hz_worst hz_ok hz_other < <(median_p99 healthz)
  row "5  GET /healthz p99 at $PAGE_RATE/s (baseline)" "p99 $hz ms (worst round $hz_worst), $hz_ok ok, $hz_other other" "-" "-"
  for name in "${PAGE_NAMES[@]}"; do
    read -r p99 worst ok other < <(median_p99 "$name")
    R=$(ratio "$p99" "$hz")
    row "5  GET /$name p99 <= 2 x /healthz p99" "p99 $p99 ms (worst round $worst), $ok ok, $other other" "$R" \
      "$(verdict "$R <= 2 && $other == 0 && $ok > 0")"
  done
}

if [[ $PAGES_ONLY == 1 ]]; then
  [[ -x $OHA ]] || die "oha is needed for the pages phase"
  pages_phase
  RESULTS="$WORK/results.txt"
  row() { printf '%-58s %-52s %-8s %s\n' "$1" "$2" "$3" "$4" | tee -a "$RESULTS"; }
  echo
  echo "Gatehouse pages benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD 2>/dev/null); load average before/after: $LOAD_BEFORE / $(cut -d' ' -f1 /proc/loadavg)"
  echo "idle vCPUs: $HALT_POLL_NOTE"
  row "target" "measured" "ratio" "verdict"
  row "----" "----" "----" "----"
  pages_report
  exit 0
fi

# ---------------------------------------------------------------- 0. raw baselines

log "raw operations, single-threaded on cpu $SERVER_CPU (2 s each)"
taskset -c "$SERVER_CPU" "$RAW" 2 | tee "$WORK/raw.txt" >&2

# ---------------------------------------------------------------- 1. RS256 server, empty DB

log "RS256 server on cpu $SERVER_CPU (empty database)"
start_server rs256 RS256
sleep 1
RSS_START=$(rss_kib)
log "preparing $K users and $K signed-in clients through the Backend/Frontend APIs"
create_users "$WORK/users.txt" bench "$K"
sign_in_all "$WORK/users.txt" "$WORK/pairs.txt"

log "warm-up"
wrk_run mint "$WORK/pairs.txt" "$MINT_CONNS" 2 / >/dev/null
log "mint RS256 vs raw RSA-2048: $ROUNDS x (raw ${RAW_SLICE}s + $MINT_CONNS connections ${SLICE}s)"
MINT_RS=$(interleaved mint "$WORK/pairs.txt" "$MINT_CONNS" / rsa2048_sign)
if [[ $MINT_ONLY == 1 ]]; then stop_server; else
log "mint RS256, unloaded: 1 connection, ${DURATION}s"
MINT_RS1=$(wrk_run mint "$WORK/pairs.txt" 1 "$DURATION" /)

log "$MEM_CONNS concurrent connections minting, ${DURATION}s (sampling RSS)"
# "At rest": 7 s after the load, two housekeeping ticks, by when a server whose traffic
# fell quiet has given its free heap memory back (src/idle_memory.rs).
sleep 7
RSS_IDLE_BEFORE=$(rss_kib)
( peak=0; end=$((SECONDS + DURATION + 2))
  while [[ $SECONDS -lt $end ]]; do
    r=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
    [[ $r -gt $peak ]] && peak=$r
    echo "$peak" >"$WORK/rss_peak"; sleep 0.2
  done ) &
SAMPLER=$!
MEM_RUN=$(wrk_run mint "$WORK/pairs.txt" "$MEM_CONNS" "$DURATION" /)
wait "$SAMPLER"
RSS_PEAK=$(cat "$WORK/rss_peak")

log "sign-in vs raw argon2id: $ROUNDS x (raw ${RAW_SLICE}s + $SIGNIN_CONNS connections ${SLICE}s)"
SIGNIN=$(interleaved signin "$WORK/users.txt" "$SIGNIN_CONNS" / argon2id_verify)
log "sign-in unloaded: 1 connection, ${DURATION}s"
SIGNIN1=$(wrk_run signin "$WORK/users.txt" 1 "$DURATION" /)

CAPACITY=$(j "$SIGNIN" .rps)
OVER_RATE=$(awk -v c="$CAPACITY" 'BEGIN { printf "%d", 2 * c + 0.5 }')
# overload OUT: constant OVER_RATE sign-ins/s for DURATION with oha (bench1's identifier, a
# new client each time); writes oha's per-request CSV to OUT.
overload() {
  local body="{\"identifier\":\"bench1@bench.example\",\"password\":\"$PASSWORD\"}"
  taskset -c "$LOAD_CPU" "$OHA" --no-tui -q "$OVER_RATE" -z "${DURATION}s" -c 200 \
    --latency-correction --disable-compression -t 10s --output-format csv \
    -m POST -H 'Content-Type: application/json' -d "$body" \
    "$PUB/v1/client/sign_ins" >"$1" 2>>"$WORK/oha.err" || true
}
# overload_stats CSV STATUS_REGEX -> "count p50 p99 max" (milliseconds) for those statuses.
overload_stats() {
  # columns: request-start,DNS,DNS+dialup,Response-delay,request-duration,bytes,status
  awk -F, -v re="$2" 'NR > 1 && $7 ~ "^(" re ")$" { print $5 * 1000 }' "$1" |
    sort -g |
    awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "0 0 0 0"; exit }
      i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
      i99 = int(NR * 0.99 + 0.999); if (i99 > NR) i99 = NR
      printf "%d %.1f %.1f %.1f\n", NR, v[i50], v[i99], v[NR] }'
}
log "sign-in at 2x overload: constant $OVER_RATE req/s (oha), ${DURATION}s"
overload "$WORK/overload.csv"
read -r OK_N OK_P50 OK_P99 OK_MAX < <(overload_stats "$WORK/overload.csv" '200')
read -r REJ_N REJ_P50 REJ_P99 REJ_MAX < <(overload_stats "$WORK/overload.csv" '429|503')
OTHER_N=$(awk -F, 'NR > 1 && $7 !~ /^(200|429|503)$/' "$WORK/overload.csv" | wc -l)
sleep 7
RSS_IDLE_AFTER=$(rss_kib)
stop_server

log "the same overload with [auth.password] hash_queue = 1 (a fresh server)"
SERVER_EXTRA_ENV="GATEHOUSE_AUTH__PASSWORD__HASH_QUEUE=1" start_server rs256q1 RS256
create_users "$WORK/users_q1.txt" bench 1
overload "$WORK/overload_q1.csv"
read -r Q1_OK_N Q1_OK_P50 Q1_OK_P99 Q1_OK_MAX < <(overload_stats "$WORK/overload_q1.csv" '200')
read -r Q1_REJ_N Q1_REJ_P50 Q1_REJ_P99 Q1_REJ_MAX < <(overload_stats "$WORK/overload_q1.csv" '429|503')
stop_server
fi

# ---------------------------------------------------------------- 2. EdDSA server

log "EdDSA server on cpu $SERVER_CPU (empty database)"
start_server eddsa EdDSA
create_users "$WORK/users_ed.txt" edd 8
sign_in_all "$WORK/users_ed.txt" "$WORK/pairs_ed.txt"
wrk_run mint "$WORK/pairs_ed.txt" "$MINT_CONNS" 2 / >/dev/null
log "mint EdDSA vs GET /healthz: $ROUNDS x (healthz ${SLICE}s + mint ${SLICE}s), $MINT_CONNS connections"
MINT_ED=$(interleaved mint "$WORK/pairs_ed.txt" "$MINT_CONNS" / healthz)
stop_server

if [[ $MINT_ONLY == 1 ]]; then
  r2() { awk -v v="$1" 'BEGIN { printf "%.1f", v }'; }
  echo "idle vCPUs: $HALT_POLL_NOTE"
  for name in MINT_RS MINT_ED; do
    run=${!name}
    echo "$name: $(r2 "$(j "$run" .rps)")/s vs $(r2 "$(j "$run" .raw_wall)")/s," \
      "ratio $(ratio "$(j "$run" .rps)" "$(j "$run" .raw_wall)")," \
      "cpu ratio $(ratio "$(j "$run" .per_cpu_s)" "$(j "$run" .raw_cpu)")," \
      "server cpu per request $(awk -v c="$(j "$run" .server_cpu_s)" -v n="$(j "$run" .requests)" 'BEGIN { printf "%.1f", 1e6 * c / n }') us," \
      "non-2xx $(j "$run" .non2xx);" \
      "rounds $(j "$run" '.rounds | join(" ")') vs $(j "$run" '.raw_rounds | join(" ")')"
  done
  exit 0
fi

# ---------------------------------------------------------------- 3. RS256 server, seeded DB

log "seeded database: start once (migrations, keys), then $SEED_ROWS users and sessions by SQL"
start_server big RS256
create_users "$WORK/template.txt" template 1
stop_server
DB="$WORK/big/gatehouse.db"
[[ -f $DB ]] || die "no database at $DB"
DIGEST=$(sqlite3 "$DB" "SELECT password_digest FROM users LIMIT 1")
[[ $DIGEST == '$argon2id$'* ]] || die "template user has no argon2id digest"
NOW=$(date +%s%3N)
SEED_START=$SECONDS
sqlite3 "$DB" >/dev/null <<SQL
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
BEGIN;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $SEED_ROWS)
INSERT INTO users (id, first_name, last_name, password_digest, password_hasher,
    primary_email_address_id, created_at, updated_at)
  SELECT printf('user_0seed%022d', x), 'Seed', printf('User %d', x), '$DIGEST', 'argon2id',
    printf('idn_0seed%022d', x), $NOW - 1000 * ($SEED_ROWS - x), $NOW FROM n;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $SEED_ROWS)
INSERT INTO identifiers (id, user_id, kind, value, value_normalized, verified,
    verification_strategy, created_at, updated_at)
  SELECT printf('idn_0seed%022d', x), printf('user_0seed%022d', x), 'email_address',
    printf('seed%d@bench.example', x), printf('seed%d@bench.example', x), 1, 'admin',
    $NOW - 1000 * ($SEED_ROWS - x), $NOW FROM n;
COMMIT;
BEGIN;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $SEED_ROWS)
INSERT INTO clients (id, token_hash, last_active_session_id, last_auth_at, created_at, updated_at)
  SELECT printf('client_0seed%022d', x), printf('%064x', x), printf('sess_0seed%022d', x),
    $NOW, $NOW - 1000 * ($SEED_ROWS - x), $NOW FROM n;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $SEED_ROWS)
INSERT INTO sessions (id, client_id, user_id, status, first_factor_at, last_active_at,
    expire_at, latest_activity, created_at, updated_at)
  SELECT printf('sess_0seed%022d', x), printf('client_0seed%022d', x),
    printf('user_0seed%022d', x), 'active', $NOW, $NOW - 120000, $NOW + 7 * 86400000,
    '{"ip_address":"127.0.0.1","browser_name":"bench"}', $NOW - 1000 * ($SEED_ROWS - x), $NOW
  FROM n;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
# Seeded sessions were last active 2 minutes ago, so each records its activity (one write a
# minute) during the warm-up, as the API-made sessions of the empty run did when created.
# K clients spread evenly over the seeded ones get a known cookie value.
: >"$WORK/users_big.txt"; : >"$WORK/pairs_big.txt"; : >"$WORK/update.sql"
for i in $(seq 0 $((K - 1))); do
  x=$(( i * (SEED_ROWS / K) + SEED_ROWS / (2 * K) + 1 ))
  token="seedtoken-$x-bench-0123456789abcdef"
  hash=$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
  printf "UPDATE clients SET token_hash = '%s' WHERE id = '%s';\n" "$hash" \
    "$(printf 'client_0seed%022d' "$x")" >>"$WORK/update.sql"
  echo "$token $(printf 'sess_0seed%022d' "$x")" >>"$WORK/pairs_big.txt"
  echo "seed$x@bench.example" >>"$WORK/users_big.txt"
done
sqlite3 "$DB" ".read $WORK/update.sql"
SEED_SECONDS=$((SECONDS - SEED_START))
DB_MIB=$(mib $(( $(stat -c %s "$DB") / 1024 )))
ROWS=$(sqlite3 "$DB" "SELECT (SELECT COUNT(*) FROM users) || ' users, ' || (SELECT COUNT(*) FROM sessions) || ' sessions'")
log "seeded in ${SEED_SECONDS}s: $ROWS, $DB_MIB MiB"

start_server big RS256
wrk_run mint "$WORK/pairs_big.txt" "$MINT_CONNS" 2 / >/dev/null
log "mint RS256 (seeded): $ROUNDS x (raw ${RAW_SLICE}s + $MINT_CONNS connections ${SLICE}s)"
MINT_BIG=$(interleaved mint "$WORK/pairs_big.txt" "$MINT_CONNS" / rsa2048_sign)
log "mint RS256 (seeded), unloaded: 1 connection, ${DURATION}s"
MINT_BIG1=$(wrk_run mint "$WORK/pairs_big.txt" 1 "$DURATION" /)
log "sign-in (seeded): $ROUNDS x (raw ${RAW_SLICE}s + $SIGNIN_CONNS connections ${SLICE}s)"
SIGNIN_BIG=$(interleaved signin "$WORK/users_big.txt" "$SIGNIN_CONNS" / argon2id_verify)
log "sign-in (seeded), unloaded: 1 connection, ${DURATION}s"
SIGNIN_BIG1=$(wrk_run signin "$WORK/users_big.txt" 1 "$DURATION" /)
RSS_BIG=$(rss_kib)
stop_server

pages_phase

# ---------------------------------------------------------------- report

LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)
r2() { awk -v v="$1" 'BEGIN { printf "%.1f", v }'; }
{
  echo
  echo "Gatehouse load benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- crates 2>/dev/null || echo '+dirty')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc --all) cores; server on cpu $SERVER_CPU, load on cpu $LOAD_CPU"
  echo "load phases: $ROUNDS x ${SLICE}s interleaved with the raw operation; load average before/after: $LOAD_BEFORE / $LOAD_AFTER"
  echo "idle vCPUs: $HALT_POLL_NOTE"
  echo "ratio = requests per wall second / raw ops per wall second, both on cpu $SERVER_CPU in this run;"
  echo "cpu ratio = the same per CPU second of the server / of the raw loop (insensitive to time stolen by other processes)"
  echo
} | tee "$RESULTS"
row "target" "measured" "ratio" "verdict (cpu ratio)"
row "----" "----" "----" "----"
cpu_ratio() { ratio "$(j "$1" .per_cpu_s)" "$(j "$1" .raw_cpu)"; }

R=$(ratio "$(j "$MINT_RS" .rps)" "$(j "$MINT_RS" .raw_wall)")
row "1a mint RS256 >= 0.80 x raw RSA-2048 sign" \
  "$(r2 "$(j "$MINT_RS" .rps)")/s vs $(r2 "$(j "$MINT_RS" .raw_wall)")/s" "$R" \
  "$(verdict "$R >= 0.80 && $(j "$MINT_RS" .non2xx) == 0") ($(cpu_ratio "$MINT_RS"))"
R=$(ratio "$(j "$MINT_ED" .rps)" "$(j "$MINT_ED" .raw_wall)")
row "1b mint EdDSA >= 0.40 x GET /healthz (same server)" \
  "$(r2 "$(j "$MINT_ED" .rps)")/s vs $(r2 "$(j "$MINT_ED" .raw_wall)")/s" "$R" \
  "$(verdict "$R >= 0.40 && $(j "$MINT_ED" .non2xx) == 0") ($(cpu_ratio "$MINT_ED"))"
R=$(ratio "$CAPACITY" "$(j "$SIGNIN" .raw_wall)")
row "2a sign-in >= 0.92 x raw argon2id verify" \
  "$(r2 "$CAPACITY")/s vs $(r2 "$(j "$SIGNIN" .raw_wall)")/s" "$R" \
  "$(verdict "$R >= 0.92 && $(j "$SIGNIN" .non2xx) == 0") ($(cpu_ratio "$SIGNIN"))"
TOTAL_OVER=$((OK_N + REJ_N + OTHER_N))
row "2b 2x overload ($OVER_RATE/s): excess refused 429/503" \
  "$REJ_N refused, $OK_N admitted, $OTHER_N other" "$(ratio "$REJ_N" "$TOTAL_OVER")" \
  "$(verdict "$REJ_N > 0 && $OTHER_N == 0")"
row "2c   refusals answered within 100 ms (p99)" "p50 $REJ_P50 ms, p99 $REJ_P99 ms" "-" "$(verdict "$REJ_P99 <= 100")"
# "Admitted sign-ins keep their latency": within 2x of the unloaded figure. An admitted
# request can wait behind up to hash_queue (default 4 x hash_concurrency) others, so with
# the default queue it is expected near 5x; 2e shows hash_queue = 1.
R=$(ratio "$OK_P99" "$(j "$SIGNIN1" .p99_ms)")
row "2d   admitted p99 <= 2 x unloaded p99 (hash_queue 4)" \
  "p50 $OK_P50 / p99 $OK_P99 ms vs p50 $(j "$SIGNIN1" .p50_ms) / p99 $(j "$SIGNIN1" .p99_ms) ms" "$R" \
  "$(verdict "$R <= 2")"
R=$(ratio "$Q1_OK_P99" "$(j "$SIGNIN1" .p99_ms)")
row "2e   same with hash_queue = 1" \
  "p50 $Q1_OK_P50 / p99 $Q1_OK_P99 ms; $Q1_REJ_N refused (p99 $Q1_REJ_P99 ms), $Q1_OK_N admitted" "$R" \
  "$(verdict "$R <= 2 && $Q1_REJ_P99 <= 100")"
R=$(ratio "$(j "$SIGNIN_BIG" .p99_ms)" "$(j "$SIGNIN" .p99_ms)")
row "3a sign-in p99, $SEED_ROWS rows vs empty (<= 1.5x)" \
  "$(j "$SIGNIN_BIG" .p99_ms) ms vs $(j "$SIGNIN" .p99_ms) ms" "$R" "$(verdict "$R <= 1.5 && $(j "$SIGNIN_BIG" .non2xx) == 0")"
R=$(ratio "$(j "$SIGNIN_BIG1" .p99_ms)" "$(j "$SIGNIN1" .p99_ms)")
row "3b sign-in p99 unloaded, $SEED_ROWS rows vs empty (<= 1.5x)" \
  "$(j "$SIGNIN_BIG1" .p99_ms) ms vs $(j "$SIGNIN1" .p99_ms) ms" "$R" "$(verdict "$R <= 1.5")"
R=$(ratio "$(j "$MINT_BIG" .p99_ms)" "$(j "$MINT_RS" .p99_ms)")
row "3c mint p99, $SEED_ROWS rows vs empty (<= 1.5x)" \
  "$(j "$MINT_BIG" .p99_ms) ms vs $(j "$MINT_RS" .p99_ms) ms" "$R" "$(verdict "$R <= 1.5 && $(j "$MINT_BIG" .non2xx) == 0")"
R=$(ratio "$(j "$MINT_BIG1" .p99_ms)" "$(j "$MINT_RS1" .p99_ms)")
row "3d mint p99 unloaded, $SEED_ROWS rows vs empty (<= 1.5x)" \
  "$(j "$MINT_BIG1" .p99_ms) ms vs $(j "$MINT_RS1" .p99_ms) ms" "$R" "$(verdict "$R <= 1.5")"
RSS_IDLE=$(printf '%s\n' "$RSS_START" "$RSS_IDLE_BEFORE" "$RSS_IDLE_AFTER" | sort -n | tail -1)
row "4a RSS idle < 64 MiB (start / after mint / after all)" \
  "$(mib "$RSS_START") / $(mib "$RSS_IDLE_BEFORE") / $(mib "$RSS_IDLE_AFTER") MiB" "-" "$(verdict "$RSS_IDLE < 65536")"
row "4b RSS with $MEM_CONNS connections minting (bound 256)" \
  "peak $(mib "$RSS_PEAK") MiB, at rest after $(mib "$RSS_IDLE_AFTER") MiB ($(r2 "$(j "$MEM_RUN" .rps)")/s)" "-" \
  "$(verdict "$RSS_PEAK < 262144 && $RSS_IDLE_AFTER < 262144 && $(j "$MEM_RUN" .socket_errors) == 0 && $(j "$MEM_RUN" .non2xx) == 0")"
pages_report
{
  echo
  echo "context:"
  echo "  raw (2 s each, before the load): $(awk 'NR <= 4 { printf "%s %s/s  ", $1, $2 }' "$WORK/raw.txt")"
  echo "  server share of its core during the load: mint RS256 $(ratio "$(j "$MINT_RS" .server_cpu_s)" "$(j "$MINT_RS" .core_busy_s)"), sign-in $(ratio "$(j "$SIGNIN" .server_cpu_s)" "$(j "$SIGNIN" .core_busy_s)"), mint EdDSA $(ratio "$(j "$MINT_ED" .server_cpu_s)" "$(j "$MINT_ED" .core_busy_s)")"
  echo "  per-round rps: mint RS256 $(j "$MINT_RS" '.rounds | join(" ")'), sign-in $(j "$SIGNIN" '.rounds | join(" ")'), mint EdDSA $(j "$MINT_ED" '.rounds | join(" ")')"
  echo "  per-round baselines: rsa2048_sign $(j "$MINT_RS" '.raw_rounds | join(" ")'), argon2id_verify $(j "$SIGNIN" '.raw_rounds | join(" ")'), healthz $(j "$MINT_ED" '.raw_rounds | join(" ")')"
  echo "  server CPU per request: mint RS256 $(awk -v v="$(j "$MINT_RS" .per_cpu_s)" 'BEGIN { printf "%.0f", 1e6 / v }') us (raw sign $(awk -v v="$(j "$MINT_RS" .raw_cpu)" 'BEGIN { printf "%.0f", 1e6 / v }') us), mint EdDSA $(awk -v v="$(j "$MINT_ED" .per_cpu_s)" 'BEGIN { printf "%.0f", 1e6 / v }') us (healthz $(awk -v v="$(j "$MINT_ED" .raw_cpu)" 'BEGIN { printf "%.0f", 1e6 / v }') us), sign-in $(awk -v v="$(j "$SIGNIN" .per_cpu_s)" 'BEGIN { printf "%.1f", 1e3 / v }') ms (raw verify $(awk -v v="$(j "$SIGNIN" .raw_cpu)" 'BEGIN { printf "%.1f", 1e3 / v }') ms)"
  echo "  mint RS256 p50/p99 $(j "$MINT_RS" .p50_ms)/$(j "$MINT_RS" .p99_ms) ms at $MINT_CONNS conns, $(j "$MINT_RS1" .p50_ms)/$(j "$MINT_RS1" .p99_ms) ms at 1; mint EdDSA p50/p99 $(j "$MINT_ED" .p50_ms)/$(j "$MINT_ED" .p99_ms) ms"
  echo "  sign-in p50/p99 $(j "$SIGNIN" .p50_ms)/$(j "$SIGNIN" .p99_ms) ms at $SIGNIN_CONNS conns, $(j "$SIGNIN1" .p50_ms)/$(j "$SIGNIN1" .p99_ms) ms at 1 ($(r2 "$(j "$SIGNIN1" .rps)")/s)"
  echo "  seeded DB: $ROWS, $DB_MIB MiB, seeded in ${SEED_SECONDS}s; mint $(r2 "$(j "$MINT_BIG" .rps)")/s (ratio $(ratio "$(j "$MINT_BIG" .rps)" "$(j "$MINT_BIG" .raw_wall)")), sign-in $(r2 "$(j "$SIGNIN_BIG" .rps)")/s (ratio $(ratio "$(j "$SIGNIN_BIG" .rps)" "$(j "$SIGNIN_BIG" .raw_wall)")); RSS $(mib "$RSS_BIG") MiB"
  echo "  overload: admitted max $OK_MAX ms, refused max $REJ_MAX ms; with hash_queue = 1: admitted max $Q1_OK_MAX ms, refused max $Q1_REJ_MAX ms"
  echo "  RSS at rest after the sign-in and overload phases: $(mib "$RSS_IDLE_AFTER") MiB; seeded-DB server after its load: $(mib "$RSS_BIG") MiB"
} | tee -a "$RESULTS"
if [[ $KEEP == 1 ]]; then echo "logs and databases: $WORK" >&2; fi
