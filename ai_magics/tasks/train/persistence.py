"""Saving and loading trained models: safetensors weights plus one JSON file, never pickle.

Every folder %%train saves holds :data:`MARKER`, a JSON file with at least ``kind`` (``classifier`` or
``causal-lm``), ``file_format`` (``trained`` or ``transformers``) and ``task``; a classifier's marker also
holds everything its predictor needs besides the weights (feature names, scaling, labels, ...). A folder with
that file is how ``--model DIR`` knows what it was given.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ai_magics.errors import AIMagicsError

MARKER = "ai_magics_trained.json"
WEIGHTS = "model.safetensors"
FORMAT_VERSION = 1
SESSION_PREFIX = "ai_magics_"
_session_folders: set[Path] = set()


def is_session_folder(folder: str | Path) -> bool:
    """Whether ``folder`` is a session folder this process made (removed when the process ends)."""
    return Path(folder) in _session_folders


def remove_session_folder(folder: str | Path) -> None:
    """Delete a session folder this process made (a model trained again under the same name replaced it)."""
    path = Path(folder)
    if path in _session_folders:
        _session_folders.discard(path)
        shutil.rmtree(path, ignore_errors=True)


@atexit.register
def remove_session_folders() -> None:
    """Delete every session folder this process made (run at exit; a killed kernel leaves them in the temp folder)."""
    for folder in list(_session_folders):
        shutil.rmtree(folder, ignore_errors=True)


def read_marker(folder: str | Path) -> dict[str, Any] | None:
    """The marker of a folder saved by %%train, or None if it has none (or an unreadable one)."""
    try:
        data = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "kind" in data else None


def prepare_folder(save: str | None, name: str | None) -> Path:
    """The folder to save into: ``save`` (created; refused if it holds other files) or a new session folder
    under the system's temp folder, removed when the process (the kernel) ends."""
    if save is None:
        prefix = f"{SESSION_PREFIX}{name[:40]}_" if name and name.isidentifier() else f"{SESSION_PREFIX}trained_"
        folder = Path(tempfile.mkdtemp(prefix=prefix))
        _session_folders.add(folder)
        return folder
    folder = check_folder(save)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AIMagicsError(
            f"Could not create the folder {save!r}: {exc.strerror}. Choose another --save path."
        ) from None
    return folder


def check_folder(save: str) -> Path:
    """The ``--save`` folder as a path, refused (before training) if it is a file or holds other files."""
    folder = Path(save).expanduser()
    if folder.exists() and not folder.is_dir():
        raise AIMagicsError(f"--save {save!r} is a file. Give a folder (new or empty) to save the model into.")
    if folder.is_dir() and any(folder.iterdir()) and read_marker(folder) is None:
        raise AIMagicsError(
            f"--save {save!r} already holds other files, and %%train will not write over them. Choose a new or "
            "empty folder, or one an earlier %%train saved into."
        )
    return folder


def write_marker(folder: Path, kind: str, file_format: str, task: str, **config: Any) -> None:
    """Write the marker (written last, so a folder with a marker is complete)."""
    marker = {"format_version": FORMAT_VERSION, "kind": kind, "file_format": file_format, "task": task, **config}
    tmp = folder / (MARKER + ".tmp")
    tmp.write_text(json.dumps(marker, indent=2, default=_plain), encoding="utf-8")
    tmp.replace(folder / MARKER)


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot save {type(value).__name__} in JSON")


def save_tensors(path: Path, tensors: dict[str, Any]) -> None:
    """Write tensors as safetensors (moved to the CPU, contiguous, unshared)."""
    from safetensors.torch import save_file

    save_file({k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}, str(path))


def load_tensors(path: Path, device: str = "cpu") -> dict[str, Any]:
    """Read safetensors weights (no pickle is ever unpickled)."""
    from safetensors.torch import load_file

    if not path.is_file():
        raise AIMagicsError(
            f"The trained model's weights are missing: {str(path)!r} does not exist. The folder is incomplete; "
            "train and save the model again."
        )
    return load_file(str(path), device=device)


def load_marker(folder: str | Path) -> dict[str, Any]:
    """The marker of a saved model, or a clear error if the folder is not one."""
    marker = read_marker(folder)
    if marker is None:
        raise AIMagicsError(
            f"{str(folder)!r} is not a model saved by %%train: it has no readable {MARKER}. Give the folder that "
            "%%train --save wrote."
        )
    if int(marker.get("format_version", 0)) > FORMAT_VERSION:
        raise AIMagicsError(
            f"{str(folder)!r} was saved by a newer ai-magics (format {marker['format_version']}); upgrade "
            "ai-magics to load it."
        )
    return marker
