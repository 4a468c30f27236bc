"""Causal-LM fine-tuning: SmolLM2 (or any transformers causal LM) on texts, in full or with LoRA (peft).

Texts are formatted the way ``%%generate`` will prompt the model: with its chat template (the default when the
tokenizer has one), each text is the assistant's reply to its prompt (``--prompt-column``, or an empty user
turn) and only the reply is learned; with ``--no-chat`` the model learns the raw text. Either way the
end-of-sequence token follows, so the model learns where to stop. LoRA adapters are merged into the weights at
the end and the model is saved as a plain transformers folder (safetensors, config, tokenizer), so
``%%generate --model NAME`` (or ``--model DIR``) loads it with the built-in transformers backend.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from ai_magics.errors import AIMagicsError, one_line
from ai_magics.tasks.train import data as data_mod
from ai_magics.tasks.train.options import TrainOptions
from ai_magics.tasks.train.persistence import write_marker
from ai_magics.tasks.train.quiet import quiet_transformers

LORA_TARGETS = "all-linear"  # every linear layer but the output head
IGNORE = -100  # label of padding: no loss
RECENT = 10  # final train_loss: the mean loss of the last quarter of the steps, at most this many


def base_folder(name: str) -> str:
    """The transformers folder of the base model ``--model`` names (a GGUF file is converted once)."""
    from ai_magics.backends.gguf_conversion import ensure_converted
    from ai_magics.models.resolve import resolve_model
    from ai_magics.plugins import get_plugin_host

    source = resolve_model(name, get_plugin_host().registry)
    if source.kind not in (None, "causal-lm") or source.file_format not in ("transformers", "gguf"):
        raise AIMagicsError(
            f"--model {name!r} is not a text generator, so --task causal-lm cannot fine-tune it. Use a causal LM "
            "such as 'smollm2' (the default)."
        )
    if source.gguf_file:
        return str(ensure_converted(Path(source.path) / source.gguf_file))
    return source.path


def load_base(folder: str, device: str) -> tuple[Any, Any]:
    """A fresh float32 copy of the base model (never the cached one: training changes the weights)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(folder)
            model = AutoModelForCausalLM.from_pretrained(folder, dtype="float32")
    except (OSError, ValueError) as exc:
        raise AIMagicsError(f"Could not load the base model from {folder!r} to fine-tune: {one_line(exc)}.") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.to(device), tokenizer


