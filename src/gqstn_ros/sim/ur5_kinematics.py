"""UR5 kinematics: standard Denavit-Hartenberg model, forward and analytic inverse kinematics.

The parameters are Universal Robots' published DH table of the (CB-series) UR5. Joint angles
are radians, lengths metres; frame 0 is the robot's `base_link` as the controller reports it
(z up, the shoulder pan axis), frame 6 the tool flange. The inverse kinematics is the closed
form of Hawkins ("Analytic Inverse Kinematics for the Universal Robots UR-5/UR-10 Arms", 2013):
up to 8 solutions (shoulder left/right x wrist up/down x elbow up/down). A pose no solution
reaches within the joint limits raises `UnreachablePose`, as the controller refuses it.

Poses in the UR convention are (x, y, z, rx, ry, rz): position and an axis-angle rotation
vector (pose6); `geometry.pose6_to_matrix` / `geometry.matrix_to_pose6` convert them to (4, 4)
homogeneous transforms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Tolerance on cosines / sines just outside [-1, 1] from rounding (dimensionless).
_TRIG_TOLERANCE = 1e-9
# |sin(theta5)| below this: the wrist is singular, theta6 is then free (kept at its current value).
_WRIST_SINGULAR_SIN = 1e-8


class UnreachablePose(ValueError):  # noqa: N818 - the name the controller's refusal goes by
    """No joint configuration within the limits reaches the pose."""


@dataclass(frozen=True)
class DHParameters:
    """Standard DH table (a_i, d_i, alpha_i) of a 6-joint UR arm; defaults: the UR5."""

    d: tuple[float, ...] = (0.089159, 0.0, 0.0, 0.10915, 0.09465, 0.0823)  # m
    a: tuple[float, ...] = (0.0, -0.425, -0.39225, 0.0, 0.0, 0.0)  # m
    alpha: tuple[float, ...] = (math.pi / 2, 0.0, 0.0, math.pi / 2, -math.pi / 2, 0.0)  # rad

    def __post_init__(self) -> None:
        for name in ("d", "a", "alpha"):
            values = getattr(self, name)
            if len(values) != 6 or not all(math.isfinite(v) for v in values):
                raise ValueError(f"dh.{name}: must be 6 finite numbers, got {values}")


UR5_DH = DHParameters()


@dataclass(frozen=True)
class UR5Config:
    """The arm: DH table, joint limits (rad) and the tool centre point on the flange.

    tcp_offset: the TCP's position in the flange frame (m), its axes those of the flange (UR's
    "TCP" setting with zero rotation): z = out of the flange (the approach direction).
    """

    dh: DHParameters = UR5_DH
    joint_lower: tuple[float, ...] = (-2 * math.pi,) * 6
    joint_upper: tuple[float, ...] = (2 * math.pi,) * 6
    tcp_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        lower, upper = np.asarray(self.joint_lower), np.asarray(self.joint_upper)
        if lower.shape != (6,) or upper.shape != (6,):
            raise ValueError("joint_lower / joint_upper: must have 6 values each")
        if not np.all(np.isfinite(lower) & np.isfinite(upper)) or np.any(upper <= lower):
            raise ValueError(
                f"joint_upper: must exceed joint_lower joint by joint, got {upper} vs {lower}"
            )
        offset = np.asarray(self.tcp_offset, dtype=np.float64)
        if offset.shape != (3,) or not np.all(np.isfinite(offset)):
            raise ValueError(f"tcp_offset: must be 3 finite numbers, got {self.tcp_offset}")


# ---------------------------------------------------------------------------- kinematics
def dh_transform(theta: float, d: float, a: float, alpha: float) -> np.ndarray:
    """(4, 4) standard DH link transform Rz(theta) Tz(d) Tx(a) Rx(alpha)."""
    ct, st = math.cos(theta), math.sin(theta)
    ca, sa = math.cos(alpha), math.sin(alpha)
    return np.array(
        [
            [ct, -st * ca, st * sa, a * ct],
            [st, ct * ca, -ct * sa, a * st],
            [0.0, sa, ca, d],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )


def _inverse_transform(matrix: np.ndarray) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3] = matrix[:3, :3].T
    out[:3, 3] = -matrix[:3, :3].T @ matrix[:3, 3]
    return out


def _safe_acos(value: float) -> float | None:
    if abs(value) > 1.0 + _TRIG_TOLERANCE:
        return None
    return math.acos(max(-1.0, min(1.0, value)))


class UR5Kinematics:
    """Forward and inverse kinematics of the TCP of a UR arm (see the module docstring)."""

    def __init__(self, config: UR5Config | None = None) -> None:
        self.config = config or UR5Config()
        self._lower = np.asarray(self.config.joint_lower, dtype=np.float64)
        self._upper = np.asarray(self.config.joint_upper, dtype=np.float64)
        self._tool = np.eye(4)
        self._tool[:3, 3] = self.config.tcp_offset
        self._tool_inverse = _inverse_transform(self._tool)

    def _link(self, index: int, theta: float) -> np.ndarray:
        dh = self.config.dh
        return dh_transform(theta, dh.d[index], dh.a[index], dh.alpha[index])

    def flange_transform(self, joints: np.ndarray) -> np.ndarray:
        """(4, 4) flange pose in the base frame for joint angles (6,)."""
        q = self._check_joints(joints)
        out = np.eye(4)
        for index in range(6):
            out = out @ self._link(index, q[index])
        return out

    def forward(self, joints: np.ndarray) -> np.ndarray:
        """(4, 4) TCP pose in the base frame for joint angles (6,)."""
        return self.flange_transform(joints) @ self._tool

    def within_limits(self, joints: np.ndarray) -> bool:
        q = np.asarray(joints, dtype=np.float64)
        return bool(np.all(q >= self._lower) and np.all(q <= self._upper))

    def inverse(self, tcp_pose: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
        """(n, 6) joint solutions reaching the (4, 4) TCP pose, 1 <= n <= 8, nearest first.

        Every angle is the 2-pi multiple within the joint limits nearest to `reference` (6,)
        (default zeros). Raises UnreachablePose when no solution exists within the limits.
        """
        target = np.asarray(tcp_pose, dtype=np.float64)
        if target.shape != (4, 4) or not np.all(np.isfinite(target)):
            raise ValueError(f"tcp pose must be a finite (4, 4) transform, got {target.shape}")
        ref = np.zeros(6) if reference is None else self._check_joints(reference)
        raw = self._closed_form(target @ self._tool_inverse, ref[5])
        if not raw:
            distance = float(np.linalg.norm(target[:3, 3]))
            raise UnreachablePose(
                f"no UR5 joint configuration reaches the TCP position "
                f"{np.round(target[:3, 3], 4).tolist()} ({distance:.3f} m from the base)"
            )
        solutions = []
        for angles in raw:
            wrapped = self._wrap_into_limits(np.asarray(angles), ref)
            if wrapped is not None:
                solutions.append(wrapped)
        if not solutions:
            raise UnreachablePose(
                f"every UR5 solution for the TCP position {np.round(target[:3, 3], 4).tolist()} "
                f"violates the joint limits"
            )
        array = np.array(solutions)  # (n, 6)
        order = np.argsort(np.abs(array - ref).max(axis=1) + 1e-3 * np.abs(array - ref).sum(1))
        return array[order]

    def nearest(self, tcp_pose: np.ndarray, current: np.ndarray) -> np.ndarray:
        """(6,) the solution reaching the TCP pose closest to the `current` joints."""
        return self.inverse(tcp_pose, current)[0]

    # ------------------------------------------------------------------------------------
    def _check_joints(self, joints: np.ndarray) -> np.ndarray:
        q = np.asarray(joints, dtype=np.float64).reshape(-1)
        if q.shape != (6,) or not np.all(np.isfinite(q)):
            raise ValueError(f"joints must be 6 finite angles (rad), got {joints}")
        return q

    def _wrap_into_limits(self, angles: np.ndarray, reference: np.ndarray) -> np.ndarray | None:
        turns = np.round((reference - angles) / (2 * math.pi))
        wrapped = angles + 2 * math.pi * turns
        for index in range(6):
            value = wrapped[index]
            # The nearest multiple may lie outside the limits: try the neighbours.
            candidates = [value, value - 2 * math.pi, value + 2 * math.pi]
            inside = [c for c in candidates if self._lower[index] <= c <= self._upper[index]]
            if not inside:
                return None
            wrapped[index] = min(inside, key=lambda c, r=reference[index]: abs(c - r))
        return wrapped

    def _closed_form(self, flange: np.ndarray, theta6_free: float) -> list[list[float]]:
        """Hawkins' closed form for the flange pose (4, 4): up to 8 angle lists in (-pi, pi]."""
        dh = self.config.dh
        d4, d6 = dh.d[3], dh.d[5]
        a2, a3 = dh.a[1], dh.a[2]
        wrist = flange @ np.array([0.0, 0.0, -d6, 1.0])  # frame 5 origin, (4,)
        radius = math.hypot(wrist[0], wrist[1])
        if radius < abs(d4):
            return []  # the wrist centre lies inside the shoulder cylinder
        psi = math.atan2(wrist[1], wrist[0])
        phi = math.acos(d4 / radius)
        base_inverse = _inverse_transform(flange)
        x60, y60 = base_inverse[:3, 0], base_inverse[:3, 1]
        solutions: list[list[float]] = []
        for theta1 in (psi + phi + math.pi / 2, psi - phi + math.pi / 2):
            s1, c1 = math.sin(theta1), math.cos(theta1)
            theta5_abs = _safe_acos((flange[0, 3] * s1 - flange[1, 3] * c1 - d4) / d6)
            if theta5_abs is None:
                continue
            for theta5 in (theta5_abs, -theta5_abs):
                s5 = math.sin(theta5)
                if abs(s5) < _WRIST_SINGULAR_SIN:
                    theta6 = theta6_free
                else:
                    theta6 = math.atan2(
                        (-x60[1] * s1 + y60[1] * c1) / s5, (x60[0] * s1 - y60[0] * c1) / s5
                    )
                t14 = (
                    _inverse_transform(self._link(0, theta1))
                    @ flange
                    @ _inverse_transform(self._link(4, theta5) @ self._link(5, theta6))
                )
                p13 = (t14 @ np.array([0.0, -d4, 0.0, 1.0]))[:3]
                reach = float(np.linalg.norm(p13))
                theta3_abs = _safe_acos((reach**2 - a2**2 - a3**2) / (2 * a2 * a3))
                if theta3_abs is None or reach < 1e-12:
                    continue
                for theta3 in (theta3_abs, -theta3_abs):
                    sine = max(-1.0, min(1.0, a3 * math.sin(theta3) / reach))
                    theta2 = math.atan2(-p13[1], -p13[0]) + math.asin(sine)
                    t34 = _inverse_transform(self._link(1, theta2) @ self._link(2, theta3)) @ t14
                    theta4 = math.atan2(t34[1, 0], t34[0, 0])
                    angles = [theta1, theta2, theta3, theta4, theta5, theta6]
                    solutions.append([math.remainder(a, 2 * math.pi) for a in angles])
        # Reject numerically bad branches (reach exactly at a boundary): check by FK.
        good = []
        for angles in solutions:
            check = np.eye(4)
            for index in range(6):
                check = check @ self._link(index, angles[index])
            if np.allclose(check, flange, atol=1e-6):
                good.append(angles)
        return good


# Flange to the centre between the gripper's pads (m): coupling + gripper body + half pad
# length of a Robotiq 2F-85 on the flange.
GRIPPER_TCP_OFFSET = 0.15


def default_tcp_config() -> UR5Config:
    """UR5 with the TCP between the fingertip pads of a Robotiq 2F-85 on the flange."""
    return UR5Config(tcp_offset=(0.0, 0.0, GRIPPER_TCP_OFFSET))
