"""ai-magics-openai: generate with any OpenAI-compatible HTTP server (llama.cpp, vLLM, Ollama, hosted APIs)."""

__version__ = "0.1.0"
