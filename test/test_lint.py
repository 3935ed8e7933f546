"""ruff (configured in pyproject.toml) finds nothing in the repository."""

import subprocess
import sys
from pathlib import Path

from ros_test_support import REPO_ROOT


def ruff() -> str:
    return str(Path(sys.executable).parent / "ruff")


def test_ruff_check_is_clean() -> None:
    result = subprocess.run(
        [ruff(), "check", "--no-cache", "."], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = subprocess.run(
        [ruff(), "format", "--check", "--no-cache", "."],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