def with_lora(model: Any, rank: int) -> Any:
    """The model wrapped with LoRA adapters of ``rank`` on its linear layers (only they train)."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise AIMagicsError(
            "--lora needs the peft package: pip install 'ai-magics[lora]' (or pip install peft)."
        ) from None
    config = LoraConfig(
        r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules=LORA_TARGETS, task_type="CAUSAL_LM"
    )
    with warnings.catch_warnings():  # peft asks transformers about gradient checkpointing the deprecated way
        warnings.simplefilter("ignore", FutureWarning)
        return get_peft_model(model, config)


def encode(
    tokenizer: Any, texts: list[str], prompts: list[str] | None, chat: bool, max_length: int
) -> list[tuple[list[int], int]]:
    """Token ids of each example and how many leading tokens are prompt (not learned)."""
    eos = [] if tokenizer.eos_token_id is None else [int(tokenizer.eos_token_id)]
    examples = []
    for i, text in enumerate(texts):
        if chat:
            messages = [{"role": "user", "content": prompts[i] if prompts else ""}]
            prefix = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            prompt_ids = tokenizer(prefix, add_special_tokens=False)["input_ids"]
            reply_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        else:
            prompt_ids, reply_ids = [], tokenizer(text)["input_ids"]
        ids = (prompt_ids + reply_ids + eos)[:max_length]
        examples.append((ids, min(len(prompt_ids), len(ids) - 1)))
    return examples


class CausalLMTrainer:
    """Fine-tunes a causal LM for one run."""

    kind = "causal-lm"
    file_format = "transformers"
    threads: int | None = None

    def __init__(self, loaded: Any, options: TrainOptions, device: str) -> None:
        import torch

        from ai_magics.tasks.train.optimizers import make_optimizer
        from ai_magics.tasks.train.split import split_indices

        texts = data_mod.texts(loaded, options.text_column)
        prompts = None
        if options.prompt_column is not None:
            if isinstance(loaded, list):
                raise AIMagicsError("--prompt-column needs a DataFrame (or list of dicts) with a prompt column.")
            data_mod.require_column(loaded, options.prompt_column, "--prompt-column", "of prompts")
            prompts = data_mod.text_values(loaded, options.prompt_column)
        if not any(t.strip() for t in texts):
            raise AIMagicsError("Every training text is blank: there is nothing to learn. Give non-empty texts.")
        self.device = device
        torch.manual_seed(options.seed)
        base, self.tokenizer = load_base(base_folder(options.model or "smollm2"), device)
        has_template = bool(getattr(self.tokenizer, "chat_template", None))
        if (options.chat or options.prompt_column) and not has_template:
            raise AIMagicsError(
                f"Model {options.model!r} has no chat template, so --chat and --prompt-column cannot be used with "
                "it. Leave them out to train on the raw texts."
            )
        chat = has_template if options.chat is None else options.chat
        self.format = "chat" if chat else "text"
        self.lora = options.lora
        self.model = with_lora(base, options.lora_rank) if options.lora else base
        self.model.train()
        examples = encode(self.tokenizer, texts, prompts, chat, options.max_length)
        train_rows, val_rows = split_indices(len(texts), options.val, options.seed)
        self.train_examples = [examples[i] for i in train_rows]
        self.val_examples = [examples[i] for i in val_rows]
        self.n_train, self.n_val = len(self.train_examples), len(self.val_examples)
        lr = float(options.lr or 1e-3)
        self.optimizer = make_optimizer(options.optimizer or "adamw", self.model.parameters(), lr)
        self.losses: list[float] = []

    def _batch(self, examples: list[tuple[list[int], int]]) -> dict[str, Any]:
        import torch

        width = max(len(ids) for ids, _ in examples)
        pad = int(self.tokenizer.pad_token_id)
        ids = torch.full((len(examples), width), pad, dtype=torch.long)
        labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(examples), width), dtype=torch.long)
        for row, (seq, n_prompt) in enumerate(examples):
            ids[row, : len(seq)] = torch.tensor(seq)
            labels[row, n_prompt : len(seq)] = torch.tensor(seq[n_prompt:])
            mask[row, : len(seq)] = 1
        return {
            "input_ids": ids.to(self.device), "attention_mask": mask.to(self.device), "labels": labels.to(self.device)
        }

    def step(self, rows: Any) -> float:
        batch = self._batch([self.train_examples[int(i)] for i in rows])
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.model(**batch).loss
        loss.backward()
        self.optimizer.step()
        value = loss.item()
        self.losses.append(value)
        return value

    def evaluate(self) -> dict[str, float]:
        import torch

        if not self.val_examples:
            return {}
        self.model.eval()
        total, count = 0.0, 0
        with torch.inference_mode():
            for start in range(0, len(self.val_examples), 8):
                part = self.val_examples[start : start + 8]
                total += float(self.model(**self._batch(part)).loss) * len(part)
                count += len(part)
        self.model.train()
        return {"val_loss": total / count}

    def final_metrics(self) -> dict[str, float]:
        """The mean loss of the last steps (a pass over all texts would cost as much as an epoch)."""
        last = self.losses[-min(RECENT, max(1, len(self.losses) // 4)) :]
        recent = {"train_loss": sum(last) / len(last)} if last else {}
        return {**recent, **self.evaluate()}

    def finish(self) -> Any:
        """The trained model as a generator (LoRA adapters merged into the weights)."""
        from ai_magics.backends.hf_generator import TransformersGenerator
        from ai_magics.cache.memory import module_bytes

        model = self.model.merge_and_unload() if self.lora else self.model
        model.eval()
        self.model = model
        return TransformersGenerator(model, self.tokenizer, self.device, nbytes=module_bytes(model))

    def save(self, generator: Any, folder: Path) -> None:
        """A plain transformers folder: config, safetensors weights, tokenizer; then the marker."""
        with quiet_transformers():
            generator.model.save_pretrained(folder, safe_serialization=True)
            self.tokenizer.save_pretrained(folder)
        write_marker(folder, "causal-lm", "transformers", "causal-lm", format=self.format)

    def for_cache(self, generator: Any, device: str, dtype: str) -> Any:
        """The generator on the cache key's device and dtype."""
        from ai_magics.backends.hf_generator import TransformersGenerator
        from ai_magics.cache.device import torch_dtype
        from ai_magics.cache.memory import module_bytes

        model = generator.model.to(device=device, dtype=torch_dtype(dtype))
        return TransformersGenerator(model, generator.tokenizer, device, nbytes=module_bytes(model))
