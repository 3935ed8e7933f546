"""Where the package's data folders (config/, models/) are: installed, else the repository."""

from __future__ import annotations

from pathlib import Path

PACKAGE_NAME = "gqstn_ros"
REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir(folder: str, marker: str = "") -> Path:
    """share/gqstn_ros/<folder> of the installed package (found through the ament index) when
    it exists and holds `marker` (a sub-path; '' = nothing more), else the repository's
    <folder>, for a checkout used without installing."""
    repository = REPO_ROOT / folder
    try:
        from ament_index_python.packages import (  # noqa: PLC0415
            PackageNotFoundError,
            get_package_share_directory,
        )
    except ImportError:
        return repository
    try:
        installed = Path(get_package_share_directory(PACKAGE_NAME)) / folder
    except (PackageNotFoundError, OSError):  # OSError: AMENT_PREFIX_PATH not set
        return repository
    return installed if (installed / marker).is_dir() else repository
