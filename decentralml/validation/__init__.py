"""Validation without the chain: load results safely, find copies, aggregate weights.

Results are data, never code: `load_weights_npz` and `WeightsReader` read a contributor's
``weights.npz`` without unpickling, and `load_engineered_model` opens an engineer's
``model.keras`` only after checking it names built-in Keras classes alone. `find_copies`
flags results that resubmit an earlier one or the task's own model. The aggregators in
`decentralml.validation.aggregate` (FedAvg, coordinate-wise median, trimmed mean, Krum) read
results lazily, so a validator's memory does not grow with the number of results.

Example::

    from contextlib import ExitStack
    from decentralml.validation import WeightsReader, fedavg, load_weights_npz, trimmed_mean

    shapes = task["weights_shapes"]
    # One result in memory at a time; each declared count capped at 5,000.
    model = fedavg(
        ((load_weights_npz(path, shapes), count) for path, count in results),
        weighting="declared",
        cap=5_000,
    )
    # One layer of every result at a time.
    with ExitStack() as stack:
        readers = [stack.enter_context(WeightsReader(path, shapes)) for path, _ in results]
        robust = trimmed_mean(readers, 0.1)
"""

from decentralml.validation._errors import (
    MAX_REASON_BYTES,
    AggregationError,
    MalformedResult,
    MissingExtra,
    ResultRefused,
    UnsafeResult,
    ValidationError,
)
from decentralml.validation.aggregate import (
    KrumSelection,
    LayerSource,
    coordinate_median,
    fedavg,
    krum,
    trimmed_mean,
)
from decentralml.validation.copies import CopyCheck, find_copies
from decentralml.validation.floor import DEFAULT_MIN_IMPROVEMENT, FloorCheck, check_floor
from decentralml.validation.loading import (
    KerasLimits,
    WeightsReader,
    check_keras_archive,
    load_engineered_model,
    load_weights_npz,
)
from decentralml.validation.policy import Candidate, PolicyError, Verdict, accept, reject
from decentralml.validation.workspace import Workspace, WorkspaceError

__all__ = [
    "DEFAULT_MIN_IMPROVEMENT",
    "MAX_REASON_BYTES",
    "AggregationError",
    "Candidate",
    "CopyCheck",
    "FloorCheck",
    "KerasLimits",
    "KrumSelection",
    "LayerSource",
    "MalformedResult",
    "MissingExtra",
    "PolicyError",
    "ResultRefused",
    "UnsafeResult",
    "ValidationError",
    "Verdict",
    "WeightsReader",
    "Workspace",
    "WorkspaceError",
    "accept",
    "check_floor",
    "check_keras_archive",
    "coordinate_median",
    "fedavg",
    "find_copies",
    "krum",
    "load_engineered_model",
    "load_weights_npz",
    "reject",
    "trimmed_mean",
]
