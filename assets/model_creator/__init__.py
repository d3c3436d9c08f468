"""The model creator's workspace: the task's model, its holdout, and the task bundles.

Never uploaded. ``decentralml validate-results --workspace`` uses ``build_model``,
``load_holdout``, ``evaluate`` and, for annotation tasks, ``load_gold``.
"""

from .model_creator import (
    build_model,
    evaluate,
    evaluate_result,
    load_gold,
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
    "load_gold",
    "load_holdout",
    "main",
    "read_labels",
    "read_weights",
    "train",
    "write_task_bundle",
]
