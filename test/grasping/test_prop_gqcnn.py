"""Prop+GQ-CNN on rendered scenes (MuJoCo, simulated Kinect noise, inpainting).

The ranking plumbing is tested with `ClearJawsScorer`, a test double for the trained GQ-CNN
(same forward signature): an analytic judge that likes crops whose centre stands above the
gripper depth (object between the jaws) and whose jaw columns are free below it.
"""

from dataclasses import replace

import numpy as np
import pytest
import torch
from depth_rendering import render_depth
from torch import nn

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.depth_processing import inpaint_depth
from gqstn_ros.detection import GraspPlanner, PlanningError
from gqstn_ros.grasping import primitives
from gqstn_ros.grasping.gripper_contact import palm_blocked
from gqstn_ros.grasping.mesh_geometry import TriangleMesh
from gqstn_ros.gripper import ROBOTIQ_2F85
from gqstn_ros.planners.prop_gqcnn.loader import load_prop_planner
from gqstn_ros.planners.prop_gqcnn.planner import (
    CEMConfig,
    PropConfig,
    PropGQCNNPlanner,
    fit_gaussian_mixture,
    with_cem,
)
from gqstn_ros.preprocessing import NetworkInputConfig, Normalization
from gqstn_ros.sim.camera import DepthCamera
from gqstn_ros.sim.objects import generate_object
from gqstn_ros.sim.scene import Scene
from gqstn_ros.sim.sensor_noise import apply_kinect_noise
from gqstn_ros.sim.world_config import WorldConfig

NORMALIZATION = Normalization()


