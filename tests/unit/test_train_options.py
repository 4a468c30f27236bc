"""%%train's choices and defaults: every bad choice fails with a message naming the good ones."""

from __future__ import annotations

import pytest

from ai_magics.errors import AIMagicsError
from ai_magics.tasks.train.options import TrainOptions, default_lr, parse_list


def test_tabular_defaults():
    options = TrainOptions(task="tabular", target="y").resolved()
    chosen = (options.optimizer, options.loss, options.lr, options.epochs, options.batch_size)
    assert chosen == ("adam", "ce", 0.01, 50, 32)
    assert options.model is None


def test_full_batch_gd_gets_more_epochs_and_a_larger_rate():
    options = TrainOptions(task="tabular", optimizer="gd").resolved()
    assert options.epochs == 500 and options.lr == 0.1
    assert TrainOptions(task="tabular", optimizer="sgd").resolved().lr == 0.1


def test_text_and_causal_lm_defaults():
    text = TrainOptions(task="text-classification").resolved()
    assert (text.optimizer, text.lr, text.epochs, text.batch_size, text.model) == ("adamw", 1e-4, 4, 16, "minilm")
    lm = TrainOptions(task="causal-lm", lora=True).resolved()
    assert (lm.lr, lm.model, lm.batch_size) == (1e-3, "smollm2", 8)
    assert TrainOptions(task="causal-lm").resolved().lr == 5e-5
    assert default_lr("causal-lm", "sgd", True) == 0.01


def test_regression_objective_defaults_to_mse():
    assert TrainOptions(objective="regression").resolved().loss == "mse"


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (TrainOptions(task="vision"), ["Unknown task 'vision'", "tabular, text-classification, causal-lm"]),
        (TrainOptions(loss="hinge"), ["Unknown loss 'hinge'", "ce, mse, nll"]),
        (TrainOptions(optimizer="rmsprop"), ["Unknown optimizer 'rmsprop'", "sgd, gd, adam, adamw"]),
        (TrainOptions(objective="ranking"), ["Unknown objective", "auto, classification, regression"]),
        (TrainOptions(task="causal-lm", loss="mse"), ["--loss mse does not apply", "cross-entropy"]),
        (TrainOptions(lora=True), ["--lora applies to --task causal-lm only"]),
        (TrainOptions(chat=True), ["--chat/--no-chat applies to --task causal-lm only"]),
        (TrainOptions(model="minilm"), ["--task tabular does not use"]),
        (TrainOptions(val=1.5), ["--val 1.5 is not a fraction"]),
        (TrainOptions(lr=0.0), ["--lr must be a number above 0"]),
        (TrainOptions(epochs=0), ["--epochs must be a whole number of 1 or more"]),
        (TrainOptions(objective="regression", loss="ce"), ["classification loss", "--loss mse"]),
        (TrainOptions(name="a/b"), ["not a usable model name"]),
        (TrainOptions(hidden=(64, 10**12)), ["wider than 100000", "would not fit in memory"]),
        (TrainOptions(task="causal-lm", lora=True, lora_rank=10**12), ["--lora-rank must be between 1 and 1024"]),
        (TrainOptions(seed=10**26), ["--seed must be between 0 and 2**63 - 1"]),
    ],
)
def test_bad_choices_fail_with_a_message(options, words):
    with pytest.raises(AIMagicsError) as caught:
        options.resolved()
    for word in words:
        assert word in str(caught.value)


def test_parse_list():
    assert parse_list("a, b,c", "--features") == ("a", "b", "c")
    assert parse_list("64,32", "--hidden", int) == (64, 32)
    assert parse_list(None, "--features") is None
    with pytest.raises(AIMagicsError, match="comma-separated list of whole numbers"):
        parse_list("64,big", "--hidden", int)
