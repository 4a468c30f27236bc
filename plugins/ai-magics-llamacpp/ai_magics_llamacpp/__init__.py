"""ai-magics-llamacpp: a llama.cpp backend for ai-magics (GGUF models, the default for GGUF files on CPU)."""

__version__ = "0.1.0"
