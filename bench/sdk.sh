#!/usr/bin/env bash
# SDK verification benchmark: gatehouse-sdk's verify_token against the raw RSA-2048
# verify of aws-lc-rs, Node `jose` and Python `PyJWT` on the same token, all on one core
# (SDK_CPU, default 1), in one run; plus the cache and allocations in steady state.
#
#   bench/sdk.sh                 3 rounds of 2 s per contender
#   BENCH_SECONDS=5 bench/sdk.sh longer rounds
#
# Installs what is missing: the pinned `jose` (benches/peers), Debian's python3-jwt.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! /usr/bin/python3 -c 'import jwt, cryptography' >/dev/null 2>&1; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-jwt python3-cryptography >/dev/null
fi
(cd crates/gatehouse-sdk/benches/peers && [ -d node_modules/jose ] || npm ci --no-audit --no-fund --loglevel=error)

cargo bench -p gatehouse-sdk --bench verify --no-run
echo "node $(node --version), PyJWT $(/usr/bin/python3 -c 'import jwt; print(jwt.__version__)'), CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
taskset -c "${SDK_CPU:-1}" cargo bench -p gatehouse-sdk --bench verify