class ClearJawsScorer(nn.Module):
    """Test double of GQ-CNN: image (N, 1, 32, 32), pose (N, 1) -> logits (N, 2).

    The image is (crop - gripper depth) / scale: negative where a surface stands above the
    gripper depth. Robust logit = height of the centre columns above the gripper depth +
    clearance of the emptier-of-the-two jaw columns (jaws at +-1/6 of the crop side).
    """

    def forward(self, image: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        size = image.shape[-1]
        middle = size // 2
        jaw = round(size / 6)
        centre = -image[:, 0, :, middle - 1 : middle + 1].mean(dim=(1, 2))
        left = image[:, 0, :, middle - jaw - 1 : middle - jaw + 1].amin(dim=(1, 2))
        right = image[:, 0, :, middle + jaw - 1 : middle + jaw + 1].amin(dim=(1, 2))
        robust = torch.tanh(centre) + torch.tanh(torch.minimum(left, right)) + 0.0 * pose[:, 0]
        return torch.stack([torch.zeros_like(robust), 2.0 * robust], dim=1)


def render_scene(family: str, seed: int) -> tuple[np.ndarray, object]:
    """Inpainted 640x480 Kinect frame of one settled object, and its intrinsics."""
    config = WorldConfig()
    scene = Scene.build([generate_object(family, seed)], config, seed)
    scene.settle()
    with DepthCamera(scene) as camera:
        frame = camera.render()
    noisy = apply_kinect_noise(frame.depth, frame.intrinsics, config.noise, seed)
    return inpaint_depth(noisy), frame.intrinsics


@pytest.fixture(scope="module")
def box_scene():
    return render_scene("box", 1)


def make_planner(**changes) -> PropGQCNNPlanner:
    config = replace(PropConfig(num_candidates=300), **changes)
    return PropGQCNNPlanner(ClearJawsScorer(), NORMALIZATION, NetworkInputConfig(), config)


def test_planner_implements_the_interface():
    planner = make_planner()
    assert isinstance(planner, GraspPlanner)
    assert planner.name == "prop_gqcnn"


def test_grasps_lie_on_the_object_within_the_stroke_best_first(box_scene):
    depth, intrinsics = box_scene
    ranked = make_planner().rank(depth, intrinsics)
    assert len(ranked) == 300
    assert np.all(np.diff(ranked.q) <= 0)
    table = np.median(depth)
    u = np.rint(ranked.centers_px[:, 0]).astype(int)
    v = np.rint(ranked.centers_px[:, 1]).astype(int)
    # Every centre lies on the box (its top stands well above the table).
    assert np.all(depth[v, u] < table - 0.01)
    # Gripper depth below the surface at the centre, above the table; opening within stroke.
    assert np.all(ranked.depths > depth[v, u]) and np.all(ranked.depths < table)
    focal = 0.5 * (intrinsics.fx + intrinsics.fy)
    assert np.all(ranked.widths_px * ranked.depths / focal <= 0.085 + 1e-9)
    grasps = make_planner().plan(depth, intrinsics, top_k=5)
    assert len(grasps) == 5
    assert [g.q_value for g in grasps] == pytest.approx(list(ranked.q[:5]))
    for grasp in grasps:
        assert grasp.planner == "prop_gqcnn"
        assert grasp.thumbnail.shape == (32, 32) and grasp.thumbnail.dtype == np.float32
        assert -np.pi / 2 < grasp.angle <= np.pi / 2
    # The judge prefers some grasps over others (ranking is not a tie).
    assert ranked.q[0] > ranked.q[-1] + 0.05


def test_results_are_deterministic_for_a_seed(box_scene):
    depth, intrinsics = box_scene
    planner = make_planner()
    first = planner.plan(depth, intrinsics, top_k=10, seed=3)
    again = planner.plan(depth, intrinsics, top_k=10, seed=3)
    other = planner.plan(depth, intrinsics, top_k=10, seed=4)
    assert [g.center_px for g in first] == [g.center_px for g in again]
    assert [g.q_value for g in first] == [g.q_value for g in again]
    assert [g.center_px for g in first] != [g.center_px for g in other]


def test_batching_does_not_change_the_ranking(box_scene):
    depth, intrinsics = box_scene
    small = make_planner(batch_size=7).rank(depth, intrinsics)
    whole = make_planner(batch_size=4096).rank(depth, intrinsics)
    np.testing.assert_allclose(small.q, whole.q, atol=1e-6)
    np.testing.assert_allclose(small.centers_px, whole.centers_px)
    np.testing.assert_allclose(small.crops, whole.crops, atol=1e-6)


def test_cross_entropy_method_never_loses_to_its_seeds(box_scene):
    depth, intrinsics = box_scene
    cem = CEMConfig(num_seed_samples=120, samples_per_iteration=40)
    seeds = make_planner().rank(depth, intrinsics, num_candidates=120, seed=5)
    refined_planner = PropGQCNNPlanner(
        ClearJawsScorer(), NORMALIZATION, NetworkInputConfig(), with_cem(PropConfig(), cem)
    )
    refined = refined_planner.rank(depth, intrinsics, seed=5)
    # Every seed and every mixture sample, but those deeper than the fingers reach.
    reachable = ~palm_blocked(
        depth, intrinsics, refined.centers_px, refined.angles, refined.depths, ROBOTIQ_2F85
    )
    assert 120 <= len(refined) <= 120 + 3 * 40 and reachable.all()
    assert refined.q[0] >= seeds.q[0]
    assert np.all(np.diff(refined.q) <= 0)
    # Samples drawn by the mixture are projected to valid grasps: in the view, in the stroke.
    focal = 0.5 * (intrinsics.fx + intrinsics.fy)
    assert np.all(refined.widths_px * refined.depths / focal <= 0.085 + 1e-9)
    assert np.all((refined.centers_px[:, 0] >= 160) & (refined.centers_px[:, 0] < 480))
    assert np.all((refined.centers_px[:, 1] >= 80) & (refined.centers_px[:, 1] < 400))
    again = refined_planner.rank(depth, intrinsics, seed=5)
    np.testing.assert_array_equal(refined.q, again.q)


def test_gaussian_mixture_finds_two_clusters():
    rng = np.random.default_rng(0)
    points = np.concatenate(
        [rng.normal([0, 0], 0.1, (200, 2)), rng.normal([5, 5], 0.1, (200, 2))], axis=0
    )
    mixture = fit_gaussian_mixture(points, 2, np.random.default_rng(1))
    means = mixture.means[np.argsort(mixture.means[:, 0])]
    np.testing.assert_allclose(means, [[0, 0], [5, 5]], atol=0.05)
    np.testing.assert_allclose(mixture.weights, [0.5, 0.5], atol=0.02)
    drawn = mixture.sample(1000, np.random.default_rng(2))
    assert drawn.shape == (1000, 2)
    assert 0.4 < np.mean(drawn[:, 0] > 2.5) < 0.6


def test_empty_table_says_nothing_to_grasp(box_scene):
    _, intrinsics = box_scene
    flat = np.full((intrinsics.height, intrinsics.width), 0.7, np.float32)
    noisy = apply_kinect_noise(flat, intrinsics, WorldConfig().noise, 0)
    with pytest.raises(PlanningError, match="nothing to grasp"):
        make_planner().plan(inpaint_depth(noisy), intrinsics)


@pytest.mark.parametrize("fill", [0.0, np.nan])
def test_all_invalid_depth_is_refused(box_scene, fill):
    _, intrinsics = box_scene
    frame = np.full((intrinsics.height, intrinsics.width), fill, np.float32)
    with pytest.raises(PlanningError, match="all-invalid depth image"):
        make_planner().plan(frame, intrinsics)


def test_object_wider_than_the_stroke_everywhere_is_named():
    depth, intrinsics = render_scene("oversized", 0)
    with pytest.raises(PlanningError, match="wider than the gripper stroke"):
        make_planner().plan(depth, intrinsics)


def test_wide_box_by_ray_casting_is_too_wide():
    box = primitives.box((0.14, 0.12, 0.05))
    mesh = TriangleMesh(box.vertices, box.faces).transformed(primitives.resting_pose(box.vertices))
    intrinsics = CameraIntrinsics(width=320, height=240, fx=290.0, fy=290.0, cx=159.5, cy=119.5)
    depth = render_depth(mesh, intrinsics)
    planner = PropGQCNNPlanner(
        ClearJawsScorer(), NORMALIZATION, NetworkInputConfig(view_size_px=200), PropConfig()
    )
    with pytest.raises(PlanningError, match="wider than the gripper stroke"):
        planner.plan(depth.astype(np.float32), intrinsics)


def test_bad_depth_images_are_named(box_scene):
    depth, intrinsics = box_scene
    planner = make_planner()
    with pytest.raises(PlanningError, match="2-D"):
        planner.plan(depth[None], intrinsics)
    holes = depth.copy()
    holes[10, 10] = np.nan
    with pytest.raises(PlanningError, match="1 invalid pixels"):
        planner.plan(holes, intrinsics)
    with pytest.raises(PlanningError, match="camera is 640x480"):
        planner.plan(depth[:100], intrinsics)
    with pytest.raises(PlanningError, match="top_k"):
        planner.plan(depth, intrinsics, top_k=0)


def test_load_prop_planner_names_a_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"gqcnn\.pt") as missing:
        load_prop_planner(tmp_path)
    assert missing.value.filename == str(tmp_path / "gqcnn.pt")
    with pytest.raises(ValueError, match="backend 'onnxruntime' is not supported"):
        load_prop_planner(tmp_path, backend="onnxruntime")


