"""Model names: built-in aliases, resolving a name to a source, and loading through the shared cache."""
