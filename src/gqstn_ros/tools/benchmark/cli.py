"""The simulated physical benchmark (the paper's Table II) through the real node graph.

The command line of `python -m gqstn_ros.tools.benchmark` (see the package docstring): the
arguments become a BenchmarkConfig; `--replay FILE.npz` re-scores a kept attempt without ROS.
With `--clutter` it runs the clear-the-table benchmark instead (`clutter`): `--objects N` per
pile, `--piles K`, `--quick` for 5 objects and one pile per method, `--targets POLICY` for the
object each request names by mask (`targeting`: any, named, after-failure, avoid-failed).
Exit status: 0 when the run finished, 1 when the node graph did not come up, 130 when
interrupted (Ctrl-C or SIGTERM; the results so far are written).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from gqstn_ros.planner_registry import (
    OWN_HEAD,
    SHIPPED_JUDGE_MODEL,
    SYMMETRIC_VIEW_COUNTS,
)
from gqstn_ros.sim.benchmark_objects import BENCHMARK_OBJECT_NAMES
from gqstn_ros.tools.benchmark.clutter import (
    DEFAULT_CLUTTER_OBJECTS,
    MAX_CONSECUTIVE_FAILURES,
    QUICK_CLUTTER_OBJECTS,
    ClutterConfig,
)
from gqstn_ros.tools.benchmark.clutter_runner import run_clutter
from gqstn_ros.tools.benchmark.report import json_ready, replay_attempt
from gqstn_ros.tools.benchmark.runner import run_benchmark
from gqstn_ros.tools.benchmark.scenario import (
    DEFAULT_METHODS,
    DEFAULT_PIPELINE,
    METHOD_NAMES,
    QUICK_TRIALS,
    BenchmarkConfig,
)
from gqstn_ros.tools.benchmark.targeting import TARGET_POLICIES

METHODS_HELP = (
    "planners, each named in every /detect_grasp request with the fallback disabled; "
    f"{DEFAULT_PIPELINE}: a request naming none, answered by the inference node's default "
    "pipeline (of GQ-STN's, the minor-axis and Prop+GQ-CNN's grasps, one that can be carried "
    "out first, then the one the judge rates higher)"
)


def add_node_graph_options(parser: argparse.ArgumentParser, output: Path, seed_help: str) -> None:
    """The options every run through the node graph takes: output folder, models, seed,
    backend, symmetric views and judge."""
    parser.add_argument("--output", type=Path, default=output)
    parser.add_argument("--models", type=Path, default=None, help="default: the package's models")
    parser.add_argument("--seed", type=int, default=0, help=seed_help)
    parser.add_argument("--backend", default="torch", choices=("torch", "onnxruntime"))
    parser.add_argument(
        "--symmetric-views",
        type=int,
        default=BenchmarkConfig.symmetric_views,
        choices=SYMMETRIC_VIEW_COUNTS,
        help="GQ-STN and MultiGrasp run on this many quarter-turned and mirrored copies of the "
        "view, keeping the grasp GQ-CNN rates highest (1: the paper's single pass)",
    )
    parser.add_argument(
        "--judge-model",
        default="",
        help="GQ-CNN checkpoint that judges GQ-STN's and MultiGrasp's grasps (q, robust label, "
        "choice among symmetric views), as the launch file's judge_model: '' = the inference "
        f"node's default ({SHIPPED_JUDGE_MODEL}); {OWN_HEAD} = their own heads, as in the "
        "paper; relative: inside --models",
    )


def node_graph_fields(options: argparse.Namespace) -> dict:
    """The BenchmarkConfig fields of the options `add_node_graph_options` declares, with the
    methods and camera rate both run kinds take."""
    return {
        "methods": tuple(options.methods),
        "output_dir": options.output,
        "models_dir": options.models,
        "seed": options.seed,
        "model_backend": options.backend,
        "symmetric_views": options.symmetric_views,
        "judge_model": options.judge_model,
        "camera_rate_hz": options.camera_rate,
    }


def argument_parser() -> argparse.ArgumentParser:
    """The benchmark's arguments (defaults as BenchmarkConfig's)."""
    parser = argparse.ArgumentParser(
        prog="python -m gqstn_ros.tools.benchmark",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--objects", nargs="+", default=["all"], help="'all' or benchmark object names"
    )
    parser.add_argument("--trials", type=int, default=5, help="trials per object and method")
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(DEFAULT_METHODS),
        choices=METHOD_NAMES,
        help=METHODS_HELP,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_TRIALS} trial per object and method (the default of scripts/bench.sh)",
    )
    add_node_graph_options(parser, Path("runs/benchmark"), "base seed of the scenes")
    parser.add_argument(
        "--camera-rate", type=float, default=BenchmarkConfig.camera_rate_hz, help="frames/s"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--replay", type=Path, default=None, help="re-score a kept attempt")
    return parser


def clutter_argument_parser() -> argparse.ArgumentParser:
    """The clutter benchmark's arguments (`--clutter`)."""
    parser = argparse.ArgumentParser(
        prog="python -m gqstn_ros.tools.benchmark --clutter",
        description="Clear the table: piles of unseen objects picked through the real nodes",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--clutter", action="store_true", required=True)
    parser.add_argument(
        "--objects",
        type=int,
        default=None,
        help=f"objects per pile (default {DEFAULT_CLUTTER_OBJECTS}; "
        f"{QUICK_CLUTTER_OBJECTS} with --quick)",
    )
    parser.add_argument("--piles", type=int, default=1, help="piles, each cleared by every method")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_CLUTTER_OBJECTS} objects per pile unless --objects says (scripts/bench.sh)",
    )
    parser.add_argument(
        "--max-failures",
        type=int,
        default=MAX_CONSECUTIVE_FAILURES,
        help="a pile stops after this many failed attempts in a row",
    )
    parser.add_argument(
        "--targets",
        default="any",
        choices=TARGET_POLICIES,
        help="the object each /detect_grasp request names by a mask cut from the simulated "
        "world's segmentation of the frame: any (no target), named (every request names the "
        "most exposed object that has not failed since the last successful pick), "
        "after-failure (no target until a pick fails, then named until one succeeds), "
        "avoid-failed (no target, but a grasp on an object that failed since the last success is "
        "not executed: the request goes again naming another object)",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(DEFAULT_METHODS),
        choices=METHOD_NAMES,
        help=METHODS_HELP,
    )
    add_node_graph_options(parser, Path("runs/clutter"), "base seed of the piles")
    parser.add_argument(
        "--camera-rate", type=float, default=BenchmarkConfig.camera_rate_hz, help="frames/s"
    )
    parser.add_argument("--no-progress", action="store_true", help="accepted, no effect")
    return parser


