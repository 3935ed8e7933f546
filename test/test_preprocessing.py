"""The single network geometry: view window, STN parameters, crops, normalization."""

import numpy as np
import pytest
import torch

from gqstn_ros.preprocessing import (
    CROP_TO_WIDTH,
    VIEW_SYMMETRIES,
    NetworkInputConfig,
    Normalization,
    ViewWindow,
    affine_matrices,
    extract_crops,
    extract_view,
    gqcnn_inputs,
    grasps_to_stn,
    stn_to_grasps,
    transform_view,
    untransform_stn,
)

CONFIG = NetworkInputConfig()


def bar_frame(center_uv, angle, along_half=10, across_half=70, height=0.03):
    """A 640x480 table at 0.7 m with a bar, narrow along `angle` (the jaw axis)."""
    depth = np.full((480, 640), 0.7, np.float32)
    v, u = np.mgrid[0:480, 0:640]
    du, dv = u - center_uv[0], v - center_uv[1]
    along = du * np.cos(angle) + dv * np.sin(angle)
    across = -du * np.sin(angle) + dv * np.cos(angle)
    depth[(np.abs(along) < along_half) & (np.abs(across) < across_half)] = 0.7 - height
    return depth


def test_window_maps_its_centre_to_zero_and_its_edges_to_one():
    window = ViewWindow.centered((480, 640), CONFIG)
    assert window.frame_to_normalized([[319.5, 239.5]]) == pytest.approx(np.zeros((1, 2)))
    edges = window.frame_to_normalized([[319.5 - 160, 239.5 + 160]])
    assert edges == pytest.approx(np.array([[-1.0, 1.0]]))
    back = window.normalized_to_frame(window.frame_to_normalized([[100.0, 50.0]]))
    assert back == pytest.approx(np.array([[100.0, 50.0]]))


