"""%%train end to end through a real IPython shell: the seed's worked example, bad input, Stop and interrupts,
--save reloaded in a new process, MiniLM fine-tuning, and a SmolLM2 LoRA fine-tune that %%generate then uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError
from kernel_session import StopClicker, execute, running_kernel

import ai_magics.tasks.train.plugin as train_plugin
from ai_magics.cache import ModelKey, get_cache
from ai_magics.hookspecs import hookimpl
from ai_magics.models.loading import plan_model, use_model
from ai_magics.tasks.train.result import TrainResult

pytestmark = pytest.mark.integration

PHRASE = "The purple owl sings at midnight."


def error_text(result) -> str:
    exc = result.error_in_exec or result.error_before_exec
    return "" if exc is None else str(exc)


def seed_example() -> pd.DataFrame:
    """Seed 4.3: 100 samples, 10 features, a binary label."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 10))
    y = (x @ rng.normal(size=10) + rng.normal(scale=0.5, size=100) > 0).astype(int)
    return pd.DataFrame(x, columns=[f"x{i}" for i in range(10)]).assign(label=y)


def test_seed_example_trains_and_the_named_model_predicts_from_the_cache(run, shell, capsys):
    shell.user_ns["seed_df"] = seed_example()
    result = run("%%train --task tabular --data seed_df --target label --loss ce --optimizer sgd --name m_seed "
                 "--out seed_run\n# seed 4.3: 100 x 10, binary, cross-entropy with SGD")  # fmt: skip
    assert result.success, error_text(result)
    run_result = shell.user_ns["seed_run"]
    assert isinstance(run_result, TrainResult) and run_result.name == "m_seed"
    assert run_result.metrics["train_accuracy"] >= 0.9
    assert list(run_result.history.columns[:3]) == ["step", "epoch", "loss"] and len(run_result.history) == 200
    out = capsys.readouterr().out
    assert "200/200" in out and "registered as 'm_seed'" in out  # the terminal's bar and summary
    loads = get_cache().stats.loads
    with use_model(plan_model("m_seed", "classifier")) as predictor:  # what %%classify --model m_seed gets
        predicted = predictor.predict(shell.user_ns["seed_df"])
    assert get_cache().stats.loads == loads
    assert (predicted == shell.user_ns["seed_df"]["label"].to_numpy()).mean() == pytest.approx(
        run_result.metrics["train_accuracy"]
    )


BAD_CELLS = [
    ("%%train --data no_such_frame --target label", "there is no variable 'no_such_frame'"),
    ("%%train --data bad_df --target lbl", "--target 'lbl' is not a column"),
    ("%%train --data bad_df --target label --loss hinge", "Unknown loss 'hinge'"),
    ("%%train --data bad_df --target label --optimizer rmsprop", "Unknown optimizer 'rmsprop'"),
    ("%%train --task vision --data bad_df --target label", "Unknown task 'vision'"),
    ("%%train --data text_df --target label", "'color', 'city' are not numeric"),
    ("%%train --data empty_df --target label", "The data is empty"),
    ("%%train --data nan_df --target label", "missing values (NaN or None) in 'x2' (1 row)"),
    ("%%train --data bad_df", "--target is required here"),
    ("%%train --data bad_df --target label --epochs 0", "--epochs"),
]


@pytest.mark.parametrize(("cell", "message"), BAD_CELLS)
def test_bad_input_fails_with_a_short_message_and_keeps_everything(run, shell, cell, message):
    df = seed_example()
    shell.user_ns.update(
        bad_df=df, empty_df=df.iloc[:0], text_df=df.assign(color="red", city="Paris"),
        nan_df=df.assign(x2=df["x2"].where(df.index != 3)),
    )  # fmt: skip
    sentinel = ModelKey("sentinel-model", kind="classifier")
    get_cache().put(sentinel, type("Model", (), {"nbytes": 10})())
    result = run(cell + "\n# cell")
    assert not result.success
    error = result.error_in_exec
    assert isinstance(error, UsageError), repr(error)
    assert message in str(error) and "Traceback" not in str(error) and "\n" not in str(error)
    assert sentinel in get_cache()  # other models kept
    assert run("1 + 1").result == 2  # shell alive


