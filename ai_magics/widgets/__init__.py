"""Live views of running tasks: ipywidgets in a notebook, plain text in a terminal or headless run."""
