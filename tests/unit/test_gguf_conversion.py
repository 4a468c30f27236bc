"""The persistent GGUF -> safetensors conversion cache: where it lives, when an entry is whole, bad files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ai_magics.backends import gguf_conversion as conv
from ai_magics.errors import AIMagicsError

GGUF_MAGIC = b"GGUF"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "ai-magics-cache"
    monkeypatch.setenv("AI_MAGICS_CACHE_DIR", str(root))
    return root


@pytest.fixture
def gguf_file(tmp_path: Path) -> Path:
    """A small file with a .gguf name (its contents do not matter to the cache's bookkeeping)."""
    path = tmp_path / "models" / "Tiny-Model.Q4_0.gguf"
    path.parent.mkdir()
    path.write_bytes(GGUF_MAGIC + b"\x00" * 60)
    return path


def write_entry(folder: Path, files: dict[str, bytes], marker: object = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    if marker is None:
        marker = {"source": "x.gguf", "files": {name: len(data) for name, data in files.items()}}
    text = marker if isinstance(marker, str) else json.dumps(marker)
    (folder / conv.COMPLETE_MARKER).write_text(text)


FILES = {"config.json": b"{}", "model.safetensors": b"\x01" * 128, "tokenizer.json": b"{}"}


# -- where entries live --------------------------------------------------------------------------------------


def test_cache_root_follows_the_environment_variable(cache_dir):
    assert conv.cache_root() == cache_dir


def test_cache_root_expands_the_home_directory(monkeypatch):
    monkeypatch.setenv("AI_MAGICS_CACHE_DIR", "~/somewhere")
    assert conv.cache_root() == Path.home() / "somewhere"


def test_cache_root_defaults_to_the_user_cache_dir(monkeypatch):
    import platformdirs

    monkeypatch.delenv("AI_MAGICS_CACHE_DIR", raising=False)
    assert conv.cache_root() == Path(platformdirs.user_cache_dir("ai-magics"))


def test_converted_dir_is_keyed_by_name_size_and_mtime(cache_dir, gguf_file):
    folder = conv.converted_dir(gguf_file)
    assert folder.parent == cache_dir / "gguf"
    assert folder.name.startswith("Tiny-Model.Q4_0-") and len(folder.name) == len("Tiny-Model.Q4_0-") + 16
    assert conv.converted_dir(gguf_file) == folder  # stable
    stat = gguf_file.stat()
    os.utime(gguf_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    touched = conv.converted_dir(gguf_file)
    assert touched != folder
    gguf_file.write_bytes(gguf_file.read_bytes() + b"\x00")
    os.utime(gguf_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert conv.converted_dir(gguf_file) not in (folder, touched)
    other = gguf_file.with_name("Other.gguf")
    other.write_bytes(gguf_file.read_bytes())
    assert conv.converted_dir(other).name.startswith("Other-")


# -- is_complete ---------------------------------------------------------------------------------------------


def test_a_whole_entry_is_complete(tmp_path):
    write_entry(tmp_path / "entry", FILES)
    assert conv.is_complete(tmp_path / "entry")


def test_a_missing_folder_or_marker_is_incomplete(tmp_path):
    assert not conv.is_complete(tmp_path / "nothing-here")
    write_entry(tmp_path / "entry", FILES)
    (tmp_path / "entry" / conv.COMPLETE_MARKER).unlink()
    assert not conv.is_complete(tmp_path / "entry")


def test_a_file_of_the_wrong_size_makes_it_incomplete(tmp_path):
    write_entry(tmp_path / "entry", FILES)
    (tmp_path / "entry" / "model.safetensors").write_bytes(b"\x01" * 64)  # truncated
    assert not conv.is_complete(tmp_path / "entry")


def test_a_missing_listed_file_makes_it_incomplete(tmp_path):
    write_entry(tmp_path / "entry", FILES)
    (tmp_path / "entry" / "tokenizer.json").unlink()
    assert not conv.is_complete(tmp_path / "entry")


def test_a_listed_name_that_is_a_folder_makes_it_incomplete(tmp_path):
    write_entry(tmp_path / "entry", {"config.json": b"{}"}, {"files": {"config.json": 2, "sub": 0}})
    (tmp_path / "entry" / "sub").mkdir()
    assert not conv.is_complete(tmp_path / "entry")


@pytest.mark.parametrize("marker", ["", "{not json", '{"source": "x"}', "[1, 2]", "null", '"files"', "\x00\x01"])
def test_a_corrupt_marker_makes_it_incomplete(tmp_path, marker):
    write_entry(tmp_path / "entry", FILES, marker)
    assert not conv.is_complete(tmp_path / "entry")


@pytest.mark.parametrize("files", [["model.safetensors"], "model.safetensors"])
def test_a_marker_whose_files_is_not_a_mapping_is_incomplete(tmp_path, files):
    write_entry(tmp_path / "entry", FILES, {"files": files})
    assert not conv.is_complete(tmp_path / "entry")


def test_the_real_converted_smollm2_is_complete(smollm2_converted_dir):
    assert conv.is_complete(smollm2_converted_dir)
    marker = json.loads((smollm2_converted_dir / conv.COMPLETE_MARKER).read_text())
    assert "model.safetensors" in marker["files"] and "tokenizer.json" in marker["files"]
    assert marker["source"].endswith(".gguf")


# -- ensure_converted and bad GGUF files ---------------------------------------------------------------------


def test_a_complete_entry_is_reused_without_reading_the_gguf(cache_dir, gguf_file):
    folder = conv.converted_dir(gguf_file)
    write_entry(folder, FILES)
    assert conv.ensure_converted(gguf_file) == folder  # the .gguf is not a real model: no conversion happened
    assert (folder / "model.safetensors").read_bytes() == FILES["model.safetensors"]


def bad_gguf(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def assert_clear_read_error(info: pytest.ExceptionInfo, path: Path) -> None:
    message = str(info.value)
    assert message.startswith(f"Could not read the GGUF file {str(path)!r}")
    assert "truncated or corrupt" in message and "download it again" in message and "\n" not in message


def assert_nothing_left(cache_dir: Path) -> None:
    gguf_dir = cache_dir / "gguf"
    leftovers = list(gguf_dir.iterdir()) if gguf_dir.exists() else []
    assert leftovers == [], f"conversion left {leftovers}"


@pytest.mark.parametrize(
    "data",
    [b"", b"this is not a gguf file at all\n" * 20, GGUF_MAGIC + b"\x03\x00\x00\x00" + b"\xff" * 40],
    ids=["empty", "text", "bad-header"],
)
def test_a_garbage_gguf_gives_a_clear_error(cache_dir, tmp_path, data):
    path = bad_gguf(tmp_path, "garbage.gguf", data)
    with pytest.raises(AIMagicsError) as info:
        conv.ensure_converted(path)
    assert_clear_read_error(info, path)
    assert_nothing_left(cache_dir)


def test_a_truncated_real_gguf_gives_a_clear_error(cache_dir, tmp_path):
    from ai_magics.models.builtin_aliases import locate_smollm2

    source = locate_smollm2()
    with open(Path(source.path) / source.gguf_file, "rb") as real:
        head = real.read(4096)  # the header and the start of the metadata, cut mid-way
    assert head.startswith(GGUF_MAGIC)
    path = bad_gguf(tmp_path, "SmolLM2-truncated.gguf", head)
    with pytest.raises(AIMagicsError) as info:
        conv.convert(path)
    assert_clear_read_error(info, path)
    assert_nothing_left(cache_dir)


def test_an_incomplete_entry_is_discarded_before_converting_again(cache_dir, tmp_path):
    path = bad_gguf(tmp_path, "garbage.gguf", b"junk" * 100)
    folder = conv.converted_dir(path)
    write_entry(folder, FILES)
    (folder / "model.safetensors").write_bytes(b"")  # a crash mid-write
    assert not conv.is_complete(folder)
    with pytest.raises(AIMagicsError):
        conv.ensure_converted(path)
    assert not folder.exists()


def test_discard_removes_a_folder_and_ignores_a_missing_one(tmp_path):
    write_entry(tmp_path / "entry", FILES)
    conv.discard(tmp_path / "entry")
    assert not (tmp_path / "entry").exists()
    conv.discard(tmp_path / "entry")  # no error the second time
