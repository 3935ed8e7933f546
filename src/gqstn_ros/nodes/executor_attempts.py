"""Bookkeeping of one `/execute_grasp` goal of the executor node: its stages and their
durations, how it ends (failed, refused, stopped), and the summaries it logs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gqstn_msgs.msg import Grasp

from gqstn_ros.grasping.top_down_plan import TopDownPlan

MOTION_STAGES = ("approaching", "descending", "closing", "lifting", "checking", "retreating")
DETECTING = "detecting"


class AttemptFailedError(Exception):
    """Ends an attempt with success false and this message."""


class AttemptRefusedError(AttemptFailedError):
    """Ends an attempt before anything moved (outcome "refused")."""


class AttemptStoppedError(AttemptFailedError):
    """Ends an attempt stopped on request: cancel, deactivate, shutdown (outcome "cancelled")."""


@dataclass
class Attempt:
    """Bookkeeping of one goal: stages entered and their durations."""

    dry_run: bool
    attempt_id: str = ""  # in the attempt log
    started: float = field(default_factory=time.monotonic)
    started_at: float = field(default_factory=time.time)
    stage: str = "planning"
    stage_started: float = field(default_factory=time.monotonic)
    durations: dict[str, float] = field(default_factory=dict)
    grasp: dict[str, Any] = field(default_factory=dict)

    def enter(self, stage: str) -> None:
        self.close_stage()
        self.stage, self.stage_started = stage, time.monotonic()

    def close_stage(self) -> None:
        self.durations[self.stage] = time.monotonic() - self.stage_started


def grasp_summary(grasp: Grasp) -> dict[str, Any]:
    """`grasp` as the attempt log records it."""
    p, q = grasp.pose.position, grasp.pose.orientation
    return {
        "frame": grasp.header.frame_id,
        "stamp": grasp.header.stamp.sec + grasp.header.stamp.nanosec * 1e-9,
        "position": [p.x, p.y, p.z],
        "quaternion_xyzw": [q.x, q.y, q.z, q.w],
        "width": float(grasp.width),
        "planner": grasp.planner,
        "q_value": float(grasp.q_value),
    }


def describe_plan(plan: TopDownPlan) -> str:
    """The plan's waypoints and opening, in words (metres, millimetres)."""

    def xyz(pose: np.ndarray) -> str:
        return "(" + ", ".join(f"{v:.3f}" for v in pose[:3]) + ")"

    return (
        f"pre-grasp {xyz(plan.pre_grasp)}, grasp {xyz(plan.grasp)}, lift {xyz(plan.lift)}, "
        f"opening {plan.opening * 1000:.1f} mm"
    )
