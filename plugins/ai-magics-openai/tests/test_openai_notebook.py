"""A saved notebook never holds the API key: a real kernel runs %%generate against a real server with the key
from the environment, shows its settings, fails on a wrong key, and the saved .ipynb is searched for both keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("ai_magics_openai", reason="the ai-magics-openai plugin is not installed (make install)")
pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed (make install)")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

pytestmark = pytest.mark.integration

CELLS = [
    "%load_ext ai_magics",
    "import os\n%config OpenAIServer.api_key = os.environ['OPENAI_API_KEY']",
    "%config OpenAIServer",
    "%config OpenAIServer.api_key",
    "%%generate --model server:smollm2-135m --temperature 0 --no-chat -n 8 --out fox\nThe quick brown fox",
    "print(repr(fox))",
    "%config OpenAIServer.api_key = os.environ['AI_MAGICS_TEST_WRONG_KEY']",
    "%%generate --model server:smollm2-135m -n 4\nHello",
    "%ai_magics plugins",
    "import ai_magics.magics\nprint(ai_magics.magics.last_traceback())",
]


def outputs_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts += [str(v) for v in output.get("data", {}).values()]
        parts += [output.get("ename", ""), output.get("evalue", ""), *output.get("traceback", [])]
    return "\n".join(parts)


def test_the_saved_notebook_holds_no_api_key(llama_server, tmp_path: Path):
    wrong = "sk-wrong-" + os.urandom(8).hex()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    env = {
        **os.environ,
        "OPENAI_API_KEY": llama_server.api_key,
        "AI_MAGICS_TEST_WRONG_KEY": wrong,
        "AI_MAGICS_OPENAI_BASE_URL": llama_server.base_url,
        "AI_MAGICS_OPENAI_MODELS": "smollm2-135m",
        "AI_MAGICS_OPENAI_EXTRA_BODY": '{"repeat_penalty": 1.0}',
    }
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True)
    client.execute(env=env)
    saved = tmp_path / "server.ipynb"
    nbformat.write(notebook, saved)

    text = saved.read_text(encoding="utf-8")
    assert llama_server.api_key not in text and wrong not in text
    assert llama_server.api_key[-8:] not in text and wrong[-8:] not in text  # not even a fragment
    cells = notebook.cells
    assert "Current: '********'" in outputs_text(cells[2]) and "'********'" in outputs_text(cells[3])
    assert "tok/s" in outputs_text(cells[4]) and len(outputs_text(cells[5])) > 20
    assert "refused the API key (HTTP 401" in outputs_text(cells[7])
    assert "openai" in outputs_text(cells[8]) and "ai-magics-openai" in outputs_text(cells[8])
