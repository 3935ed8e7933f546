"""Network preprocessing, written once for training, evaluation and inference.

Every learned model of the project sees depth through this module; nothing here is repeated
elsewhere. The chain is:

1. **View.** A square window, centred on the image centre (or a configured centre), is cut
   from the inpainted depth frame (metres) and resized to `input_size` x `input_size` (224 as
   in the paper). Its side is either fixed in frame pixels (`view_size_px`, the paper's) or
   fixed in metres at the working depth (`view_size_m`): then every camera, whatever its focal
   length, resolution or height, shows the network the table at one scale, pixels per metre
   (`view_window`). `ViewWindow` maps between frame pixels and the view's normalized
   coordinates in [-1, 1] (torch `affine_grid`, align_corners=False, x right, y down).
2. **Grasp <-> STN parameters.** A grasp in the frame (centre (u, v), image angle, opening in
   pixels) is, in the view, the paper's (x, y, theta, s): the translation of Lambda_trans
   (normalized view coordinates, the paper's range [-0.5, 0.5]), the rotation of Lambda_rot
   (the same image angle: the view is square and unscaled between axes) and the scale of
   Lambda_scale, s = CROP_TO_WIDTH * w, with w the opening as a fraction of the view side
   (the paper's w = s / 3 convention, Dex-Net 2.0's crop 3 times the jaw opening).
3. **Crops.** The 32x32 crop of a grasp is the view sampled on the grid of
   Lambda = [s R(theta) | (x, y)], the composition Lambda_trans o Lambda_rot o Lambda_scale of
   the three STN blocks: centred on the grasp, its axis along the crop's x, the jaws at
   +-1/6 of the crop side from the centre. `extract_crops` does it for N grasps at once.
4. **Normalization.** Depth values are made relative before any network sees them, so that a
   camera at another height shifts nothing: a view minus its median (the table, for a tabletop
   scene), a crop minus its gripper depth. Their scales and the gripper depth statistics come
   from the training set (`Normalization`), stored in every checkpoint.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass, replace

import cv2
import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from gqstn_ros.camera_model import KINECT_V1, CameraIntrinsics
from gqstn_ros.table_plane import NoTablePlaneError, TablePlane, frame_table_plane

CROP_TO_WIDTH = 3.0  # crop side / jaw opening (the paper's w = s / 3)
TRANSLATION_LIMIT = 0.5  # |x|, |y| of Lambda_trans, normalized view coordinates (paper)
MAX_VIEW_SIZE_M = 5.0  # m, a view wider than this is a configuration error
# The camera a pixel window (view_size_m == 0) was trained with: every dataset generated for
# such checkpoints was rendered by the Kinect v1 profile (fx 580 px) with the table 0.62-0.78 m
# away (`GenerationConfig.camera_height_range`), 0.70 m in the middle.
PIXEL_WINDOW_TRAINING_FX = KINECT_V1.fx
PIXEL_WINDOW_TRAINING_DEPTH_M = 0.70
# Every this-many-th row and column give the working depth (a median: robust, and cheap on
# megapixel frames).
_REFERENCE_DEPTH_STRIDE = 4


def pixel_window_in_metres(view_size_px: int) -> float:
    """The side in metres, at the working depth, of a `view_size_px` window of the training
    camera of pixel-window checkpoints (0.386 m for 320 px)."""
    return view_size_px * PIXEL_WINDOW_TRAINING_DEPTH_M / PIXEL_WINDOW_TRAINING_FX


def working_depth(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    center_uv: tuple[float, float] | None = None,
    plane: TablePlane | None = None,
) -> float:
    """The depth (m) of the table under pixel `center_uv` (default: the image centre) of an
    inpainted frame: its table plane (`plane` when the caller has it, else
    `table_plane.frame_table_plane`, which tells the table from a floor beyond its edges) on
    that pixel's ray, as the depth the training views were scaled by
    (`datasets.generate.stored_window`). The frame's median depth when the frame has no plane
    or the ray misses it."""
    if center_uv is None:
        center_uv = ((intrinsics.width - 1) / 2.0, (intrinsics.height - 1) / 2.0)
    if plane is None:
        with contextlib.suppress(NoTablePlaneError):
            plane = frame_table_plane(depth_m, intrinsics)
    depth = math.nan if plane is None else plane.depth_at(intrinsics, *center_uv)
    if math.isfinite(depth):
        return depth
    sample = np.asarray(depth_m)[::_REFERENCE_DEPTH_STRIDE, ::_REFERENCE_DEPTH_STRIDE]
    return float(np.median(sample))


@dataclass(frozen=True)
class NetworkInputConfig:
    """Geometry of what the networks see (pixels)."""

    view_size_px: int = 320  # side of the square frame window (frame pixels)
    input_size: int = 224  # side of the network input (the paper's 224)
    crop_size: int = 32  # side of the GQ-CNN crop (Dex-Net 2.0's 32)
    # Side of the window in metres at the view's working depth (`working_depth`: the table
    # under the view's centre); 0: the window is `view_size_px` frame pixels whatever the camera.
    view_size_m: float = 0.0

    def __post_init__(self) -> None:
        for name in ("view_size_px", "input_size", "crop_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 8:
                raise ValueError(f"NetworkInputConfig.{name} must be an integer >= 8, got {value}")
        if not (math.isfinite(self.view_size_m) and 0.0 <= self.view_size_m <= MAX_VIEW_SIZE_M):
            raise ValueError(
                f"NetworkInputConfig.view_size_m must be in [0, {MAX_VIEW_SIZE_M}] m, "
                f"got {self.view_size_m}"
            )

    @property
    def metric(self) -> bool:
        """True when the window is fixed in metres (`view_size_m`), not in frame pixels."""
        return self.view_size_m > 0

    def with_metric_view(self) -> NetworkInputConfig:
        """The same input with a metric window: a pixel window becomes the metric window it
        covered in training (`pixel_window_in_metres`); a metric one is returned as it is."""
        if self.metric:
            return self
        return replace(self, view_size_m=pixel_window_in_metres(self.view_size_px))

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class ViewWindow:
    """The square frame window a view was cut from: centre (u, v) and side, frame pixels."""

    center_u: float
    center_v: float
    side_px: float

    @classmethod
    def centered(
        cls, image_shape: tuple[int, int], config: NetworkInputConfig, center_uv=None
    ) -> ViewWindow:
        """The window of `config.view_size_px` about `center_uv` (default: the image centre)."""
        height, width = image_shape
        if center_uv is None:
            center_uv = ((width - 1) / 2.0, (height - 1) / 2.0)
        return cls(float(center_uv[0]), float(center_uv[1]), float(config.view_size_px))

    @property
    def half(self) -> float:
        return self.side_px / 2.0

    def frame_to_normalized(self, points_uv: np.ndarray) -> np.ndarray:
        """(N, 2) frame pixel centres (u, v) -> normalized view coordinates (x, y) in [-1, 1]."""
        points_uv = np.asarray(points_uv, dtype=np.float64).reshape(-1, 2)
        offset = np.array([self.center_u, self.center_v])
        return (points_uv - offset) / self.half

    def normalized_to_frame(self, points_xy: np.ndarray) -> np.ndarray:
        points_xy = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
        return points_xy * self.half + np.array([self.center_u, self.center_v])


def view_window(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    config: NetworkInputConfig,
    center_uv: tuple[float, float] | None = None,
    reference_depth: float | None = None,
) -> ViewWindow:
    """The window a network sees of an inpainted frame taken with `intrinsics`.

    A metric config (`view_size_m` > 0) gives a side of view_size_m * f / z frame pixels, with
    z the working depth at the window's centre (`reference_depth` when the caller has it, else
    `working_depth`) and f the mean focal length: the table appears at the same pixels per
    metre for every camera. A pixel config gives `view_size_px`. Centre: the image centre
    unless `center_uv` is given.
    """
    window = ViewWindow.centered(np.shape(depth_m), config, center_uv)
    if not config.metric:
        return window
    reference = reference_depth
    if reference is None:
        reference = working_depth(depth_m, intrinsics, (window.center_u, window.center_v))
    if not (math.isfinite(reference) and reference > 0):
        raise ValueError(f"the frame's working depth is {reference} m: inpaint the frame first")
    side = config.view_size_m * 0.5 * (intrinsics.fx + intrinsics.fy) / reference
    return ViewWindow(window.center_u, window.center_v, side)


def extract_view(
    depth_m: np.ndarray, config: NetworkInputConfig, window: ViewWindow | None = None
) -> tuple[np.ndarray, ViewWindow]:
    """Cut and resize the view: (H, W) metres -> ((input_size, input_size) float32, window).

    Pixels of the window outside the frame take the nearest frame pixel (border replication).
    The depth must be finite everywhere (inpaint first).
    """
    depth_m = np.asarray(depth_m)
    if depth_m.ndim != 2 or depth_m.size == 0:
        raise ValueError(f"depth must be a non-empty (H, W) array, got shape {depth_m.shape}")
    if not np.all(np.isfinite(depth_m)):
        raise ValueError("depth has NaN or inf pixels: inpaint the frame before the network")
    if window is None:
        window = ViewWindow.centered(depth_m.shape, config)
    size = config.input_size
    scale = size / window.side_px  # view pixels per frame pixel
    # Continuous coordinates (pixel i spans [i - 0.5, i + 0.5]); the window's left edge is at
    # cu - half, the view's at -0.5: x_view = (u - (cu - half)) * scale - 0.5. This makes the
    # normalized view coordinate (x_view + 0.5) * 2 / size - 1 = (u - cu) / half.
    left = window.center_u - window.half
    top = window.center_v - window.half
    frame_to_view = np.array(
        [[scale, 0.0, -left * scale - 0.5], [0.0, scale, -top * scale - 0.5]], dtype=np.float64
    )
    view = cv2.warpAffine(
        depth_m.astype(np.float32),
        frame_to_view,
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return view, window


# The eight symmetries of a square view (rotations by quarter turns, mirrors) as 2x2 matrices
# on normalized (x, y): the point p of a view is at A @ p of the transformed view. They are
# exact on the pixel grid (no resampling). Ordered so that the first k are spread out.
VIEW_SYMMETRIES: tuple[np.ndarray, ...] = tuple(
    np.array(matrix, dtype=np.float64)
    for matrix in (
        [[1, 0], [0, 1]],  # identity
        [[-1, 0], [0, -1]],  # half turn
        [[0, -1], [1, 0]],  # quarter turn
        [[0, 1], [-1, 0]],  # three quarter turns
        [[-1, 0], [0, 1]],  # mirror left-right
        [[1, 0], [0, -1]],  # mirror up-down
        [[0, 1], [1, 0]],  # transpose
        [[0, -1], [-1, 0]],  # anti-transpose
    )
)


def transform_view(view: np.ndarray, symmetry: np.ndarray) -> np.ndarray:
    """(..., D, D) views -> the same views under one of `VIEW_SYMMETRIES` (a copy)."""
    swapped = symmetry[0, 0] == 0
    out = np.swapaxes(view, -1, -2) if swapped else view
    if symmetry[0].sum() < 0:  # x' = -(x or y): mirror the columns
        out = out[..., ::-1]
    if symmetry[1].sum() < 0:  # y' = -(y or x): mirror the rows
        out = out[..., ::-1, :]
    return np.ascontiguousarray(out)


def untransform_stn(
    x: np.ndarray, y: np.ndarray, theta: np.ndarray, symmetry: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grasp centre and angle predicted on a transformed view -> on the original view."""
    inverse = symmetry.T  # orthogonal
    points = inverse @ np.stack([np.asarray(x, np.float64), np.asarray(y, np.float64)])
    axes = inverse @ np.stack([np.cos(theta), np.sin(theta)])
    return points[0], points[1], np.arctan2(axes[1], axes[0])


