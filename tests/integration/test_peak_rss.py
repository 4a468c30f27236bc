"""Peak memory while loading the default generation model: the RSS rise stays within 1.5x its fp32 weight bytes.

Measured in a fresh process, with bench/generate.py's method: import torch and transformers, note the RSS, load
SmolLM2 from the conversion cache through the shared model cache exactly as %%generate does (plan_model +
use_model), then read the process's peak RSS. Two traps: a child started by subprocess (vfork + exec) inherits
its parent's peak in ru_maxrss, so a big test process inflates it (the peak here is VmHWM, which a fresh
process starts from zero); and transformers maps safetensors weights lazily (a copy-on-write mmap), so right
after the load most weights are not yet resident. The peak is therefore also read after every weight has been
read once, as the first generation does. A load that kept a second copy of the weights would show about 2x.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

LIMIT = 1.5

SCRIPT = """
import json
from pathlib import Path
import psutil
import torch, transformers  # imported before the baseline: their memory is not the load's
from ai_magics.backends.gguf_conversion import converted_dir, is_complete
from ai_magics.models.loading import plan_model, use_model

def peak() -> int:  # this process's peak RSS in bytes (not ru_maxrss: that starts at the parent's peak)
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024

plan = plan_model("smollm2", "causal-lm", backend="transformers")  # plugins are imported here, before the baseline
cached = is_complete(converted_dir(Path(plan.source.path) / plan.source.gguf_file))
base = psutil.Process().memory_info().rss
with use_model(plan) as generator:
    loaded = peak()
    params = list(generator.model.parameters())
    with torch.no_grad():
        total = sum(float(p.sum()) for p in params)  # reads every weight once, as a forward pass does
    ready = peak()
    fp32 = sum(p.numel() for p in params) * 4
    print(json.dumps({"base": base, "loaded": loaded, "ready": ready, "fp32": fp32, "nbytes": generator.nbytes,
                      "dtypes": sorted({str(p.dtype) for p in params}), "from_conversion_cache": cached,
                      "finite": total == total}))
"""


def measure(cache_root: Path) -> dict:
    env = {**os.environ, "AI_MAGICS_CACHE_DIR": str(cache_root), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(sys.platform != "linux", reason="reads the peak RSS from /proc/self/status")
def test_peak_rss_while_loading_smollm2_is_within_1_5x_its_fp32_weights(smollm2_converted_dir: Path) -> None:
    measured = measure(smollm2_converted_dir.parent.parent)  # the conversion cache the session fixture filled
    assert measured["from_conversion_cache"], "the load converted the GGUF instead of reading the conversion cache"
    assert measured["dtypes"] == ["torch.float32"] and measured["finite"]
    fp32 = measured["fp32"]
    assert fp32 > 400 * 10**6, fp32  # SmolLM2-135M: about 540 MB in fp32
    assert abs(measured["nbytes"] - fp32) < fp32 * 0.01  # what the model cache charges is the weights
    load_ratio = (measured["loaded"] - measured["base"]) / fp32
    ready_rise = measured["ready"] - measured["base"]
    ready_ratio = ready_rise / fp32
    print(f"\npeak RSS rise / fp32 weight bytes ({fp32 / 1e6:.0f} MB): {load_ratio:.2f}x after the load, "
          f"{ready_ratio:.2f}x once every weight was read")  # fmt: skip
    assert ready_rise >= 0.9 * fp32, "every weight was read, so the weights must be resident: the method is broken"
    assert load_ratio <= LIMIT, f"peak RSS rose {load_ratio:.2f}x the fp32 weight bytes while loading"
    assert ready_ratio <= LIMIT, f"peak RSS rose {ready_ratio:.2f}x the fp32 weight bytes by the first use"


LLAMACPP_SCRIPT = """
import json
import psutil
import torch, transformers  # as above: imported before the baseline
from ai_magics.models.loading import plan_model, use_model
import ai_magics

def peak() -> int:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) * 1024

plan = plan_model("smollm2", "causal-lm", backend="llama.cpp")
base = psutil.Process().memory_info().rss
with use_model(plan):
    loaded = peak()
text = ai_magics.generate("The quick brown fox", max_new_tokens=16, temperature=0, chat=False, backend="llama.cpp")
print(json.dumps({"base": base, "loaded": loaded, "ready": peak(), "text": text}))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads the peak RSS from /proc/self/status")
def test_peak_rss_on_the_default_cpu_backend_llama_cpp_is_within_1_5x(smollm2_converted_dir: Path) -> None:
    pytest.importorskip("ai_magics_llamacpp", reason="the llama.cpp plugin is not installed (make install)")
    fp32 = sum(p.stat().st_size for p in smollm2_converted_dir.glob("*.safetensors"))  # the fp32 weights on disk
    assert fp32 > 400 * 10**6, fp32
    done = subprocess.run([sys.executable, "-c", LLAMACPP_SCRIPT], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["text"].strip(), "llama.cpp generated nothing"
    ratio = (measured["ready"] - measured["base"]) / fp32
    print(f"\nllama.cpp: peak RSS rise / fp32 weight bytes: {ratio:.2f}x after loading and generating")
    assert 0 < ratio <= LIMIT, f"peak RSS rose {ratio:.2f}x the fp32 weight bytes on the llama.cpp backend"
