import dataclasses
import re

import numpy as np
import pytest
from conftest import NORM, frame_with_box, tiny_gqcnn
from model_support import checkpoints_for_gripper

from gqstn_ros.camera_model import KINECT_V1
from gqstn_ros.detection import GraspPlanner, PlannedGrasp, PlanningError
from gqstn_ros.gripper import GripperConfig
from gqstn_ros.networks.checkpoint import load_checkpoint
from gqstn_ros.networks.planners import load_network_planner
from gqstn_ros.preprocessing import NetworkInputConfig, STNParameters, extract_view
from gqstn_ros.profiles import load_gripper_profile
from gqstn_ros.table_plane import frame_table_plane


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx_cache")


@pytest.mark.parametrize("name", ["gqstn", "directgrasp", "multigrasp"])
def test_torch_and_onnxruntime_planners_agree(models_dir, onnx_cache, name):
    torch_planner = load_network_planner(name, models_dir)
    onnx_planner = load_network_planner(name, models_dir, "onnxruntime", onnx_cache_dir=onnx_cache)
    assert isinstance(torch_planner, GraspPlanner)
    depth = frame_with_box()
    (a,) = torch_planner.plan(depth, KINECT_V1)
    (b,) = onnx_planner.plan(depth, KINECT_V1, top_k=3)
    assert isinstance(a, PlannedGrasp) and a.planner == name
    assert np.allclose(a.center_px, b.center_px, atol=1e-2)
    assert abs(a.angle - b.angle) < 1e-4 and abs(a.width_px - b.width_px) < 1e-2
    assert abs(a.depth - b.depth) < 1e-5 and abs(a.q_value - b.q_value) < 1e-4
    assert a.thumbnail.shape == (32, 32) and a.thumbnail.dtype == np.float32
    assert -np.pi / 2 < a.angle <= np.pi / 2
    assert 0.0 <= a.q_value <= 1.0
    assert 0.5 < a.depth < 0.9  # about the table at 0.7 m


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_opening_never_exceeds_the_stroke_and_q_describes_the_returned_grasp(
    models_dir, onnx_cache, backend, tmp_path
):
    narrow = GripperConfig(name="narrow", max_width=0.02)
    narrow_models = checkpoints_for_gripper(models_dir, tmp_path, narrow, ["gqstn.pt"])
    planner = load_network_planner(
        "gqstn", narrow_models, backend, gripper=narrow, onnx_cache_dir=onnx_cache
    )
    wide = load_network_planner("gqstn", models_dir, backend, onnx_cache_dir=onnx_cache)
    depth = frame_with_box(1)
    (grasp,) = planner.plan(depth, KINECT_V1)
    (unclamped,) = wide.plan(depth, KINECT_V1)
    width_m = grasp.width_px * grasp.depth / KINECT_V1.fx
    assert width_m <= narrow.max_width + 1e-6
    assert unclamped.width_px * unclamped.depth / KINECT_V1.fx > narrow.max_width  # it clamped
    assert np.isclose(width_m, narrow.max_width, rtol=1e-4)
    # the thumbnail is the crop of the narrowed grasp (3 times the narrower opening)
    assert not np.allclose(grasp.thumbnail, unclamped.thumbnail)


