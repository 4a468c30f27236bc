"""Zero-shot with a causal LM (SmolLM2 from its wheel): the batched, KV-cached label scoring is exact."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import pytest

from ai_magics.models.loading import plan_model, use_model
from ai_magics.tasks.classify import likelihood

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("one_torch_thread_per_module")]



@pytest.fixture(scope="module")
def generator() -> Iterator[Any]:
    with use_model(plan_model("smollm2", "causal-lm", device="cpu", backend="transformers")) as loaded:
        yield loaded


def naive_scores(generator: Any, prompt: str, labels: list[list[int]]) -> list[float]:
    """One unpadded forward pass per (prompt, label): what the batched scoring must reproduce."""
    import torch

    ids = generator.tokenizer(prompt, add_special_tokens=False)["input_ids"]
    scores = []
    for label in labels:
        with torch.inference_mode():
            logits = generator.model(input_ids=torch.tensor([ids + label])).logits[0].float()
        logp = torch.log_softmax(logits, dim=-1)
        scores.append(sum(logp[len(ids) - 1 + j, token].item() for j, token in enumerate(label)))
    return scores


def test_batched_cached_scores_match_one_pass_per_pair(generator: Any) -> None:
    prompts = ["The cat sat on the", "Hello there, my good friend, the weather today is"]  # unequal: left padding
    labels = likelihood.label_token_ids(generator.tokenizer, ["mat", "warm and sunny", "x"], " ")
    assert len({len(ids) for ids in labels}) > 1  # labels of several lengths: right padding
    batched = likelihood.score_prompts(generator, prompts, labels, chat=False)
    for row, prompt in zip(batched, prompts):
        assert np.allclose(row, naive_scores(generator, prompt, labels), atol=2e-3)


def test_probabilities_are_a_softmax_or_per_label_sigmoids() -> None:
    scores = np.array([[0.0, -1.0, 2.0]])
    assert np.allclose(likelihood.probabilities(scores).sum(), 1.0)
    assert np.allclose(likelihood.probabilities(scores, multi_label=True), 1 / (1 + np.exp(-scores)))


def test_chat_prompt_lists_the_labels(generator: Any) -> None:
    prompt, prefix = likelihood.build_prompt(generator, "Some text", ["sports", "politics"])
    assert "sports, politics" in prompt and "Some text" in prompt and prefix == ""
