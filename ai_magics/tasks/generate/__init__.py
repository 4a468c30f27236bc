"""The generate task: text generation and chat, streamed token by token."""