@pytest.mark.parametrize(("backend", "views"), [("torch", 4), ("torch", 8), ("onnxruntime", 8)])
def test_symmetric_views_keep_the_grasp_gqcnn_rates_highest(models_dir, onnx_cache, backend, views):
    import torch

    from gqstn_ros.preprocessing import extract_crops, grasps_to_stn

    single = load_network_planner("gqstn", models_dir, backend, onnx_cache_dir=onnx_cache)
    several = load_network_planner(
        "gqstn", models_dir, backend, onnx_cache_dir=onnx_cache, symmetric_views=views
    )
    for seed in range(3):
        depth = frame_with_box(seed)
        (one,) = single.plan(depth, KINECT_V1)
        (best,) = several.plan(depth, KINECT_V1)
        view, window = extract_view(depth, NetworkInputConfig())
        # The single pass's grasp is the identity view's candidate: judged on the original
        # view as every candidate is, it never beats the one returned.
        one_params = grasps_to_stn(
            np.array([one.center_px]), np.array([one.angle]), np.array([one.width_px]), window
        ).as_array()
        one_q, _ = several.backend.evaluate(
            view[None, None], one_params, np.array([one.depth], dtype=np.float32)
        )
        assert best.q_value >= float(one_q[0]) - 1e-4
        # q and the thumbnail describe the returned grasp on the frame as it is.
        params = grasps_to_stn(
            np.array([best.center_px]),
            np.array([best.angle]),
            np.array([best.width_px]),
            window,
        ).as_array()
        crop = extract_crops(torch.from_numpy(view)[None, None], torch.from_numpy(params), 32)
        candidates = [crop[0, 0].numpy(), np.rot90(crop[0, 0].numpy(), 2)]
        assert min(np.abs(c - best.thumbnail).max() for c in candidates) < 1e-4
        q, _ = several.backend.evaluate(
            view[None, None], params, np.array([best.depth], dtype=np.float32)
        )
        assert abs(float(q[0]) - best.q_value) < 1e-4


def test_symmetric_views_must_be_a_count_of_symmetries(models_dir):
    with pytest.raises(ValueError, match="symmetric_views must be one of"):
        load_network_planner("gqstn", models_dir, symmetric_views=3)


def test_thumbnail_is_the_crop_of_the_returned_grasp(models_dir):
    import torch

    from gqstn_ros.preprocessing import ViewWindow, extract_crops, grasps_to_stn

    planner = load_network_planner("directgrasp", models_dir)
    depth = frame_with_box(2)
    (grasp,) = planner.plan(depth, KINECT_V1)
    config = NetworkInputConfig()
    view, window = extract_view(depth, config)
    assert window == ViewWindow.centered(depth.shape, config)
    params = grasps_to_stn(
        np.array([grasp.center_px]), np.array([grasp.angle]), np.array([grasp.width_px]), window
    ).as_array()
    crop = extract_crops(torch.from_numpy(view)[None, None], torch.from_numpy(params), 32)
    # the reported angle may differ from the network's by pi (wrapped): the crop turns 180 deg
    candidates = [crop[0, 0].numpy(), np.rot90(crop[0, 0].numpy(), 2)]
    assert min(np.abs(c - grasp.thumbnail).max() for c in candidates) < 1e-4


@pytest.mark.parametrize(
    ("depth", "message"),
    [
        (np.full((480, 640, 1), 0.7, np.float32), "2-D"),
        (np.full((480, 640), 700, np.uint16), "float"),
        (np.full((200, 640), 0.7, np.float32), "smaller than the 320x320 view"),
        (np.full((480, 600), 0.7, np.float32), "camera_info says 640x480"),
        (np.where(np.eye(480, 640) > 0, np.nan, 0.7).astype(np.float32), "480 NaN or inf"),
        (np.zeros((480, 640), np.float32), "zero or negative"),
        ([[0.7] * 640] * 480, "numpy array"),
    ],
)
def test_bad_inputs_raise_planning_error(models_dir, depth, message):
    planner = load_network_planner("gqstn", models_dir, view_scale="checkpoint")
    with pytest.raises(PlanningError, match=message):
        planner.plan(depth, KINECT_V1)


def test_bad_top_k_and_names(models_dir):
    planner = load_network_planner("multigrasp", models_dir)
    with pytest.raises(PlanningError, match="top_k"):
        planner.plan(frame_with_box(), KINECT_V1, top_k=0)
    with pytest.raises(ValueError, match="unknown network planner"):
        load_network_planner("prop_gqcnn", models_dir)


