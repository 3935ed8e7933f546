"""Datasets stored in the Dex-Net 2.0 / autolab_core "TensorDataset" layout.

On disk (the layout gqcnn trains from, and in which the Dex-Net 2.0 dataset is released)::

    <root>/config.json                  {"datapoints_per_file": K,
                                         "fields": {name: {"dtype": ..., ...shape keys}},
                                         "metadata": {...}}          (metadata: ours)
    <root>/tensors/<field>_<NNNNN>.npz  one array per file, saved under the key "arr_0";
                                        file n holds datapoints n*K .. n*K + K - 1
    <root>/splits/<name>/...            see `gqstn_ros.datasets.splits`

A field's per-datapoint shape is written the Dex-Net way: no key for scalars, "height" for
vectors (hand_poses: {"dtype": "float32", "height": 7}), "height"/"width"/"channels" for images
(depth_ims_tf_table: 32 x 32 x 1). Shapes of more than three dimensions use "shape" (ours).
Every file but the last holds exactly K datapoints; all fields have the same files.

`TensorDatasetWriter` appends batches and writes each file atomically (temporary file, then
`os.replace`), so an interrupted run loses only what was still buffered; reopening the same root
with the same fields resumes after the last consistent file. `TensorDataset` reads a dataset
and checks its structure when opened. Problems with the data on disk raise `DatasetError`
naming the file.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CONFIG_FILENAME = "config.json"
LEGACY_METADATA_FILENAME = "metadata.json"  # autolab_core keeps metadata beside the config
TENSOR_DIRNAME = "tensors"
TENSOR_KEY = "arr_0"
TENSOR_EXT = ".npz"
FILE_INDEX_DIGITS = 5
DEFAULT_DATAPOINTS_PER_FILE = 1000
_SHAPE_KEYS = ("height", "width", "channels")
_TMP_SUFFIX = ".tmp"


class DatasetError(ValueError):
    """A dataset on disk (or data given to a writer) that does not have the expected form."""


@dataclass(frozen=True)
class FieldSpec:
    """dtype: numpy dtype name ("float32", "uint32", ...); shape: per-datapoint shape."""

    dtype: str
    shape: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        try:
            dtype = np.dtype(self.dtype)
        except TypeError as error:
            raise DatasetError(f"field dtype {self.dtype!r} is not a numpy dtype") from error
        shape = tuple(int(size) for size in self.shape)
        if any(size <= 0 for size in shape):
            raise DatasetError(f"field shape must have positive sizes, got {self.shape}")
        object.__setattr__(self, "dtype", dtype.name)
        object.__setattr__(self, "shape", shape)

    def to_config(self) -> dict[str, Any]:
        """The Dex-Net config entry of this field."""
        entry: dict[str, Any] = {"dtype": self.dtype}
        if len(self.shape) <= len(_SHAPE_KEYS):
            entry.update(zip(_SHAPE_KEYS, self.shape, strict=False))
        else:
            entry["shape"] = list(self.shape)
        return entry

    @classmethod
    def from_config(cls, name: str, entry: Any, where: Path) -> FieldSpec:
        """Parse a Dex-Net config entry; `where` names the config file in errors."""
        if not isinstance(entry, dict) or "dtype" not in entry:
            raise DatasetError(f"{where}: field {name!r} needs a dict with a 'dtype', got {entry}")
        if "shape" in entry:
            shape = entry["shape"]
        else:
            # Dex-Net nests the keys: width only counts after height, channels after width.
            shape = []
            for key in _SHAPE_KEYS:
                if key not in entry:
                    break
                shape.append(entry[key])
        try:
            return cls(dtype=str(entry["dtype"]), shape=tuple(int(size) for size in shape))
        except (TypeError, ValueError) as error:
            raise DatasetError(f"{where}: field {name!r}: {error}") from error


def tensor_filename(field: str, file_index: int) -> str:
    """Dex-Net's tensor file name: `<field>_<5-digit index>.npz`."""
    return f"{field}_{file_index:0{FILE_INDEX_DIGITS}d}{TENSOR_EXT}"


def _list_field_files(tensor_dir: Path, field: str) -> dict[int, Path]:
    """File index -> path of every `<field>_<digits>.npz` in tensor_dir."""
    pattern = re.compile(re.escape(field) + r"_(\d{" + str(FILE_INDEX_DIGITS) + r",})\.npz")
    files = {}
    for path in tensor_dir.iterdir():
        match = pattern.fullmatch(path.name)
        if match:
            files[int(match.group(1))] = path
    return files


