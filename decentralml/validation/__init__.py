"""Validation without the chain: aggregate contributors' weights.

The aggregators in `decentralml.validation.aggregate` (FedAvg, coordinate-wise median,
trimmed mean, Krum) read results lazily, so a validator's memory does not grow with the
number of results.
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

__all__ = [
    "MAX_REASON_BYTES",
    "AggregationError",
    "KrumSelection",
    "LayerSource",
    "MalformedResult",
    "MissingExtra",
    "ResultRefused",
    "UnsafeResult",
    "ValidationError",
    "coordinate_median",
    "fedavg",
    "krum",
    "trimmed_mean",
]