def test_a_stale_shipped_onnx_is_not_used(models_dir, onnx_cache, tmp_path):
    import shutil

    from gqstn_ros.networks.export import export_checkpoint

    models = tmp_path / "models"
    shutil.copytree(models_dir, models)
    # an ONNX file from another network under gqstn's name
    export_checkpoint(models / "directgrasp.pt", models / "gqstn.onnx", models / "gqcnn.pt")
    planner = load_network_planner("gqstn", models, "onnxruntime", onnx_cache_dir=onnx_cache)
    reference = load_network_planner("gqstn", models)
    depth = frame_with_box(3)
    (a,), (b,) = planner.plan(depth, KINECT_V1), reference.plan(depth, KINECT_V1)
    assert abs(a.q_value - b.q_value) < 1e-4 and np.allclose(a.center_px, b.center_px, atol=1e-2)
    loaded = load_checkpoint(models / "gqstn.pt")
    assert dataclasses.asdict(loaded.input_config) == NetworkInputConfig().to_dict()


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_a_judge_model_gives_q_and_the_robust_label(models_dir, onnx_cache, tmp_path, backend):
    import torch

    from gqstn_ros.networks.checkpoint import save_checkpoint
    from gqstn_ros.preprocessing import grasps_to_stn

    torch.manual_seed(11)  # another GQ-CNN than the networks' own heads
    judge = tiny_gqcnn()
    provenance = {"data": "random initialisation (test)", "code": "test"}
    save_checkpoint(tmp_path / "judge.pt", judge, "gqcnn", judge.config, NORM, provenance)
    own = load_network_planner("gqstn", models_dir, backend, onnx_cache_dir=onnx_cache)
    judged = load_network_planner(
        "gqstn", models_dir, backend, onnx_cache_dir=onnx_cache, judge_model=tmp_path / "judge.pt"
    )
    depth = frame_with_box(4)
    (mine,) = own.plan(depth, KINECT_V1)
    (theirs,) = judged.plan(depth, KINECT_V1)
    # The same grasp (one view: the judge does not choose), judged by the other GQ-CNN.
    assert np.allclose(mine.center_px, theirs.center_px) and mine.angle == theirs.angle
    assert abs(mine.q_value - theirs.q_value) > 1e-3
    view, window = extract_view(depth, NetworkInputConfig())
    params = grasps_to_stn(
        np.array([theirs.center_px]), np.array([theirs.angle]), np.array([theirs.width_px]), window
    ).as_array()
    evaluator_q, _ = judged.backend.evaluate(
        view[None, None], params, np.array([theirs.depth], dtype=np.float32)
    )
    assert abs(float(evaluator_q[0]) - theirs.q_value) < 1e-4


def test_a_missing_or_wrong_judge_model_is_refused(models_dir):
    from gqstn_ros.planner_registry import PlannerUnavailable, load_planner

    with pytest.raises(PlannerUnavailable, match=r"no model loaded: .*nothing\.pt does not exist"):
        load_planner("gqstn", models_dir, judge_model="nothing.pt")
    with pytest.raises(PlannerUnavailable, match="no model loaded: gqstn from"):
        load_planner("gqstn", models_dir, judge_model="multigrasp.pt")  # not a GQ-CNN


