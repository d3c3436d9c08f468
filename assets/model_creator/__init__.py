"""The model creator's workspace: the task's model, its holdout, and the task bundles.

Never uploaded. The validation work uses ``build_model``, ``load_holdout`` and ``evaluate``.
"""

from .model_creator import (
    build_model,
    evaluate,
    evaluate_result,
    load_holdout,
    main,
    read_labels,
    read_weights,
    train,
    write_task_bundle,
)
from .task_bundle import KINDS, annotation_set

__all__ = [
    "KINDS",
    "annotation_set",
    "build_model",
    "evaluate",
    "evaluate_result",
    "load_holdout",
    "main",
    "read_labels",
    "read_weights",
    "train",
    "write_task_bundle",
]
