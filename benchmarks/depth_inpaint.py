"""Per-frame cost of depth inpainting on a 640x480 Kinect-like frame, reduced vs full resolution.

Usage: .venv/bin/python benchmarks/depth_inpaint.py [--frames 200]
Prints median / p99 milliseconds per frame for each scale, their ratio to full resolution, and
the fill error against the hole-free frame.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from gqstn_ros.depth_processing import InpaintConfig, inpaint_depth, invalid_mask


def kinect_like_frame(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(clean, with holes): table at 0.7 m, two boxes, 3 % dropout plus shadow bands."""
    rng = np.random.default_rng(seed)
    cols = np.mgrid[0:480, 0:640][1]
    clean = (0.70 + 0.00005 * cols).astype(np.float32)
    for _ in range(2):
        top, left = rng.integers(80, 350), rng.integers(80, 500)
        clean[top : top + 80, left : left + 60] -= rng.uniform(0.03, 0.12)
    noisy = clean.copy()
    noisy[rng.random(clean.shape) < 0.03] = 0.0
    edges = cv2.Canny((clean * 1000).astype(np.uint16).astype(np.uint8), 1, 2) > 0
    shadow = cv2.dilate(edges.astype(np.uint8), np.ones((3, 7), np.uint8)) > 0
    noisy[shadow] = 0.0
    return clean, noisy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    frames = [kinect_like_frame(seed) for seed in range(8)]
    results: dict[float, np.ndarray] = {}
    print(f"{'scale':>6} {'median ms':>10} {'p99 ms':>8} {'x full-res':>10} {'fill MAE mm':>12}")
    for scale in (1.0, 0.5, 0.25):
        config = InpaintConfig(scale=scale)
        times, errors = [], []
        for index in range(args.frames):
            clean, noisy = frames[index % len(frames)]
            start = time.perf_counter()
            filled = inpaint_depth(noisy, config)
            times.append(time.perf_counter() - start)
            holes = invalid_mask(noisy)
            errors.append(float(np.abs(filled[holes] - clean[holes]).mean()))
        results[scale] = np.array(times) * 1e3
        median = np.median(results[scale])
        ratio = median / np.median(results[1.0])
        print(
            f"{scale:>6.2f} {median:>10.2f} {np.percentile(results[scale], 99):>8.2f} "
            f"{ratio:>10.2f} {np.mean(errors) * 1e3:>12.2f}"
        )


if __name__ == "__main__":
    main()
