"""Calibrated q: a GQ-CNN probability mapped to the chance that the grasp lifts.

A GQ-CNN's q is trained against a label; on objects and cameras it never saw it is rarely the
probability that the grasp holds when executed. `QCalibration` is Platt scaling on the logit:
q' = sigmoid(slope * logit(q) + intercept), fitted by maximum likelihood on (q, lifted) pairs
of executed grasps (the generalization benchmark's MuJoCo lifts) from object families and
cameras kept apart from the ones it is then reported on. It is monotonic, so it never changes
which of two grasps ranks higher; it changes what `robust` (q' >= the threshold) means.

Stored as JSON beside the models (`models/<planner>_q_calibration.json`):
``{"slope": a, "intercept": b, "fitted_on": {...what data, which command...}}``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

# q is clipped to [Q_EPSILON, 1 - Q_EPSILON] before its logit (q = 0 or 1 are finite evidence).
Q_EPSILON = 1e-4
_RIDGE = 1.0  # L2 weight on (slope - 1, intercept), about one grasp's evidence: keeps a fit
# finite on separable data and when every q is the same (slope and intercept then trade)


def _logit(q: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(q, dtype=np.float64), Q_EPSILON, 1.0 - Q_EPSILON)
    return np.log(q) - np.log1p(-q)


@dataclass(frozen=True)
class QCalibration:
    """q' = sigmoid(slope * logit(q) + intercept); the identity is slope 1, intercept 0."""

    slope: float = 1.0
    intercept: float = 0.0
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("slope", "intercept"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"q calibration {name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"q calibration {name} must be finite, got {value}")
        if self.slope < 0:
            raise ValueError(
                f"q calibration slope must be >= 0 (a negative slope reverses the ranking), "
                f"got {self.slope}"
            )

    def apply(self, q: np.ndarray | float) -> np.ndarray:
        """Calibrated q, same shape as `q`."""
        z = self.slope * _logit(q) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    @classmethod
    def fit(
        cls, q: np.ndarray, lifted: np.ndarray, fitted_on: dict[str, Any] | None = None
    ) -> QCalibration:
        """Maximum-likelihood Platt scaling of q against lift outcomes (with a weak prior at the
        identity, `_RIDGE`)."""
        x = _logit(np.asarray(q, dtype=np.float64).reshape(-1))
        y = np.asarray(lifted, dtype=np.float64).reshape(-1)
        if x.shape != y.shape or x.size < 2:
            raise ValueError(f"fit needs as many q as outcomes, at least 2; got {x.size}, {y.size}")
        prior = np.array([1.0, 0.0])

        def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
            z = weights[0] * x + weights[1]
            # -log-likelihood, stable: log(1 + e^z) - y z; its gradient uses sigmoid(z).
            value = np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * _RIDGE * np.sum(
                (weights - prior) ** 2
            )
            residual = 0.5 * (1.0 + np.tanh(0.5 * z)) - y
            gradient = np.array([residual @ x, residual.sum()]) + _RIDGE * (weights - prior)
            return float(value), gradient

        weights = minimize(loss, prior, jac=True, method="L-BFGS-B").x
        slope = max(float(weights[0]), 0.0)
        return cls(slope, float(weights[1]), dict(fitted_on or {}))

    def to_dict(self) -> dict[str, Any]:
        return {"slope": self.slope, "intercept": self.intercept, "fitted_on": self.fitted_on}

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path | str) -> QCalibration:
        """The calibration in a JSON file; ValueError naming the file and what is wrong."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ValueError(f"q calibration file {path} does not exist") from None
        except json.JSONDecodeError as error:
            raise ValueError(f"q calibration file {path} is not valid JSON: {error}") from None
        if not isinstance(data, dict) or not {"slope", "intercept"} <= set(data):
            raise ValueError(f"q calibration file {path} needs the fields slope and intercept")
        unknown = set(data) - {"slope", "intercept", "fitted_on"}
        if unknown:
            raise ValueError(f"q calibration file {path}: unknown fields {sorted(unknown)}")
        try:
            return cls(data["slope"], data["intercept"], dict(data.get("fitted_on") or {}))
        except ValueError as error:
            raise ValueError(f"q calibration file {path}: {error}") from None


# The key of `QCalibration.fitted_on` that names the GQ-CNN checkpoint whose q was fitted
# ('' = the networks' own head), as the inference node's judge_model parameter.
JUDGE_MODEL_KEY = "judge_model"


def q_calibration_path(folder: Path | str, planner: str) -> Path:
    """Where planner `planner`'s calibration lives in a folder: <planner>_q_calibration.json."""
    return Path(folder) / f"{planner}_q_calibration.json"


def load_q_calibrations(
    folder: Path | str,
    planners: Iterable[str],
    judge_model: str | None = None,
    models_dir: Path | str | None = None,
) -> dict[str, QCalibration]:
    """planner -> its calibration, for each of `planners` with a file in `folder` (a planner
    without one keeps its raw q). ValueError names a missing folder or a bad file, and, when
    `judge_model` is given ('' = the networks' own GQ-CNN head), a calibration fitted on q from
    another judge (its `fitted_on[JUDGE_MODEL_KEY]`; a file without it is not checked). With
    `models_dir`, judges are compared as the files they name there (a relative name is inside
    it, so `gqcnn_judge.pt` and its absolute path are the same judge)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"q calibration folder {folder} does not exist")
    calibrations = {
        name: QCalibration.load(q_calibration_path(folder, name))
        for name in planners
        if q_calibration_path(folder, name).is_file()
    }

    def same_judge(fitted: str, used: str) -> bool:
        if models_dir is None or not fitted or not used:
            return fitted == used
        return (Path(models_dir) / fitted).resolve() == (Path(models_dir) / used).resolve()

    for name, calibration in calibrations.items():
        fitted_judge = calibration.fitted_on.get(JUDGE_MODEL_KEY)
        if (
            judge_model is not None
            and fitted_judge is not None
            and not same_judge(fitted_judge, judge_model)
        ):
            raise ValueError(
                f"{q_calibration_path(folder, name)} was fitted on q judged by "
                f"{_judge_name(fitted_judge)}, but q here is judged by {_judge_name(judge_model)}"
            )
    return calibrations


def _judge_name(judge_model: str) -> str:
    return judge_model or "the networks' own GQ-CNN head"


def expected_calibration_error(q: np.ndarray, lifted: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of q as the lift probability, over `bins` equal-width bins."""
    q = np.asarray(q, dtype=np.float64).reshape(-1)
    lifted = np.asarray(lifted, dtype=np.float64).reshape(-1)
    index = np.minimum((q * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        inside = index == b
        if inside.any():
            error += inside.mean() * abs(q[inside].mean() - lifted[inside].mean())
    return float(error)
