"""Choosing a device and a dtype, with clear errors for unknown or absent devices."""

from __future__ import annotations

import pytest
import torch

from ai_magics.cache.device import DTYPE_ALIASES, best_device, resolve_device, resolve_dtype, torch_dtype
from ai_magics.errors import AIMagicsError

HAS_CUDA = torch.cuda.is_available()
HAS_MPS = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
cpu_only = pytest.mark.skipif(HAS_CUDA or HAS_MPS, reason="checks what happens on a machine without a GPU")
cuda_only = pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")


@cpu_only
@pytest.mark.parametrize("requested", ["auto", None, "", "AUTO", "  auto  "])
def test_auto_is_cpu_without_a_gpu(requested):
    assert resolve_device(requested) == "cpu"
    assert best_device() == "cpu"


@pytest.mark.parametrize("requested", ["cpu", "CPU", " cpu "])
def test_cpu_is_always_available(requested):
    assert resolve_device(requested) == "cpu"


@pytest.mark.parametrize("requested", ["gpu", "cuda:x", "cuda:", "cuda0", "cuda:-1", "tpu", "cpu:0", "mps:0", "xla"])
def test_unknown_device_names_are_refused_with_the_choices(requested):
    with pytest.raises(AIMagicsError) as info:
        resolve_device(requested)
    message = str(info.value)
    assert f"Unknown device {requested!r}" in message
    assert "'cpu'" in message and "'cuda:N'" in message and "'mps'" in message and "\n" not in message


@cpu_only
@pytest.mark.parametrize("requested", ["cuda", "cuda:0", "CUDA:1"])
def test_cuda_on_a_machine_without_one_is_refused(requested):
    with pytest.raises(AIMagicsError) as info:
        resolve_device(requested)
    message = str(info.value)
    assert repr(requested) in message and "no CUDA GPU" in message and "--device cpu" in message
    assert "\n" not in message


@cpu_only
def test_mps_on_a_machine_without_it_is_refused():
    with pytest.raises(AIMagicsError, match="MPS is not available"):
        resolve_device("mps")


@cuda_only
def test_cuda_devices_that_exist_and_do_not():
    assert resolve_device("auto") == "cuda"
    assert resolve_device("cuda:0") == "cuda:0"
    missing = f"cuda:{torch.cuda.device_count()}"
    with pytest.raises(AIMagicsError, match="does not exist"):
        resolve_device(missing)


@cuda_only
def test_auto_dtype_on_cuda_is_half_precision():
    expected = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    assert resolve_dtype("auto", "cuda") == expected
    assert resolve_dtype(None, "cuda:0") == expected


def test_default_dtypes_per_device():
    assert resolve_dtype(None, "cpu") == "float32"
    assert resolve_dtype("auto", "cpu") == "float32"
    assert resolve_dtype(" Auto ", "cpu") == "float32"
    assert resolve_dtype("auto", "mps") == "float16"


@pytest.mark.parametrize(
    ("alias", "name"),
    [("fp32", "float32"), ("F32", "float32"), ("bf16", "bfloat16"), ("BFloat16", "bfloat16"), ("half", "float16"),
     ("fp16", "float16"), ("f16", "float16"), ("float16", "float16")],
)  # fmt: skip
def test_dtype_aliases(alias, name):
    assert resolve_dtype(alias, "cpu") == name
    assert resolve_dtype(alias, "cuda") == name  # an explicit dtype never asks the device


@pytest.mark.parametrize("requested", ["int8", "float64", "fp8", "bf32"])
def test_unknown_dtypes_are_refused(requested):
    with pytest.raises(AIMagicsError) as info:
        resolve_dtype(requested, "cpu")
    assert f"Unknown dtype {requested!r}" in str(info.value) and "bfloat16" in str(info.value)


def test_every_alias_names_a_torch_dtype():
    for name in set(DTYPE_ALIASES.values()):
        assert isinstance(torch_dtype(name), torch.dtype)
    assert torch_dtype("bfloat16") is torch.bfloat16
    assert torch_dtype(resolve_dtype("half", "cpu")) is torch.float16