def test_load_prop_planner_runs_a_saved_gqcnn(tmp_path, box_scene):
    checkpoint = pytest.importorskip("gqstn_ros.networks.checkpoint")
    from gqstn_ros.networks.gqcnn import GQCNN, GQCNNConfig

    torch.manual_seed(0)
    config = GQCNNConfig(conv_width=4, fc_width=8, pose_width=4)
    checkpoint.save_checkpoint(
        tmp_path / "gqcnn.pt", GQCNN(config), "gqcnn", config, NORMALIZATION, {"test": True}
    )
    planner = load_prop_planner(tmp_path, num_candidates=50)
    assert planner.config.num_candidates == 50
    assert planner.input_config.metric  # view_scale "metric" by default
    pixels = load_prop_planner(tmp_path, view_scale="checkpoint")
    assert not pixels.input_config.metric and pixels.input_config.view_size_px == 320
    with pytest.raises(ValueError, match="view_scale must be one of"):
        load_prop_planner(tmp_path, view_scale="pixels")
    depth, intrinsics = box_scene
    grasps = planner.plan(depth, intrinsics, top_k=3)
    assert len(grasps) == 3
    assert all(0.0 <= g.q_value <= 1.0 for g in grasps)
    assert grasps[0].q_value >= grasps[-1].q_value


def save_tiny_gqcnn(path, conv_width: int, config_name: str):
    from gqstn_ros.networks.checkpoint import save_checkpoint
    from gqstn_ros.networks.gqcnn import GQCNN, GQCNNConfig

    config = GQCNNConfig(conv_width=conv_width, fc_width=8, pose_width=4, first_stride=2)
    save_checkpoint(
        path,
        GQCNN(config),
        "gqcnn",
        config,
        NORMALIZATION,
        {"test": True},
        {"config_name": config_name},
    )


