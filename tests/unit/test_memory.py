"""Budget parsing, human sizes, measured memory and the size of torch modules."""

from __future__ import annotations

import pytest

from ai_magics.cache.memory import (
    CPU_RESERVE_BYTES,
    format_bytes,
    free_memory,
    module_bytes,
    parse_bytes,
    reserve_bytes,
    total_memory,
)
from ai_magics.errors import AIMagicsError


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4GB", 4 * 10**9), ("4gb", 4 * 10**9), ("512MB", 512 * 10**6), ("512 MiB", 512 * 2**20),
     ("2GiB", 2 * 2**30), ("1.5GB", 1_500_000_000), ("100", 100), ("100B", 100), ("  7 kb ", 7000),
     ("3KiB", 3072), ("1TB", 10**12), ("1tib", 2**40), (4096, 4096), (0, 0)],
)  # fmt: skip
def test_parse_bytes(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["auto", "", "lots", "4 G B", "-1GB", "1e9", "4XB", "GB", "4.GB", "1,000"])
def test_parse_bytes_refuses_what_is_not_a_size(text):
    with pytest.raises(AIMagicsError) as info:
        parse_bytes(text)
    message = str(info.value)
    assert repr(text) in message and "'4GB'" in message and "\n" not in message


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 B"), (999, "999 B"), (1000, "1.0 KB"), (1536, "1.5 KB"), (538_090_408, "538.1 MB"),
     (10**9, "1.0 GB"), (2.5 * 10**12, "2.5 TB")],
)  # fmt: skip
def test_format_bytes(n, text):
    assert format_bytes(n) == text


def test_cpu_memory_is_measured():
    free, total = free_memory("cpu"), total_memory("cpu")
    assert 0 < free <= total
    assert free_memory("mps") > 0  # MPS shares system RAM
    assert reserve_bytes("cpu") == CPU_RESERVE_BYTES == 2**30


def test_module_bytes_counts_parameters_and_buffers():
    import torch

    module = torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.BatchNorm1d(20))
    params = (10 * 20 + 20) + (20 + 20)
    buffers = 20 + 20  # running mean and var (float32)
    num_batches_tracked = 8  # an int64 buffer
    assert module_bytes(module) == (params + buffers) * 4 + num_batches_tracked
    assert module_bytes(module.to(torch.bfloat16)) == (params + buffers) * 2 + num_batches_tracked


def test_module_bytes_counts_tied_weights_once():
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    def build(tied: bool):
        config = LlamaConfig(vocab_size=1000, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=32, tie_word_embeddings=tied)  # fmt: skip
        return AutoModelForCausalLM.from_config(config)

    untied, tied = build(False), build(True)
    embedding = 1000 * 16 * 4
    assert tied.lm_head.weight.data_ptr() == tied.model.embed_tokens.weight.data_ptr()
    assert module_bytes(untied) - module_bytes(tied) == embedding
    naive = sum(p.numel() * p.element_size() for p in untied.parameters())
    assert module_bytes(untied) >= naive
    empty = torch.nn.Module()
    assert module_bytes(empty) == 0
