"""Build the example notebooks from the cells below, without outputs (as they are committed).

    python notebooks/build_notebooks.py           # (re)write notebooks/*.ipynb
    python notebooks/build_notebooks.py --check   # exit 1 if a committed notebook differs from what this builds

Every notebook runs on the default models (SmolLM2-135M-Instruct, all-MiniLM-L6-v2) in a minute or so on a
2-core CPU, so the test suite executes them all headless (tests/integration/test_notebooks.py). Cell ids are
fixed, so building twice gives byte-identical files.

A cell magic whose input comes from ``--data`` keeps an empty line as its body: IPython refuses a ``%%`` cell
with no body at all (the line-magic form, ``%train --data df ...``, works too).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

SEED_DATA = '''import numpy as np
import pandas as pd

# The seed's worked example (4.3): a binary classification problem, 100 samples with 10 features.
rng = np.random.default_rng(0)
X = rng.normal(size=(100, 10))
true_w = rng.normal(size=10)
df = pd.DataFrame(X.round(3), columns=[f"x{i}" for i in range(1, 11)])
df["y"] = (X @ true_w > 0).astype(int)
df.head()'''


def md(text: str) -> tuple[str, str]:
    return ("markdown", text)


def code(text: str) -> tuple[str, str]:
    return ("code", text)


QUICKSTART = [
    md("# ai-magics quickstart\n\n"
       "Everything here runs on your machine, on models that ship inside PyPI wheels: SmolLM2-135M-Instruct for "
       "generation and all-MiniLM-L6-v2 for classification. In JupyterLab the magics show live widgets (text that "
       "grows with tokens/s and a Stop button, a loss curve that updates); a saved notebook keeps plain text, "
       "tables and images."),
    code("%load_ext ai_magics"),
    md("## Generate\n\n"
       "The cell body is the prompt (the seed's text-generation example). `--temperature 0` decodes greedily, "
       "`--out` keeps the text in a variable."),
    code("%%generate --temperature 0 --no-chat --max-new-tokens 32 --out fox\n"
         "The quick brown fox jumps over the lazy dog"),
    code("print(len(fox.split()), 'words generated')"),
    md("## Chat\n\n"
       "`--conversation NAME` keeps the history in a notebook variable, so the next cell continues it."),
    code('%%generate --conversation booking --seed 0 --max-new-tokens 24 --system "You are a helpful airline '
         'booking assistant. Answer briefly."\n'
         "你好，我想要订一张从北京到上海的机票。"),
    code("%%generate --conversation booking --seed 0 --max-new-tokens 24\nTomorrow morning, please. One adult."),
    code("[m['role'] for m in booking]"),
    md("## Classify, zero-shot\n\n"
       "One text per line; `--labels` are the classes to choose from. The result is a DataFrame."),
    code("%%classify --labels sports,politics,technology\n"
         "The striker scored twice in the last ten minutes of the final.\n"
         "Parliament passed the budget after a long night of debate.\n"
         "The new phone has a faster chip and a bigger battery."),
    md("## Train, then reuse\n\n"
       "The seed's worked example: 100 samples with 10 features and a binary label, a linear model "
       "(`--hidden 0`: 10 weights and a bias) trained with cross-entropy and stochastic gradient descent. "
       "`--name` registers the trained model for `%%classify --model`. A magic whose input comes from `--data` "
       "has an empty line as its body (IPython refuses a `%%` cell with no body), or is written as a line "
       "magic: `%train --data df ...`."),
    code(SEED_DATA),
    code("%%train --task tabular --data df --target y --loss ce --optimizer sgd --name seed_model --hidden 0 "
         "--epochs 30\n\n"),
    code("# Five new samples from the same distribution, with their true labels to compare.\n"
         "X_new = rng.normal(size=(5, 10))\n"
         'new = pd.DataFrame(X_new.round(3), columns=[f"x{i}" for i in range(1, 11)])\n'
         "truth = (X_new @ true_w > 0).astype(int)"),
    code("%%classify --model seed_model --data new --out predicted\n\n"),
    code("print('true labels:     ', truth.tolist())\nprint('predicted labels:', predicted['label'].tolist())"),
    md("## What is loaded\n\nModels load once into a shared cache and stay there for the next cell."),
    code("%ai_magics cache"),
]

TRAINING = [
    md("# Training: losses and optimisers, side by side\n\n"
       "The seed article's sections 4.1 (loss functions), 4.2 (optimisation algorithms) and its worked example "
       "4.3: a binary classification problem with 100 samples of 10 features, a linear model "
       "$\\text{logits} = xW + b$ (`--hidden 0`). Each `%%train` cell shows a live loss curve while it runs and "
       "leaves a static image of it; `--out` keeps the run (its `history` per step, `epochs` per epoch and final "
       "`metrics`) to compare afterwards."),
    code("%load_ext ai_magics"),
    code(SEED_DATA),
    md("## 4.1 Loss functions\n\n"
       "- `ce`, cross-entropy, $L = -\\sum_i y_i \\log p_i$ on the softmax of the logits;\n"
       "- `mse`, mean squared error, $L = \\frac{1}{2}\\sum_i (y_i - \\hat y_i)^2$ between the softmax and the "
       "one-hot label;\n"
       "- `nll`, negative log-likelihood, $L = -\\sum_i y_i \\log p(y_i \\mid \\theta)$ on the log-softmax.\n\n"
       "Same data, same optimiser (SGD, learning rate 0.1), same seed, 30 epochs. With `--loss mse` on a numeric "
       "0/1 target, `%%train` would fit a regression; `--objective classification` keeps it a classifier."),
    code("%%train --task tabular --data df --target y --hidden 0 --epochs 30 --optimizer sgd --loss ce --out loss_ce\n\n"),
    code("%%train --task tabular --data df --target y --hidden 0 --epochs 30 --optimizer sgd --loss mse "
         "--objective classification --out loss_mse\n\n"),
    code("%%train --task tabular --data df --target y --hidden 0 --epochs 30 --optimizer sgd --loss nll --out loss_nll\n\n"),
    md("## 4.2 Optimisers\n\n"
       "- `sgd`, stochastic (mini-batch) gradient descent, $\\theta_{t+1} = \\theta_t - \\alpha \\nabla_\\theta L$ "
       "on a batch of 32 rows;\n"
       "- `gd`, batch gradient descent: the same update on the whole training set, one step an epoch;\n"
       "- `adam` and `adamw`, adaptive per-parameter step sizes (AdamW with decoupled weight decay).\n\n"
       "Cross-entropy for all, 30 epochs each."),
    code("%%train --task tabular --data df --target y --hidden 0 --epochs 30 --loss ce --optimizer sgd --out opt_sgd\n\n"),
    code("%%train --task tabular --data df --target y --hidden 0 --epochs 30 --loss ce --optimizer gd --out opt_gd\n\n"),
    code("%%train --task tabular --data df --target y --hidden 0 --epochs 30 --loss ce --optimizer adam --out opt_adam\n\n"),
    code("%%train --task tabular --data df --target y --hidden 0 --epochs 30 --loss ce --optimizer adamw "
         "--out opt_adamw\n\n"),
    md("## The curves compared\n\n"
       "Each loss has its own scale (MSE on probabilities is small by construction), so the left plot compares "
       "the *shape* of the loss curves; the table gives the accuracy each run reached. Two pairs overlap, as they "
       "should: `nll` on the log-softmax *is* cross-entropy, so `ce` and `nll` (dashed) give the same curve; "
       "and `adamw` (dashed) differs from `adam` only by a small weight decay, which barely matters in 120 steps. "
       "Full-batch `gd` takes one step an epoch, so after 30 epochs it has made 30 updates where the others made "
       "120."),
    code('''import matplotlib.pyplot as plt

losses = {"ce": loss_ce, "mse": loss_mse, "nll": loss_nll}
optimisers = {"sgd": opt_sgd, "gd": opt_gd, "adam": opt_adam, "adamw": opt_adamw}

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
dashed = {"nll", "adamw"}
for name, run in losses.items():
    left.plot(run.epochs["epoch"], run.epochs["train_loss"], "--" if name in dashed else "-", label=name)
left.set(title="4.1 losses (SGD)", xlabel="epoch", ylabel="training loss")
for name, run in optimisers.items():
    right.plot(run.epochs["epoch"], run.epochs["train_loss"], "--" if name in dashed else "-", label=name)
right.set(title="4.2 optimisers (cross-entropy)", xlabel="epoch", ylabel="training loss")
for ax in (left, right):
    ax.legend()
    ax.grid(alpha=0.3)
plt.tight_layout()
plt.show()'''),
    code('''runs = {f"loss {k}": v for k, v in losses.items()} | {f"optimizer {k}": v for k, v in optimisers.items()}
pd.DataFrame(
    {name: {"steps": run.steps, "final loss": run.metrics["train_loss"], "accuracy": run.metrics["train_accuracy"]}
     for name, run in runs.items()}
).T'''),
]

CHATBOT = [
    md("# A chatbot: the seed's ticket-booking conversation\n\n"
       "Section 6 of the seed article: a user asks an assistant to book a flight from Beijing to Shanghai. "
       "`--conversation booking` keeps the messages in the notebook variable `booking`, so each cell is one more "
       "turn; `--system` sets the assistant's role once. SmolLM2-135M is a very small model: the point is the "
       "mechanics (history, streaming, Stop), not the quality of its Chinese."),
    code("%load_ext ai_magics"),
    code('%%generate --conversation booking --seed 0 --max-new-tokens 24 --system "You are a helpful airline '
         'booking assistant. Answer briefly."\n'
         "你好，我想要订一张从北京到上海的机票。"),
    code("%%generate --conversation booking --seed 0 --max-new-tokens 24\n明天上午，一位成人。"),
    code("%%generate --conversation booking --seed 0 --max-new-tokens 24\n经济舱多少钱？"),
    md("The whole conversation is an ordinary list of `{role, content}` messages:"),
    code("import pandas as pd\n\npd.DataFrame(booking)"),
    md("The same from Python, for scripts: `ai_magics.generate` takes the same options, and `conversation=` "
       "continues a history list in place."),
    code('''import ai_magics

reply = ai_magics.generate("Thank you! Please confirm the booking.", conversation=booking, max_new_tokens=16,
                           temperature=0)
print(reply)
print(len(booking), "messages so far")'''),
]

CLASSIFICATION = [
    md("# Classification applications: topics and sentiment\n\n"
       "Zero-shot classification with all-MiniLM-L6-v2: each label is put into words (\"This is {label}.\") and "
       "compared with each text by cosine similarity; a softmax over the labels gives the probabilities. No "
       "training data is needed, only label names."),
    code("%load_ext ai_magics"),
    md("## Topics\n\nOne text per line in the cell body."),
    code("%%classify --labels sports,politics,technology\n"
         "The striker scored twice in the last ten minutes of the final.\n"
         "Parliament passed the budget after a long night of debate.\n"
         "The new phone has a faster chip and a bigger battery.\n"
         "The prime minister met the president of France.\n"
         "The team won the championship for the third year in a row.\n"
         "Researchers released an open-source compiler for quantum computers."),
    md("## Sentiment\n\n"
       "From a DataFrame: `--data` names the variable and `--column` the column of texts; the result has one "
       "row per text, in order, so it lines up with the true labels."),
    code('''import pandas as pd

reviews = pd.DataFrame({
    "text": [
        "I loved this film, the acting was wonderful.",
        "A boring, far too long movie.",
        "Great food and friendly staff.",
        "The room was dirty and the staff were rude.",
        "Absolutely fantastic, I would buy it again.",
        "It broke after two days, a waste of money.",
    ],
    "truth": ["positive", "negative", "positive", "negative", "positive", "negative"],
})'''),
    code("%%classify --labels positive,negative --data reviews --column text --out sentiment\n\n"),
    code('print(f"accuracy: {(sentiment[\'label\'] == reviews[\'truth\']).mean():.0%}")'),
    md("## Several labels at once\n\n"
       "`--multi-label` keeps every label whose probability reaches `--threshold`; a label may carry a "
       "description after `=` that is embedded in its place."),
    code("%%classify --multi-label --threshold 0.2 --labels "
         "'food=about food or restaurants','travel=about travel or hotels','complaint=a complaint'\n"
         "The hotel restaurant served cold soup and nobody apologised.\n"
         "We flew to Lisbon and walked around the old town all day."),
]

PLUGINS = [
    md("# Writing a plugin\n\n"
       "Every magic of ai-magics is a plugin, and yours are equal to the built-in ones. A plugin is a module "
       "(or object) with functions named after the hooks in `ai_magics/hookspecs.py`, decorated with "
       "`@ai_magics.hookimpl`. A package makes it permanent with an entry point:\n\n"
       "```toml\n[project.entry-points.ai_magics]\nmy_plugin = \"my_package.plugin\"\n```\n\n"
       "In a notebook, a plugin object can also be added at run time, which is what this notebook does."),
    code("%load_ext ai_magics"),
    md("## A task is a new cell magic\n\n"
       "`add_arguments` declares the magic's options (argparse); `run` gets the parsed options, the cell body "
       "(with `{name}` already filled in) and a context (the notebook namespace, settings, `store` for "
       "`--out`). What `run` returns is displayed."),
    code('''import ai_magics
from ai_magics import hookimpl
from ai_magics.registry import Task


def add_arguments(parser):
    parser.add_argument("--shout", action="store_true", help="upper-case the text")
    parser.add_argument("--out", "-o", help="store the result in this variable")


def run(args, body, context):
    text = body.strip().upper() if args.shout else body.strip()
    context.store(args.out, text)
    return text


class EchoPlugin:
    @hookimpl
    def ai_magics_register_tasks(self, register):
        register(Task("echo", "Echo the cell body.", add_arguments, run))'''),
    code('''from ai_magics.plugins import get_plugin_host

host = get_plugin_host()
host.add_plugin(EchoPlugin(), "echo-demo")
sorted(host.registry.tasks)'''),
    md("`%reload_ext` registers a magic for every task, including the new one."),
    code("%reload_ext ai_magics"),
    code("name = 'plugins'\n"),
    code("%%echo --shout --out shouted\nhello from {name}"),
    md("## A task built on a model, and an event hook\n\n"
       "A plugin can use the shared model cache through the Python API, so `%%tldr` below loads nothing new "
       "after `%%generate` has run. Event hooks observe every run: this one counts the tokens generated."),
    code('''class TldrPlugin:
    tokens = 0

    @hookimpl
    def ai_magics_register_tasks(self, register):
        def options(parser):
            parser.add_argument("--max-new-tokens", "-n", type=int, default=24)

        def summarise(args, body, context):
            return ai_magics.generate(f"Summarise in one short sentence: {body}", max_new_tokens=args.max_new_tokens,
                                      temperature=0)

        register(Task("tldr", "Summarise the cell body in one sentence.", options, summarise))

    @hookimpl
    def ai_magics_on_token(self, event):
        TldrPlugin.tokens += 1


host.add_plugin(TldrPlugin(), "tldr-demo")
sorted(host.registry.tasks)'''),
    code("%reload_ext ai_magics"),
    code("%%tldr -n 16\n"
         "The quick brown fox jumps over the lazy dog. This sentence contains every letter of the English "
         "alphabet, so typists have long used it to test keyboards and fonts."),
    code("print(TldrPlugin.tokens, 'tokens seen by the event hook')"),
    md("`%ai_magics plugins` lists every plugin, where it came from, and any problem it had."),
    code("%ai_magics plugins"),
]

NOTEBOOKS = {
    "quickstart": QUICKSTART,
    "training": TRAINING,
    "chatbot": CHATBOT,
    "classification": CLASSIFICATION,
    "plugins": PLUGINS,
}


def build(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python", "pygments_lexer": "ipython3"},
    }
    for index, (kind, source) in enumerate(cells):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cell = make(source)
        cell.id = f"{name}-{index:02d}"
        notebook.cells.append(cell)
    nbformat.validate(notebook)
    return notebook


def render(name: str) -> str:
    return nbformat.writes(build(name, NOTEBOOKS[name])) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if a notebook is out of date")
    parser.add_argument("--dir", type=Path, default=HERE, help="where the notebooks go (default: this folder)")
    args = parser.parse_args(argv)
    stale = []
    for name in NOTEBOOKS:
        path = args.dir / f"{name}.ipynb"
        text = render(name)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'} {path}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
