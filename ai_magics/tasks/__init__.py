"""Built-in task plugins: generate, classify, train."""
