"""The model contributor's kit: train the task's model on your own data, send its weights."""

from .model_contributor import main, read_task, run, write_weights

__all__ = ["main", "read_task", "run", "write_weights"]