@dataclass(frozen=True)
class STNParameters:
    """N grasps as the paper's STN parameters (arrays of shape (N,))."""

    x: np.ndarray  # Lambda_trans, normalized view coordinates (right)
    y: np.ndarray  # Lambda_trans (down)
    theta: np.ndarray  # Lambda_rot, radians, the image angle of the jaw axis
    scale: np.ndarray  # Lambda_scale s = CROP_TO_WIDTH * opening / view side

    def as_array(self) -> np.ndarray:
        """(N, 4) float32 columns x, y, theta, s."""
        return np.stack([self.x, self.y, self.theta, self.scale], axis=1).astype(np.float32)


def grasps_to_stn(
    centers_px: np.ndarray, angles: np.ndarray, widths_px: np.ndarray, window: ViewWindow
) -> STNParameters:
    """Frame grasps (u, v), angle (rad), opening (frame px) -> STN parameters in the view."""
    normalized = window.frame_to_normalized(centers_px)
    widths_px = np.asarray(widths_px, dtype=np.float64).reshape(-1)
    return STNParameters(
        x=normalized[:, 0],
        y=normalized[:, 1],
        theta=np.asarray(angles, dtype=np.float64).reshape(-1),
        scale=CROP_TO_WIDTH * widths_px / window.side_px,
    )


