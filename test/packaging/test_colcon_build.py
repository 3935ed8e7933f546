"""The repository builds with colcon as in a real ROS 2 install, with the README's commands.

The build commands are read from the README (the bash block after its "build commands" marker)
and run in bash as written, with one substitution: the environment's ROS 2 prefix (.venv) plays
the part of /opt/ros/<distro>, so `source /opt/ros/<distro>/setup.bash` becomes activating it and
naming it in AMENT_PREFIX_PATH and CMAKE_PREFIX_PATH. `ros2 launch` (no ros2 command line here)
becomes a check that everything it needs resolves from the sourced install.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ros_test_support import REPO_ROOT

pytestmark = pytest.mark.slow

README_MARKER = "<!-- build commands: run by test/packaging/test_colcon_build.py -->"
UNDERLAY = re.compile(r"^source /opt/ros/(kilted|jazzy)/setup\.bash$")
COLCON_BUILD = "colcon build --base-paths . src/gqstn_msgs"
SOURCE_INSTALL = "source install/setup.bash"
LAUNCH = "ros2 launch gqstn_ros bench.launch.py"


def readme_build_commands() -> list[str]:
    """The commands of the README's build block, comments removed."""
    text = (REPO_ROOT / "README.md").read_text()
    assert README_MARKER in text, "the README's build block is marked for this test"
    block = text.split(README_MARKER, 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    return [command for command in commands if command]


def underlay_commands() -> str:
    """What `source /opt/ros/<distro>/setup.bash` does here: the environment's ROS prefix."""
    prefix = shlex.quote(sys.prefix)
    return (
        f"source {prefix}/bin/activate && export AMENT_PREFIX_PATH={prefix} "
        f"CMAKE_PREFIX_PATH={prefix}"
    )


def test_the_readme_documents_the_build_this_test_runs() -> None:
    commands = readme_build_commands()
    assert UNDERLAY.match(commands[0]), commands
    assert commands[1:] == [COLCON_BUILD, SOURCE_INSTALL, LAUNCH]


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
    colcon_executable()
    commands = readme_build_commands()
    underlay, build = commands[0], commands[1]
    assert UNDERLAY.match(underlay) and build == COLCON_BUILD, commands
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        ["bash", "-c", f"set -e; {underlay_commands()}; {build}"],
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
    """After the README's `source install/setup.bash`, Python, the ament index and the console
    scripts (what `ros2 launch gqstn_ros bench.launch.py` needs) come from the workspace."""
    probe = (
        "import gqstn_msgs.msg, gqstn_ros\n"
        "from ament_index_python.packages import get_package_share_directory\n"
        "from gqstn_msgs.msg import Grasp\n"
        "print(gqstn_msgs.msg.__file__)\n"
        "print(gqstn_ros.__file__)\n"
        "print(get_package_share_directory('gqstn_ros'))\n"
        "print(len(Grasp.get_fields_and_field_types()))\n"
        "from gqstn_ros.node_graph import GraphArguments, node_graph\n"
        "print(' '.join(sorted({spec.executable for spec in node_graph(GraphArguments())})))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    script = (
        f"set -e; {underlay_commands()}; cd {shlex.quote(str(colcon_install.parent))}; "
        f'{SOURCE_INSTALL}; python -c "$0"'
    )
    result = subprocess.run(
        ["bash", "-c", script, probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    msgs_file, ros_file, share_dir, field_count, *executables = result.stdout.split()
    assert msgs_file.startswith(str(colcon_install / "gqstn_msgs"))
    assert ros_file.startswith(str(colcon_install / "gqstn_ros"))
    assert share_dir == str(colcon_install / "gqstn_ros" / "share" / "gqstn_ros")
    assert int(field_count) == 12  # the fields of Grasp.msg (docs/interface.md)
    assert (Path(share_dir) / "launch" / "bench.launch.py").is_file()
    assert (Path(share_dir) / "config" / "rviz" / "bench.rviz").is_file()
    scripts = colcon_install / "gqstn_ros" / "lib" / "gqstn_ros"
    for executable in executables:  # what `ros2 launch` starts for every node of the graph
        assert os.access(scripts / executable, os.X_OK), f"{executable} not installed"
