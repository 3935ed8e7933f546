"""Antipodal grasp candidates for top-down parallel-jaw grasps, as in Dex-Net 2.0.

Two samplers:

* `sample_antipodal_mesh` works on the true 3-D mesh (dataset labels): area-uniform surface
  points whose normal's horizontal part lies in the friction cone; a horizontal closing line
  drawn into the object from each, inside the cone; the exit point of that line is the second
  contact, kept when its normal is also in the cone (antipodal with friction) and the contact
  distance fits the stroke. Grasp depth is the contact height.
* `sample_antipodal_depth` works on a depth image (inference-time proposals, Prop+GQ-CNN):
  depth-gradient edges on the object side, their image normals, a march into the object along
  a line inside the friction cone to the first edge pixel whose normal faces back along the
  line, stroke check in metres, and the gripper depth sampled below the contact surface.

Both are vectorized over candidates and deterministic for a given numpy Generator / seed. They
return up to `n` grasps (fewer if the oversampled candidates do not contain enough).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.grasping.grasp import wrap_angle
from gqstn_ros.grasping.mesh_geometry import TriangleMesh
from gqstn_ros.gripper import ROBOTIQ_2F85, GripperConfig
from gqstn_ros.validation import require_non_negative


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


def _check_count(n: int) -> None:
    if int(n) != n or n < 0:
        raise ValueError(f"number of grasps must be a non-negative integer, got {n}")


def _opening(distance: np.ndarray, gripper: GripperConfig, config: AntipodalConfig) -> np.ndarray:
    return np.minimum(distance + 2.0 * config.opening_margin, gripper.max_width)


def sample_antipodal_mesh(
    vertices: np.ndarray,
    faces: np.ndarray,
    T_world_object: np.ndarray,  # noqa: N803 (transform naming convention)
    gripper: GripperConfig = ROBOTIQ_2F85,
    n: int = 100,
    rng: np.random.Generator | int | None = None,
    config: AntipodalConfig | None = None,
) -> MeshGraspCandidates:
    """Up to n antipodal top-down grasps on a mesh (object frame) resting at T_world_object."""
    transform = np.asarray(T_world_object, dtype=np.float64)
    if transform.shape != (4, 4):
        raise ValueError(f"T_world_object must be 4x4, got {transform.shape}")
    mesh = TriangleMesh(vertices, faces).transformed(transform)
    return sample_antipodal_on_mesh(mesh, gripper, n, rng, config)


def sample_antipodal_on_mesh(
    mesh: TriangleMesh,
    gripper: GripperConfig = ROBOTIQ_2F85,
    n: int = 100,
    rng: np.random.Generator | int | None = None,
    config: AntipodalConfig | None = None,
) -> MeshGraspCandidates:
    """`sample_antipodal_mesh` for a mesh already in world coordinates."""
    _check_count(n)
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


def sample_antipodal_depth(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    gripper: GripperConfig = ROBOTIQ_2F85,
    n: int = 100,
    rng: np.random.Generator | int | None = None,
    config: AntipodalConfig | None = None,
) -> ImageGraspCandidates:
    """Up to n antipodal top-down grasps from an (H, W) depth image in metres.

    Invalid pixels (0, nan, inf) are never contacts. Angles, widths and depths follow
    `Grasp2D`; widths are jaw openings (contact distance + 2 * opening_margin, clipped to the
    stroke) in pixels at the grasp depth.
    """
    _check_count(n)
    config = config or AntipodalConfig()
    rng = np.random.default_rng(rng)
    depth = _validate_depth(depth_m, intrinsics)
    valid = np.isfinite(depth) & (depth > 0)
    if not np.any(valid):
        raise ValueError("depth image has no valid pixels")
    height, width = depth.shape
    filled = np.where(valid, depth, np.nanmax(np.where(valid, depth, np.nan)))
    grad_v, grad_u = np.gradient(filled)
    magnitude = np.hypot(grad_u, grad_v)
    # Outward image normal of the object's silhouette: towards increasing depth.
    with np.errstate(invalid="ignore", divide="ignore"):
        normal_u = np.where(magnitude > 0, grad_u / magnitude, 0.0)
        normal_v = np.where(magnitude > 0, grad_v / magnitude, 0.0)
    vv, uu = np.mgrid[0:height, 0:width]
    ahead_u = np.clip(np.rint(uu + normal_u).astype(np.int64), 0, width - 1)
    ahead_v = np.clip(np.rint(vv + normal_v).astype(np.int64), 0, height - 1)
    # Edge pixels on the object side of the step (nearer than the pixel one step outwards).
    edge = (
        valid & (magnitude > config.depth_gradient_threshold) & (filled < filled[ahead_v, ahead_u])
    )
    edge_v, edge_u = np.nonzero(edge)
    empty = ImageGraspCandidates(
        np.zeros((0, 2)), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros((0, 2, 2))
    )
    if len(edge_u) == 0 or n == 0:
        return empty
    count = n * config.oversample
    pick = rng.choice(len(edge_u), size=count, replace=count > len(edge_u))
    start_u, start_v = edge_u[pick].astype(np.float64), edge_v[pick].astype(np.float64)
    cone = config.cone_half_angle
    turn = rng.uniform(-cone, cone, count)
    offset = rng.uniform(config.depth_offset_min, config.depth_offset_max, count)
    n_u, n_v = normal_u[edge_v[pick], edge_u[pick]], normal_v[edge_v[pick], edge_u[pick]]
    c, s = np.cos(turn), np.sin(turn)
    march_u = -(c * n_u - s * n_v)  # into the object, rotated inside the cone
    march_v = -(s * n_u + c * n_v)
    surface = filled[edge_v[pick], edge_u[pick]]
    focal = 0.5 * (intrinsics.fx + intrinsics.fy)
    max_steps = int(np.ceil(gripper.max_width * focal / surface.min())) + 1
    steps = np.arange(2, max_steps + 1)
    line_u = np.rint(start_u[:, None] + steps[None, :] * march_u[:, None]).astype(np.int64)
    line_v = np.rint(start_v[:, None] + steps[None, :] * march_v[:, None]).astype(np.int64)
    inside_image = (line_u >= 0) & (line_u < width) & (line_v >= 0) & (line_v < height)
    line_u, line_v = np.clip(line_u, 0, width - 1), np.clip(line_v, 0, height - 1)
    facing = (
        normal_u[line_v, line_u] * march_u[:, None] + normal_v[line_v, line_u] * march_v[:, None]
    )
    opposite = inside_image & edge[line_v, line_u] & (facing > np.cos(cone))
    found = opposite.any(axis=1)
    first = np.argmax(opposite, axis=1)
    rows = np.arange(count)
    end_u = line_u[rows, first].astype(np.float64)
    end_v = line_v[rows, first].astype(np.float64)
    contact_distance_px = np.hypot(end_u - start_u, end_v - start_v)
    surface = np.minimum(surface, filled[line_v[rows, first], line_u[rows, first]])
    distance_m = contact_distance_px * surface / focal
    ok = found & (distance_m <= gripper.max_width - 2 * config.min_clearance)
    ok &= distance_m > gripper.min_width
    # The table (background) just outside both contacts bounds how deep the fingers may go.
    probe = config.background_probe_px
    end_n_u, end_n_v = (
        normal_u[line_v[rows, first], line_u[rows, first]],
        normal_v[line_v[rows, first], line_u[rows, first]],
    )
    background = np.minimum(
        filled[np.clip(np.rint(start_v + probe * n_v).astype(int), 0, height - 1),
               np.clip(np.rint(start_u + probe * n_u).astype(int), 0, width - 1)],
        filled[np.clip(np.rint(end_v + probe * end_n_v).astype(int), 0, height - 1),
               np.clip(np.rint(end_u + probe * end_n_u).astype(int), 0, width - 1)],
    )  # fmt: skip
    deepest = background - config.fingertip_below_center
    grasp_depth = np.minimum(surface + offset, deepest)
    ok &= grasp_depth >= surface + config.depth_offset_min
    keep = np.flatnonzero(ok)[:n]
    opening_m = _opening(distance_m[keep], gripper, config)
    centers = np.column_stack([(start_u + end_u)[keep] / 2, (start_v + end_v)[keep] / 2])
    angles = np.atleast_1d(wrap_angle(np.arctan2((end_v - start_v)[keep], (end_u - start_u)[keep])))
    return ImageGraspCandidates(
        centers_px=centers,
        angles=angles,
        widths_px=opening_m * focal / grasp_depth[keep],
        depths=grasp_depth[keep],
        contacts_px=np.stack(
            [np.column_stack([start_u[keep], start_v[keep]]),
             np.column_stack([end_u[keep], end_v[keep]])], axis=1
        ),
    )  # fmt: skip