class Interrupter:
    """Raises KeyboardInterrupt at a given step, as a kernel interrupt would."""

    def __init__(self, at: int) -> None:
        self.at = at

    @hookimpl
    def ai_magics_on_train_step(self, event) -> None:
        if event.step == self.at:
            raise KeyboardInterrupt


def test_interrupt_keeps_the_weights_name_and_history(run, shell, add_plugin):
    shell.user_ns["seed_df"] = seed_example()
    add_plugin(Interrupter(at=25), "interrupter")
    result = run("%%train --data seed_df --target label --name m_partial --out partial\n# interrupted at step 25")
    assert not result.success
    assert "Interrupted: training stopped after 25 of 200 steps" in error_text(result)
    assert "registered as 'm_partial'" in error_text(result)
    partial = shell.user_ns["partial"]
    assert partial.interrupted and len(partial.history) == 25
    with use_model(plan_model("m_partial", "classifier")) as predictor:
        assert predictor is partial.model


def test_train_step_events_reach_a_plugin(run, shell, add_plugin):
    events = []

    class Logger:
        @hookimpl
        def ai_magics_on_train_step(self, event) -> None:
            events.append(event)

    add_plugin(Logger(), "logger")
    shell.user_ns["seed_df"] = seed_example()
    assert run("%%train --data seed_df --target label --epochs 2 --out small\n#").success
    assert [e.step for e in events if "epoch_end" not in e.metrics] == list(range(1, 9))


SUBPROCESS_RELOAD = """
import json, sys
import pandas as pd
import ai_magics.tasks.train.plugin as plugin
from ai_magics.plugins import get_plugin_host
from ai_magics.registry import LoadRequest, ModelSource
host = get_plugin_host()
if not host.pm.is_registered(plugin):
    host.add_plugin(plugin, "builtin-train", "built-in")
folder, data = sys.argv[1], pd.read_json(sys.argv[2])
source = ModelSource(model_id=folder, path=folder, kind="classifier", file_format="trained")
direct = plugin.load_trained(LoadRequest(source, "classifier", "cpu", "float32")).predict(data).tolist()
by_name = None
from ai_magics.models import resolve
if hasattr(resolve, "TRAINED_MARKER"):  # the --model DIR patch is applied
    from ai_magics.models.loading import plan_model, use_model
    with use_model(plan_model(folder, "classifier")) as model:
        by_name = model.predict(data).tolist()
print(json.dumps({"direct": direct, "by_name": by_name}))
"""


