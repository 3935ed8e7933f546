#!/usr/bin/env bash
# The main job: the simulated physical benchmark (the paper's Table II) end to end through the
# real nodes: MuJoCo UR5 + Robotiq 2F-85 + Kinect, depth, inference and fallback nodes, each in
# its own process, with GQ-STN, MultiGrasp and Prop+GQ-CNN (weights from models/), and the
# default pipeline (a /detect_grasp request naming no planner, as a user's).
#
#   scripts/bench.sh                 quick run: 12 objects x 1 trial x 4 methods (48 attempts)
#   scripts/bench.sh --full          the paper's 180 attempts (12 objects x 5 trials x 3 methods)
#                                    and the default pipeline's 60 on the same scenes
#   scripts/bench.sh --preview       the synthetic grasp world preview (gqstn_ros.tools.world_preview)
#   scripts/bench.sh --clutter       clear the table: a pile of 5 unseen objects per method, picked
#                                    until the table is empty or 3 failures in a row
#                                    (--objects N, --piles K: N objects per pile, K piles;
#                                    results in runs/clutter)
#   scripts/bench.sh --clutter --targets named
#                                    the same piles, every pick naming one object by its mask
#                                    (the simulated world's segmentation); reports how often the
#                                    lifted object is the named one (--targets after-failure:
#                                    name an object only after a failed pick)
#
# Other arguments go to the tool (see `python -m gqstn_ros.tools.benchmark --help`); results,
# node logs and every attempt's depth frames are written to runs/benchmark unless --output says.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup_env.sh"
cd "$ROOT"
PYTHON="${GQSTN_VENV:-$ROOT/.venv}/bin/python"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

mode=quick
args=()
for arg in "$@"; do
  case "$arg" in
    --full) mode=full ;;
    --preview) mode=preview ;;
    --clutter) mode=clutter ;;
    *) args+=("$arg") ;;
  esac
done

case "$mode" in
  preview) exec "$PYTHON" -m gqstn_ros.tools.world_preview "${args[@]+"${args[@]}"}" ;;
  # --quick: 5 objects per pile unless --objects says (one pile unless --piles says).
  clutter) exec "$PYTHON" -m gqstn_ros.tools.benchmark --clutter --quick "${args[@]+"${args[@]}"}" ;;
  full) exec "$PYTHON" -m gqstn_ros.tools.benchmark --trials 5 "${args[@]+"${args[@]}"}" ;;
  *) exec "$PYTHON" -m gqstn_ros.tools.benchmark --quick "${args[@]+"${args[@]}"}" ;;
esac