@pytest.mark.parametrize("name", ["gqstn", "multigrasp", "prop_gqcnn"])
def test_a_model_trained_for_another_gripper_is_refused_naming_both(models_dir, name, tmp_path):
    from gqstn_ros.gripper import GripperMismatchError
    from gqstn_ros.planner_registry import load_planner

    franka = load_gripper_profile("franka_hand")
    # The test models record no gripper: trained for the 2F-85, which they serve by default.
    assert load_planner(name, models_dir).gripper.name == "robotiq_2f85"
    with pytest.raises(GripperMismatchError) as refused:
        load_planner(name, models_dir, gripper=franka)
    message = str(refused.value)
    assert "trained for gripper 'robotiq_2f85', not for gripper 'franka_hand'" in message
    assert "max_width 0.085 m vs 0.08 m" in message
    # Recorded for the Franka Hand, the same weights serve it.
    files = ["gqcnn.pt"] if name == "prop_gqcnn" else [f"{name}.pt", "gqcnn.pt"]
    franka_models = checkpoints_for_gripper(models_dir, tmp_path, franka, files)
    planner = load_planner(name, franka_models, gripper=franka)
    assert planner.gripper == franka
    # A judge trained for another gripper is refused as well.
    if name != "prop_gqcnn":
        judge = models_dir / "gqcnn.pt"
        with pytest.raises(
            GripperMismatchError, match=re.escape(f"checkpoint {judge} was trained")
        ):
            load_planner(name, franka_models, gripper=franka, judge_model=judge)


def two_box_frame() -> tuple[np.ndarray, np.ndarray]:
    """(480, 640) inpainted frame: table 0.7 m, box A (u 180-229) and box B (u 380-419,
    the target), mild noise; and B's mask."""
    rng = np.random.default_rng(4)
    depth = np.full((480, 640), 0.7, dtype=np.float32)
    depth[200:260, 180:230] = 0.64
    depth[210:250, 380:420] = 0.65
    depth += rng.normal(0, 0.0005, depth.shape).astype(np.float32)
    mask = np.zeros(depth.shape, dtype=np.uint8)
    mask[210:250, 380:420] = 1
    return depth, mask


def test_the_view_window_is_centred_on_the_target(models_dir):
    from gqstn_ros.grasping.target import GraspTarget

    planner = load_network_planner("gqstn", models_dir)
    depth, mask = two_box_frame()
    target = GraspTarget.from_mask_and_roi(depth.shape, mask)
    window = planner._window(depth, KINECT_V1, target)
    assert (window.center_u, window.center_v) == (399.5, 229.5)
    plain = planner._window(depth, KINECT_V1)
    assert (plain.center_u, plain.center_v) == (319.5, 239.5)
    # The same metric scale: the table is flat, so its depth under either centre is the same.
    assert window.side_px == pytest.approx(plain.side_px, rel=1e-4)
    wrong = GraspTarget.from_mask_and_roi((240, 320), None, (0, 0, 5, 5))
    with pytest.raises(PlanningError, match="the target is 320x240 pixels"):
        planner.plan(depth, KINECT_V1, target=wrong)


@pytest.mark.parametrize("name", ["gqstn", "directgrasp", "multigrasp"])
@pytest.mark.parametrize("views", [1, 4])
def test_a_target_gets_a_grasp_on_it_that_clears_the_others(models_dir, name, views):
    from gqstn_ros.grasping.target import GraspTarget, finger_clearance

    planner = load_network_planner(name, models_dir, symmetric_views=views)
    depth, mask = two_box_frame()
    for target in (
        GraspTarget.from_mask_and_roi(depth.shape, mask),
        GraspTarget.from_mask_and_roi(depth.shape, None, (170, 190, 240, 270)),  # around A
    ):
        (grasp,) = planner.plan(depth, KINECT_V1, target=target)
        centre = np.array([grasp.center_px])
        assert target.contains(centre)[0], grasp.center_px
        focal = 0.5 * (KINECT_V1.fx + KINECT_V1.fy)
        assert finger_clearance(
            depth, target.obstacles(depth, KINECT_V1), centre, np.array([grasp.angle]),
            np.array([grasp.width_px]), np.array([grasp.depth]), planner.gripper, focal,
        )[0]  # fmt: skip
        assert grasp.width_px * grasp.depth / KINECT_V1.fx <= planner.gripper.max_width + 1e-6
        # Below the surface it grasps (a random network's own depth may reach the table).
        assert depth[int(centre[0, 1]), int(centre[0, 0])] < grasp.depth
        # q is GQ-CNN's on the target's view: the judge, on that view, agrees (up to float32
        # rounding of the grasp's round trip through frame pixels and batch sizes).
        q = planner.judge(
            depth, KINECT_V1, centre, np.array([grasp.angle]), np.array([grasp.width_px]),
            np.array([grasp.depth]), target=target,
        )  # fmt: skip
        assert q[0] == pytest.approx(grasp.q_value, abs=1e-3)