def test_load_prop_planner_ranks_with_the_fast_gqcnn_when_present(tmp_path, caplog):
    pytest.importorskip("gqstn_ros.networks.checkpoint")
    save_tiny_gqcnn(tmp_path / "gqcnn.pt", 4, "cpu")
    planner = load_prop_planner(tmp_path)
    assert planner.gqcnn.config.conv_width == 4
    assert planner.ranking_model.startswith("gqcnn.pt (cpu GQ-CNN")
    save_tiny_gqcnn(tmp_path / "gqcnn_fast.pt", 2, "fast")
    with caplog.at_level("INFO", logger="gqstn_ros.planners.prop_gqcnn.planner"):
        planner = load_prop_planner(tmp_path)
    assert planner.gqcnn.config.conv_width == 2
    assert planner.ranking_model.startswith("gqcnn_fast.pt (fast GQ-CNN")
    assert "M MAC per crop" in planner.ranking_model and "gqcnn_fast.pt" in repr(planner)
    assert "Prop+GQ-CNN ranks with gqcnn_fast.pt" in caplog.text
    # An explicit choice: a file name in the models folder, or a path.
    assert load_prop_planner(tmp_path, ranking_model="gqcnn.pt").gqcnn.config.conv_width == 4
    explicit = load_prop_planner(tmp_path / "elsewhere", ranking_model=tmp_path / "gqcnn.pt")
    assert explicit.gqcnn.config.conv_width == 4
    with pytest.raises(FileNotFoundError, match=r"ranking model .*gqcnn_huge\.pt") as missing:
        load_prop_planner(tmp_path, ranking_model="gqcnn_huge.pt")
    assert missing.value.filename == str(tmp_path / "gqcnn_huge.pt")


def test_planner_registry_passes_the_ranking_model(tmp_path):
    pytest.importorskip("gqstn_ros.networks.checkpoint")
    from gqstn_ros.planner_registry import PlannerUnavailable, load_planner

    save_tiny_gqcnn(tmp_path / "gqcnn.pt", 4, "cpu")
    save_tiny_gqcnn(tmp_path / "gqcnn_fast.pt", 2, "fast")
    assert load_planner("prop_gqcnn", tmp_path).ranking_model.startswith("gqcnn_fast.pt")
    chosen = load_planner("prop_gqcnn", tmp_path, ranking_model="gqcnn.pt")
    assert chosen.gqcnn.config.conv_width == 4 and chosen.name == "prop_gqcnn"
    with pytest.raises(PlannerUnavailable, match=r"no model loaded: .*missing\.pt not found"):
        load_planner("prop_gqcnn", tmp_path, ranking_model="missing.pt")


def test_fast_gqcnn_ranking_is_deterministic_and_batch_independent(box_scene):
    from gqstn_ros.networks.configs import model_config
    from gqstn_ros.networks.gqcnn import GQCNN

    torch.manual_seed(0)
    gqcnn = GQCNN(model_config("gqcnn", "fast"))
    depth, intrinsics = box_scene
    rankings = [
        PropGQCNNPlanner(
            gqcnn, NORMALIZATION, NetworkInputConfig(), PropConfig(num_candidates=300, batch_size=b)
        ).rank(depth, intrinsics, seed=3)
        for b in (256, 256, 64)
    ]
    assert len(rankings[0]) == 300
    np.testing.assert_array_equal(rankings[0].q, rankings[1].q)
    np.testing.assert_array_equal(rankings[0].centers_px, rankings[1].centers_px)
    np.testing.assert_allclose(np.sort(rankings[0].q), np.sort(rankings[2].q), atol=1e-5)