def stn_to_grasps(
    params: STNParameters, window: ViewWindow
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of `grasps_to_stn`: centres (N, 2) frame px, angles (N,), openings (N,) px."""
    centers = window.normalized_to_frame(np.stack([params.x, params.y], axis=1))
    widths_px = np.asarray(params.scale, dtype=np.float64) * window.side_px / CROP_TO_WIDTH
    return centers, np.asarray(params.theta, dtype=np.float64), widths_px


def affine_matrices(
    x: torch.Tensor, y: torch.Tensor, theta: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """(N,) each -> (N, 2, 3) Lambda = [s R(theta) | (x, y)] = Lambda_trans Lambda_rot Lambda_scale.

    Maps output (crop) normalized coordinates to input (view) normalized coordinates, as
    `F.affine_grid` expects; differentiable in all four parameters.
    """
    cos, sin = torch.cos(theta), torch.sin(theta)
    row0 = torch.stack([scale * cos, -scale * sin, x], dim=-1)
    row1 = torch.stack([scale * sin, scale * cos, y], dim=-1)
    return torch.stack([row0, row1], dim=-2)


def sample_image(images: torch.Tensor, matrices: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear STN sampling: images (N, C, H, W), matrices (N, 2, 3) -> (N, C, size, size).

    Outside the image the border pixel is repeated (a table, not a cliff of zeros).
    """
    grid = F.affine_grid(matrices, [images.shape[0], images.shape[1], size, size], False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def extract_crops(
    views: torch.Tensor,
    params: torch.Tensor,
    crop_size: int,
    view_index: torch.Tensor | None = None,
) -> torch.Tensor:
    """Crops of N grasps, one resampling: views (B, 1, D, D), params (N, 4) [x, y, theta, s].

    view_index: (N,) long, the view of each grasp (default: grasp i on view i, B == N).
    Returns (N, 1, crop_size, crop_size), same units as the views. Vectorized: no Python loop
    over grasps.
    """
    if params.ndim != 2 or params.shape[1] != 4:
        raise ValueError(f"params must be (N, 4) [x, y, theta, s], got {tuple(params.shape)}")
    if view_index is not None:
        views = views[view_index]
    if views.shape[0] != params.shape[0]:
        raise ValueError(f"{views.shape[0]} views for {params.shape[0]} grasps")
    matrices = affine_matrices(params[:, 0], params[:, 1], params[:, 2], params[:, 3])
    return sample_image(views, matrices, crop_size)


@dataclass(frozen=True)
class Normalization:
    """Training-set constants, stored in checkpoints (metres).

    view_scale: std of (view - view median) over training views; crop_scale: std of
    (crop - gripper depth) over training crops; depth_offset_mean / std: statistics of
    (gripper depth - view median), the gripper height input; scale_mean: gamma, the mean
    Lambda_scale s of training grasps (the paper's gamma); scale_max: the largest s of the
    training grasps (all within the gripper's stroke), the bound of GQ-STN's Lambda_scale
    (0: unbounded, as checkpoints written before it).
    """

    view_scale: float = 0.02
    crop_scale: float = 0.02
    depth_offset_mean: float = -0.02
    depth_offset_std: float = 0.02
    scale_mean: float = 0.6
    scale_max: float = 0.0

    def __post_init__(self) -> None:
        for name in ("view_scale", "crop_scale", "depth_offset_std", "scale_mean"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"Normalization.{name} must be positive and finite, got {value}")
        if not (math.isfinite(self.scale_max) and self.scale_max >= 0):
            raise ValueError(
                f"Normalization.scale_max must be finite and >= 0, got {self.scale_max}"
            )

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Normalization:
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown normalization constants {sorted(unknown)}")
        return cls(**{k: float(v) for k, v in values.items()})


def view_reference(views: torch.Tensor) -> torch.Tensor:
    """(B, 1, D, D) -> (B,) the median depth of each view (the table under a tabletop scene)."""
    return views.flatten(1).median(dim=1).values


def normalize_views(
    views: torch.Tensor, norm: Normalization, references: torch.Tensor | None = None
) -> torch.Tensor:
    """(B, 1, D, D) metres -> network input: depth relative to the view median, scaled.
    references: (B,) the views' `view_reference`, where the caller has it already."""
    if references is None:
        references = view_reference(views)
    return (views - references[:, None, None, None]) / norm.view_scale


def depth_offset_to_depth(
    offset_normalized: torch.Tensor,
    views: torch.Tensor,
    norm: Normalization,
    references: torch.Tensor | None = None,
) -> torch.Tensor:
    """GQ-STN's z (normalized gripper height) -> gripper depth in metres, per view (B,).
    references: (B,) the views' `view_reference`, where the caller has it already."""
    if references is None:
        references = view_reference(views)
    return references + norm.depth_offset_mean + norm.depth_offset_std * offset_normalized


def depth_to_depth_offset(
    depths: torch.Tensor, views: torch.Tensor, norm: Normalization
) -> torch.Tensor:
    """Inverse of `depth_offset_to_depth`: (B,) metres -> normalized gripper height."""
    return (depths - view_reference(views) - norm.depth_offset_mean) / norm.depth_offset_std


def gqcnn_inputs(
    crops: torch.Tensor, depths: torch.Tensor, view_references: torch.Tensor, norm: Normalization
) -> tuple[torch.Tensor, torch.Tensor]:
    """GQ-CNN inputs from crops (N, 1, c, c) metres, gripper depths (N,) m, view medians (N,) m.

    Image: the crop relative to the gripper depth, scaled (where the fingers would hit is
    what matters). Pose: the gripper depth relative to the view median (the table), normalized.
    """
    image = (crops - depths[:, None, None, None]) / norm.crop_scale
    pose = ((depths - view_references - norm.depth_offset_mean) / norm.depth_offset_std)[:, None]
    return image, pose