def test_without_a_target_a_grasp_with_a_finger_on_a_neighbour_is_replanned_on_its_object(
    models_dir,
):
    from gqstn_ros.grasping.target import clear_of_other_objects, object_at

    planner = load_network_planner("gqstn", models_dir)
    depth, _ = two_box_frame()
    # A grasp on A (u 180-229) opened wide along u: its right finger lands on B (u 380-419).
    wide = PlannedGrasp((220.0, 230.0), 0.0, 330.0, 0.66, 0.9, np.zeros((32, 32)), "gqstn")
    args = (np.array([wide.center_px]), np.array([0.0]), np.array([330.0]), np.array([0.66]))
    assert not clear_of_other_objects(depth, KINECT_V1, *args, planner.gripper)[0]
    plane = frame_table_plane(depth, KINECT_V1)
    replanned = planner._clear_of_neighbours(depth, KINECT_V1, wide, plane)
    under_a = object_at(depth, KINECT_V1, wide.center_px)
    assert under_a.contains(np.array([replanned.center_px]))[0]
    assert clear_of_other_objects(
        depth, KINECT_V1, np.array([replanned.center_px]), np.array([replanned.angle]),
        np.array([replanned.width_px]), np.array([replanned.depth]), planner.gripper,
    )[0]  # fmt: skip
    # A grasp that clears its neighbours is kept as it is.
    narrow = PlannedGrasp((205.0, 230.0), 0.0, 40.0, 0.66, 0.9, np.zeros((32, 32)), "gqstn")
    assert planner._clear_of_neighbours(depth, KINECT_V1, narrow, plane) is narrow
    # Every grasp the planner returns on the two boxes clears the other one.
    for views in (1, 4):
        (grasp,) = load_network_planner("directgrasp", models_dir, symmetric_views=views).plan(
            depth, KINECT_V1
        )
        assert clear_of_other_objects(
            depth, KINECT_V1, np.array([grasp.center_px]), np.array([grasp.angle]),
            np.array([grasp.width_px]), np.array([grasp.depth]), planner.gripper,
        )[0]  # fmt: skip


@pytest.mark.parametrize("name", ["gqstn", "directgrasp"])
def test_network_grasps_off_a_small_target_are_moved_onto_it(models_dir, name, monkeypatch):
    from gqstn_ros.grasping.target import GraspTarget, finger_clearance

    planner = load_network_planner(name, models_dir, symmetric_views=2)
    depth, _ = two_box_frame()
    # Two 3x3 patches on B at opposite corners: the view is centred between them, where an
    # untrained network's grasps land (its outputs are near the view centre).
    mask = np.zeros(depth.shape, dtype=np.uint8)
    mask[215:218, 385:388] = 1
    mask[242:245, 412:415] = 1
    target = GraspTarget.from_mask_and_roi(depth.shape, mask)
    masked = []
    original = planner._plan_on_target
    monkeypatch.setattr(
        planner, "_plan_on_target", lambda *args: masked.append(1) or original(*args)
    )
    (grasp,) = planner.plan(depth, KINECT_V1, target=target)
    assert masked == [1]  # the network's own grasps missed the patches
    centre = np.array([grasp.center_px])
    assert target.contains(centre)[0]
    assert float(grasp.center_px[0]).is_integer() and float(grasp.center_px[1]).is_integer()
    focal = 0.5 * (KINECT_V1.fx + KINECT_V1.fy)
    assert finger_clearance(
        depth, target.obstacles(depth, KINECT_V1), centre, np.array([grasp.angle]),
        np.array([grasp.width_px]), np.array([grasp.depth]), planner.gripper, focal,
    )[0]  # fmt: skip
    # Moved grasps keep 5-25 mm below B's top (0.65 m), above the table (0.7 m).
    assert 0.65 + 0.005 - 1e-3 <= grasp.depth <= 0.65 + 0.025 + 1e-3


