"""Built-in backends: loaders that turn a model source into a loaded model."""
