"""Fine-tuning paths on tiny random models (seconds, not minutes): a BERT-style text classifier and a Llama
causal LM, full and LoRA, their chat formatting, saving, and reloading in a new process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ai_magics.tasks.train.plugin as train_plugin
from ai_magics.errors import AIMagicsError
from ai_magics.models import trained
from ai_magics.models.loading import plan_model
from ai_magics.tasks.train.api import train
from ai_magics.tasks.train.causal_lm import IGNORE, encode

PHRASE = "The purple owl sings at midnight."
REVIEWS = [{"text": t, "label": "pos"} for t in ("good", "great fun", "lovely", "superb", "nice one", "best")] + [
    {"text": t, "label": "neg"} for t in ("bad", "awful", "boring", "dreadful", "poor one", "worst")
]

pytestmark = pytest.mark.usefixtures("one_torch_thread", "forget_trained_models")




@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT encoder (2 layers, hidden 32) with MiniLM's tokenizer."""
    import torch
    from transformers import AutoModel, AutoTokenizer, BertConfig

    from ai_magics.models.builtin_aliases import locate_minilm

    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(locate_minilm().path)
    tokenizer.save_pretrained(folder)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)  # fmt: skip
    torch.manual_seed(0)
    AutoModel.from_config(config).save_pretrained(folder, safe_serialization=True)
    return folder


def test_text_classifier_with_validation_saves_and_reloads(tiny_bert_dir: Path, tmp_path: Path):
    folder = tmp_path / "clf"
    result = train(REVIEWS, "text-classification", "label", model=str(tiny_bert_dir), epochs=3, batch_size=4,
                   val=0.25, lr=1e-3, name="t_text", save=str(folder), progress=False)  # fmt: skip
    assert list(result.epochs.columns) == ["epoch", "step", "train_loss", "val_loss", "val_accuracy"]
    assert {"train_accuracy", "val_accuracy"} <= set(result.metrics)
    model = result.model
    assert model.input_kind == "text" and model.labels == ["neg", "pos"]
    texts = [r["text"] for r in REVIEWS]
    assert model.predict_proba(texts).shape == (12, 2) and len(model.predict(texts)) == 12
    assert model.predict("good").shape == (1,)  # one text is a list of one
    reloaded = train_plugin.load_trained(plan_model("t_text", "classifier").request)
    assert np.allclose(reloaded.predict_proba(texts), model.predict_proba(texts), atol=1e-5)
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"ai_magics_trained.json", "head.safetensors", "encoder/model.safetensors", "encoder/config.json"} <= files
    assert not any(f.endswith((".bin", ".pkl", ".pt")) for f in files)  # never pickle


def test_text_classifier_needs_an_encoder_and_text():
    with pytest.raises(AIMagicsError, match="not a text encoder"):
        train(REVIEWS, "text-classification", "label", model="smollm2", progress=False)
    with pytest.raises(AIMagicsError, match="both name 'label'"):
        train(REVIEWS, "text-classification", "label", text_column="label", progress=False)
    with pytest.raises(AIMagicsError, match="must hold text"):
        train([{"text": 1, "label": "a"}, {"text": 2, "label": "b"}], "text-classification", "label", progress=False)


def test_chat_format_learns_only_the_reply(tiny_causal_lm_dir: Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_causal_lm_dir)
    (ids, n_prompt), = encode(tokenizer, [PHRASE], ["Say it"], chat=True, max_length=128)
    prefix = tokenizer.decode(ids[:n_prompt])
    assert prefix.endswith("<|im_start|>assistant\n") and "Say it" in prefix
    assert tokenizer.decode(ids[n_prompt:]) == PHRASE + tokenizer.eos_token
    (raw, n_raw), = encode(tokenizer, [PHRASE], None, chat=False, max_length=128)
    assert n_raw == 0 and tokenizer.decode(raw) == PHRASE + tokenizer.eos_token


def test_lora_fine_tune_lowers_the_loss_and_merges_the_adapters(tiny_causal_lm_dir: Path, tmp_path: Path):
    folder = tmp_path / "lm"
    result = train([PHRASE] * 8, "causal-lm", model=str(tiny_causal_lm_dir), lora=True, lr=5e-2, max_steps=8,
                   batch_size=4, epochs=10, name="t_lora", save=str(folder), progress=False)  # fmt: skip
    losses = result.history["loss"].tolist()
    assert len(losses) == 8 and losses[-1] < losses[0]
    assert not any("lora" in name for name, _ in result.model.model.named_parameters())  # adapters merged
    marker = json.loads((folder / "ai_magics_trained.json").read_text())
    assert (marker["kind"], marker["file_format"], marker["format"]) == ("causal-lm", "transformers", "chat")
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    assert (folder / "tokenizer.json").is_file() and not list(folder.glob("adapter_*"))
    assert trained.source("t_lora").kind == "causal-lm"


def test_full_fine_tune_saves_a_folder_that_generates_the_same_in_a_new_process(tiny_causal_lm_dir, tmp_path):
    from ai_magics.tasks.generate.api import generate

    folder = tmp_path / "lm"
    result = train([PHRASE] * 8, "causal-lm", model=str(tiny_causal_lm_dir), chat=False, lr=1e-2, max_steps=8,
                   batch_size=4, epochs=10, name="t_full", save=str(folder), progress=False)  # fmt: skip
    losses = result.history["loss"].tolist()
    assert losses[-1] < losses[0]
    assert json.loads((folder / "ai_magics_trained.json").read_text())["format"] == "text"
    here = generate("The purple", "t_full", temperature=0, max_new_tokens=8, chat=False)
    code = ("import sys, ai_magics\n"
            "print(repr(ai_magics.generate('The purple', sys.argv[1], temperature=0, max_new_tokens=8, chat=False)))")
    out = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == repr(here)


def test_causal_lm_rejects_other_models_and_blank_texts(tiny_bert_dir: Path):
    with pytest.raises(AIMagicsError, match="not a text generator"):
        train([PHRASE], "causal-lm", model="minilm", progress=False)
    with pytest.raises(AIMagicsError, match="blank"):
        train(["   ", ""], "causal-lm", progress=False)


def test_labels_of_padding_are_ignored(tiny_causal_lm_dir: Path):
    from ai_magics.tasks.train.causal_lm import CausalLMTrainer
    from ai_magics.tasks.train.options import TrainOptions

    options = TrainOptions(task="causal-lm", model=str(tiny_causal_lm_dir), chat=False).resolved()
    trainer = CausalLMTrainer(["a", "a much longer text than the first"], options, "cpu")
    batch = trainer._batch(trainer.train_examples)
    short = int(batch["attention_mask"][0].sum())
    assert (batch["labels"][0, short:] == IGNORE).all() and (batch["labels"][0, :short] != IGNORE).all()
