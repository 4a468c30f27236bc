"""The process-wide, device-aware model cache shared by every task and plugin."""

from ai_magics.cache.key import ModelKey
from ai_magics.cache.model_cache import CacheStats, ModelCache, get_cache

__all__ = ["CacheStats", "ModelCache", "ModelKey", "get_cache"]