def parse_clutter_config(argv: Sequence[str]) -> ClutterConfig:
    """The clutter run that `argv` asks for (exits with status 2 and the reason if invalid)."""
    parser = clutter_argument_parser()
    options = parser.parse_args(argv)
    if options.models is None:
        from gqstn_ros.planner_registry import default_models_dir  # noqa: PLC0415

        options.models = default_models_dir()
    if options.objects is None:
        options.objects = QUICK_CLUTTER_OBJECTS if options.quick else DEFAULT_CLUTTER_OBJECTS
    try:
        return ClutterConfig(
            objects=options.objects,
            piles=options.piles,
            max_consecutive_failures=options.max_failures,
            targets=options.targets,
            base=BenchmarkConfig(
                **node_graph_fields(options),
                show_progress=False,
            ),
        )
    except ValueError as error:
        parser.error(str(error))
        raise  # parser.error exits


def parse_config(argv: Sequence[str]) -> tuple[BenchmarkConfig, argparse.Namespace]:
    """The configuration that `argv` asks for, and the parsed options (exits with status 2 and
    the reason on invalid arguments)."""
    parser = argument_parser()
    options = parser.parse_args(argv)
    objects = BENCHMARK_OBJECT_NAMES if options.objects == ["all"] else tuple(options.objects)
    if options.models is None:
        from gqstn_ros.planner_registry import default_models_dir  # noqa: PLC0415

        options.models = default_models_dir()
    try:
        config = BenchmarkConfig(
            objects=objects,
            trials=QUICK_TRIALS if options.quick else options.trials,
            **node_graph_fields(options),
            show_progress=not options.no_progress,
        )
    except ValueError as error:
        parser.error(str(error))
        raise  # parser.error exits
    return config, options


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if "--clutter" in arguments:
        return _run(lambda: run_clutter(parse_clutter_config(arguments)))
    config, options = parse_config(arguments)
    if options.replay is not None:
        print(json.dumps(json_ready(replay_attempt(options.replay)), indent=2))
        return 0
    return _run(lambda: run_benchmark(config))


def _run(benchmark: Callable[[], object]) -> int:
    """The exit status of a run (see the module docstring)."""
    try:
        benchmark()
    except KeyboardInterrupt:
        return 130
    except RuntimeError as error:  # the graph did not come up
        print(f"benchmark: {error}", file=sys.stderr, flush=True)
        return 1
    return 0
