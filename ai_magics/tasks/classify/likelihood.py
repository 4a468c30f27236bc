"""Zero-shot labels from a causal LM: the log-likelihood of each label's tokens after a prompt holding the text.

Per batch of texts the prompts run once (left-padded, with a KV cache); the cache is then repeated once per
label and every label's tokens are scored in a single second pass. Labels of one token need no second pass.
Scores are summed token log-probabilities, calibrated by subtracting each label's score for content-free texts
(Zhao et al. 2021, "Calibrate before use": small LMs favour some label words whatever the text says; on the
project's topic set this took SmolLM2-135M from 0.28 to 0.60 accuracy). A softmax over labels gives probabilities.
"""

from __future__ import annotations

from typing import Any, Hashable, Sequence

from ai_magics.tasks.classify.memo import SmallLRU

INSTRUCTION = (
    "Classify the text into one of these categories: {labels}.\n\nText: {text}\n\nAnswer with the category only."
)
PLAIN_PROMPT = "Text: {text}\nCategories: {labels}\nCategory:"
MAX_TEXT_TOKENS = 1024
CONTENT_FREE = ("N/A", "", "[MASK]")

label_priors = SmallLRU(64)  # (model key, label names) -> (k,) mean log-likelihood for content-free texts


def build_prompt(generator: Any, text: str, names: Sequence[str]) -> tuple[str, str]:
    """The prompt for ``text`` and the prefix put before each label (chat template when the model has one)."""
    tokenizer = generator.tokenizer
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) > MAX_TEXT_TOKENS:
        text = tokenizer.decode(ids[:MAX_TEXT_TOKENS])
    listed = ", ".join(names)
    if generator.has_chat_template():
        message = INSTRUCTION.format(labels=listed, text=text)
        return generator.format_chat([{"role": "user", "content": message}]), ""
    return PLAIN_PROMPT.format(labels=listed, text=text), " "


def _pad_id(tokenizer: Any) -> int:
    for value in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0):
        if value is not None:
            return int(value)
    return 0


def _left_padded(rows: list[list[int]], pad: int) -> tuple[Any, Any]:
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
        mask[i, width - len(row):] = 1
    return ids, mask


def _right_padded(rows: list[list[int]], pad: int) -> tuple[Any, Any]:
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask


def label_token_ids(tokenizer: Any, names: Sequence[str], prefix: str) -> list[list[int]]:
    """Each label's token ids as they follow the prompt."""
    return [tokenizer(prefix + name, add_special_tokens=False)["input_ids"] for name in names]


def score_prompts(generator: Any, prompts: Sequence[str], labels: list[list[int]], chat: bool) -> Any:
    """Summed log-probabilities (n x k numpy array) of each label's tokens after each prompt."""
    import torch
    from transformers import DynamicCache

    from ai_magics.backends.hf_generator import cache_argument

    model, tokenizer = generator.model, generator.tokenizer
    pad = _pad_id(tokenizer)
    rows = [tokenizer(p, add_special_tokens=not chat)["input_ids"] for p in prompts]
    ids, mask = _left_padded(rows, pad)
    device = generator.device
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    cache = DynamicCache(config=model.config)
    cache_kw = {cache_argument(model): cache}
    batch, count = len(rows), len(labels)
    label_ids, label_mask = _right_padded(labels, pad)
    label_ids, label_mask = label_ids.to(device), label_mask.to(device)
    with torch.inference_mode():
        out = model(
            input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1, **cache_kw
        )
        first = torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)  # (batch, vocab)
        scores = first[:, label_ids[:, 0]]  # (batch, count)
        if label_ids.shape[1] == 1:
            return scores.cpu().numpy()
        cache.batch_repeat_interleave(count)
        step_ids = label_ids[:, :-1].repeat(batch, 1)
        step_mask = torch.cat([mask.repeat_interleave(count, 0), label_mask[:, :-1].repeat(batch, 1)], dim=1)
        lengths = mask.sum(-1).repeat_interleave(count)
        step_positions = lengths[:, None] + torch.arange(step_ids.shape[1], device=device)[None, :]
        out = model(
            input_ids=step_ids, attention_mask=step_mask, position_ids=step_positions, use_cache=True, **cache_kw
        )
        logp = torch.log_softmax(out.logits.float(), dim=-1)
        targets = label_ids[:, 1:].repeat(batch, 1)
        picked = logp.gather(-1, targets[..., None]).squeeze(-1) * label_mask[:, 1:].repeat(batch, 1)
        scores = scores + picked.sum(-1).view(batch, count)
    return scores.cpu().numpy()


def label_log_likelihoods(generator: Any, texts: Sequence[str], names: Sequence[str], batch_size: int = 8) -> Any:
    """Log-likelihoods (n x k) of each label name given a prompt holding each text, batched by prompt length."""
    import numpy as np

    chat = generator.has_chat_template()
    built = [build_prompt(generator, text, names) for text in texts]
    labels = label_token_ids(generator.tokenizer, names, built[0][1])
    order = sorted(range(len(built)), key=lambda i: len(built[i][0]))
    result = np.zeros((len(texts), len(names)), dtype=np.float64)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        result[chunk] = score_prompts(generator, [built[i][0] for i in chunk], labels, chat)
    return result


def calibrated_scores(
    generator: Any, model_key: Hashable, texts: Sequence[str], names: Sequence[str], batch_size: int = 8
) -> Any:
    """Label log-likelihoods (n x k) less each label's prior, computed once per model and label set."""
    names = list(names)
    prior = label_priors.get(
        (model_key, tuple(names)), lambda: label_log_likelihoods(generator, CONTENT_FREE, names).mean(axis=0)
    )
    return label_log_likelihoods(generator, texts, names, batch_size) - prior


def probabilities(scores: Any, multi_label: bool = False) -> Any:
    """A softmax over labels of calibrated scores; for ``multi_label``, a sigmoid per label instead (above 0.5
    when the text makes the label likelier than a content-free text does)."""
    import numpy as np

    scores = np.asarray(scores, dtype=np.float64)
    if multi_label:
        return 1.0 / (1.0 + np.exp(-scores))
    scores = scores - scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=1, keepdims=True)
