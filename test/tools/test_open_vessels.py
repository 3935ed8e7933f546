"""benchmarks/open_vessels.py: its vessels are wider than the stroke, the same for a seed."""

from __future__ import annotations

import numpy as np

from ros_test_support import load_benchmark_script


def test_vessels_are_wider_than_the_stroke_and_the_same_for_a_seed() -> None:
    script = load_benchmark_script("open_vessels")
    stroke = 0.085
    for seed in range(script.FIRST_SEED, script.FIRST_SEED + 6):
        model = script.vessel(seed, stroke)
        vertices = np.asarray(model.vertices)
        np.testing.assert_array_equal(vertices, script.vessel(seed, stroke).vertices)
        extent = vertices.max(axis=0) - vertices.min(axis=0)
        assert min(extent[0], extent[1]) > stroke  # no pair spans it: only a pinch fits
        assert model.mass > 0 and 0.02 < extent[2] < 0.08
