"""Checks shared by the dataclass configs: one wording for every refused value."""

from __future__ import annotations

from typing import Any


def require_non_negative(config: Any, *field_names: str) -> None:
    """Raise ValueError naming the first of `field_names` of `config` that is negative or NaN."""
    for name in field_names:
        value = getattr(config, name)
        if not value >= 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
