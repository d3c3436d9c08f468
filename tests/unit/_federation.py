"""A small federated-learning simulation for the robustness test, in plain numpy.

Softmax regression trained by minibatch SGD: convex, a few thousand parameters, and
deterministic for a given seed (no TensorFlow, no threads deciding the order of a sum), so
a whole federation of many rounds and several aggregators runs in seconds on two cores.
Weights are ``[W (features x classes), b (classes)]`` in float32, like ``get_weights()``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Weights = list[np.ndarray]


@dataclass(frozen=True)
class Training:
    """How a contributor (or the central baseline) trains: pinned by the test."""

    epochs: int
    learning_rate: float
    batch_size: int


def initial_weights(features: int, classes: int) -> Weights:
    """Zeros: softmax regression needs no symmetry breaking, and zeros are reproducible."""
    return [np.zeros((features, classes), np.float32), np.zeros(classes, np.float32)]


def predict(weights: Weights, x: np.ndarray) -> np.ndarray:
    return np.asarray(np.argmax(x @ weights[0] + weights[1], axis=1))


def accuracy(weights: Weights, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(predict(weights, x) == y))


def train(
    weights: Weights,
    x: np.ndarray,
    y: np.ndarray,
    training: Training,
    rng: np.random.Generator,
) -> Weights:
    """Minibatch SGD on the cross-entropy from `weights`; returns new float32 weights."""
    w = weights[0].astype(np.float64)
    b = weights[1].astype(np.float64)
    classes = w.shape[1]
    onehot = np.eye(classes)[y]
    for _ in range(training.epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), training.batch_size):
            batch = order[start : start + training.batch_size]
            logits = x[batch] @ w + b
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            error = (p - onehot[batch]) / len(batch)
            w -= training.learning_rate * (x[batch].T @ error)
            b -= training.learning_rate * error.sum(axis=0)
    return [w.astype(np.float32), b.astype(np.float32)]


def dirichlet_shards(
    y: np.ndarray, contributors: int, alpha: float, rng: np.random.Generator, *, minimum: int
) -> list[np.ndarray]:
    """Indices of `y` split into non-IID shards: each class spread by a Dirichlet(alpha) draw.

    Redrawn until every shard has at least `minimum` samples (a contributor with nothing to
    train on is not a contributor), as is usual for this partitioning.
    """
    classes = int(y.max()) + 1
    while True:
        shards: list[list[int]] = [[] for _ in range(contributors)]
        for c in range(classes):
            members = rng.permutation(np.flatnonzero(y == c))
            shares = rng.dirichlet(np.full(contributors, alpha))
            cuts = (np.cumsum(shares)[:-1] * len(members)).astype(int)
            for shard, part in zip(shards, np.split(members, cuts), strict=True):
                shard.extend(int(i) for i in part)
        if min(len(s) for s in shards) >= minimum:
            return [np.array(sorted(s), dtype=np.int64) for s in shards]