def _npz_header(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of arr_0 in an .npz, reading only the array header (no decompression
    of the data)."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = TENSOR_KEY + ".npy"
            if member not in archive.namelist():
                raise DatasetError(f"{path}: no '{TENSOR_KEY}' array in the file")
            with archive.open(member) as stream:
                version = np.lib.format.read_magic(stream)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    except DatasetError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DatasetError(f"{path}: not a readable .npz tensor file ({error})") from error
    return tuple(shape), np.dtype(dtype)


def load_tensor_file(path: Path) -> np.ndarray:
    """The arr_0 array of a tensor .npz file; DatasetError naming the file otherwise."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return archive[TENSOR_KEY]
    except FileNotFoundError as error:
        raise DatasetError(f"{path}: tensor file is missing") from error
    except KeyError as error:
        raise DatasetError(f"{path}: no '{TENSOR_KEY}' array in the file") from error
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DatasetError(f"{path}: not a readable .npz tensor file ({error})") from error


def atomic_write_bytes(path: Path, write: Any) -> None:
    """Write a file through `write(file_object)` into a temporary sibling, then rename it:
    readers and an interrupted run see the old file or the new one, never a part."""
    tmp_path = path.with_name(path.name + _TMP_SUFFIX)
    with open(tmp_path, "wb") as stream:
        write(stream)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(tmp_path, path)


def _write_tensor(path: Path, array: np.ndarray) -> None:
    atomic_write_bytes(path, lambda stream: np.savez_compressed(stream, **{TENSOR_KEY: array}))


def write_json_atomic(path: Path, content: dict[str, Any]) -> None:
    """Write content as indented, key-sorted JSON, atomically."""
    text = json.dumps(content, indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(path, lambda stream: stream.write(text.encode()))


def _read_config(root: Path) -> tuple[int, dict[str, FieldSpec], dict[str, Any]]:
    """(datapoints_per_file, fields, metadata) of the dataset at root."""
    path = root / CONFIG_FILENAME
    if not path.is_file():
        raise DatasetError(f"{path}: dataset config file is missing")
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetError(f"{path}: not a readable JSON config ({error})") from error
    if not isinstance(config, dict):
        raise DatasetError(f"{path}: config must be a JSON object")
    per_file = config.get("datapoints_per_file")
    if not isinstance(per_file, int) or isinstance(per_file, bool) or per_file <= 0:
        raise DatasetError(f"{path}: 'datapoints_per_file' must be a positive integer")
    fields_entry = config.get("fields")
    if not isinstance(fields_entry, dict) or not fields_entry:
        raise DatasetError(f"{path}: 'fields' must be a non-empty object")
    fields = {
        name: FieldSpec.from_config(name, entry, path) for name, entry in fields_entry.items()
    }
    metadata = config.get("metadata")
    legacy_metadata = root / LEGACY_METADATA_FILENAME
    if metadata is None and legacy_metadata.is_file():
        try:
            metadata = json.loads(legacy_metadata.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DatasetError(f"{legacy_metadata}: not readable JSON ({error})") from error
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise DatasetError(f"{path}: 'metadata' must be a JSON object")
    return per_file, fields, metadata


class TensorDatasetWriter:
    """Append datapoints to a dataset in the Dex-Net TensorDataset layout.

    Creates root/config.json and root/tensors/. If root already holds a dataset with the same
    fields and datapoints_per_file, the writer resumes it: files 0..k-1 that are complete for
    every field are kept; file k, if every field has a readable one (the partial last file
    `close` writes), is read back into the buffer, cut to its shortest field, and rewritten
    extended by the next data; anything else (a file only some fields have, an unreadable file,
    later files, temporary files of an interrupted write) is deleted. `num_datapoints` then
    counts the datapoints kept. Metadata given on resume replaces the stored metadata; None
    keeps it.

    `add` buffers; `flush` writes every complete file; `close` (or leaving the `with` block)
    also writes the final partial file.
    """

    def __init__(
        self,
        root: Path,
        fields: dict[str, FieldSpec],
        datapoints_per_file: int = DEFAULT_DATAPOINTS_PER_FILE,
        metadata: dict | None = None,
    ) -> None:
        if not fields:
            raise DatasetError("a dataset needs at least one field")
        for name, spec in fields.items():
            if not isinstance(spec, FieldSpec):
                raise DatasetError(f"field {name!r}: expected a FieldSpec, got {spec!r}")
            if not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
                raise DatasetError(f"field name {name!r}: use letters, digits, '_' and '-' only")
        if isinstance(datapoints_per_file, bool) or int(datapoints_per_file) <= 0:
            raise DatasetError(f"datapoints_per_file must be positive, got {datapoints_per_file}")
        self.root = Path(root)
        self.fields = dict(fields)
        self.datapoints_per_file = int(datapoints_per_file)
        self.tensor_dir = self.root / TENSOR_DIRNAME
        self._buffer: dict[str, list[np.ndarray]] = {name: [] for name in self.fields}
        self._num_buffered = 0
        self._num_files_written = 0
        self._closed = False

        config_path = self.root / CONFIG_FILENAME
        if config_path.exists():
            stored_per_file, stored_fields, stored_metadata = _read_config(self.root)
            self._check_same_layout(config_path, stored_per_file, stored_fields)
            self.metadata = dict(stored_metadata if metadata is None else metadata)
            self.tensor_dir.mkdir(exist_ok=True)
            self._resume()
        else:
            if self.tensor_dir.is_dir() and any(self.tensor_dir.glob("*" + TENSOR_EXT)):
                raise DatasetError(
                    f"{self.root}: holds tensor files but no {CONFIG_FILENAME}: not a dataset "
                    "this writer can resume; choose an empty folder"
                )
            self.metadata = dict(metadata or {})
            self.tensor_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(config_path, self._config())

    def _config(self) -> dict[str, Any]:
        return {
            "datapoints_per_file": self.datapoints_per_file,
            "fields": {name: spec.to_config() for name, spec in self.fields.items()},
            "metadata": self.metadata,
        }

    def _check_same_layout(
        self, config_path: Path, stored_per_file: int, stored_fields: dict[str, FieldSpec]
    ) -> None:
        differences = []
        if stored_per_file != self.datapoints_per_file:
            differences.append(
                f"datapoints_per_file {stored_per_file} on disk, {self.datapoints_per_file} given"
            )
        for name in sorted(stored_fields.keys() - self.fields.keys()):
            differences.append(f"field {name!r} on disk is not given")
        for name in sorted(self.fields.keys() - stored_fields.keys()):
            differences.append(f"field {name!r} given is not on disk")
        for name in sorted(stored_fields.keys() & self.fields.keys()):
            if stored_fields[name] != self.fields[name]:
                differences.append(
                    f"field {name!r}: {stored_fields[name]} on disk, {self.fields[name]} given"
                )
        if differences:
            raise DatasetError(
                f"{config_path}: cannot resume, the existing dataset differs: "
                + "; ".join(differences)
            )

    def _resume(self) -> None:
        for stale in self.tensor_dir.glob("*" + _TMP_SUFFIX):
            stale.unlink()
        files = {name: _list_field_files(self.tensor_dir, name) for name in self.fields}
        kept_files = 0
        while True:
            paths = {name: files[name].get(kept_files) for name in self.fields}
            if any(path is None for path in paths.values()):
                break
            try:
                headers = {name: _npz_header(path) for name, path in paths.items()}
            except DatasetError:
                break
            if not all(
                self._header_fits(name, shape, dtype) and shape[0] == self.datapoints_per_file
                for name, (shape, dtype) in headers.items()
            ):
                break
            kept_files += 1
        partial = self._read_partial_file(files, kept_files)
        for name in self.fields:
            for index, path in files[name].items():
                if index > kept_files or (index == kept_files and partial is None):
                    path.unlink()
        self._num_files_written = kept_files
        if partial is not None:
            self.add(**partial)

    def _header_fits(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> bool:
        spec = self.fields[name]
        return (
            len(shape) == len(spec.shape) + 1
            and shape[1:] == spec.shape
            and dtype == np.dtype(spec.dtype)
            and shape[0] <= self.datapoints_per_file
        )

    def _read_partial_file(
        self, files: dict[str, dict[int, Path]], index: int
    ) -> dict[str, np.ndarray] | None:
        """The datapoints of file `index` that every field holds, or None.

        A file is only ever rewritten with more datapoints appended (the buffer starts with the
        previous partial file), so any two versions of a file agree on their common prefix: a
        rewrite interrupted between two fields leaves files whose shortest length is valid.
        """
        paths = {name: files[name].get(index) for name in self.fields}
        if any(path is None for path in paths.values()):
            return None
        try:
            arrays = {name: load_tensor_file(path) for name, path in paths.items()}
        except DatasetError:
            return None
        if not all(
            self._header_fits(name, array.shape, array.dtype) for name, array in arrays.items()
        ):
            return None
        length = min(array.shape[0] for array in arrays.values())
        if length == 0:
            return None
        return {name: array[:length] for name, array in arrays.items()}

    @property
    def num_datapoints(self) -> int:
        """Datapoints in the dataset: written files plus the buffer."""
        return self._num_files_written * self.datapoints_per_file + self._num_buffered

    def add(self, **batch: np.ndarray) -> None:
        """Buffer N datapoints: one (N, *shape) array of the field's dtype for every field."""
        if self._closed:
            raise DatasetError(f"{self.root}: the writer is closed")
        missing = sorted(self.fields.keys() - batch.keys())
        extra = sorted(batch.keys() - self.fields.keys())
        if missing or extra:
            raise DatasetError(
                f"{self.root}: add() needs exactly the fields {sorted(self.fields)}"
                + (f"; missing {missing}" if missing else "")
                + (f"; unknown {extra}" if extra else "")
            )
        arrays = {name: np.asarray(values) for name, values in batch.items()}
        lengths = set()
        for name, array in arrays.items():
            spec = self.fields[name]
            if array.dtype != np.dtype(spec.dtype):
                raise DatasetError(
                    f"field {name!r}: dtype {array.dtype.name} given, {spec.dtype} expected"
                )
            if array.ndim != len(spec.shape) + 1 or array.shape[1:] != spec.shape:
                raise DatasetError(
                    f"field {name!r}: shape {array.shape} given, (N, *{spec.shape}) expected"
                )
            lengths.add(array.shape[0])
        if len(lengths) != 1:
            given = {name: array.shape[0] for name, array in arrays.items()}
            raise DatasetError(f"fields have different numbers of datapoints: {given}")
        (length,) = lengths
        if length == 0:
            return
        for name, array in arrays.items():
            self._buffer[name].append(np.array(array, copy=True))
        self._num_buffered += length

    def _write_buffer(self, include_partial: bool) -> None:
        per_file = self.datapoints_per_file
        num_full = self._num_buffered // per_file
        num_files = num_full + (1 if include_partial and self._num_buffered % per_file else 0)
        if num_files == 0:
            return
        joined = {name: np.concatenate(parts) for name, parts in self._buffer.items()}
        for offset in range(num_files):
            rows = slice(offset * per_file, (offset + 1) * per_file)
            for name, array in joined.items():
                path = self.tensor_dir / tensor_filename(name, self._num_files_written)
                _write_tensor(path, array[rows])
            if offset < num_full:
                self._num_files_written += 1
        # A written partial file stays buffered too: the next data rewrites it, extended.
        done = num_full * per_file
        self._buffer = {
            name: [array[done:]] if len(array) > done else [] for name, array in joined.items()
        }
        self._num_buffered -= done

    def flush(self) -> None:
        """Write every complete file in the buffer (atomically, file by file)."""
        self._write_buffer(include_partial=False)

    def close(self) -> None:
        """Write the buffer, the final partial file included. Further `add` calls fail."""
        if self._closed:
            return
        self._write_buffer(include_partial=True)
        self._closed = True

    def __enter__(self) -> TensorDatasetWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        self.close()


class TensorDataset:
    """Read a dataset in the Dex-Net TensorDataset layout.

    Opening checks the config and that the tensor files form a consistent dataset: every field
    has files 0..n-1, every file holds arrays of the configured dtype and per-datapoint shape
    (from the file headers, without decompressing), all fields agree on each file's length and
    every file but the last holds datapoints_per_file datapoints.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        per_file, fields, metadata = _read_config(self.root)
        self._setup(self.root / TENSOR_DIRNAME, per_file, fields, metadata)

    @classmethod
    def from_tensor_files(cls, tensor_dir: Path, fields: list[str]) -> TensorDataset:
        """Open `<field>_NNNNN.npz` files that come without a config.json (the first Dex-Net 2.0
        release): dtypes and shapes are taken from each field's file 0."""
        tensor_dir = Path(tensor_dir)
        if not tensor_dir.is_dir():
            raise DatasetError(f"{tensor_dir}: tensor folder is missing")
        specs = {}
        per_file = None
        for name in fields:
            first = tensor_dir / tensor_filename(name, 0)
            if not first.is_file():
                raise DatasetError(f"{first}: tensor file is missing")
            shape, dtype = _npz_header(first)
            if not shape:
                raise DatasetError(f"{first}: tensor has no datapoint axis")
            specs[name] = FieldSpec(dtype=dtype.name, shape=shape[1:])
            per_file = shape[0] if per_file is None else per_file
        if per_file is None or per_file == 0:
            raise DatasetError(f"{tensor_dir}: no fields to read")
        dataset = cls.__new__(cls)
        dataset.root = tensor_dir
        dataset._setup(tensor_dir, per_file, specs, {})
        return dataset

    def _setup(
        self,
        tensor_dir: Path,
        datapoints_per_file: int,
        fields: dict[str, FieldSpec],
        metadata: dict[str, Any],
    ) -> None:
        self.tensor_dir = tensor_dir
        self.datapoints_per_file = datapoints_per_file
        self.fields = fields
        self.metadata = metadata
        self._cache: dict[str, tuple[int, np.ndarray]] = {}
        if not tensor_dir.is_dir():
            raise DatasetError(f"{tensor_dir}: tensor folder is missing")
        files = {name: _list_field_files(tensor_dir, name) for name in fields}
        num_files = max((max(found) + 1 for found in files.values() if found), default=0)
        lengths = np.zeros(num_files, dtype=np.int64)
        for index in range(num_files):
            file_lengths = {}
            for name, spec in fields.items():
                path = files[name].get(index, tensor_dir / tensor_filename(name, index))
                if index not in files[name]:
                    raise DatasetError(f"{path}: tensor file is missing")
                shape, dtype = _npz_header(path)
                if dtype != np.dtype(spec.dtype) or tuple(shape[1:]) != spec.shape or not shape:
                    raise DatasetError(
                        f"{path}: holds {dtype.name} {shape}, "
                        f"config says {spec.dtype} (N, *{spec.shape})"
                    )
                file_lengths[name] = shape[0]
            if len(set(file_lengths.values())) != 1:
                raise DatasetError(
                    f"{tensor_dir}: fields disagree on the length of file {index}: {file_lengths}"
                )
            length = next(iter(file_lengths.values()))
            last = index == num_files - 1
            if (length != datapoints_per_file and not last) or length > datapoints_per_file:
                raise DatasetError(
                    f"{tensor_dir}: file {index} holds {length} datapoints, "
                    f"{datapoints_per_file} expected"
                )
            lengths[index] = length
        self._file_lengths = lengths
        self.num_files = num_files
        self.num_datapoints = int(lengths.sum())

    @property
    def field_names(self) -> list[str]:
        return list(self.fields)

    def _check_field(self, field: str) -> None:
        if field not in self.fields:
            raise DatasetError(f"{self.root}: no field {field!r}; fields: {self.field_names}")

    def tensor(self, field: str, file_index: int) -> np.ndarray:
        """(n, *shape) array of one file; the last file read per field is cached."""
        self._check_field(field)
        if not 0 <= file_index < self.num_files:
            raise IndexError(f"file index {file_index} out of range [0, {self.num_files})")
        cached = self._cache.get(field)
        if cached is not None and cached[0] == file_index:
            return cached[1]
        path = self.tensor_dir / tensor_filename(field, file_index)
        array = load_tensor_file(path)
        if array.shape[0] != self._file_lengths[file_index]:
            raise DatasetError(f"{path}: holds {array.shape[0]} datapoints, header said more")
        self._cache[field] = (file_index, array)
        return array

    def field(self, field: str) -> np.ndarray:
        """(num_datapoints, *shape): the whole field."""
        self._check_field(field)
        spec = self.fields[field]
        if self.num_files == 0:
            return np.zeros((0, *spec.shape), dtype=spec.dtype)
        return np.concatenate([self.tensor(field, index) for index in range(self.num_files)])

    def datapoints(
        self, indices: np.ndarray, fields: list[str] | None = None
    ) -> dict[str, np.ndarray]:
        """field -> (len(indices), *shape) for the given global datapoint indices, in order."""
        indices = np.asarray(indices)
        if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
            if indices.size == 0:
                indices = indices.astype(np.int64).reshape(-1)
            else:
                raise IndexError(f"indices must be a 1-D integer array, got {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_datapoints):
            raise IndexError(f"datapoint indices must lie in [0, {self.num_datapoints})")
        names = self.field_names if fields is None else list(fields)
        for name in names:
            self._check_field(name)
        file_of = indices // self.datapoints_per_file
        row_of = indices % self.datapoints_per_file
        result = {}
        for name in names:
            spec = self.fields[name]
            out = np.empty((indices.size, *spec.shape), dtype=spec.dtype)
            for file_index in np.unique(file_of):
                selected = file_of == file_index
                out[selected] = self.tensor(name, int(file_index))[row_of[selected]]
            result[name] = out
        return result