def test_a_grasp_that_closes_on_air_is_planned_again_on_the_nearest_object(models_dir, monkeypatch):
    from gqstn_ros import table_plane
    from gqstn_ros.grasping.alternatives import ExecutionCheck
    from gqstn_ros.table_plane import frame_table_plane

    planner = load_network_planner("gqstn", models_dir, replan_on_air=True)
    depth, mask = two_box_frame()
    (own,) = planner.plan(depth, KINECT_V1)
    check = ExecutionCheck(depth, KINECT_V1, planner.gripper)
    assert check.grasp_closes(own)
    # On the table 30 pixels right of box B, jaws across the table: nothing between them.
    on_air = dataclasses.replace(own, center_px=(450.0, 230.0), angle=np.pi / 2, width_px=30.0)
    assert not check.grasp_closes(on_air)
    window = planner._window(depth, KINECT_V1)
    view, window = extract_view(depth, planner.input_config, window)
    out = planner.backend.infer(view[None, None])
    predicted = STNParameters(out["x"], out["y"], out["theta"], out["s"])
    network = (
        view, window, predicted, out["depth"].astype(np.float64), np.array([True]),
        frame_table_plane(depth, KINECT_V1),
    )  # fmt: skip
    fits = []
    fit = table_plane.fit_table_plane
    monkeypatch.setattr(table_plane, "fit_table_plane", lambda *a: fits.append(1) or fit(*a))
    replanned = planner._on_an_object(depth, KINECT_V1, on_air, *network)
    assert not fits  # the plane of the pass is used throughout, never fitted again
    assert replanned is not None and check.grasp_closes(replanned)
    u, v = (round(c) for c in replanned.center_px)
    assert mask[v, u], replanned.center_px  # on box B, the object nearest to it
    assert planner._on_an_object(depth, KINECT_V1, own, *network) is None  # on an object: stays
    planner.replan_on_air = False
    assert planner._on_an_object(depth, KINECT_V1, on_air, *network) is None


def test_replan_on_air_is_a_loader_option_off_by_default(models_dir):
    assert not load_network_planner("gqstn", models_dir).replan_on_air  # the paper's pass
    assert load_network_planner("gqstn", models_dir, replan_on_air=True).replan_on_air


