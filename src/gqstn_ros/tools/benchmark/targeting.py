"""Which object a clutter pick names: client-side target policies over a segmentation of the
frame, through `/detect_grasp`'s public `target_mask` (no ROS here).

A segmentation is an (H, W) integer image of the depth frame a request sends: 0 on the
background, label k > 0 on the pixels where object k is seen; an object keeps its label from
frame to frame (the benchmark takes the simulated world's `/sim/segmentation`; a user's own
segmentation must match its objects between frames, by overlap for instance). An object is
visible when at least `min_pixels` pixels carry its label; the most exposed object is the one
with the most visible pixels.

Policies (`TARGET_POLICIES`):

- "any": every request names no target (`/detect_grasp` picks any object), as before targets
  existed. A planner that sees the same frame returns the same grasp, so after a miss that left
  the pile as it was it tries the same grasp again.
- "named": every request names one visible object by its mask: the most exposed object that
  has not failed since the last successful pick; when every visible object has, the one whose
  last failure is the oldest (so a failed object is tried again later, and after a successful
  pick, which changes the pile, every object is a candidate again).
- "after-failure": a request names no target until a pick fails; from then until a pick
  succeeds each request names, as "named" does, the most exposed object that has not failed
  since the last success.
- "avoid-failed": a request names no target; when the grasp it returns is on an object that
  failed since the last success, that grasp is not executed and the request is sent again
  naming, as "named" does, the most exposed object that has not failed (`retarget`). After a
  refusal of an untargeted request the next request names an object straight away.

The object an untargeted grasp is on is the one under the grasp's centre pixel in the
segmentation of the frame it was planned on, or the nearest labelled pixel when the centre is
on the background.

A pick counts as failed for the policy whatever stopped it (refusal, miss, slip); a pick that
lifted an object, the named one or not, is a success.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

TARGET_POLICIES = ("any", "named", "after-failure", "avoid-failed")
ANY_OBJECT = 0  # the label of "no target": /detect_grasp picks any object
# An object with fewer visible pixels than this is not named (a sliver under another object:
# the node answers "target not visible" below 5 measured pixels above the table, and the
# sensor leaves some pixels of a sliver without depth).
MIN_TARGET_PIXELS = 50


def visible_objects(
    labels: np.ndarray, min_pixels: int = MIN_TARGET_PIXELS
) -> list[tuple[int, int]]:
    """(label, visible pixels) of every object of the segmentation `labels` with at least
    `min_pixels` pixels, the most exposed first (ties: the lower label first)."""
    values, counts = np.unique(np.asarray(labels), return_counts=True)
    seen = [
        (int(label), int(count))
        for label, count in zip(values, counts, strict=True)
        if label != ANY_OBJECT and count >= min_pixels
    ]
    return sorted(seen, key=lambda item: (-item[1], item[0]))


def object_aimed_at(labels: np.ndarray, center_px: Sequence[float]) -> int:
    """The label of the object a grasp centred at (u, v) `center_px` is on: the label of its
    pixel, or of the nearest labelled pixel when that pixel is background; ANY_OBJECT when the
    segmentation labels no pixel."""
    labels = np.asarray(labels)
    height, width = labels.shape
    u = int(np.clip(np.floor(float(center_px[0]) + 0.5), 0, width - 1))
    v = int(np.clip(np.floor(float(center_px[1]) + 0.5), 0, height - 1))
    if labels[v, u] != ANY_OBJECT:
        return int(labels[v, u])
    rows, cols = np.nonzero(labels != ANY_OBJECT)
    if rows.size == 0:
        return ANY_OBJECT
    nearest = int(np.argmin((rows - v) ** 2 + (cols - u) ** 2))
    return int(labels[rows[nearest], cols[nearest]])


def target_mask(labels: np.ndarray, label: int) -> np.ndarray:
    """(H, W) uint8 `target_mask` of object `label`: 255 on its pixels, 0 elsewhere."""
    return np.where(np.asarray(labels) == label, 255, 0).astype(np.uint8)


@dataclass
class TargetPolicy:
    """One pile's target policy (see the module docstring): `choose` the label the next
    request names, then `record` how the pick went."""

    policy: str = "any"
    min_pixels: int = MIN_TARGET_PIXELS
    # label -> rank of the pick in which it last failed, since the last successful pick
    failed: dict[int, int] = field(default_factory=dict)
    failures_since_success: int = 0
    last_refused: bool = False  # the last pick failed before a grasp was returned
    picks: int = 0

    def __post_init__(self) -> None:
        if self.policy not in TARGET_POLICIES:
            raise ValueError(
                f"target policy must be one of {', '.join(TARGET_POLICIES)}, got {self.policy!r}"
            )
        if self.min_pixels < 1:
            raise ValueError(f"min_pixels must be at least 1, got {self.min_pixels}")

    @property
    def needs_segmentation(self) -> bool:
        """False for "any": its requests never name an object."""
        return self.policy != "any"

    def choose(self, labels: np.ndarray | None) -> int:
        """The label the next request names (ANY_OBJECT: no target), from the segmentation of
        the frame it sends; ANY_OBJECT when no object is visible in it."""
        if self.policy == "any" or labels is None:
            return ANY_OBJECT
        if self.policy == "after-failure" and self.failures_since_success == 0:
            return ANY_OBJECT
        if self.policy == "avoid-failed" and not self.last_refused:
            return ANY_OBJECT
        return self._most_exposed_not_failed(labels)

    def retarget(self, labels: np.ndarray | None, aimed: int) -> int:
        """ "avoid-failed": the label to ask for again instead of executing an untargeted grasp
        on object `aimed` (ANY_OBJECT: execute it): another object when `aimed` failed since
        the last success and another visible object is left to name."""
        if self.policy != "avoid-failed" or labels is None or aimed not in self.failed:
            return ANY_OBJECT
        other = self._most_exposed_not_failed(labels)
        return other if other != aimed else ANY_OBJECT

    def _most_exposed_not_failed(self, labels: np.ndarray) -> int:
        """The most exposed visible object that has not failed since the last success; when
        every one has, the one whose last failure is the oldest; ANY_OBJECT when none is
        visible."""
        candidates = visible_objects(labels, self.min_pixels)
        if not candidates:
            return ANY_OBJECT
        fresh = [label for label, _ in candidates if label not in self.failed]
        if fresh:
            return fresh[0]
        return min((label for label, _ in candidates), key=lambda label: self.failed[label])

    def record(self, success: bool, target: int, aimed: int) -> None:
        """How the pick went: `target` the label it named (ANY_OBJECT: none), `aimed` the
        label its grasp was on (ANY_OBJECT when it returned no grasp or the frame shows no
        object). A success forgets every failure; a failure marks the named object, or the one
        the grasp was on when none was named."""
        if success:
            self.failed.clear()
            self.failures_since_success = 0
        else:
            self.failures_since_success += 1
            marked = target if target != ANY_OBJECT else aimed
            if marked != ANY_OBJECT:
                self.failed[marked] = self.picks
        self.last_refused = not success and target == ANY_OBJECT and aimed == ANY_OBJECT
        self.picks += 1
