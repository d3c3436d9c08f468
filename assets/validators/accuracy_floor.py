"""A CustomAccept policy: pay a result whose holdout accuracy is at least the current model's
minus one point, and that is neither a copy nor the task's model unchanged.

    decentralml validate-results TASK --workspace assets/model_creator \\
        --policy custom --policy-fn assets/validators/accuracy_floor.py:policy

A policy receives a `decentralml.validation.Candidate` and returns ``accept()`` or
``reject(reason)``; the reason is stored on-chain for the worker to read.
"""

from __future__ import annotations

from decentralml.validation import Candidate, Verdict, accept, reject

#: How much holdout accuracy a result may lose against the current model and still be paid.
TOLERANCE = 0.01


def policy(candidate: Candidate) -> Verdict:
    if candidate.copies is not None:
        return reject(f"a near-copy of {candidate.copies}'s earlier result")
    if candidate.unchanged:
        return reject("the task's model, unchanged")
    change = candidate.accuracy_change
    if change is None:
        return reject("could not be evaluated")
    if change < -TOLERANCE:
        assert candidate.metrics is not None and candidate.baseline is not None
        return reject(
            f"holdout accuracy {candidate.metrics['accuracy']:.3f} is below the current "
            f"model's {candidate.baseline['accuracy']:.3f} minus {TOLERANCE:.2f}"
        )
    return accept()
