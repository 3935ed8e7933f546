#!/usr/bin/env bash
# The main job. Today: the synthetic grasp world end to end (objects settled by MuJoCo, the
# simulated Kinect, inpainting, antipodal sampling, physical robustness labels), one scene per
# object family, with figures; it becomes the simulated physical benchmark (Table II) once the
# networks and nodes land. Extra arguments go to the tool (see --help).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup_env.sh"
cd "$ROOT"
exec "${GQSTN_VENV:-$ROOT/.venv}/bin/python" -m gqstn_ros.tools.world_preview "$@"
