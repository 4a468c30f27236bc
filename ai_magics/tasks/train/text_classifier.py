"""Text classification: fine-tune a sentence encoder (MiniLM by default) with a linear head on its mean-pooled
token embeddings. Saved as the encoder's own folder (config + safetensors), the tokenizer's JSON files, the head
as safetensors, and the labels in the marker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ai_magics.errors import AIMagicsError, one_line
from ai_magics.tasks.train import data as data_mod
from ai_magics.tasks.train import labels as labels_mod
from ai_magics.tasks.train.options import TrainOptions
from ai_magics.tasks.train.persistence import load_tensors, save_tensors, write_marker
from ai_magics.tasks.train.quiet import quiet_transformers

HEAD_WEIGHTS = "head.safetensors"
HEAD_LR_FACTOR = 10.0  # the new head starts from random weights: it learns at 10x --lr
PREDICT_BATCH = 64


def _module() -> Any:
    from torch import nn

    class EncoderClassifier(nn.Module):
        """Encoder -> mean pooling over real tokens -> dropout -> linear head."""

        def __init__(self, encoder: Any, n_classes: int) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = nn.Dropout(0.1)
            self.head = nn.Linear(encoder.config.hidden_size, n_classes)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            return self.head(self.dropout(pooled))

    return EncoderClassifier


def encoder_folder(name: str) -> str:
    """The folder (or hub id) of the base encoder ``--model`` names."""
    from ai_magics.models.resolve import resolve_model
    from ai_magics.plugins import get_plugin_host

    source = resolve_model(name, get_plugin_host().registry)
    if source.kind not in (None, "text-encoder") or source.gguf_file:
        raise AIMagicsError(
            f"--model {name!r} is not a text encoder, so it cannot be fine-tuned as a text classifier. Use a "
            "sentence encoder such as 'minilm' (the default) or a BERT-style folder."
        )
    return source.path


def tokenize(tokenizer: Any, texts: list[str], max_length: int, device: str) -> dict[str, Any]:
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return {"input_ids": batch["input_ids"].to(device), "attention_mask": batch["attention_mask"].to(device)}


def trimmed(batch: dict[str, Any], rows: Any) -> dict[str, Any]:
    """The rows of a padded batch, cut to their longest text (padding costs time, not accuracy)."""
    mask = batch["attention_mask"][rows]
    width = max(int(mask.sum(dim=1).max()), 1)
    return {"input_ids": batch["input_ids"][rows, :width], "attention_mask": mask[:, :width]}


class TextPredictor:
    """A fine-tuned text classifier (implements :class:`ai_magics.classifier.TrainedPredictor`)."""

    input_kind = "text"

    def __init__(self, model: Any, tokenizer: Any, classes: list[Any], max_length: int, device: str) -> None:
        from ai_magics.cache.memory import module_bytes

        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.classes = classes
        self.max_length = max_length
        self.device = device
        self.nbytes = module_bytes(self.model)

    @property
    def labels(self) -> list[Any]:
        return list(self.classes)  # the target's own values: ints stay ints

    def _texts(self, inputs: Any) -> list[str]:
        if isinstance(inputs, str):
            return [inputs]
        items = list(inputs)
        if not all(isinstance(t, str) for t in items):
            raise AIMagicsError("A text classifier predicts from a list of strings; some inputs are not text.")
        return items

    def logits(self, inputs: Any) -> Any:
        import torch

        texts = self._texts(inputs)
        parts = []
        with torch.inference_mode():
            for start in range(0, len(texts), PREDICT_BATCH):
                batch = tokenize(self.tokenizer, texts[start : start + PREDICT_BATCH], self.max_length, self.device)
                parts.append(self.model(**batch).float())
        return torch.cat(parts) if parts else torch.zeros((0, len(self.classes)))

    def predict_proba(self, inputs: Any) -> Any:
        """Class probabilities, an (n x classes) numpy array."""
        return self.logits(inputs).softmax(dim=-1).cpu().numpy()

    def predict(self, inputs: Any) -> Any:
        """The predicted label of each text."""
        return labels_mod.decode(self.classes, self.logits(inputs).argmax(dim=-1).cpu().numpy())

    def save(self, folder: Path) -> None:
        with quiet_transformers():
            self.model.encoder.save_pretrained(folder / "encoder", safe_serialization=True)
            self.tokenizer.save_pretrained(folder / "tokenizer")
        save_tensors(folder / HEAD_WEIGHTS, self.model.head.state_dict())
        write_marker(folder, "classifier", "trained", "text-classification", classes=self.classes,
                     max_length=self.max_length)  # fmt: skip

    @classmethod
    def load(cls, folder: Path, marker: dict[str, Any], device: str = "cpu", dtype: str = "float32") -> TextPredictor:
        from transformers import AutoModel, AutoTokenizer

        from ai_magics.cache.device import torch_dtype

        with quiet_transformers():
            encoder = AutoModel.from_pretrained(folder / "encoder", use_safetensors=True, dtype=torch_dtype(dtype))
            tokenizer = AutoTokenizer.from_pretrained(folder / "tokenizer")
        model = _module()(encoder, len(marker["classes"]))
        model.head.load_state_dict(load_tensors(folder / HEAD_WEIGHTS))
        model.head.to(torch_dtype(dtype))
        return cls(model, tokenizer, list(marker["classes"]), int(marker.get("max_length", 128)), device)


class TextClassifierTrainer:
    """Fine-tunes the encoder and head for one run."""

    kind = "classifier"
    file_format = "trained"
    threads: int | None = None

    def __init__(self, frame: Any, options: TrainOptions, device: str) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        from ai_magics.tasks.train.losses import classification_loss
        from ai_magics.tasks.train.split import split_indices

        target = data_mod.require_column(frame, options.target, "--target", "of labels to predict")
        column = data_mod.text_column(frame, options.text_column, target)
        if column == target:
            raise AIMagicsError(
                f"--text-column and --target both name {target!r}; a model cannot learn a label from itself. Name "
                "the column of texts with --text-column and the column of labels with --target."
            )
        data_mod.check_missing(frame, [target])
        texts = data_mod.text_values(frame, column)
        self.classes, y_all = labels_mod.encode(frame[target], target)
        train_rows, val_rows = split_indices(len(frame), options.val, options.seed, y_all)
        folder = encoder_folder(options.model or "minilm")
        try:
            with quiet_transformers():
                tokenizer = AutoTokenizer.from_pretrained(folder)
                encoder = AutoModel.from_pretrained(folder)
        except (OSError, ValueError) as exc:
            raise AIMagicsError(f"Could not load the encoder {options.model!r} to fine-tune: {one_line(exc)}.") from None
        torch.manual_seed(options.seed)
        self.model = _module()(encoder, len(self.classes)).to(device)
        self.predictor = TextPredictor(self.model, tokenizer, self.classes, options.max_length, device)
        self.model.train()
        self.train_batch = tokenize(tokenizer, [texts[i] for i in train_rows], options.max_length, device)
        self.val_batch = None
        if len(val_rows):
            self.val_batch = tokenize(tokenizer, [texts[i] for i in val_rows], options.max_length, device)
        self.y_train = torch.as_tensor(y_all[train_rows], device=device)
        self.y_val = torch.as_tensor(y_all[val_rows], device=device)
        self.n_train, self.n_val = len(train_rows), len(val_rows)
        self.loss_fn = classification_loss(options.loss or "ce")
        lr = float(options.lr or 1e-4)
        self.optimizer = _grouped_optimizer(options.optimizer or "adamw", self.model, lr)

    def step(self, rows: Any) -> float:
        batch = trimmed(self.train_batch, rows)
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(**batch), self.y_train[rows])
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def _metrics(self, batch: dict[str, Any], y: Any, prefix: str) -> dict[str, float]:
        import torch

        self.model.eval()
        logits = []
        with torch.inference_mode():
            for start in range(0, len(y), PREDICT_BATCH):
                rows = torch.arange(start, min(start + PREDICT_BATCH, len(y)))
                logits.append(self.model(**trimmed(batch, rows)))
        out = torch.cat(logits)
        self.model.train()
        accuracy = float((out.argmax(-1) == y).float().mean())
        return {f"{prefix}_loss": float(self.loss_fn(out, y)), f"{prefix}_accuracy": accuracy}

    def evaluate(self) -> dict[str, float]:
        return self._metrics(self.val_batch, self.y_val, "val") if self.val_batch is not None else {}

    def final_metrics(self) -> dict[str, float]:
        return {**self._metrics(self.train_batch, self.y_train, "train"), **self.evaluate()}

    def finish(self) -> TextPredictor:
        self.model.eval()
        return self.predictor

    def save(self, model: TextPredictor, folder: Path) -> None:
        model.save(folder)

    def for_cache(self, model: TextPredictor, device: str, dtype: str) -> TextPredictor:
        """The predictor on the cache key's device and dtype."""
        from ai_magics.cache.device import torch_dtype

        model.model.to(device=device, dtype=torch_dtype(dtype))
        return TextPredictor(model.model, model.tokenizer, model.classes, model.max_length, device)


def _grouped_optimizer(name: str, model: Any, lr: float) -> Any:
    """The optimiser with the encoder at ``lr`` and the new head at ``HEAD_LR_FACTOR * lr``."""
    from ai_magics.tasks.train.optimizers import make_optimizer

    optimizer = make_optimizer(name, model.encoder.parameters(), lr)
    optimizer.add_param_group({"params": list(model.head.parameters()), "lr": lr * HEAD_LR_FACTOR})
    return optimizer
