#!/usr/bin/env bash
# Creates the project-local environment `.venv` on a bare Debian 12 machine with no ROS installed:
#   - Debian packages the project needs (compilers, Python headers, OSMesa for headless rendering),
#   - ROS 2 Kilted (rclpy, message packages, Fast DDS rmw) and every other Python dependency,
#     all pinned by requirements/constraints.txt, torch 2.13.0 CPU included,
#   - the gqstn_msgs interface package, generated and built with cmake into the environment,
#   - interface packages the registries lack (requirements/ros_interfaces: tf2_msgs, for /tf),
#     built the same way when the environment has none of that name,
#   - gqstn_ros itself, installed in editable mode.
# Idempotent: a second run with nothing changed returns in about a second.
# Enter the environment afterwards with `source .venv/bin/activate`.
#
# Environment variables:
#   GQSTN_VENV      where to create the environment (default: <repo>/.venv)
#   GQSTN_PYTHON    the Python 3.11 interpreter to build it from (default: python3.11 or python3)
#   GQSTN_SKIP_APT  1: never call apt-get (then install the Debian packages yourself)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GQSTN_VENV:-$ROOT/.venv}"
BUILD_ROOT="$VENV/build"
INTERFACES_DIR="$ROOT/requirements/ros_interfaces"
# Written into the share folder of an interface package this script built (rebuilt on change).
BUILT_HERE=".built_by_gqstn_setup"
STAMP="$VENV/.gqstn_setup_stamp"
APT_PACKAGES=(build-essential python3-dev python3-venv libosmesa6 libegl1 libgl1)

log() { printf '[setup] %s\n' "$*" >&2; }

pick_python() {
  if [ -n "${GQSTN_PYTHON:-}" ]; then echo "$GQSTN_PYTHON"; return; fi
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then command -v "$candidate"; return; fi
  done
  echo "no python3 found: install Python 3.11 (apt-get install python3)" >&2
  exit 1
}

# A fingerprint of everything that decides what the environment holds: when it matches the stamp,
# there is nothing to do.
fingerprint() {
  {
    cat "$ROOT/requirements/base.txt" "$ROOT/requirements/constraints.txt"
    cat "$ROOT/setup.py" "$ROOT/setup.cfg" "$ROOT/package.xml"
    find "$ROOT/src/gqstn_msgs" "$INTERFACES_DIR" -type f | LC_ALL=C sort | xargs cat
    echo "${APT_PACKAGES[*]}"
  } | sha256sum | cut -d' ' -f1
}

install_apt_packages() {
  [ "${GQSTN_SKIP_APT:-0}" = "1" ] && return
  command -v dpkg-query >/dev/null 2>&1 || return
  local missing=()
  for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
      || missing+=("$package")
  done
  [ "${#missing[@]}" -eq 0 ] && return
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
      log "missing Debian packages: ${missing[*]} (run as root or install them, then rerun)"
      exit 1
    fi
  fi
  log "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# The ROS wheels were built in a manylinux image: their CMake export files name that image's
# Python and numpy include directories. Point them at this interpreter's before building.
rewrite_cmake_include_paths() {
  local python_include numpy_include
  python_include="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  numpy_include="$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')"
  { grep -rl --include='*.cmake' '/opt/python/cp311-cp311' "$VENV/share" 2>/dev/null || true; } \
    | while read -r file; do
        sed -i \
          -e "s#/opt/python/cp311-cp311/include/python3.11#$python_include#g" \
          -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$numpy_include#g" \
          "$file"
      done
}

# build_interface NAME SOURCE_DIR: generate and build one rosidl package into the environment.
build_interface() {
  local name="$1" source="$2"
  local build_dir="$BUILD_ROOT/$name"
  log "building $name into $VENV"
  rm -rf "$build_dir"
  local jobs
  jobs="$(nproc 2>/dev/null || echo 2)"
  PATH="$VENV/bin:$PATH" cmake -S "$source" -B "$build_dir" \
    -DCMAKE_INSTALL_PREFIX="$VENV" -DCMAKE_PREFIX_PATH="$VENV" \
    -DPython3_EXECUTABLE="$VENV/bin/python" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    >"$build_dir.configure.log" 2>&1 \
    || { tail -40 "$build_dir.configure.log" >&2; exit 1; }
  PATH="$VENV/bin:$PATH" cmake --build "$build_dir" -j "$jobs" \
    >"$build_dir.build.log" 2>&1 \
    || { tail -40 "$build_dir.build.log" >&2; exit 1; }
  cmake --install "$build_dir" >/dev/null
}

# Each package of requirements/ros_interfaces is built unless the environment already has one
# of that name that this script did not build (a wheel or a ROS install provides it).
build_missing_interfaces() {
  local source name
  for source in "$INTERFACES_DIR"/*/; do
    name="$(basename "$source")"
    if [ -d "$VENV/share/$name" ] && [ ! -f "$VENV/share/$name/$BUILT_HERE" ]; then
      continue
    fi
    build_interface "$name" "$source"
    touch "$VENV/share/$name/$BUILT_HERE"
  done
}

main() {
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(fingerprint)" ] && [ -x "$VENV/bin/python" ]; then
    return 0
  fi
  install_apt_packages
  local python
  python="$(pick_python)"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV with $("$python" --version)"
    "$python" -m venv "$VENV"
  fi
  local pip_args=(--disable-pip-version-check --quiet)
  # torch==2.13.0 CPU is served from a local wheel folder where the machine has one.
  [ -d /opt/wheels ] && pip_args+=(--find-links /opt/wheels)
  log "installing pinned Python dependencies (ROS 2 Kilted wheels, torch CPU, ...)"
  "$VENV/bin/python" -m pip install "${pip_args[@]}" \
    -r "$ROOT/requirements/base.txt" -c "$ROOT/requirements/constraints.txt" 2>&1 \
    | { grep -v -e '^WARNING: Location' -e 'is ignored: it is neither' || true; } >&2
  mkdir -p "$BUILD_ROOT"
  rewrite_cmake_include_paths
  build_missing_interfaces
  build_interface gqstn_msgs "$ROOT/src/gqstn_msgs"
  log "installing gqstn_ros (editable)"
  "$VENV/bin/python" -m pip install "${pip_args[@]}" --no-deps --no-build-isolation -e "$ROOT" \
    2>&1 | { grep -v -e '^WARNING: Location' -e 'is ignored: it is neither' || true; } >&2
  "$VENV/bin/python" -c 'import rclpy, gqstn_msgs.msg, tf2_msgs.msg, gqstn_ros' \
    || { log "the environment does not import rclpy/gqstn_msgs/tf2_msgs/gqstn_ros"; exit 1; }
  fingerprint >"$STAMP"
  log "ready: source $VENV/bin/activate"
}

main "$@"
