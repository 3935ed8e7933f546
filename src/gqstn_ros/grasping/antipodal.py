"""Antipodal grasp candidates for top-down parallel-jaw grasps, as in Dex-Net 2.0.

Two samplers:

* `sample_antipodal_mesh` works on the true 3-D mesh (dataset labels): area-uniform surface
  points whose normal's horizontal part lies in the friction cone; a horizontal closing line
  drawn into the object from each, inside the cone; the exit point of that line is the second
  contact, kept when its normal is also in the cone (antipodal with friction) and the contact
  distance fits the stroke. Grasp depth is the contact height.
* `sample_antipodal_depth` works on a depth image (inference-time proposals, Prop+GQ-CNN):
  depth-gradient edges on the object side (gradient of the depth smoothed by a 1-pixel
  Gaussian, as Dex-Net 2.0, so that sensor noise makes no edges), their image normals, a march
  into the object along a line inside the friction cone to the first edge pixel whose normal
  faces back along the line, stroke check in metres, and the gripper depth sampled below the
  contact surface, no deeper than the surface under the open jaws' finger pads allows. With
  the wall test on (`AntipodalConfig.wall_drop`), a line also ends where the surface falls off
  a thin wall (a bowl's rim), and that pinch opens wider than its contacts. Optionally
  restricted to a pixel window (`roi`); `sample_antipodal_depth_with_report` also says what
  became of the lines tried (no facing edge, too wide, too narrow, too shallow).

Both are vectorized over candidates and deterministic for a given numpy Generator / seed. They
return up to `n` grasps (fewer if the oversampled candidates do not contain enough).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.geometry import wrap_angle
from gqstn_ros.grasping.mesh_geometry import TriangleMesh
from gqstn_ros.gripper import GripperConfig, default_gripper
from gqstn_ros.validation import require_non_negative

WALL_DROP = 0.004  # m: the fall that ends a line on a thin wall, when the test is on
# (`AntipodalConfig.wall_drop`; Prop+GQ-CNN's proposals)


@dataclass(frozen=True)
class AntipodalConfig:
    """Parameters shared by both samplers (metres, radians)."""

    friction_coef: float = 0.5  # mu of the antipodality test (Dex-Net 2.0 used 0.5)
    opening_margin: float = 0.01  # m per jaw: the jaws open to contact distance + 2 * margin
    # (clipped to the stroke), so that small pose errors do not land a finger on the object
    min_clearance: float = 0.002  # m per jaw: contact distance must be <= stroke - 2 * this
    oversample: int = 6  # candidate surface points / edge pixels per requested grasp
    # Mesh sampler: lowest grasp centre above the table (fingertips reach 5 mm below it).
    min_center_height: float = 0.006
    # Depth sampler.
    depth_gradient_threshold: float = 0.003  # m per pixel: depth edges (central difference)
    depth_offset_min: float = 0.005  # m below the contact surface: shallowest gripper depth
    depth_offset_max: float = 0.025  # m below the contact surface: deepest gripper depth
    fingertip_below_center: float = 0.005  # m, fingertips reach this far below the grasp depth
    background_probe_px: int = 3  # pixels outside a contact where the table depth is read
    # Thin walls (the rim of a bowl, pan or tray): a march line whose surface falls this far
    # below the highest point it has crossed, within `max_wall_thickness` of its start, ends
    # there, whether or not the fall is steep enough to make a depth edge. Such a pinch opens
    # to a random width between the wall plus the margins and the stroke, so that the inner
    # finger can reach down into the vessel. 0 (default) turns the wall test off, as the
    # datasets' depth grasps were generated; Prop+GQ-CNN turns it on (`WALL_DROP`). The test
    # cannot tell a thin wall from a solid whose top slopes down from an edge at a like angle
    # (a wedge): GQ-CNN ranks both.
    wall_drop: float = 0.0  # m, of the Gaussian-smoothed depth
    max_wall_thickness: float = 0.012  # m

    def __post_init__(self) -> None:
        if not self.friction_coef > 0:
            raise ValueError(
                f"friction_coef must be > 0 for antipodal grasps, got {self.friction_coef}"
            )
        if self.oversample < 1:
            raise ValueError(f"oversample must be >= 1, got {self.oversample}")
        if not 0 <= self.depth_offset_min <= self.depth_offset_max:
            raise ValueError(
                "depth offsets must satisfy 0 <= depth_offset_min <= depth_offset_max, got "
                f"{self.depth_offset_min}, {self.depth_offset_max}"
            )
        require_non_negative(
            self,
            "opening_margin",
            "min_clearance",
            "min_center_height",
            "depth_gradient_threshold",
            "fingertip_below_center",
            "wall_drop",
            "max_wall_thickness",
        )

    @property
    def cone_half_angle(self) -> float:
        return float(np.arctan(self.friction_coef))


@dataclass(frozen=True)
class MeshGraspCandidates:
    """N top-down grasps in the world frame.

    centers: (N, 3) m; axes: (N, 3) horizontal unit jaw axes (contact 0 -> contact 1);
    widths: (N,) jaw openings, m; contacts: (N, 2, 3) m; normals: (N, 2, 3) outward unit.
    """

    centers: np.ndarray
    axes: np.ndarray
    widths: np.ndarray
    contacts: np.ndarray
    normals: np.ndarray

    def __len__(self) -> int:
        return len(self.centers)


@dataclass(frozen=True)
class ImageGraspCandidates:
    """N top-down grasps in the depth image (fields of `Grasp2D`, as arrays).

    centers_px: (N, 2) (u, v); angles: (N,) rad in (-pi/2, pi/2]; widths_px: (N,) jaw
    openings in pixels at the grasp depth; depths: (N,) m; contacts_px: (N, 2, 2) (u, v).
    """

    centers_px: np.ndarray
    angles: np.ndarray
    widths_px: np.ndarray
    depths: np.ndarray
    contacts_px: np.ndarray

    def __len__(self) -> int:
        return len(self.centers_px)

    def subset(self, keep: np.ndarray) -> ImageGraspCandidates:
        """The candidates at `keep` (a boolean mask or indices)."""
        return ImageGraspCandidates(
            centers_px=np.asarray(self.centers_px)[keep],
            angles=np.asarray(self.angles)[keep],
            widths_px=np.asarray(self.widths_px)[keep],
            depths=np.asarray(self.depths)[keep],
            contacts_px=np.asarray(self.contacts_px)[keep],
        )


def _check_count(n: int) -> None:
    if int(n) != n or n < 0:
        raise ValueError(f"number of grasps must be a non-negative integer, got {n}")


def _opening(distance: np.ndarray, gripper: GripperConfig, config: AntipodalConfig) -> np.ndarray:
    return np.minimum(distance + 2.0 * config.opening_margin, gripper.max_width)


def sample_antipodal_mesh(
    vertices: np.ndarray,
    faces: np.ndarray,
    T_world_object: np.ndarray,  # noqa: N803 (transform naming convention)
    gripper: GripperConfig | None = None,
    n: int = 100,
    rng: np.random.Generator | int | None = None,
    config: AntipodalConfig | None = None,
) -> MeshGraspCandidates:
    """Up to n antipodal top-down grasps on a mesh (object frame) resting at T_world_object,
    within the stroke of `gripper` (None: `gripper.default_gripper()`, as for every sampler)."""
    transform = np.asarray(T_world_object, dtype=np.float64)
    if transform.shape != (4, 4):
        raise ValueError(f"T_world_object must be 4x4, got {transform.shape}")
    mesh = TriangleMesh(vertices, faces).transformed(transform)
    return sample_antipodal_on_mesh(mesh, gripper, n, rng, config)


def sample_antipodal_on_mesh(
    mesh: TriangleMesh,
    gripper: GripperConfig | None = None,
    n: int = 100,
    rng: np.random.Generator | int | None = None,
    config: AntipodalConfig | None = None,
) -> MeshGraspCandidates:
    """`sample_antipodal_mesh` for a mesh already in world coordinates."""
    _check_count(n)
    gripper = gripper if gripper is not None else default_gripper()
    config = config or AntipodalConfig()
    rng = np.random.default_rng(rng)
    count = n * config.oversample
    points, normals = mesh.sample_surface(count, rng)
    cone = config.cone_half_angle
    turn = rng.uniform(-cone, cone, count)
    horizontal = normals[:, :2]
    horizontal_norm = np.linalg.norm(horizontal, axis=1)
    usable = horizontal_norm > 1e-9
    # Points on horizontal faces (vertical normals) get an arbitrary direction; they fail the
    # cone test below.
    inward = np.where(
        usable[:, None], -horizontal / np.where(usable, horizontal_norm, 1.0)[:, None], [1.0, 0.0]
    )
    c, s = np.cos(turn), np.sin(turn)
    closing = np.column_stack(
        [c * inward[:, 0] - s * inward[:, 1], s * inward[:, 0] + c * inward[:, 1], np.zeros(count)]
    )
    cos_cone = np.cos(cone)
    usable &= np.einsum("ij,ij->i", -normals, closing) > cos_cone
    hits = mesh.intersect_rays(points, closing, max_distance=gripper.max_width, min_distance=1e-7)
    usable &= hits.hit
    exit_normal = np.where(hits.hit[:, None], hits.normal, 0.0)
    usable &= np.einsum("ij,ij->i", exit_normal, closing) > cos_cone
    distance = np.where(hits.hit, hits.distance, np.inf)
    usable &= distance <= gripper.max_width - 2.0 * config.min_clearance
    usable &= distance > gripper.min_width
    keep = np.flatnonzero(usable)[:n]
    contacts = np.stack([points[keep], hits.point[keep]], axis=1)
    centers = contacts.mean(axis=1)
    centers[:, 2] = np.maximum(centers[:, 2], config.min_center_height)
    return MeshGraspCandidates(
        centers=centers,
        axes=closing[keep],
        widths=_opening(distance[keep], gripper, config),
        contacts=contacts,
        normals=np.stack([normals[keep], hits.normal[keep]], axis=1),
    )


def _validate_depth(depth_m: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
    depth_m = np.asarray(depth_m)
    if depth_m.ndim != 2:
        raise ValueError(f"depth image must be 2-D (H, W), got shape {depth_m.shape}")
    if depth_m.shape != (intrinsics.height, intrinsics.width):
        raise ValueError(
            f"depth image is {depth_m.shape[1]}x{depth_m.shape[0]}, "
            f"camera is {intrinsics.width}x{intrinsics.height}"
        )
    if not np.issubdtype(depth_m.dtype, np.floating):
        raise ValueError(f"depth image must be float metres, got dtype {depth_m.dtype}")
    return depth_m.astype(np.float64)


@dataclass(frozen=True)
class DepthSamplingReport:
    """What became of the march lines of one `sample_antipodal_depth` call (counts).

    Every line tried ends in exactly one of the five outcomes. `too_wide` also holds the lines
    with no facing edge within the stroke whose facing edge a longer march found: that check
    runs only when no grasp was accepted, to tell an object wider than the stroke from one
    without antipodal pairs.
    """

    edge_pixels: int  # object-side depth edge pixels in the searched region
    lines: int  # march lines tried (edge pixel, direction inside the friction cone)
    no_opposite: int  # no edge facing back along the line within the stroke
    too_wide: int  # contact distance beyond stroke - 2 * min_clearance
    too_narrow: int  # contact distance <= the gripper's closed width
    too_shallow: int  # the table lies too close below the contacts for the fingers
    accepted: int  # lines that gave a grasp (the first n of them are returned)
    wall_pinches: int = 0  # of the grasps returned, those pinching a thin wall

    @property
    def rejected(self) -> int:
        return self.no_opposite + self.too_wide + self.too_narrow + self.too_shallow


_GRADIENT_SIGMA_PX = 1.0  # Gaussian smoothing before the depth gradient (Dex-Net 2.0: 1 px)


@dataclass(frozen=True)
class _EdgeField:
    """Depth edges of the searched region (a window of the image), flattened for gathers.

    depth: (h, w) metres, invalid pixels filled with the farthest valid depth; smooth: (h, w)
    that depth smoothed by the gradient's Gaussian; grad_u/v: (h * w,) its gradient;
    normal_u/v: (h * w,) outward image normals (towards increasing depth), zero below the
    gradient threshold; edge: (h * w,) bool, object-side edge pixels; edge_index: (E,) flat
    indices of the edge pixels; origin: (u, v) of the window's top-left pixel in the image.
    """

    depth: np.ndarray
    smooth: np.ndarray
    grad_u: np.ndarray
    grad_v: np.ndarray
    normal_u: np.ndarray
    normal_v: np.ndarray
    edge: np.ndarray
    edge_index: np.ndarray
    origin: tuple[int, int]

    @property
    def shape(self) -> tuple[int, int]:
        return self.depth.shape


def _search_window(
    roi: tuple[int, int, int, int] | None, height: int, width: int
) -> tuple[slice, slice]:
    if roi is None:
        return slice(0, height), slice(0, width)
    if len(roi) != 4:
        raise ValueError(f"roi must be (u_min, v_min, u_max, v_max), got {roi}")
    u_min, v_min = max(int(roi[0]), 0), max(int(roi[1]), 0)
    u_max, v_max = min(int(roi[2]), width), min(int(roi[3]), height)
    if u_max - u_min < 3 or v_max - v_min < 3:
        raise ValueError(
            f"roi {tuple(roi)} leaves less than 3x3 pixels of the {width}x{height} image"
        )
    return slice(v_min, v_max), slice(u_min, u_max)


def _edge_field(
    depth: np.ndarray,
    valid: np.ndarray,
    window: tuple[slice, slice],
    config: AntipodalConfig,
    edge_mask: np.ndarray | None = None,
) -> _EdgeField:
    """Gradient, outward normals and object-side edges of the window (one pass, vectorized);
    `edge_mask` ((H, W) bool of the image): only its pixels may be edges."""
    far = depth[valid].max()
    valid = valid[window]
    filled = np.where(valid, depth[window], far)
    height, width = filled.shape
    # Gradient of the depth smoothed as Dex-Net 2.0 does (sensor noise makes no edges).
    smooth = cv2.GaussianBlur(
        filled.astype(np.float32), (0, 0), _GRADIENT_SIGMA_PX, borderType=cv2.BORDER_REPLICATE
    )
    grad_v, grad_u = np.gradient(smooth)
    threshold = config.depth_gradient_threshold
    strong = np.flatnonzero((grad_u * grad_u + grad_v * grad_v).ravel() > threshold * threshold)
    # Outward image normal of the object's silhouette: towards increasing depth. Only pixels
    # above the threshold can be edges; the others keep zero normals.
    strong_u, strong_v = grad_u.ravel()[strong], grad_v.ravel()[strong]
    magnitude = np.sqrt(strong_u * strong_u + strong_v * strong_v)
    normal_u, normal_v = np.zeros(height * width), np.zeros(height * width)
    normal_u[strong] = strong_u / magnitude
    normal_v[strong] = strong_v / magnitude
    row, col = np.divmod(strong, width)
    ahead_u = np.clip(np.rint(col + normal_u[strong]).astype(np.int64), 0, width - 1)
    ahead_v = np.clip(np.rint(row + normal_v[strong]).astype(np.int64), 0, height - 1)
    # Edge pixels on the object side of the step (nearer than the pixel one step outwards).
    flat_depth = filled.ravel()
    is_edge = valid.ravel()[strong] & (flat_depth[strong] < flat_depth[ahead_v * width + ahead_u])
    if edge_mask is not None:
        is_edge &= np.asarray(edge_mask, dtype=bool)[window].ravel()[strong]
    edge_flat = np.zeros(height * width, dtype=bool)
    edge_flat[strong[is_edge]] = True
    return _EdgeField(
        depth=filled,
        smooth=smooth.astype(np.float64),
        grad_u=grad_u.ravel(),
        grad_v=grad_v.ravel(),
        normal_u=normal_u,
        normal_v=normal_v,
        edge=edge_flat,
        edge_index=strong[is_edge],
        origin=(window[1].start, window[0].start),
    )


def _march(
    field: _EdgeField,
    start_u: np.ndarray,
    start_v: np.ndarray,
    march_u: np.ndarray,
    march_v: np.ndarray,
    max_steps: int,
    cos_cone: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First edge pixel facing back along each line: (found (L,) bool, its flat index (L,),
    its step (L,): pixels from the start along the line, as `_wall_fall` counts them).

    Lines start at their edge pixel and step one pixel at a time (from 2 pixels in) up to
    max_steps, inside the window; the pixel found has its outward normal within the friction
    cone of the march direction.
    """
    height, width = field.shape
    steps = np.arange(2, max(max_steps, 2) + 1, dtype=np.float64)
    line_u = np.rint(start_u[:, None] + steps[None, :] * march_u[:, None]).astype(np.int64)
    line_v = np.rint(start_v[:, None] + steps[None, :] * march_v[:, None]).astype(np.int64)
    inside = (line_u >= 0) & (line_u < width) & (line_v >= 0) & (line_v < height)
    flat = np.clip(line_v, 0, height - 1) * width + np.clip(line_u, 0, width - 1)
    candidate = inside & field.edge[flat]
    # Facing only where an edge was hit (most pixels of a line are not edges).
    rows, cols = np.nonzero(candidate)
    hit = flat[rows, cols]
    facing = field.normal_u[hit] * march_u[rows] + field.normal_v[hit] * march_v[rows]
    opposite = np.zeros_like(candidate)
    opposite[rows, cols] = facing > cos_cone
    found = opposite.any(axis=1)
    first = np.argmax(opposite, axis=1)
    return found, flat[np.arange(len(flat)), first], steps[first].astype(np.int64)