def clutter_frame() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inpainted Kinect frame (table 0.7 m, mild noise) of three boxes: A (u 200-249), B
    (u 360-399, the target) and C, taller, 4 px right of B; and the masks of A and B."""
    rng = np.random.default_rng(7)
    depth = np.full((480, 640), 0.7, dtype=np.float32)
    depth[200:260, 200:250] = 0.64
    depth[210:250, 360:400] = 0.65
    depth[190:270, 404:440] = 0.60
    depth += rng.normal(0.0, 0.0003, depth.shape).astype(np.float32)
    mask_a = np.zeros(depth.shape, dtype=np.uint8)
    mask_a[200:260, 200:250] = 255
    mask_b = np.zeros(depth.shape, dtype=np.uint8)
    mask_b[210:250, 360:400] = 255
    return depth, mask_a, mask_b


def clears_the_others(depth, target, intrinsics, ranked) -> np.ndarray:
    from gqstn_ros.grasping.target import finger_clearance

    return finger_clearance(
        depth, target.obstacles(depth, intrinsics), ranked.centers_px, ranked.angles,
        ranked.widths_px, ranked.depths, PropConfig().gripper,
        0.5 * (intrinsics.fx + intrinsics.fy),
    )  # fmt: skip


@pytest.mark.parametrize("masked", ["a", "b"])
def test_a_target_gets_grasps_on_it_whose_fingers_clear_the_others(masked):
    from gqstn_ros.camera_model import KINECT_V1
    from gqstn_ros.grasping.target import GraspTarget

    depth, mask_a, mask_b = clutter_frame()
    target = GraspTarget.from_mask_and_roi(depth.shape, mask_a if masked == "a" else mask_b)
    planner = make_planner()
    ranked = planner.rank(depth, KINECT_V1, target=target)
    assert len(ranked) > 0
    assert target.contains(ranked.centers_px).all()
    assert clears_the_others(depth, target, KINECT_V1, ranked).all()
    best = planner.plan(depth, KINECT_V1, top_k=3, target=target)
    assert target.contains(np.array([grasp.center_px for grasp in best])).all()
    if masked == "b":
        # B's contacts along u lie at its sides, 4 px from the taller C: a finger opened
        # beyond them lands on C, so no grasp closes along u.
        assert np.all(np.abs(np.cos(ranked.angles)) < 0.95)


def test_a_target_by_region_of_interest_and_with_cem():
    from gqstn_ros.camera_model import KINECT_V1
    from gqstn_ros.grasping.target import GraspTarget

    depth, _, _ = clutter_frame()
    target = GraspTarget.from_mask_and_roi(depth.shape, None, (190, 190, 260, 270))  # around A
    cem = CEMConfig(num_seed_samples=120, samples_per_iteration=40)
    planner = PropGQCNNPlanner(
        ClearJawsScorer(), NORMALIZATION, NetworkInputConfig(), with_cem(PropConfig(), cem)
    )
    ranked = planner.rank(depth, KINECT_V1, target=target)
    assert len(ranked) > 0 and np.all(np.diff(ranked.q) <= 0)
    assert target.contains(ranked.centers_px).all()
    assert clears_the_others(depth, target, KINECT_V1, ranked).all()


def test_a_target_without_edges_to_grasp_is_named():
    from gqstn_ros.camera_model import KINECT_V1
    from gqstn_ros.grasping.target import GraspTarget

    depth, _, _ = clutter_frame()
    bare_table = GraspTarget.from_mask_and_roi(depth.shape, None, (500, 380, 560, 440))
    with pytest.raises(PlanningError, match="nothing to grasp"):
        make_planner().plan(depth, KINECT_V1, target=bare_table)
    wrong_size = GraspTarget.from_mask_and_roi((240, 320), None, (0, 0, 10, 10))
    with pytest.raises(PlanningError, match="the target is 320x240 pixels"):
        make_planner().plan(depth, KINECT_V1, target=wrong_size)


def test_without_a_target_no_grasp_puts_a_finger_on_a_neighbour():
    from gqstn_ros.camera_model import KINECT_V1
    from gqstn_ros.grasping.target import clear_of_other_objects

    depth, _, _ = clutter_frame()
    cem = CEMConfig(num_seed_samples=120, samples_per_iteration=40)
    for planner in (
        make_planner(),
        PropGQCNNPlanner(
            ClearJawsScorer(), NORMALIZATION, NetworkInputConfig(), with_cem(PropConfig(), cem)
        ),
    ):
        ranked = planner.rank(depth, KINECT_V1)
        assert len(ranked) > 0
        assert clear_of_other_objects(
            depth, KINECT_V1, ranked.centers_px, ranked.angles, ranked.widths_px, ranked.depths,
            PropConfig().gripper,
        ).all()  # fmt: skip


def test_in_a_rendered_pile_a_segmentation_mask_gets_grasps_on_its_object():
    from gqstn_ros.grasping.target import GraspTarget, finger_clearance

    config = WorldConfig()
    objects = [generate_object("box", 1), generate_object("cylinder", 2), generate_object("box", 3)]
    scene = Scene.build(objects, config, 4)
    scene.settle()
    with DepthCamera(scene) as camera:
        frame = camera.render()
    depth = inpaint_depth(apply_kinect_noise(frame.depth, frame.intrinsics, config.noise, 4))
    intrinsics = frame.intrinsics
    focal = 0.5 * (intrinsics.fx + intrinsics.fy)
    planned = 0
    for index in range(1, len(objects) + 1):
        target = GraspTarget.from_mask_and_roi(depth.shape, frame.segmentation == index)
        try:
            ranked = make_planner().rank(depth, intrinsics, target=target)
        except PlanningError as error:  # e.g. an object lying under another one
            assert "target" in str(error) or "nothing to grasp" in str(error), str(error)
            continue
        planned += 1
        centers = ranked.centers_px
        assert target.contains(centers).all()
        assert finger_clearance(
            depth, target.obstacles(depth, intrinsics), centers, ranked.angles,
            ranked.widths_px, ranked.depths, PropConfig().gripper, focal,
        ).all()  # fmt: skip
    assert planned >= 2


def test_a_metric_window_sees_the_same_workspace_on_a_finer_camera():
    """A 960x720 camera with a 900 px focal length: the checkpoint's 320-pixel window about the
    centre spans 0.25 m of the table at 0.7 m and misses a box 16 cm off-centre; the metric
    window (the 0.386 m the 320 pixels covered in training) holds it."""
    camera = CameraIntrinsics(width=960, height=720, fx=900.0, fy=900.0, cx=479.5, cy=359.5)
    box = primitives.box((0.04, 0.06, 0.05))
    pose = primitives.resting_pose(box.vertices, xy=(0.16, 0.0))
    depth = render_depth(TriangleMesh(box.vertices, box.faces).transformed(pose), camera)
    depth = depth.astype(np.float32)
    config = PropConfig(num_candidates=100)
    pixels = PropGQCNNPlanner(ClearJawsScorer(), NORMALIZATION, NetworkInputConfig(), config)
    with pytest.raises(PlanningError, match="nothing stands above the table in the view"):
        pixels.plan(depth, camera)
    metric_inputs = NetworkInputConfig().with_metric_view()
    metric = PropGQCNNPlanner(ClearJawsScorer(), NORMALIZATION, metric_inputs, config)
    (grasp,) = metric.plan(depth, camera)
    box_u = camera.cx + 0.16 * camera.fx / (0.7 - 0.05)  # the box top's centre column
    assert abs(grasp.center_px[0] - box_u) < 0.03 * camera.fx / 0.65
    assert abs(grasp.center_px[1] - camera.cy) < 0.04 * camera.fx / 0.65


def stepped_post_frame() -> np.ndarray:
    """(480, 640) Kinect frame, table at 0.7 m: a 50 mm square block 40 mm tall with a 16 mm
    square post standing 160 mm on it, as a bottle's body and neck; mild noise."""
    from gqstn_ros.camera_model import KINECT_V1

    v, u = np.mgrid[0:480, 0:640]
    depth = np.full((480, 640), 0.7)
    for half, height in ((0.025, 0.04), (0.008, 0.16)):
        top = 0.7 - height
        x, y = (u - KINECT_V1.cx) * top / KINECT_V1.fx, (v - KINECT_V1.cy) * top / KINECT_V1.fy
        depth = np.where((np.abs(x) <= half) & (np.abs(y) <= half), top, depth)
    noise = np.random.default_rng(7).normal(0.0, 0.0005, depth.shape)
    return (depth + noise).astype(np.float32)


