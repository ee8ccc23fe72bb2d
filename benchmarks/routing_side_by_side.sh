#!/bin/bash
# Routing before and after, one after the other in one process tree (so both see the same
# machine): the index and the decision benchmarks at BASE (a commit, exported with git archive
# into a temporary directory) and at the working tree, with the load average between runs.
#
#     benchmarks/routing_side_by_side.sh [BASE=cdecd36] [DB_FILE=/tmp/routing400k.db]
#
# The decision benchmark of the working tree also runs its SQLite part (DB_FILE is kept and
# reused: building it takes minutes) and decides every destination both ways (full scan and
# bounded) itself.
set -euo pipefail
BASE=${1:-cdecd36}
DB_FILE=${2:-/tmp/routing400k.db}
NEW=$(cd "$(dirname "$0")/.." && pwd)
PY="$NEW/.venv/bin/python"
OLD=$(mktemp -d /tmp/routing-base-XXXXXX)
trap 'rm -rf "$OLD"' EXIT
git -C "$NEW" archive "$BASE" | tar -x -C "$OLD"
echo "== start $(date -u) | $(uptime)"
echo "== routing_index BEFORE ($BASE)"; (cd "$OLD" && "$PY" -m benchmarks.routing_index --skip-load --queries 3000)
echo "== $(uptime)"
echo "== routing_index AFTER"; (cd "$NEW" && "$PY" -m benchmarks.routing_index --skip-load --queries 3000)
echo "== $(uptime)"
echo "== routing_decision BEFORE ($BASE, pure)"; (cd "$OLD" && "$PY" -m benchmarks.routing_decision --skip-db --queries 2000 --max-other-cpu 5)
echo "== $(uptime)"
echo "== routing_decision AFTER (pure + SQLite)"
(cd "$NEW" && "$PY" -m benchmarks.routing_decision --queries 2000 --db-queries 1000 --max-other-cpu 5 --db-file "$DB_FILE")
echo "== end $(date -u) | $(uptime)"