def test_save_is_reloaded_in_a_new_process(run, shell, tmp_path: Path):
    df = seed_example()
    df["label"] = np.where(df["label"] == 1, "yes", "no")
    shell.user_ns["seed_df"] = df
    folder = tmp_path / "saved"
    result = run(f"%%train --data seed_df --target label --save {folder} --out saved\n# saved for later")
    assert result.success, error_text(result)
    data_path = tmp_path / "data.json"
    df.to_json(data_path)
    out = subprocess.run([sys.executable, "-c", SUBPROCESS_RELOAD, str(folder), str(data_path)],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    expected = shell.user_ns["saved"].model.predict(df).tolist()
    assert answer["direct"] == expected
    if answer["by_name"] is None:
        pytest.skip("--model DIR needs the resolve.py patch from the train report; the folder itself reloads")
    assert answer["by_name"] == expected


SENTIMENT = [
    ("I loved this film", "pos"), ("what a wonderful day", "pos"), ("great food and friendly staff", "pos"),
    ("this is excellent", "pos"), ("absolutely fantastic service", "pos"), ("I am so happy with it", "pos"),
    ("a delightful experience", "pos"), ("best purchase ever", "pos"), ("really enjoyable and fun", "pos"),
    ("superb quality, I recommend it", "pos"), ("I hated this film", "neg"), ("what a terrible day", "neg"),
    ("awful food and rude staff", "neg"), ("this is dreadful", "neg"), ("absolutely horrible service", "neg"),
    ("I am so angry about it", "neg"), ("a miserable experience", "neg"), ("worst purchase ever", "neg"),
    ("really boring and dull", "neg"), ("poor quality, avoid it", "neg"),
]  # fmt: skip


def test_text_classification_fine_tunes_minilm(run, shell, tmp_path: Path, one_torch_thread):
    shell.user_ns["reviews"] = [{"review": text, "label": label} for text, label in SENTIMENT]
    folder = tmp_path / "sentiment"
    result = run(f"%%train --task text-classification --data reviews --target label --epochs 3 --batch-size 10 "
                 f"--name m_sentiment --save {folder} --out sentiment\n# MiniLM + a classification head")  # fmt: skip
    assert result.success, error_text(result)
    run_result = shell.user_ns["sentiment"]
    losses = run_result.history["loss"].tolist()
    assert losses[-1] < losses[0]
    assert run_result.metrics["train_accuracy"] >= 0.9
    with use_model(plan_model("m_sentiment", "classifier")) as predictor:
        assert predictor.input_kind == "text" and predictor.labels == ["neg", "pos"]
        texts = [text for text, _ in SENTIMENT]
        predicted = list(predictor.predict(texts))
        probabilities = predictor.predict_proba(texts)
    assert np.mean([p == label for p, (_, label) in zip(predicted, SENTIMENT, strict=True)]) >= 0.9
    reloaded = train_plugin.load_trained(plan_model("m_sentiment", "classifier").request)
    assert np.allclose(reloaded.predict_proba(texts), probabilities, atol=1e-5)
    assert not list(folder.rglob("*.bin")) and not list(folder.rglob("*.pkl"))


def test_lora_fine_tune_makes_generate_say_the_phrase(run, shell, one_torch_thread):
    lines = "\n".join([PHRASE] * 32)  # identical lines: one per step teaches as much as a larger batch
    line = "%%train --task causal-lm --lora --max-steps 6 --batch-size 1 --lr 3e-3 --name m_owl --out owl"
    result = run(f"{line}\n{lines}")
    assert result.success, error_text(result)
    losses = shell.user_ns["owl"].history["loss"].tolist()
    assert len(losses) == 6 and losses[-1] < losses[0] / 10
    result = run("%%generate --model m_owl --temperature 0 --max-new-tokens 16 --out said\nSay something.")
    assert result.success, error_text(result)
    assert str(shell.user_ns["said"]).strip() == PHRASE
    folder = Path(shell.user_ns["owl"].path)
    assert (folder / "config.json").is_file() and list(folder.glob("*.safetensors"))
    assert json.loads((folder / "ai_magics_trained.json").read_text())["kind"] == "causal-lm"


def test_help_lists_the_defaults(run, capsys):
    assert run("%%train --help\n#").success
    assert "default: tabular 0.01 with adam/adamw" in capsys.readouterr().out


# -- in a real Jupyter kernel: the live widget, a Stop click during training, the static PNG after -------------

KERNEL_SETUP = """
%load_ext ai_magics
%config AIMagics.widgets = 'on'
import numpy as np, pandas as pd
_x = np.random.default_rng(0).normal(size=(100, 10))
seed_df = pd.DataFrame(_x, columns=[f"x{i}" for i in range(10)]).assign(label=(_x[:, 0] > 0).astype(int))
"""


@pytest.fixture(scope="module")
def kernel():
    with running_kernel() as client:
        yield client
        execute(client, "from ai_magics.tasks.train.persistence import remove_session_folders as _r; _r()")


def test_stop_click_in_a_kernel_keeps_the_model_and_leaves_a_png(kernel):
    reply, _ = execute(kernel, KERNEL_SETUP)
    assert reply["content"]["status"] == "ok", reply["content"]
    clicker = StopClicker(kernel, after=6)
    reply, messages = execute(
        kernel, "%%train --data seed_df --target label --epochs 20000 --name k_seed --out k_run\n# stop me", clicker
    )
    assert reply["content"]["status"] == "ok", reply["content"]
    assert clicker.clicked, "the widget never sent updates"
    reply, after = execute(kernel, "print(k_run.stopped, k_run.steps, k_run.name, len(k_run.history))")
    stopped, steps, name, rows = next(m for m in after if m["msg_type"] == "stream")["content"]["text"].split()
    assert stopped == "True" and 0 < int(steps) < 80_000 and name == "k_seed" and int(rows) == int(steps)
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert updates, "the live widget was not replaced by a static image"
    final = updates[-1]["content"]["data"]
    assert "image/png" in final and "stopped after" in final["text/plain"]
    assert "application/vnd.jupyter.widget-view+json" not in final