def test_a_grasp_deeper_than_the_fingers_reach_is_raised_to_where_the_palm_rests(models_dir):
    from gqstn_ros.grasping.gripper_contact import palm_blocked

    # A post 120 mm tall and 40 mm square in the middle of the frame, table at 0.7 m.
    rng = np.random.default_rng(5)
    depth = np.full((480, 640), 0.7, dtype=np.float32)
    depth[225:255, 305:335] = 0.58
    depth += rng.normal(0, 0.0005, depth.shape).astype(np.float32)
    planner = load_network_planner("gqstn", models_dir, raise_to_reach=True)
    gripper = planner.gripper
    width_px = 0.07 * KINECT_V1.fx / 0.6

    def grasp_at(centre: tuple[float, float], grasp_depth: float) -> PlannedGrasp:
        return PlannedGrasp(
            center_px=centre, angle=0.0, width_px=width_px, depth=grasp_depth, q_value=0.5,
            thumbnail=np.zeros((32, 32), np.float32), planner="gqstn",
        )  # fmt: skip

    def blocked(grasp: PlannedGrasp) -> bool:
        return bool(
            palm_blocked(
                depth, KINECT_V1, np.array([grasp.center_px]), np.array([grasp.angle]),
                np.array([grasp.depth]), gripper,
            )[0]
        )  # fmt: skip

    # Across the post 10 mm above the table: the palm stands on its top 75 mm short.
    deep = grasp_at((319.5, 239.5), 0.69)
    assert blocked(deep)
    plane = frame_table_plane(depth, KINECT_V1)
    raised = planner._within_reach(depth, KINECT_V1, deep, None, plane)
    # Raised until the palm's underside (35 mm above the grasp centre) rests on the top, up
    # the optical axis: on the axis the same pixel, the same opening in metres.
    assert raised.depth == pytest.approx(0.58 + 0.035, abs=2e-3) and not blocked(raised)
    assert raised.center_px == deep.center_px
    assert raised.width_px * raised.depth == pytest.approx(deep.width_px * deep.depth)
    judged = planner.judge(
        depth, KINECT_V1, np.array([raised.center_px]), np.array([0.0]),
        np.array([raised.width_px]), np.array([raised.depth]),
    )[0]  # fmt: skip
    assert raised.q_value == pytest.approx(judged, abs=1e-6)
    # A grasp that reaches stays as it is; so does one whose raised jaws would close on air.
    reaches = grasp_at((319.5, 239.5), 0.6)
    assert planner._within_reach(depth, KINECT_V1, reaches, None, plane) is reaches
    beside = grasp_at((319.5 + 55.0, 239.5), 0.69)  # both jaws beside the post, palm over it
    assert blocked(beside)
    assert planner._within_reach(depth, KINECT_V1, beside, None, plane) is beside
    # Whatever the network plans here, the planner's grasp is not deeper than the palm allows.
    (planned,) = planner.plan(depth, KINECT_V1)
    assert not blocked(planned)


def test_a_grasp_is_raised_up_the_optical_axis_and_not_raised_without_a_table(
    models_dir, monkeypatch
):
    from gqstn_ros.grasping.gripper_contact import palm_blocked
    from gqstn_ros.networks import planners as network_planners
    from gqstn_ros.table_plane import NoTablePlaneError

    # The same post 0.15 m right of the optical axis (u about 465 at its top).
    rng = np.random.default_rng(6)
    v, u = np.mgrid[0:480, 0:640]
    x, y = (u - KINECT_V1.cx) * 0.58 / KINECT_V1.fx, (v - KINECT_V1.cy) * 0.58 / KINECT_V1.fy
    depth = np.full((480, 640), 0.7, dtype=np.float32)
    depth[(np.abs(x - 0.15) <= 0.015) & (np.abs(y) <= 0.015)] = 0.58
    depth += rng.normal(0, 0.0005, depth.shape).astype(np.float32)
    planner = load_network_planner("gqstn", models_dir, raise_to_reach=True)
    centre_px = tuple(float(c) for c in KINECT_V1.project(np.array([0.15, 0.0, 0.69])))
    deep = PlannedGrasp(
        center_px=centre_px, angle=np.pi / 2, width_px=0.07 * KINECT_V1.fx / 0.69, depth=0.69,
        q_value=0.5, thumbnail=np.zeros((32, 32), np.float32), planner="gqstn",
    )  # fmt: skip
    raised = planner._within_reach(
        depth, KINECT_V1, deep, None, frame_table_plane(depth, KINECT_V1)
    )
    assert raised.depth == pytest.approx(0.615, abs=2e-3)
    # The same point across the optical axis, 15 cm off it, not the same pixel.
    before = KINECT_V1.deproject(np.array([deep.center_px]), np.array([deep.depth]))[0]
    after = KINECT_V1.deproject(np.array([raised.center_px]), np.array([raised.depth]))[0]
    np.testing.assert_allclose(after[:2], before[:2], atol=1e-6)
    assert abs(raised.center_px[0] - deep.center_px[0]) > 10
    assert not palm_blocked(
        depth, KINECT_V1, np.array([raised.center_px]), np.array([raised.angle]),
        np.array([raised.depth]), planner.gripper,
    )[0]  # fmt: skip

    # A frame whose table cannot be told: the network's grasp as it is, no refusal.
    def no_table(*_):
        raise NoTablePlaneError("no table")

    monkeypatch.setattr(network_planners, "frame_table_plane", no_table)
    (as_is,) = planner.plan(depth, KINECT_V1)
    planner.raise_to_reach = False
    (unraised,) = planner.plan(depth, KINECT_V1)
    assert (as_is.center_px, as_is.depth, as_is.q_value) == (
        unraised.center_px, unraised.depth, unraised.q_value,
    )  # fmt: skip


