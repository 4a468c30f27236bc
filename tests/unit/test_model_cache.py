"""The shared model cache: LRU under a byte budget, pinning, one load per key, OOM retry, counters."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from dataclasses import dataclass

import pytest

import ai_magics.cache.model_cache as model_cache
from ai_magics.cache import ModelCache, ModelKey, get_cache
from ai_magics.config import get_settings
from ai_magics.errors import AIMagicsError


@dataclass(eq=False)
class Blob:
    """A stand-in model: only its ``nbytes`` matters to the cache."""

    name: str
    nbytes: int


def key(name: str, device: str = "cpu") -> ModelKey:
    return ModelKey(name, device=device)


def loader_for(name: str, nbytes: int, calls: list[str] | None = None):
    def load() -> Blob:
        if calls is not None:
            calls.append(name)
        return Blob(name, nbytes)

    return load


def load(cache: ModelCache, name: str, nbytes: int, estimate: int = 0, device: str = "cpu") -> Blob:
    """Load (or hit) ``name`` and release it at once, leaving it cached and unpinned."""
    with cache.use(key(name, device), loader_for(name, nbytes), estimate) as value:
        return value


def cached_names(cache: ModelCache) -> list[str]:
    return [e.key.model_id for e in cache.entries()]


@pytest.fixture
def short_pin_wait(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(model_cache, "PIN_WAIT_SECONDS", 0.3)
    return 0.3


# -- LRU under a budget --------------------------------------------------------------------------------------


def test_lru_evicts_least_recently_used_first():
    cache = ModelCache(budget=100)
    load(cache, "a", 40)
    load(cache, "b", 40)
    load(cache, "a", 40)  # a is now the most recently used
    assert cache.stats.hits == 1 and cache.stats.misses == 2 and cache.stats.loads == 2
    load(cache, "c", 40)  # 120 > 100: the least recently used (b) goes
    assert cached_names(cache) == ["a", "c"]
    assert cache.stats.evictions == 1
    assert cache.used_bytes() == 80 <= cache.budget("cpu")


def test_estimate_makes_room_before_the_loader_runs():
    cache = ModelCache(budget=100)
    load(cache, "a", 60)
    seen_during_load: list[bool] = []

    def loader() -> Blob:
        seen_during_load.append(key("a") in cache)
        return Blob("b", 60)

    with cache.use(key("b"), loader, estimate_bytes=60):
        pass
    assert seen_during_load == [False]
    assert cached_names(cache) == ["b"]


def test_eviction_is_per_device():
    cache = ModelCache(budget=100)
    load(cache, "a", 80, device="cpu")
    load(cache, "b", 80, device="cuda:0")  # a separate budget: the CPU model stays
    assert sorted(cached_names(cache)) == ["a", "b"]
    assert cache.used_bytes("cpu") == 80 and cache.used_bytes("cuda:0") == 80 and cache.used_bytes() == 160


def test_a_model_larger_than_the_budget_is_refused_with_a_clear_message():
    cache = ModelCache(budget="1KB")
    with pytest.raises(AIMagicsError) as info:
        load(cache, "huge", 5000, estimate=5000)
    message = str(info.value)
    assert "'huge'" in message and "budget" in message and "1.0 KB" in message and "\n" not in message
    assert len(cache.entries()) == 0


def test_real_tiny_torch_models_are_measured_and_evicted_and_freed():
    import torch

    from ai_magics.cache.memory import module_bytes

    @dataclass(eq=False)
    class Loaded:
        module: torch.nn.Module
        nbytes: int

    refs: dict[str, weakref.ref] = {}

    def make(name: str, width: int):
        def loader() -> Loaded:
            module = torch.nn.Linear(width, width)
            refs[name] = weakref.ref(module)
            return Loaded(module, module_bytes(module))

        return loader

    size = (64 * 64 + 64) * 4
    cache = ModelCache(budget=int(size * 1.5))
    with cache.use(key("first"), make("first", 64)) as first:
        assert first.nbytes == size
    del first
    assert cache.entries()[0].nbytes == size and cache.used_bytes("cpu") == size
    with cache.use(key("second"), make("second", 64)):
        pass
    assert cached_names(cache) == ["second"]
    gc.collect()
    assert refs["first"]() is None, "the evicted model is still referenced somewhere"
    assert refs["second"]() is not None


def test_real_causal_lm_from_the_transformers_backend_is_cached_by_measured_size(tiny_causal_lm_dir):
    from ai_magics.backends.transformers_backend import load_causal_lm
    from ai_magics.cache.memory import module_bytes
    from ai_magics.registry import LoadRequest, ModelSource

    source = ModelSource(model_id="tiny", path=str(tiny_causal_lm_dir))
    fp32, bf16 = (ModelKey("tiny", dtype=d) for d in ("float32", "bfloat16"))
    cache = ModelCache(budget="1GB")
    with cache.use(fp32, lambda: load_causal_lm(LoadRequest(source, "causal-lm", "cpu", "float32"))) as gen:
        fp32_bytes = module_bytes(gen.model)
        model_ref = weakref.ref(gen.model)
    del gen
    assert cache.entries()[0].nbytes == fp32_bytes > 10**6
    # Room for the bf16 copy only: the estimate evicts the fp32 model before the bf16 one loads.
    cache.set_budget(fp32_bytes * 3 // 4)
    with cache.use(bf16, lambda: load_causal_lm(LoadRequest(source, "causal-lm", "cpu", "bfloat16")), fp32_bytes // 2):
        pass
    assert [e.key for e in cache.entries()] == [bf16]
    assert abs(cache.used_bytes() - fp32_bytes / 2) < fp32_bytes * 0.01
    gc.collect()
    assert model_ref() is None


# -- pinning -------------------------------------------------------------------------------------------------


def test_a_pinned_model_is_never_evicted(short_pin_wait):
    cache = ModelCache(budget=100)
    with cache.use(key("a"), loader_for("a", 70)):
        assert cache.evict(key("a")) is False
        assert cache.clear() == 0
        load(cache, "b", 20)  # fits beside a
        with pytest.raises(AIMagicsError):
            load(cache, "c", 50, estimate=50)  # needs a's room
        assert key("a") in cache
        with pytest.raises(AIMagicsError, match="in use"):
            cache.put(key("a"), Blob("a2", 1))
        assert cache.get(key("a")).name == "a"
    assert cache.entries()[cached_names(cache).index("a")].pins == 0


def test_a_load_needing_a_pinned_models_room_waits_then_fails(short_pin_wait):
    cache = ModelCache(budget=100)
    calls: list[str] = []
    with cache.use(key("busy"), loader_for("busy", 70)):
        start = time.monotonic()
        with pytest.raises(AIMagicsError) as info:
            with cache.use(key("new"), loader_for("new", 50, calls), 50):
                pass
        waited = time.monotonic() - start
    assert waited >= short_pin_wait * 0.9
    message = str(info.value)
    assert "'new'" in message and "busy" in message and "in use" in message and "\n" not in message
    assert calls == [] and key("new") not in cache and key("busy") in cache


def test_a_waiting_load_proceeds_when_the_pin_is_released(monkeypatch):
    monkeypatch.setattr(model_cache, "PIN_WAIT_SECONDS", 10.0)
    cache = ModelCache(budget=100)
    cache.acquire(key("busy"), loader_for("busy", 70))
    timer = threading.Timer(0.3, cache.release, args=(key("busy"),))
    timer.start()
    start = time.monotonic()
    try:
        value = load(cache, "new", 50, estimate=50)
    finally:
        timer.join()
    assert 0.25 <= time.monotonic() - start < 5
    assert value.name == "new" and cached_names(cache) == ["new"]


def test_a_load_larger_than_the_budget_fails_at_once_even_with_pins(monkeypatch):
    monkeypatch.setattr(model_cache, "PIN_WAIT_SECONDS", 10.0)
    cache = ModelCache(budget=100)
    with cache.use(key("busy"), loader_for("busy", 70)):
        start = time.monotonic()
        with pytest.raises(AIMagicsError, match="more than the cache's budget"):
            load(cache, "new", 500, estimate=500)
        assert time.monotonic() - start < 5  # no point waiting for the pin: it could never fit


def test_acquire_and_release_count_pins():
    cache = ModelCache(budget=100)
    cache.acquire(key("a"), loader_for("a", 10))
    cache.acquire(key("a"))  # a hit needs no loader
    assert cache.entries()[0].pins == 2
    cache.release(key("a"))
    assert cache.evict(key("a")) is False
    cache.release(key("a"))
    cache.release(key("a"))  # one release too many is harmless
    assert cache.entries()[0].pins == 0
    assert cache.evict(key("a")) is True


def test_acquire_without_loader_on_a_miss_raises_key_error():
    with pytest.raises(KeyError):
        ModelCache(budget=100).acquire(key("nothing"))


# -- concurrency ---------------------------------------------------------------------------------------------


def test_concurrent_loads_of_one_key_load_once():
    cache = ModelCache(budget=10**6)
    calls: list[str] = []
    calls_lock = threading.Lock()

    def slow_loader() -> Blob:
        with calls_lock:
            calls.append("shared")
        time.sleep(0.2)
        return Blob("shared", 10)

    start = threading.Barrier(4)
    results: list[Blob] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait(timeout=5)
            with cache.use(key("shared"), slow_loader) as value:
                results.append(value)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert errors == []
    assert calls == ["shared"]
    assert len(results) == 4 and all(r is results[0] for r in results)
    assert (cache.stats.loads, cache.stats.misses, cache.stats.hits) == (1, 1, 3)
    assert cache.entries()[0].pins == 0


def test_loads_of_different_keys_run_in_parallel():
    cache = ModelCache(budget=10**6)
    both_loading = threading.Barrier(2, timeout=5)  # breaks if the two loaders are serialised

    def loader(name: str):
        def load_it() -> Blob:
            both_loading.wait()
            return Blob(name, 10)

        return load_it

    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            with cache.use(key(name), loader(name)):
                pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert errors == []
    assert sorted(cached_names(cache)) == ["x", "y"]


# -- out of memory and failing loaders -----------------------------------------------------------------------


def _torch_oom() -> BaseException:
    import torch

    return torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


@pytest.mark.parametrize("make_oom", [_torch_oom, lambda: MemoryError()], ids=["torch-oom", "MemoryError"])
def test_out_of_memory_evicts_unpinned_models_and_retries_once(make_oom):
    cache = ModelCache(budget=1000)
    load(cache, "idle", 100)
    calls: list[int] = []
    with cache.use(key("pinned"), loader_for("pinned", 100)):

        def flaky() -> Blob:
            calls.append(1)
            if len(calls) == 1:
                raise make_oom()
            return Blob("big", 300)

        with cache.use(key("big"), flaky) as value:
            assert value.name == "big"
        assert len(calls) == 2
        assert cache.stats.oom_retries == 1
        assert key("idle") not in cache and key("pinned") in cache and key("big") in cache


def test_out_of_memory_twice_gives_a_clear_error_and_no_entry():
    cache = ModelCache(budget=1000)
    load(cache, "idle", 100)
    calls: list[int] = []

    def always_oom() -> Blob:
        calls.append(1)
        raise _torch_oom()

    with pytest.raises(AIMagicsError) as info:
        with cache.use(key("big"), always_oom):
            pass
    assert len(calls) == 2 and cache.stats.oom_retries == 1
    assert "Out of memory loading 'big'" in str(info.value) and "\n" not in str(info.value)
    assert key("big") not in cache and key("idle") not in cache


@pytest.mark.parametrize("exc_type", [RuntimeError, KeyboardInterrupt])
def test_a_loader_that_raises_leaves_no_entry_and_the_key_can_load_later(exc_type):
    cache = ModelCache(budget=1000)
    load(cache, "other", 10)

    def broken() -> Blob:
        raise exc_type("loader broke")

    with pytest.raises(exc_type):
        with cache.use(key("m"), broken):
            pass
    assert key("m") not in cache and cache.stats.oom_retries == 0 and cache.stats.loads == 1
    assert key("other") in cache  # a plain failure evicts nothing
    assert load(cache, "m", 10).name == "m"  # the key's load lock was released


# -- put, get, evict, clear, counters ------------------------------------------------------------------------


def test_put_inserts_replaces_and_makes_room():
    cache = ModelCache(budget=100)
    load(cache, "old", 60)
    cache.put(key("trained"), Blob("v1", 30))
    assert cache.get(key("trained")).name == "v1"
    cache.put(key("trained"), Blob("v2", 30))  # replaces, does not double count
    assert cache.get(key("trained")).name == "v2" and cache.used_bytes() == 90
    cache.put(key("trained2"), Blob("w", 30))  # needs room: the LRU model goes
    assert cached_names(cache) == ["trained", "trained2"]
    assert cache.stats.loads == 1  # put is not a load
    with cache.use(key("trained")) as value:  # and a put model is a hit without a loader
        assert value.name == "v2"


def test_get_does_not_pin_or_count():
    cache = ModelCache(budget=100)
    assert cache.get(key("a")) is None
    load(cache, "a", 10)
    hits = cache.stats.hits
    assert cache.get(key("a")).name == "a"
    assert cache.stats.hits == hits and cache.entries()[0].pins == 0


def test_evict_and_clear_count_evictions():
    cache = ModelCache(budget=1000)
    for name in "abc":
        load(cache, name, 10)
    assert cache.evict(key("zzz")) is False
    assert cache.evict(key("b")) is True and key("b") not in cache
    assert cache.stats.evictions == 1
    cache.acquire(key("a"))
    assert cache.clear() == 1  # c; a is pinned
    assert cached_names(cache) == ["a"] and cache.stats.evictions == 2
    cache.release(key("a"))
    assert cache.clear() == 1 and cache.entries() == [] and cache.used_bytes() == 0


def test_entries_record_load_time_and_order():
    cache = ModelCache(budget=1000)

    def slow() -> Blob:
        time.sleep(0.05)
        return Blob("slow", 1)

    with cache.use(key("slow"), slow):
        pass
    load(cache, "fast", 1)
    entries = cache.entries()
    assert [e.key.model_id for e in entries] == ["slow", "fast"]
    assert entries[0].load_seconds >= 0.04


def test_value_without_nbytes_counts_as_zero():
    cache = ModelCache(budget=10)
    with cache.use(key("plain"), lambda: object()):
        pass
    assert cache.used_bytes() == 0 and key("plain") in cache


# -- budget --------------------------------------------------------------------------------------------------


def test_budget_follows_the_memory_budget_setting():
    cache = ModelCache()
    get_settings().memory_budget = "1MB"
    assert cache.budget("cpu") == 10**6
    load(cache, "a", 600_000)
    load(cache, "b", 600_000)
    assert cached_names(cache) == ["b"]
    get_settings().memory_budget = "2 MiB"
    assert cache.budget("cpu") == 2 * 2**20


def test_a_bad_budget_setting_is_refused():
    with pytest.raises(AIMagicsError, match="not a size"):
        get_settings().memory_budget = "lots"
    assert get_settings().memory_budget == "auto"
    assert ModelCache().budget("cpu") > 0


def test_a_bad_budget_from_config_is_refused_and_rolled_back():
    from traitlets.config import Config

    settings = get_settings()
    settings.memory_budget = "1MB"
    with pytest.raises(Exception, match="not a size"):
        settings.update_config(Config({"AIMagics": {"memory_budget": "lots"}}))
    assert settings.memory_budget == "1MB"
    assert ModelCache().budget("cpu") == 10**6


def test_auto_budget_is_free_memory_plus_cached_less_the_reserve():
    from ai_magics.cache.memory import CPU_RESERVE_BYTES

    free = {"cpu": 3 * 2**30}
    cache = ModelCache(free_memory_fn=lambda device: free[device])
    assert cache.budget("cpu") == 3 * 2**30 - CPU_RESERVE_BYTES
    load(cache, "a", 1000)
    free["cpu"] -= 1000  # what the model took is no longer free, but still counts toward the budget
    assert cache.budget("cpu") == 3 * 2**30 - CPU_RESERVE_BYTES
    free["cpu"] = 10
    assert cache.budget("cpu") == 0


def test_auto_budget_uses_measured_free_memory_by_default():
    import psutil

    budget = ModelCache().budget("cpu")
    assert 0 <= budget <= psutil.virtual_memory().total


def test_set_budget_fixes_and_unfixes_the_budget():
    cache = ModelCache(budget="2KB")
    assert cache.budget("cpu") == 2000
    cache.set_budget(512)
    assert cache.budget("cpu") == 512
    get_settings().memory_budget = "3KB"
    cache.set_budget(None)
    assert cache.budget("cpu") == 3000
    with pytest.raises(AIMagicsError):
        cache.set_budget("two kilobytes")


def test_get_cache_is_one_process_wide_cache():
    assert get_cache() is get_cache()
    assert isinstance(get_cache(), ModelCache)


def test_model_key_str_and_identity():
    k = ModelKey("org/model", "v2", "causal-lm", "cuda:1", "bfloat16", "transformers")
    assert str(k) == "org/model@v2 [causal-lm, transformers, cuda:1, bfloat16]"
    assert k == ModelKey("org/model", "v2", "causal-lm", "cuda:1", "bfloat16", "transformers")
    assert k != ModelKey("org/model", "v2", "causal-lm", "cuda:1", "float32", "transformers")
    assert str(ModelKey("m")) == "m [causal-lm, transformers, cpu, float32]"


def test_cache_report_shows_counters_and_entries():
    from ai_magics.report import cache_report, clear_cache

    cache = get_cache()
    cache.set_budget("1MB")
    load(cache, "reported-model", 5000)
    load(cache, "reported-model", 5000)
    text = cache_report()
    assert "hits 1, misses 1, loads 1, evictions 0" in text
    assert "reported-model" in text and "5.0 KB" in text and "cpu: 5.0 KB used of 1.0 MB" in text
    assert clear_cache() == "Evicted 1 model(s)."
    assert "No model is loaded." in cache_report()


def test_a_callable_estimate_is_asked_only_on_a_miss():
    class Sized:
        nbytes = 10

    asked = []
    cache = ModelCache(budget=1000)
    key = ModelKey("estimated")

    def estimate() -> int:
        asked.append(1)
        return 10

    for _ in range(3):
        with cache.use(key, Sized, estimate):
            pass
    assert asked == [1]
    assert cache.stats.misses == 1 and cache.stats.hits == 2
