"""Built-in plugin: the transformers backend (hub ids, local folders, and GGUF files via the conversion cache)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ai_magics.backends.gguf_conversion import converted_dir, discard, ensure_converted
from ai_magics.cache.device import torch_dtype
from ai_magics.cache.memory import module_bytes
from ai_magics.errors import AIMagicsError, one_line
from ai_magics.hookspecs import hookimpl
from ai_magics.registry import Backend, LoadRequest, ModelSource

BACKEND_NAME = "transformers"
GENERATOR_KINDS = ("causal-lm",)


def _load_error(source: ModelSource, exc: Exception) -> AIMagicsError:
    where = f" from {source.path!r}" if source.path != source.model_id else ""
    return AIMagicsError(
        f"Could not load model {source.model_id!r}{where}: {type(exc).__name__}: {one_line(exc)}. Check "
        "that the folder exists and holds a config.json and weights, or that the hub id is right and was "
        "downloaded before (this machine may be offline); `%ai_magics models` lists the built-in aliases."
    )


def _files_folder(source: ModelSource) -> str:
    """The folder transformers loads from: the converted copy for a GGUF file, else the source path."""
    if source.gguf_file:
        return str(ensure_converted(Path(source.path) / source.gguf_file))
    return source.path


def _check_generator(folder: str, source: ModelSource, raw: bool = False) -> None:
    """Fail clearly unless ``folder`` holds a causal LM; ``raw`` lets an unreadable config's error through."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    try:
        config = AutoConfig.from_pretrained(folder, revision=source.revision, trust_remote_code=source.trust_remote_code)
    except Exception as exc:
        if raw:
            raise
        raise _load_error(source, exc) from None
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        archs = ", ".join(config.architectures or [config.model_type])
        raise AIMagicsError(
            f"Model {source.model_id!r} ({archs}) is not a text generator: it has no causal language-model head. "
            "%%generate needs a causal LM such as 'smollm2' or a hub id like 'HuggingFaceTB/SmolLM2-360M-Instruct'."
        )


def load_causal_lm(request: LoadRequest) -> Any:
    """Load a causal LM and its tokenizer onto the request's device and dtype."""
    from ai_magics.backends.hf_generator import TransformersGenerator

    source = request.source
    for attempt in (1, 2):
        folder = _files_folder(source)
        try:
            _check_generator(folder, source, raw=bool(source.gguf_file) and attempt == 1)
            model, tokenizer = _from_pretrained(folder, source, request)
            break
        except AIMagicsError:
            raise
        except Exception as exc:
            if not source.gguf_file or attempt == 2:
                raise _load_error(source, exc) from None
            # A converted copy that fails to load is corrupt: rebuild it once from the GGUF file.
            discard(converted_dir(Path(source.path) / source.gguf_file))
    return TransformersGenerator(model, tokenizer, request.device, nbytes=module_bytes(model))


def quiet_transformers() -> None:
    """Keep transformers' own progress bars and info logs out of the cell output."""
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()


def _from_pretrained(folder: str, source: ModelSource, request: LoadRequest) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()
    common = {"revision": source.revision, "trust_remote_code": source.trust_remote_code}
    tokenizer = AutoTokenizer.from_pretrained(folder, **common)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch_dtype(request.dtype), **common)
    model.to(request.device)
    model.eval()
    return model, tokenizer


def load_text_encoder(request: LoadRequest) -> Any:
    """Load a sentence-transformers encoder (or a plain transformers encoder with mean pooling)."""
    from ai_magics.backends.st_encoder import SentenceEncoder

    source = request.source
    quiet_transformers()
    try:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(
            source.path, device=request.device, revision=source.revision,
            trust_remote_code=source.trust_remote_code, model_kwargs={"dtype": torch_dtype(request.dtype)},
        )  # fmt: skip
    except Exception as exc:
        raise _load_error(source, exc) from None
    return SentenceEncoder(model, request.device, nbytes=module_bytes(model))


def estimate_bytes(request: LoadRequest) -> int:
    """Bytes the model will take once loaded, guessed from its files before loading."""
    source = request.source
    if source.gguf_file:
        gguf = Path(source.path) / source.gguf_file
        folder = converted_dir(gguf)
        weights = sum(p.stat().st_size for p in folder.glob("*.safetensors")) if folder.exists() else 0
        return weights or gguf.stat().st_size * 6
    folder = Path(source.path)
    if not folder.is_dir():
        return 0
    weights = sum(p.stat().st_size for p in folder.glob("*.safetensors")) or sum(
        p.stat().st_size for p in folder.glob("*.bin")
    )
    return weights


LOADERS: dict[str, Callable[[LoadRequest], Any]] = {
    "causal-lm": load_causal_lm,
    "text-encoder": load_text_encoder,
}


def load(request: LoadRequest) -> Any:
    """Dispatch on the kind of model asked for."""
    return LOADERS[request.kind](request)


@hookimpl
def ai_magics_register_backends(register: Callable[[Backend], None]) -> None:
    register(
        Backend(
            BACKEND_NAME, tuple(LOADERS), ("transformers", "gguf"), load,
            "Hugging Face transformers: hub ids, local folders, GGUF via a one-off safetensors conversion",
            estimate=estimate_bytes,
        )  # fmt: skip
    )


@hookimpl(trylast=True)
def ai_magics_select_backend(source: ModelSource, kind: str, device: str) -> str | None:
    return BACKEND_NAME if kind in LOADERS else None