def test_raise_to_reach_is_a_loader_option_off_by_default(models_dir):
    assert not load_network_planner("gqstn", models_dir).raise_to_reach
    assert load_network_planner("gqstn", models_dir, raise_to_reach=True).raise_to_reach


def test_a_doubtful_grasp_is_judged_again_at_other_jaw_angles_about_its_centre(
    models_dir, monkeypatch
):
    from gqstn_ros.grasping.alternatives import ExecutionCheck

    planner = load_network_planner("gqstn", models_dir, sweep_angles_below_q=0.5)
    depth, mask = two_box_frame()
    plane = frame_table_plane(depth, KINECT_V1)
    check = ExecutionCheck(depth, KINECT_V1, planner.gripper)
    # Beside box B's right edge (u 380-419), jaws along v: nothing between them. Turned towards
    # u, the jaws span the box's edge.
    doubtful = PlannedGrasp(
        center_px=(434.0, 229.5), angle=np.pi / 2, width_px=70.0, depth=0.66, q_value=-1.0,
        thumbnail=np.zeros((32, 32), dtype=np.float32), planner="gqstn",
    )  # fmt: skip
    assert not check.grasp_closes(doubtful)
    turned = planner._best_angle(depth, KINECT_V1, doubtful, plane)
    assert check.grasp_closes(turned) and turned.q_value > doubtful.q_value
    same = (turned.center_px, turned.width_px, turned.depth, turned.planner)
    assert same == (doubtful.center_px, doubtful.width_px, doubtful.depth, doubtful.planner)
    steps = (turned.angle - doubtful.angle) / (np.pi / 8)  # one of the 7 other angles
    assert abs(steps - round(steps)) < 1e-6 and round(steps) % 8 != 0
    assert turned.thumbnail.shape == (32, 32) and turned.thumbnail.any()  # the turned crop
    # A grasp rated above every turned one stays as it is.
    confident = dataclasses.replace(doubtful, q_value=1.5)
    assert planner._best_angle(depth, KINECT_V1, confident, plane) is confident
    # plan() sweeps a grasp rated below the threshold, and never one planned on a target.
    swept = []
    original = planner._best_angle
    monkeypatch.setattr(planner, "_best_angle", lambda *a: swept.append(1) or original(*a))
    planner.sweep_angles_below_q = 1.0  # every grasp of the untrained network is doubtful
    planner.plan(depth, KINECT_V1)
    assert swept == [1]
    from gqstn_ros.grasping.target import GraspTarget

    planner.plan(depth, KINECT_V1, target=GraspTarget.from_mask_and_roi(depth.shape, mask))
    planner.sweep_angles_below_q = 0.0  # off: the network's angle as it is
    planner.plan(depth, KINECT_V1)
    assert swept == [1]


def test_the_angle_sweep_is_a_loader_option_off_by_default(models_dir):
    assert load_network_planner("gqstn", models_dir).sweep_angles_below_q == 0.0
    assert load_network_planner("gqstn", models_dir, sweep_angles_below_q=0.5).sweep_angles_below_q
    with pytest.raises(ValueError, match="sweep_angles_below_q must be a q in"):
        load_network_planner("gqstn", models_dir, sweep_angles_below_q=1.5)
