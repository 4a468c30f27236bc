"""A persistent on-disk conversion cache: a GGUF file is dequantised once and saved as safetensors.

Loading SmolLM2 from GGUF takes tens of seconds (dequantising every tensor and building the tokenizer);
loading the converted safetensors copy takes well under a second. Entries live under the user cache dir
(``AI_MAGICS_CACHE_DIR`` overrides it), are keyed by the GGUF file's name, size and modification time, are
written to a temporary folder and renamed into place, and are rebuilt if found incomplete or corrupt.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from ai_magics.errors import AIMagicsError, one_line

COMPLETE_MARKER = "ai_magics_complete.json"
FORMAT_VERSION = 1


def cache_root() -> Path:
    """The folder holding converted models (``AI_MAGICS_CACHE_DIR`` or the platform's user cache dir)."""
    override = os.environ.get("AI_MAGICS_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("ai-magics"))


def gguf_identity(gguf_path: Path) -> str:
    """A short id for a GGUF file: its name, size and mtime hashed (no need to read 100 MB)."""
    stat = gguf_path.stat()
    text = f"{FORMAT_VERSION}|{gguf_path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return f"{gguf_path.stem}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def converted_dir(gguf_path: Path) -> Path:
    """Where the converted copy of ``gguf_path`` lives (whether or not it exists yet)."""
    return cache_root() / "gguf" / gguf_identity(gguf_path)


def is_complete(folder: Path) -> bool:
    """Whether a converted copy is whole: the marker is there and every file it lists has its size."""
    marker = folder / COMPLETE_MARKER
    try:
        sizes = json.loads(marker.read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not isinstance(sizes, dict):
        return False
    return all((folder / name).is_file() and (folder / name).stat().st_size == size for name, size in sizes.items())


def discard(folder: Path) -> None:
    """Remove a converted copy (found corrupt), so the next load rebuilds it."""
    shutil.rmtree(folder, ignore_errors=True)


def convert(gguf_path: Path) -> Path:
    """Dequantise ``gguf_path`` into a safetensors folder in the cache and return the folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ai_magics.backends.transformers_backend import quiet_transformers

    quiet_transformers()
    target = converted_dir(gguf_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
    try:
        try:
            tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
            model = AutoModelForCausalLM.from_pretrained(
                gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32
            )
        except Exception as exc:
            raise AIMagicsError(
                f"Could not read the GGUF file {str(gguf_path)!r}: {type(exc).__name__}: {one_line(exc)}. The file "
                "may be truncated or corrupt, or use an architecture transformers cannot dequantise; download it again "
                "or pick another model."
            ) from None
        # After dequantisation the weights are plain tensors; drop the GGUF quantizer so they can be saved.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        del model
        sizes = {p.name: p.stat().st_size for p in staging.iterdir() if p.is_file()}
        (staging / COMPLETE_MARKER).write_text(json.dumps({"source": str(gguf_path), "files": sizes}))
        discard(target)
        try:
            os.replace(staging, target)
        except OSError:
            if not is_complete(target):  # another process finished the same conversion first: use theirs
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def ensure_converted(gguf_path: Path) -> Path:
    """The converted folder for ``gguf_path``, converting it first when missing or incomplete."""
    folder = converted_dir(gguf_path)
    if is_complete(folder):
        return folder
    discard(folder)
    return convert(gguf_path)