def _wall_fall(
    field: _EdgeField,
    start_u: np.ndarray,
    start_v: np.ndarray,
    march_u: np.ndarray,
    march_v: np.ndarray,
    wall_steps: int,
    drop: float,
    cos_cone: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each line falls off a thin wall: (found (L,) bool, flat index (L,) and step (L,)
    of the first pixel, 1 to `wall_steps` pixels along the line, whose smoothed depth lies
    `drop` m beyond the nearest smoothed depth of the line up to it (the wall's crest)). The
    fall counts only where the surface falls away along the line: its depth gradient lies
    within the friction cone of the march direction (a line that leaves the object across a
    corner falls sideways)."""
    height, width = field.shape
    count = len(start_u)
    if wall_steps < 1 or drop <= 0 or count == 0:
        return np.zeros(count, bool), np.zeros(count, np.int64), np.zeros(count, np.int64)
    steps = np.arange(0, wall_steps + 1, dtype=np.float64)
    line_u = np.rint(start_u[:, None] + steps[None, :] * march_u[:, None]).astype(np.int64)
    line_v = np.rint(start_v[:, None] + steps[None, :] * march_v[:, None]).astype(np.int64)
    inside = (line_u >= 0) & (line_u < width) & (line_v >= 0) & (line_v < height)
    flat = np.clip(line_v, 0, height - 1) * width + np.clip(line_u, 0, width - 1)
    depth = field.smooth.ravel()[flat]
    crest = np.minimum.accumulate(depth, axis=1)
    fallen = inside & (depth - crest > drop)
    fallen[:, 0] = False
    found = fallen.any(axis=1)
    first = np.argmax(fallen, axis=1)
    end = flat[np.arange(count), first]
    grad_u, grad_v = field.grad_u[end], field.grad_v[end]
    along = grad_u * march_u + grad_v * march_v
    found &= along > cos_cone * np.hypot(grad_u, grad_v)
    return found, end, first


def _footprint_surface(
    field: _EdgeField,
    contact_u: np.ndarray,
    contact_v: np.ndarray,
    other_u: np.ndarray,
    other_v: np.ndarray,
    opening_px: np.ndarray,
    surface: np.ndarray,
    gripper: GripperConfig,
    config: AntipodalConfig,
    focal: float,
    probe: np.ndarray,
) -> np.ndarray:
    """(L,) nearest depth under the open jaw beyond `contact` (away from `other`), metres.

    Samples a 3 x 3 grid over the finger pad (thickness along the jaw axis, width across it)
    centred where the open jaw descends, plus, for the lines where `probe` ((L,) bool) holds,
    the probe `background_probe_px` outside the contact: the fingers can go no deeper than the
    highest of these. The caller leaves out the probe beyond a thin wall's far contact (where
    the line fell off the wall): the surface there may slope up to the contact, as a bowl's
    inside does, and the finger closes onto that slope.
    """
    height, width = field.shape
    axis_u, axis_v = contact_u - other_u, contact_v - other_v
    length = np.maximum(np.hypot(axis_u, axis_v), 1e-9)
    axis_u, axis_v = axis_u / length, axis_v / length  # outward along the jaw axis
    mid_u, mid_v = (contact_u + other_u) / 2, (contact_v + other_v) / 2
    px_per_m = focal / surface
    jaw = opening_px / 2  # jaw centre from the grasp centre
    half_thickness = 0.5 * gripper.finger_thickness * px_per_m
    half_width = 0.5 * gripper.finger_width * px_per_m
    along = np.stack([jaw - half_thickness, jaw, jaw + half_thickness], axis=1)  # (L, 3)
    across = np.stack([-half_width, np.zeros_like(half_width), half_width], axis=1)
    offsets_u = (
        along[:, :, None] * axis_u[:, None, None] - across[:, None, :] * axis_v[:, None, None]
    )
    offsets_v = (
        along[:, :, None] * axis_v[:, None, None] + across[:, None, :] * axis_u[:, None, None]
    )
    sample_u = np.concatenate(
        [(mid_u[:, None, None] + offsets_u).reshape(len(mid_u), 9),
         (contact_u + config.background_probe_px * axis_u)[:, None]], axis=1
    )  # fmt: skip
    sample_v = np.concatenate(
        [(mid_v[:, None, None] + offsets_v).reshape(len(mid_v), 9),
         (contact_v + config.background_probe_px * axis_v)[:, None]], axis=1
    )  # fmt: skip
    sample_u = np.clip(np.rint(sample_u).astype(np.int64), 0, width - 1)
    sample_v = np.clip(np.rint(sample_v).astype(np.int64), 0, height - 1)
    surface = field.depth.ravel()[sample_v * width + sample_u]
    surface[:, -1] = np.where(probe, surface[:, -1], np.inf)
    return surface.min(axis=1)


def _propose(
    field: _EdgeField,
    count: int,
    rng: np.random.Generator,
    gripper: GripperConfig,
    config: AntipodalConfig,
    focal: float,
) -> tuple[dict[str, np.ndarray], dict[str, int], np.ndarray]:
    """`count` march lines from random edge pixels; returns the accepted grasps (window
    pixels), the rejection counts and the window-pixel lines that found no facing edge
    (for the too-wide diagnosis: (K, 4) start_u, start_v, march_u, march_v)."""
    width = field.shape[1]
    depth = field.depth.ravel()
    edge_count = len(field.edge_index)
    start = field.edge_index[rng.choice(edge_count, size=count, replace=count > edge_count)]
    start_v, start_u = np.divmod(start, width)
    start_u, start_v = start_u.astype(np.float64), start_v.astype(np.float64)
    cone = config.cone_half_angle
    turn = rng.uniform(-cone, cone, count)
    offset = rng.uniform(config.depth_offset_min, config.depth_offset_max, count)
    n_u, n_v = field.normal_u[start], field.normal_v[start]
    c, s = np.cos(turn), np.sin(turn)
    march_u = -(c * n_u - s * n_v)  # into the object, rotated inside the cone
    march_v = -(s * n_u + c * n_v)
    surface = depth[start]
    max_steps = int(np.ceil(gripper.max_width * focal / surface.min())) + 1
    found, end, edge_step = _march(
        field, start_u, start_v, march_u, march_v, max_steps, np.cos(cone)
    )
    # A thin wall's far side ends the line where the surface falls, if before the facing edge.
    # Within a pixel of that edge the pair is the edge's, as without the wall test: the
    # smoothing spreads a tall step's fall to the pixel before it.
    wall_steps = int(np.floor(config.max_wall_thickness * focal / surface.max()))
    on_wall, wall_end, wall_step = _wall_fall(
        field, start_u, start_v, march_u, march_v, wall_steps, config.wall_drop, np.cos(cone)
    )
    wall = on_wall & (~found | (wall_step < edge_step - 1))
    found, end = found | wall, np.where(wall, wall_end, end)
    end_v, end_u = np.divmod(end, width)
    end_u, end_v = end_u.astype(np.float64), end_v.astype(np.float64)
    surface = np.minimum(surface, depth[end])
    distance_m = np.hypot(end_u - start_u, end_v - start_v) * surface / focal
    too_wide = found & (distance_m > gripper.max_width - 2 * config.min_clearance)
    too_narrow = found & ~too_wide & (distance_m <= gripper.min_width)
    fits = np.flatnonzero(found & ~too_wide & ~too_narrow)
    # A pinch on a thin wall opens to a random width up to the stroke (the inner finger must
    # reach into the vessel); any other pair to its contact distance plus the margins.
    opening_m = _opening(distance_m[fits], gripper, config)
    pinches = np.flatnonzero(wall[fits])
    if len(pinches):
        opening_m[pinches] = rng.uniform(opening_m[pinches], gripper.max_width)
    # The surface under the open jaws bounds how deep the fingers may go: the highest point of
    # each finger's footprint (pad width across the axis, thickness along it, centred at the
    # opening) and of the probe just outside each contact. Only for pairs that fit the stroke.
    s_u, s_v, e_u, e_v = start_u[fits], start_v[fits], end_u[fits], end_v[fits]
    fit_surface = surface[fits]
    opening_px = opening_m * focal / fit_surface
    jaws = (opening_px, fit_surface, gripper, config, focal)
    background = np.minimum(
        _footprint_surface(field, s_u, s_v, e_u, e_v, *jaws, np.ones(len(fits), dtype=bool)),
        _footprint_surface(field, e_u, e_v, s_u, s_v, *jaws, ~wall[fits]),
    )
    deepest = background - config.fingertip_below_center
    grasp_depth = np.minimum(fit_surface + offset[fits], deepest)
    deep_enough = grasp_depth >= fit_surface + config.depth_offset_min
    counts = {
        "no_opposite": int(np.count_nonzero(~found)),
        "too_wide": int(np.count_nonzero(too_wide)),
        "too_narrow": int(np.count_nonzero(too_narrow)),
        "too_shallow": int(np.count_nonzero(~deep_enough)),
    }
    keep = fits[deep_enough]
    accepted = {
        "start_u": start_u[keep],
        "start_v": start_v[keep],
        "end_u": end_u[keep],
        "end_v": end_v[keep],
        "distance_m": distance_m[keep],
        "opening_m": opening_m[deep_enough],
        "wall": wall[keep],
        "depth": grasp_depth[deep_enough],
    }
    missed = np.flatnonzero(~found)
    unmatched = np.column_stack(
        [start_u[missed], start_v[missed], march_u[missed], march_v[missed]]
    )
    return accepted, counts, unmatched


_MAX_ROUNDS = 4  # sampling rounds until n grasps are found
_MAX_ROUND_FACTOR = 4  # a round tries at most this many times n * oversample lines
_WIDE_DIAGNOSIS_LINES = 2000  # lines re-marched to tell "too wide" from "no antipodal pair"


def _diagnose_too_wide(field: _EdgeField, unmatched: np.ndarray, config: AntipodalConfig) -> int:
    """How many of the unmatched lines find a facing edge when marching across the window."""
    lines = unmatched[:_WIDE_DIAGNOSIS_LINES]
    if len(lines) == 0:
        return 0
    reach = int(np.ceil(np.hypot(*field.shape)))
    cos_cone = np.cos(config.cone_half_angle)
    found, _, _ = _march(field, lines[:, 0], lines[:, 1], lines[:, 2], lines[:, 3], reach, cos_cone)
    return int(np.count_nonzero(found))


def sample_antipodal_depth_with_report(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    gripper: GripperConfig | None = None,
    n: int = 100,
    rng: np.random.Generator | int | None = None,
    config: AntipodalConfig | None = None,
    *,
    roi: tuple[int, int, int, int] | None = None,
    edge_mask: np.ndarray | None = None,
) -> tuple[ImageGraspCandidates, DepthSamplingReport]:
    """`sample_antipodal_depth`, with a report of what became of the lines it tried.

    edge_mask: (H, W) bool; when given, both contacts of every grasp lie on its pixels (e.g.
    one object's pixels: `grasping.target`)."""
    _check_count(n)
    gripper = gripper if gripper is not None else default_gripper()
    config = config or AntipodalConfig()
    rng = np.random.default_rng(rng)
    depth = _validate_depth(depth_m, intrinsics)
    valid = np.isfinite(depth) & (depth > 0)
    if not np.any(valid):
        raise ValueError("depth image has no valid pixels")
    window = _search_window(roi, *depth.shape)
    if edge_mask is not None and np.shape(edge_mask) != depth.shape:
        raise ValueError(
            f"edge_mask is {np.shape(edge_mask)[::-1]}, the depth image {depth.shape[::-1]}"
        )
    field = _edge_field(depth, valid, window, config, edge_mask)
    edge_count = len(field.edge_index)
    focal = 0.5 * (intrinsics.fx + intrinsics.fy)
    totals = {"no_opposite": 0, "too_wide": 0, "too_narrow": 0, "too_shallow": 0}
    chunks: list[dict[str, np.ndarray]] = []
    lines, found_count = 0, 0
    unmatched = np.zeros((0, 4))
    if edge_count and n:
        count = n * config.oversample
        for _ in range(_MAX_ROUNDS):
            accepted, counts, missed = _propose(field, count, rng, gripper, config, focal)
            chunks.append(accepted)
            lines += count
            for key, value in counts.items():
                totals[key] += value
            if not found_count:
                unmatched = missed
            new = len(accepted["depth"])
            found_count += new
            if found_count >= n or new == 0:
                break
            # The next round tries as many lines as this round's yield says are missing.
            needed = (n - found_count) * count / new * 1.2
            count = int(min(np.ceil(needed), _MAX_ROUND_FACTOR * n * config.oversample))
    if found_count == 0 and len(unmatched):
        extra = _diagnose_too_wide(field, unmatched, config)
        totals["no_opposite"] -= extra
        totals["too_wide"] += extra
    merged = {
        key: np.concatenate([chunk[key] for chunk in chunks])[:n] if chunks else np.zeros(0)
        for key in ("start_u", "start_v", "end_u", "end_v", "distance_m", "opening_m", "wall",
                    "depth")
    }  # fmt: skip
    report = DepthSamplingReport(
        edge_pixels=edge_count, lines=lines, accepted=found_count,
        wall_pinches=int(np.count_nonzero(merged["wall"])), **totals,
    )  # fmt: skip
    origin_u, origin_v = field.origin
    start_u, start_v = merged["start_u"] + origin_u, merged["start_v"] + origin_v
    end_u, end_v = merged["end_u"] + origin_u, merged["end_v"] + origin_v
    grasp_depth = merged["depth"]
    opening_m = merged["opening_m"]
    angles = np.atleast_1d(wrap_angle(np.arctan2(end_v - start_v, end_u - start_u)))
    candidates = ImageGraspCandidates(
        centers_px=np.column_stack([(start_u + end_u) / 2, (start_v + end_v) / 2]).reshape(-1, 2),
        angles=angles.reshape(-1),
        widths_px=opening_m * focal / np.where(grasp_depth > 0, grasp_depth, 1.0),
        depths=grasp_depth,
        contacts_px=np.stack(
            [np.column_stack([start_u, start_v]), np.column_stack([end_u, end_v])], axis=1
        ).reshape(-1, 2, 2),
    )
    return candidates, report


def sample_antipodal_depth(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    gripper: GripperConfig | None = None,
    n: int = 100,
    rng: np.random.Generator | int | None = None,
    config: AntipodalConfig | None = None,
    *,
    roi: tuple[int, int, int, int] | None = None,
) -> ImageGraspCandidates:
    """Up to n antipodal top-down grasps from an (H, W) depth image in metres.

    Invalid pixels (0, nan, inf) are never contacts. Angles, widths and depths follow
    `Grasp2D`; widths are jaw openings (contact distance + 2 * opening_margin, clipped to the
    stroke; a thin-wall pinch: a random opening from that up to the stroke) in pixels at the
    grasp depth. roi: (u_min, v_min, u_max, v_max) pixel window
    (max exclusive) in which both contacts must lie; the edge search runs only there. Lines
    are tried in rounds (n * oversample first, then as many as the first round's yield says
    are missing, up to `_MAX_ROUNDS`), so fewer than n come back only for scenes that do not
    hold them.
    """
    candidates, _ = sample_antipodal_depth_with_report(
        depth_m, intrinsics, gripper, n, rng, config, roi=roi
    )
    return candidates
