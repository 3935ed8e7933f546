"""The rectangle metric of section V-B, in the view's pixels.

A grasp (x, y, theta, s) in the view is the rectangle centred at the grasp, its long side the
jaw opening w = s / CROP_TO_WIDTH (the paper's w = s / 3) along theta, its height h = w / 5
(the fingertips). A prediction is correct when some ground-truth rectangle of the same image
has an angle difference below 30 degrees and a Jaccard index above 0.25.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from gqstn_ros.preprocessing import CROP_TO_WIDTH

JACCARD_THRESHOLD = 0.25
ANGLE_THRESHOLD = math.radians(30.0)
HEIGHT_OVER_WIDTH = 1.0 / 5.0


def view_rectangles(params: np.ndarray, view_size: int) -> np.ndarray:
    """(N, 4) [x, y, theta, s] -> (N, 5) [cu, cv, width, height, theta] in view pixels."""
    params = np.asarray(params, dtype=np.float64).reshape(-1, 4)
    centers = (params[:, :2] + 1.0) / 2.0 * view_size
    widths = params[:, 3] / CROP_TO_WIDTH * view_size
    return np.column_stack([centers, widths, widths * HEIGHT_OVER_WIDTH, params[:, 2]])


def angle_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| for grasp axes (period pi), in [0, pi/2]."""
    diff = np.mod(np.asarray(a) - np.asarray(b), math.pi)
    return np.minimum(diff, math.pi - diff)


def jaccard(first: np.ndarray, second: np.ndarray) -> float:
    """Jaccard index of two rotated rectangles [cu, cv, width, height, theta]."""
    a = ((first[0], first[1]), (first[2], first[3]), math.degrees(first[4]))
    b = ((second[0], second[1]), (second[2], second[3]), math.degrees(second[4]))
    area_a, area_b = first[2] * first[3], second[2] * second[3]
    if area_a <= 0 or area_b <= 0:
        return 0.0
    status, points = cv2.rotatedRectangleIntersection(a, b)
    if status == cv2.INTERSECT_NONE or points is None:
        return 0.0
    hull = cv2.convexHull(points, returnPoints=True)
    intersection = float(cv2.contourArea(hull))
    return intersection / (area_a + area_b - intersection)


def rectangle_correct(prediction: np.ndarray, ground_truth: np.ndarray, view_size: int) -> bool:
    """prediction (4,) and ground_truth (M, 4) as [x, y, theta, s]: the rectangle metric."""
    if len(ground_truth) == 0:
        return False
    predicted = view_rectangles(prediction, view_size)[0]
    truths = view_rectangles(ground_truth, view_size)
    close = angle_difference(truths[:, 4], predicted[4]) < ANGLE_THRESHOLD
    return any(jaccard(predicted, truth) > JACCARD_THRESHOLD for truth in truths[close])
