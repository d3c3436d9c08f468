"""The validation layer's exceptions.

::

    DecentralMLError
      ValidationError        the validation layer cannot go ahead
        ResultRefused        a result cannot be used; `reason` is short enough for the chain
          MalformedResult    wrong layers, shapes or dtypes, non-finite values, unreadable
          UnsafeResult       it would run code or escape: pickles, Lambda or custom layers
        AggregationError     an aggregator was called wrongly (no results, bad beta, f, cap)
        MissingExtra         loading a Keras model needs the TensorFlow extra

A refused result is the contributor's fault and becomes a rejection reason on-chain, so its
`reason` stays under `MAX_REASON_BYTES`; the longer `message` may name local paths, which
never go on-chain.
"""

from __future__ import annotations

from decentralml.errors import DecentralMLError

# The pallet bounds reasons at 256 bytes; leave room for a prefix the caller may add.
MAX_REASON_BYTES = 192


def short_reason(text: str, limit: int = MAX_REASON_BYTES) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, on a character boundary, marked if cut."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "..."


class ValidationError(DecentralMLError):
    """The validation layer cannot go ahead."""


class ResultRefused(ValidationError):
    """A result cannot be used; `reason` is short enough to be a rejection on-chain."""

    def __init__(
        self,
        reason: str,
        *,
        result: int | str | None = None,
        layer: int | None = None,
        path: str | None = None,
        hint: str | None = None,
    ) -> None:
        # The layer is part of the reason: the worker needs it to see what was wrong.
        self.reason = short_reason(reason if layer is None else f"layer {layer}: {reason}")
        # Which result (its position in the call, or the name the caller gave it) and which
        # layer (its position in get_weights() order), when known.
        self.result = result
        self.layer = layer
        self.path = path
        where = "" if result is None else f"result {result}"
        if path is not None:
            where = f"{where} ({path})" if where else path
        super().__init__(f"{where}: {self.reason}" if where else self.reason, hint=hint)


class MalformedResult(ResultRefused):
    """A result's content is not what the task asks for: layers, shapes, dtypes, values."""


class UnsafeResult(ResultRefused):
    """A result would run code or escape its file: pickles, Lambda or custom layers, links."""


class AggregationError(ValidationError):
    """An aggregator was called wrongly: no results, or a parameter out of its range."""


class MissingExtra(ValidationError):
    """Loading a Keras model needs the TensorFlow extra, which is not installed."""
