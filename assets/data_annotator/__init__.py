"""The data annotator's kit: label the task's samples from its few labelled examples."""

from .data_annotator import knn_labels, main, read_samples, read_task, run

__all__ = ["knn_labels", "main", "read_samples", "read_task", "run"]
