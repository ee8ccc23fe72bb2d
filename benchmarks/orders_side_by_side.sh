#!/bin/bash
# benchmarks/orders.py for a base commit and for the working tree, one after the other in one
# process tree, with the load average before, between and after:
#     benchmarks/orders_side_by_side.sh [BASE_COMMIT] [orders.py options]
# The base is extracted with `git archive` into a temporary directory and run with this tree's
# venv (orders.py puts its own checkout first on PYTHONPATH for the servers it starts).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE=${1:-HEAD}
shift || true
ARGS=("$@")
if [ ${#ARGS[@]} -eq 0 ]; then
    ARGS=(--workers 1 --endpoints orders --seconds 20)
fi
PY="$ROOT/.venv/bin/python"
BEFORE=$(mktemp -d)
trap 'rm -rf "$BEFORE"' EXIT
git -C "$ROOT" archive "$BASE" | tar -x -C "$BEFORE"
echo "== $(date -u +%H:%M:%S) $(uptime)"
echo "== BEFORE ($BASE)"
(cd "$BEFORE" && "$PY" benchmarks/orders.py "${ARGS[@]}")
echo "== $(date -u +%H:%M:%S) $(uptime)"
echo "== AFTER (working tree)"
(cd "$ROOT" && "$PY" benchmarks/orders.py "${ARGS[@]}")
echo "== $(date -u +%H:%M:%S) $(uptime)"
