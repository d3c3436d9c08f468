"""A CustomAccept policy for tasks that pay by the data a contributor trained on: a result
must improve the current model, and its declared sample count must be plausible.

Declared counts come from the worker's own result.json and cannot be checked; this policy only
refuses claims beyond what the task allows (``MAX_SAMPLES``), and never pays for a claim alone.

    decentralml validate-results TASK --workspace assets/model_creator \\
        --policy custom --policy-fn assets/validators/declared_samples.py:policy
"""

from __future__ import annotations

from decentralml.validation import Candidate, Verdict, accept, reject

MAX_SAMPLES = 5_000


def policy(candidate: Candidate) -> Verdict:
    declared = candidate.declared.get("sample_count")
    if not isinstance(declared, int) or not 0 < declared <= MAX_SAMPLES:
        return reject(f"declared sample count {declared!r} is not in 1..{MAX_SAMPLES}")
    change = candidate.accuracy_change
    if change is None or change <= 0:
        return reject("does not improve the current model's holdout accuracy")
    return accept()