def test_no_grasp_is_deeper_than_the_fingers_reach():
    from gqstn_ros.camera_model import KINECT_V1
    from gqstn_ros.planners.prop_gqcnn import planner as prop_module

    depth = stepped_post_frame()
    gripper = PropConfig().gripper
    planner = make_planner()
    # The block's edges give grasps 5-25 mm below its top, under the post's top 120 mm above:
    # the palm stands on the post. The post's own edges give grasps the fingers reach.
    window = prop_module.view_window(depth, KINECT_V1, planner.input_config)
    roi = planner.search_window(window, depth.shape)
    proposed = planner.propose(depth, KINECT_V1, 300, np.random.default_rng(0), roi)
    blocked = palm_blocked(
        depth, KINECT_V1, proposed.centers_px, proposed.angles, proposed.depths, gripper
    )
    assert blocked.any() and not blocked.all()
    ranked = planner.rank(depth, KINECT_V1)
    assert len(ranked) > 0
    assert not palm_blocked(
        depth, KINECT_V1, ranked.centers_px, ranked.angles, ranked.depths, gripper
    ).any()
    # Only grasps the palm blocks: refused, saying so.
    with pytest.raises(PlanningError, match=r"every one of the \d+ antipodal candidates is deeper"):
        prop_module._keep_feasible(
            depth, KINECT_V1, gripper, proposed.subset(blocked), clear_of_neighbours=False
        )
