#!/usr/bin/env bash
# Runs the whole test suite (after setting up the environment if needed). Extra arguments go to
# pytest, e.g. `scripts/test.sh -m "not slow"` or `scripts/test.sh test/interfaces -x`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup_env.sh"
cd "$ROOT"
exec "${GQSTN_VENV:-$ROOT/.venv}/bin/python" -m pytest "$@"
