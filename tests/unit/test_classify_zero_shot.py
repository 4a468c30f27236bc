"""Zero-shot with a sentence encoder: one encoder pass per text, label sets embedded once and cached."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pytest

from ai_magics.backends.st_encoder import SentenceEncoder
from ai_magics.errors import AIMagicsError
from ai_magics.tasks.classify import zero_shot
from ai_magics.tasks.classify.api import classify

pytestmark = pytest.mark.usefixtures("one_torch_thread_per_module")



class CountingEncoder:
    """A fake encoder: a bag-of-letters embedding, counting every text it is asked to encode."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> Any:
        self.encoded.extend(texts)
        vectors = np.zeros((len(texts), 26), dtype=np.float32)
        for row, text in enumerate(texts):
            for char in text.lower():
                if char.isalpha() and char.isascii():
                    vectors[row, ord(char) - 97] += 1
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def test_texts_encoded_once_and_label_sets_once() -> None:
    encoder = CountingEncoder()
    zero_shot.label_embeddings.clear()
    texts = ["aaa", "bbb", "abab"]
    sims = zero_shot.similarities(encoder, "key", texts, ["aa", "bb"])
    assert sims.shape == (3, 2)
    assert encoder.encoded == ["aa", "bb", "aaa", "bbb", "abab"]
    zero_shot.similarities(encoder, "key", ["ccc"], ["aa", "bb"])
    assert encoder.encoded[5:] == ["ccc"]  # labels came from the cache
    zero_shot.similarities(encoder, "other model", ["ccc"], ["aa", "bb"])
    assert encoder.encoded[6:] == ["aa", "bb", "ccc"]  # a different model has its own label embeddings


def test_softmax_and_multi_label_probabilities() -> None:
    sims = np.array([[0.30, 0.10], [0.05, 0.02]])
    probs = zero_shot.probabilities(sims, 0.03)
    assert np.allclose(probs.sum(axis=1), 1.0) and probs[0, 0] > 0.99
    multi = zero_shot.probabilities(sims, 0.03, multi_label=True)
    assert multi[0, 0] > 0.9 and multi[0, 1] == pytest.approx(0.5) and multi[1].max() < 0.2


@pytest.mark.integration  # the real MiniLM, shared across tests
def test_api_encodes_each_text_once_with_the_real_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    original = SentenceEncoder.encode

    def counting(self: SentenceEncoder, texts: Sequence[str], batch_size: int = 64) -> Any:
        calls.append(list(texts))
        return original(self, texts, batch_size)

    monkeypatch.setattr(SentenceEncoder, "encode", counting)
    texts = ["The striker scored twice.", "The senate passed the budget.", "A new laptop chip was released."]
    labels = "sports,politics,technology,cooking pasta"  # a label set no other test uses
    first = classify(texts, labels)
    again = classify(texts[:1], labels)
    assert calls == [
        ["This is sports.", "This is politics.", "This is technology.", "This is cooking pasta."], texts, texts[:1],
    ]  # fmt: skip
    assert first["label"].tolist() == ["sports", "politics", "technology"]
    assert list(first.columns) == ["text", "label", "score", "sports", "politics", "technology", "cooking pasta"]
    assert np.allclose(first[["sports", "politics", "technology", "cooking pasta"]].sum(axis=1), 1.0)
    assert again["label"].tolist() == ["sports"]


@pytest.mark.integration
def test_multi_label_api_returns_label_lists() -> None:
    frame = classify(
        ["Parliament passed a law to regulate artificial intelligence software."],
        ["sports", "politics", "technology"], multi_label=True, threshold=0.5,
    )  # fmt: skip
    assert set(frame["label"].iloc[0]) == {"politics", "technology"}


@pytest.mark.integration
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threshold": 1.5}, "threshold 1.5 is outside 0..1"),
        ({"temperature": 0.0}, "temperature 0.0 must be at least 1e-06"),
        ({"temperature": 1e-320}, "temperature 1e-320 must be at least 1e-06"),
        ({"batch_size": 0}, "batch_size 0 must be 1 or more"),
        ({"template": "no placeholder"}, "no \\{label\\} placeholder"),
    ],
)
def test_bad_numbers_and_templates(options: dict[str, Any], message: str) -> None:
    with pytest.raises(AIMagicsError, match=message):
        classify(["text"], "a,b", **options)
