"""Request limits, admission and the planning worker, without a running node: every refusal
names the field and the limit; a rendered table with an object passes the scene check and the
same table without it is refused; the gate and the worker answer every request."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from rclpy.task import Future
from sensor_msgs.msg import CameraInfo, Image, RegionOfInterest

from gqstn_ros.camera_model import KINECT_V1
from gqstn_ros.depth_frames import (
    CameraRange,
    RejectedFrameError,
    mask_out_of_range,
    prepare_depth_frame,
)
from gqstn_ros.depth_image import intrinsics_to_camera_info, metres_to_image
from gqstn_ros.depth_processing import InpaintConfig, inpaint_depth
from gqstn_ros.nodes.request_flow import (
    BUSY_PREFIX,
    AdmissionGate,
    PlanningWorker,
    ShuttingDownError,
)
from gqstn_ros.nodes.request_limits import (
    MAX_IMAGE_SIDE_PX,
    ImageLimits,
    RequestLimitError,
    SceneCheck,
    check_camera_info,
    check_count,
    check_depth_image,
    check_object_above_table,
    check_target_fields,
    check_target_visible,
    target_from_request,
)
from gqstn_ros.nodes.shutdown import started_as_node_process
from gqstn_ros.nodes.topics import alive_topic
from ros_test_support import synthetic_depth_request

KINECT_RANGE = CameraRange("kinect_v1", 0.4, 4.0)


def image_of_size(width: int, height: int) -> Image:
    """An Image header claiming `width` x `height` (no data: the size check comes first)."""
    return Image(width=width, height=height, encoding="32FC1", step=4 * width)


def test_image_size_limits_name_the_limit_and_the_parameter() -> None:
    limits = ImageLimits(max_pixels=640 * 480)
    check_depth_image(image_of_size(640, 480), limits)
    with pytest.raises(RequestLimitError, match=r"depth has zero size \(0x480\)"):
        check_depth_image(image_of_size(0, 480), limits)
    with pytest.raises(
        RequestLimitError,
        match=r"depth is 8000x8000 = 64000000 pixels, more than the limit 307200 "
        r"\(parameter max_image_pixels\)",
    ):
        check_depth_image(image_of_size(8000, 8000), limits)
    with pytest.raises(RequestLimitError, match=f"at most {MAX_IMAGE_SIDE_PX} pixels"):
        check_depth_image(image_of_size(100000, 1), ImageLimits(max_pixels=MAX_IMAGE_SIDE_PX**2))
    long_frame = image_of_size(64, 48)
    long_frame.header.frame_id = "x" * 300
    with pytest.raises(RequestLimitError, match=r"depth.header.frame_id has 300 characters"):
        check_depth_image(long_frame, limits)
    with pytest.raises(ValueError, match="max_pixels"):
        ImageLimits(max_pixels=0)


def test_camera_info_limits() -> None:
    check_camera_info(intrinsics_to_camera_info(KINECT_V1))
    outside = intrinsics_to_camera_info(KINECT_V1)
    outside.k = [580.0, 0.0, 5000.0, 0.0, 580.0, 239.5, 0.0, 0.0, 1.0]
    with pytest.raises(
        RequestLimitError, match=r"principal point \(5000, 239.5\) lies outside the 640x480 image"
    ):
        check_camera_info(outside)
    pinhole = intrinsics_to_camera_info(KINECT_V1)
    pinhole.k = [1e-6, 0.0, 319.5, 0.0, 580.0, 239.5, 0.0, 0.0, 1.0]
    with pytest.raises(RequestLimitError, match=r"horizontal field of view of 180 deg"):
        check_camera_info(pinhole)
    distorted = intrinsics_to_camera_info(KINECT_V1)
    distorted.d = [0.0] * 20
    with pytest.raises(RequestLimitError, match=r"camera_info.d has 20 coefficients"):
        check_camera_info(distorted)
    with pytest.raises(RequestLimitError, match="no valid focal lengths"):
        check_camera_info(CameraInfo(width=640, height=480))


def test_counts_are_capped_with_the_parameter_named() -> None:
    check_count(10000, 10000, "num_candidates", "max_num_candidates")
    with pytest.raises(
        RequestLimitError,
        match=r"num_candidates 1000000000 is above the limit 10000 \(parameter max_num_cand",
    ):
        check_count(10**9, 10000, "num_candidates", "max_num_candidates")


def test_depths_outside_the_camera_range_are_invalid_or_refused() -> None:
    depth = np.full((48, 64), 0.7, dtype=np.float32)
    assert mask_out_of_range(depth, KINECT_RANGE) is depth  # nothing outside: untouched
    few = depth.copy()
    few[0, :10] = 50.0  # 0.3 % of the pixels
    masked = mask_out_of_range(few, KINECT_RANGE)
    assert np.isnan(masked[0, :10]).all() and np.isfinite(masked[1:]).all()
    far = np.full((48, 64), 1e9, dtype=np.float32)
    with pytest.raises(
        RejectedFrameError,
        match=r"100.0% of the valid depths lie outside the range of camera kinect_v1, 0.4-4 m "
        r"\(median depth 1e\+09 m",
    ):
        mask_out_of_range(far, KINECT_RANGE)
    with pytest.raises(ValueError, match="near_m < far_m"):
        CameraRange("broken", 2.0, 1.0)
    # Through the frame preparation every node uses: refused, naming the range.
    image = metres_to_image(far, "32FC1")
    with pytest.raises(RejectedFrameError, match="outside the range of camera kinect_v1"):
        prepare_depth_frame(
            image, KINECT_V1.scaled(64, 48), InpaintConfig(), camera_range=KINECT_RANGE
        )


@pytest.fixture(scope="module")
def rendered_table() -> tuple[np.ndarray, np.ndarray, object]:
    """A settled MuJoCo scene (a box on the table) seen by the simulated Kinect: the clean
    depth, the object's pixels, and the camera's intrinsics."""
    from gqstn_ros.sim.camera import DepthCamera
    from gqstn_ros.sim.objects import generate_object
    from gqstn_ros.sim.scene import Scene
    from gqstn_ros.sim.world_config import WorldConfig

    scene = Scene.build([generate_object("box", 3)], WorldConfig(), seed=5)
    assert scene.settle().ok
    with DepthCamera(scene) as camera:
        frame = camera.render()
    return frame.depth, frame.segmentation > 0, frame.intrinsics


def kinect_view(depth: np.ndarray, intrinsics, seed: int) -> np.ndarray:
    """`depth` as the Kinect driver gives it (noise, holes), then inpainted as the nodes do."""
    from gqstn_ros.sim.sensor_models import apply_sensor_noise
    from gqstn_ros.sim.world_config import WorldConfig

    noisy = apply_sensor_noise(depth, intrinsics, WorldConfig().noise, seed)
    return inpaint_depth(noisy, InpaintConfig())


def test_a_rendered_table_passes_the_scene_check_only_with_its_object(rendered_table) -> None:
    depth, object_pixels, intrinsics = rendered_table
    assert object_pixels.sum() > 100
    check = SceneCheck()
    for seed in range(3):
        check_object_above_table(kinect_view(depth, intrinsics, seed), intrinsics, check)
    # The same table without the object: its pixels take the table plane's depth there.
    table = ~object_pixels & (depth > 0)
    rows, cols = np.nonzero(table)
    design = np.stack([cols, rows, np.ones_like(cols)], axis=1).astype(np.float64)
    plane, *_ = np.linalg.lstsq(design, depth[table], rcond=None)
    empty = depth.copy()
    rows, cols = np.nonzero(object_pixels)
    empty[object_pixels] = plane[0] * cols + plane[1] * rows + plane[2]
    for seed in range(3):
        with pytest.raises(RequestLimitError, match=r"^no object above the table: nothing"):
            check_object_above_table(kinect_view(empty, intrinsics, seed), intrinsics, check)
    # 0 turns the check off.
    check_object_above_table(kinect_view(empty, intrinsics, 0), intrinsics, SceneCheck(0.006, 0))


def test_the_synthetic_request_frame_shows_an_object() -> None:
    depth, _ = synthetic_depth_request(3)
    frame = prepare_depth_frame(depth, KINECT_V1, InpaintConfig())
    check_object_above_table(frame.depth_m, frame.intrinsics, SceneCheck())
    flat = np.full((480, 640), 0.7, dtype=np.float32)
    with pytest.raises(RequestLimitError, match="no object above the table"):
        check_object_above_table(flat, KINECT_V1, SceneCheck())


def test_admission_gate_bounds_the_requests_in_flight() -> None:
    gate = AdmissionGate(2, "max_requests_in_flight")
    assert gate.try_enter() and gate.try_enter()
    assert not gate.try_enter()
    assert gate.in_flight == 2 and gate.refused == 1
    message = gate.busy_message("/detect_grasp")
    assert message.startswith(BUSY_PREFIX)
    assert "2 requests in flight" in message and "parameter max_requests_in_flight" in message
    gate.leave()
    assert gate.try_enter()
    gate.leave()
    gate.leave()
    with pytest.raises(RuntimeError, match="without a matching try_enter"):
        gate.leave()
    with pytest.raises(ValueError, match="max_requests_in_flight must be >= 1"):
        AdmissionGate(0, "max_requests_in_flight")


def wait_done(future: Future, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not future.done() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert future.done()


def test_planning_worker_runs_jobs_in_order_and_answers_pending_ones_on_close() -> None:
    worker = PlanningWorker("test_worker")
    order: list[int] = []
    futures = [worker.submit(lambda i=i: order.append(i) or i * i) for i in range(5)]
    for future in futures:
        wait_done(future)
    assert [future.result() for future in futures] == [0, 1, 4, 9, 16]
    assert order == [0, 1, 2, 3, 4]
    failing = worker.submit(lambda: 1 / 0)
    wait_done(failing)
    with pytest.raises(ZeroDivisionError):
        failing.result()
    # A job holding the worker, one queued behind it: close answers both at once.
    release = threading.Event()
    running = worker.submit(release.wait)
    queued = worker.submit(lambda: "never")
    worker.close()
    for future in (running, queued):
        assert future.done()
        with pytest.raises(ShuttingDownError):
            future.result()
    release.set()
    late = worker.submit(lambda: "late")
    with pytest.raises(ShuttingDownError):
        late.result()


def test_alive_topic_of_a_service() -> None:
    assert alive_topic("/plan_grasp") == "/plan_grasp/alive"


@pytest.mark.parametrize(
    ("orig_argv", "argv0", "expected"),
    [
        (["python", "-m", "gqstn_ros.nodes.inference_node", "--ros-args"], "-m", True),
        (["/venv/bin/fallback_node", "--ros-args"], "/venv/bin/fallback_node", True),
        (["/opt/lib/gqstn_ros/depth_node"], "/opt/lib/gqstn_ros/depth_node", True),
        (["python", "-m", "pytest", "test/nodes"], "/venv/bin/pytest", False),
        (["python", "-m", "gqstn_ros.tools.run_graph"], "-m", False),
    ],
)
def test_node_processes_are_recognised(orig_argv: list[str], argv0: str, expected: bool) -> None:
    assert started_as_node_process(orig_argv, argv0) is expected


def mono8(array: np.ndarray, encoding: str = "mono8", pad: int = 0) -> Image:
    """A mask image of `array` (uint8), rows padded by `pad` bytes."""
    height, width = array.shape
    rows = np.zeros((height, width + pad), dtype=np.uint8)
    rows[:, :width] = array
    return Image(
        height=height, width=width, encoding=encoding, step=width + pad, data=rows.tobytes()
    )


def box_mask(shape=(480, 640)) -> np.ndarray:
    mask = np.zeros(shape, dtype=np.uint8)
    mask[100:160, 200:290] = 255
    return mask


def roi(x: int, y: int, width: int, height: int) -> RegionOfInterest:
    return RegionOfInterest(x_offset=x, y_offset=y, width=width, height=height)


@pytest.mark.parametrize(
    ("mask", "region", "size", "message"),
    [
        (mono8(box_mask(), "rgb8"), RegionOfInterest(), (640, 480), "target_mask has encoding "
         "'rgb8': expected one of mono8, 8UC1"),
        (mono8(box_mask((480, 320))), RegionOfInterest(), (640, 480), "target_mask is 320x480, "
         "the depth used is 640x480"),
        (mono8(np.zeros((480, 640), np.uint8)), RegionOfInterest(), (640, 480),
         "target_mask is empty: it has no nonzero pixel"),
        (Image(encoding="mono8", data=b"\x01"), RegionOfInterest(), None,
         "target_mask has zero size (0x0) but is not empty"),
        (Image(height=2, width=4, encoding="mono8", step=3, data=bytes(6)), RegionOfInterest(),
         None, "target_mask step 3 is less than its width 4"),
        (Image(height=2, width=4, encoding="8UC1", step=4, data=bytes(7)), RegionOfInterest(),
         None, "target_mask has 7 bytes of data, expected step x height = 8"),
        (Image(), roi(10, 10, 0, 5), None, "target_roi has zero size (0x5 at x_offset 10"),
        (Image(), roi(5, 0, 0, 0), (640, 480), "target_roi has zero size (0x0 at x_offset 5"),
        (Image(), roi(600, 0, 41, 10), (640, 480), "target_roi (41x10 at x_offset 600, y_offset "
         "0) reaches outside the 640x480 depth used"),
        (Image(), roi(0, 470, 10, 11), (640, 480), "reaches outside"),
    ],
)  # fmt: skip
def test_target_fields_outside_their_limits_are_named(mask, region, size, message) -> None:
    with pytest.raises(RequestLimitError) as raised:
        check_target_fields(mask, region, size)
    assert message in str(raised.value)


def test_target_from_request_reads_mask_roi_and_both() -> None:
    size = (640, 480)
    assert target_from_request(Image(), RegionOfInterest(), size) is None
    # An empty mask is one without size or data; its encoding does not matter.
    assert target_from_request(Image(encoding="mono8"), RegionOfInterest(), size) is None
    by_mask = target_from_request(mono8(box_mask(), "8UC1", pad=3), RegionOfInterest(), size)
    assert by_mask.pixel_count == 60 * 90 and by_mask.bounds() == (200, 100, 290, 160)
    by_roi = target_from_request(Image(), roi(10, 20, 30, 40), size)
    assert by_roi.roi == (10, 20, 40, 60) and by_roi.pixel_count == 30 * 40
    both = target_from_request(mono8(box_mask()), roi(250, 0, 100, 130), size)
    assert both.bounds() == (250, 100, 290, 130)
    with pytest.raises(RequestLimitError, match="no nonzero pixel inside the region of interest"):
        target_from_request(mono8(box_mask()), roi(0, 0, 50, 50), size)


def test_a_target_hidden_or_unmeasured_is_not_visible() -> None:
    depth = np.full((480, 640), 0.7, dtype=np.float32)
    depth[100:160, 200:290] = 0.62
    target = target_from_request(mono8(box_mask()), RegionOfInterest(), (640, 480))
    check_target_visible(target, depth, KINECT_V1, SceneCheck())
    flat = target_from_request(Image(), roi(400, 300, 50, 50), (640, 480))
    with pytest.raises(RequestLimitError, match="target not visible: 0 of its 2500 pixels"):
        check_target_visible(flat, depth, KINECT_V1, SceneCheck())
    unmeasured = np.zeros(depth.shape, dtype=bool)
    with pytest.raises(RequestLimitError, match="target not visible: 0 of its 5400 pixels"):
        check_target_visible(target, depth, KINECT_V1, SceneCheck(), unmeasured)