def test_view_pixel_centres_follow_the_normalized_coordinates():
    # A depth ramp along u: the view's value at normalized x must be the frame's at that u.
    u = np.arange(640, dtype=np.float32)
    frame = np.tile(0.5 + u / 1000.0, (480, 1))
    view, window = extract_view(frame, CONFIG)
    size = CONFIG.input_size
    x_normalized = (np.arange(size) + 0.5) * 2 / size - 1
    expected = (
        0.5
        + window.normalized_to_frame(np.stack([x_normalized, 0 * x_normalized], 1))[:, 0] / 1000.0
    )
    assert view[size // 2] == pytest.approx(expected, abs=2e-4)


def test_grasp_stn_round_trip():
    window = ViewWindow.centered((480, 640), CONFIG)
    centers = np.array([[350.0, 260.0], [300.0, 200.0]])
    angles, widths = np.array([0.5, -1.2]), np.array([30.0, 55.0])
    params = grasps_to_stn(centers, angles, widths, window)
    assert params.scale == pytest.approx(CROP_TO_WIDTH * widths / CONFIG.view_size_px)
    back_centers, back_angles, back_widths = stn_to_grasps(params, window)
    assert back_centers == pytest.approx(centers)
    assert back_angles == pytest.approx(angles)
    assert back_widths == pytest.approx(widths)


@pytest.mark.parametrize("angle", [0.0, 0.52, -1.1, 1.5])
def test_crop_is_centred_on_the_grasp_with_its_axis_along_x(angle):
    center = (350.0, 260.0)
    frame = bar_frame(center, angle)
    view, window = extract_view(frame, CONFIG)
    params = grasps_to_stn(np.array([center]), np.array([angle]), np.array([30.0]), window)
    crop = extract_crops(
        torch.from_numpy(view)[None, None], torch.from_numpy(params.as_array()), 32
    )[0, 0].numpy()
    on_bar = crop < 0.69
    columns = np.flatnonzero(on_bar[16])
    # The bar is 20 px thick along the jaw axis; the crop spans 3 x 30 px: 32 * 20 / 90 = 7 px.
    assert abs(columns.mean() - 15.5) < 1.0
    assert 5 <= len(columns) <= 9
    assert on_bar[:, 15].all()  # the bar runs across the whole crop, perpendicular to the axis


def test_affine_matrices_compose_translation_rotation_scale():
    x, y, theta, s = (torch.tensor([v]) for v in (0.1, -0.2, 0.3, 0.5))
    matrix = affine_matrices(x, y, theta, s)[0]
    point = torch.tensor([1.0, 0.0, 1.0])
    expected = torch.tensor([0.1 + 0.5 * np.cos(0.3), -0.2 + 0.5 * np.sin(0.3)])
    assert matrix @ point == pytest.approx(expected.numpy(), abs=1e-6)


def test_extract_crops_checks_shapes():
    views = torch.zeros(2, 1, 224, 224)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        extract_crops(views, torch.zeros(2, 3), 32)
    with pytest.raises(ValueError, match="2 views for 3 grasps"):
        extract_crops(views, torch.zeros(3, 4), 32)


def test_extract_view_refuses_holes_and_bad_shapes():
    frame = np.full((480, 640), 0.7, np.float32)
    frame[10, 10] = np.nan
    with pytest.raises(ValueError, match="inpaint"):
        extract_view(frame, CONFIG)
    with pytest.raises(ValueError, match="non-empty"):
        extract_view(np.zeros((0, 3)), CONFIG)


def test_gqcnn_inputs_are_relative_depths():
    norm = Normalization(crop_scale=0.01, depth_offset_mean=-0.02, depth_offset_std=0.01)
    crops = torch.full((2, 1, 32, 32), 0.68)
    image, pose = gqcnn_inputs(crops, torch.tensor([0.68, 0.70]), torch.tensor([0.70, 0.70]), norm)
    assert image[0].abs().max() < 1e-5 and image[1].mean() == pytest.approx(-2.0, abs=1e-4)
    assert pose[:, 0].tolist() == pytest.approx([0.0, 2.0], abs=1e-4)


def test_normalization_and_config_validation():
    with pytest.raises(ValueError, match="crop_scale"):
        Normalization(crop_scale=0.0)
    with pytest.raises(ValueError, match="unknown normalization"):
        Normalization.from_dict({"bogus": 1.0})
    with pytest.raises(ValueError, match="view_size_px"):
        NetworkInputConfig(view_size_px=4)
    assert Normalization.from_dict(Normalization().to_dict()) == Normalization()


@pytest.mark.parametrize("index", range(len(VIEW_SYMMETRIES)))
def test_view_symmetries_move_pixels_and_grasps_alike(index: int) -> None:
    symmetry = VIEW_SYMMETRIES[index]
    side = 8
    rng = np.random.default_rng(index)
    view = rng.random((side, side))
    moved = transform_view(view[None, None], symmetry)[0, 0]
    assert moved.shape == view.shape and np.isclose(moved.sum(), view.sum())
    for row, col in ((1, 2), (5, 0), (7, 7), (3, 6)):
        point = np.array([(2 * col + 1) / side - 1, (2 * row + 1) / side - 1])
        x, y = symmetry @ point  # where the pixel must be in the transformed view
        moved_row, moved_col = round(((y + 1) * side - 1) / 2), round(((x + 1) * side - 1) / 2)
        assert moved[moved_row, moved_col] == view[row, col]
    # A grasp predicted on the transformed view comes back to the original one: centre, and
    # jaw axis up to a half turn.
    theta = 0.3
    axis = symmetry @ np.array([np.cos(theta), np.sin(theta)])
    moved_point = symmetry @ np.array([0.25, -0.5])
    x, y, back = untransform_stn(
        moved_point[:1], moved_point[1:], np.array([np.arctan2(axis[1], axis[0])]), symmetry
    )
    assert np.allclose([x[0], y[0]], [0.25, -0.5])
    assert np.isclose(np.sin(2 * (back[0] - theta)), 0.0, atol=1e-9)
    assert np.isclose(np.cos(2 * (back[0] - theta)), 1.0)


def test_view_symmetries_are_the_eight_distinct_ones() -> None:
    matrices = {tuple(m.astype(int).ravel()) for m in VIEW_SYMMETRIES}
    assert len(matrices) == 8
    for matrix in VIEW_SYMMETRIES:
        assert np.allclose(matrix @ matrix.T, np.eye(2))
