"""The model engineer's kit: a changed architecture for the task, trained and saved safely."""

from .model_engineer import build_model, main, read_task, run

__all__ = ["build_model", "main", "read_task", "run"]
