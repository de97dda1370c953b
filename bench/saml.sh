#!/usr/bin/env bash
# SAML response verification at the ACS vs one raw RSA-2048 verify, on one core (SAML_CPU, default 1), in one run (BENCH_SECONDS per round, default 1).
set -euo pipefail; cd "$(dirname "${BASH_SOURCE[0]}")/.." && cargo bench -p gatehouse --bench saml --no-run && echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD)" && exec taskset -c "${SAML_CPU:-1}" cargo bench -p gatehouse --bench saml
