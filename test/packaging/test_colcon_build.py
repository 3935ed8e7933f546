"""The repository builds with colcon as in a real ROS 2 install, with the documented command.

The environment's ROS 2 prefix (.venv) plays the part of /opt/ros/kilted: it is the underlay
named by AMENT_PREFIX_PATH and CMAKE_PREFIX_PATH, as `source /opt/ros/kilted/setup.bash` would.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ros_test_support import REPO_ROOT

pytestmark = pytest.mark.slow

# The command the README documents, run from the repository root.
COLCON_ARGS = ["build", "--base-paths", ".", "src/gqstn_msgs"]


def colcon_executable() -> str:
    colcon = Path(sys.executable).parent / "colcon"
    if not colcon.exists():
        pytest.fail(f"colcon is not installed next to {sys.executable}: run scripts/setup_env.sh")
    return str(colcon)


@pytest.fixture(scope="module")
def colcon_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tracked sources built by colcon; returns its install/ folder."""
    workspace = tmp_path_factory.mktemp("colcon_ws")
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        source = REPO_ROOT / name.decode()
        if source.is_file():
            target = workspace / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    prefix = str(Path(sys.prefix))
    env = dict(os.environ)
    env.update(
        AMENT_PREFIX_PATH=prefix,
        CMAKE_PREFIX_PATH=prefix,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    result = subprocess.run(
        [
            colcon_executable(),
            *COLCON_ARGS,
            "--cmake-args",
            "-DBUILD_TESTING=OFF",
            f"-DPython3_EXECUTABLE={sys.executable}",
        ],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    (workspace / "colcon_stdout.txt").write_text(result.stdout)
    return workspace / "install"


def test_both_packages_are_built_in_dependency_order(colcon_install: Path) -> None:
    output = (colcon_install.parent / "colcon_stdout.txt").read_text()
    assert output.index("Finished <<< gqstn_msgs") < output.index("Starting >>> gqstn_ros")
    assert (colcon_install / "gqstn_msgs" / "share" / "gqstn_msgs" / "msg" / "Grasp.msg").is_file()
    assert (colcon_install / "gqstn_msgs" / "share" / "gqstn_msgs" / "action").is_dir()


def test_share_folder_holds_everything_ros2_launch_needs(colcon_install: Path) -> None:
    share = colcon_install / "gqstn_ros" / "share"
    assert (share / "ament_index" / "resource_index" / "packages" / "gqstn_ros").is_file()
    assert (share / "gqstn_ros" / "package.xml").is_file()
    for folder in ("launch", "config", "models"):
        expected = {
            path.relative_to(REPO_ROOT / folder)
            for path in (REPO_ROOT / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        }
        installed = {
            path.relative_to(share / "gqstn_ros" / folder)
            for path in (share / "gqstn_ros" / folder).rglob("*")
            if path.is_file()
        }
        assert expected <= installed, f"{folder}/ not installed: {sorted(expected - installed)}"


def test_sourced_install_resolves_packages_from_the_workspace(colcon_install: Path) -> None:
    """After `source install/setup.sh`, Python and the ament index find the workspace's build."""
    probe = (
        "import gqstn_msgs.msg, gqstn_ros\n"
        "from ament_index_python.packages import get_package_share_directory\n"
        "from gqstn_msgs.msg import Grasp\n"
        "print(gqstn_msgs.msg.__file__)\n"
        "print(gqstn_ros.__file__)\n"
        "print(get_package_share_directory('gqstn_ros'))\n"
        "print(len(Grasp.get_fields_and_field_types()))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["AMENT_PREFIX_PATH"] = str(Path(sys.prefix))
    result = subprocess.run(
        ["bash", "-c", f'source "{colcon_install}/setup.sh" && "{sys.executable}" -c "$0"', probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    msgs_file, ros_file, share_dir, field_count = result.stdout.split()
    assert msgs_file.startswith(str(colcon_install / "gqstn_msgs"))
    assert ros_file.startswith(str(colcon_install / "gqstn_ros"))
    assert share_dir == str(colcon_install / "gqstn_ros" / "share" / "gqstn_ros")
    assert int(field_count) == 12  # the fields of Grasp.msg in DESIGN.md
