"""Field checks of the simulated world's configuration dataclasses: each raises ValueError
naming the field and what it must be."""

from __future__ import annotations

import numpy as np


def require(condition: bool, field_name: str, message: str) -> None:
    if not condition:
        raise ValueError(f"{field_name}: {message}")


def finite_positive(field_name: str, value: float) -> None:
    require(
        bool(np.isfinite(value)) and value > 0,
        field_name,
        f"must be a positive finite number, got {value}",
    )


def finite_non_negative(field_name: str, value: float) -> None:
    require(
        bool(np.isfinite(value)) and value >= 0,
        field_name,
        f"must be a non-negative finite number, got {value}",
    )


def probability(field_name: str, value: float) -> None:
    require(0.0 <= value <= 1.0, field_name, f"must be in [0, 1], got {value}")
