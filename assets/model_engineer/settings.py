"""The engineer's settings: which shard of the data to train on, how, and the new model.

The data and training values are also command-line options (``--shard``, ``--shards``,
``--seed``, ``--data``, ``--epochs``), which win over the values here.
"""

from __future__ import annotations

# Your part of the digits pool: shard SHARD of SHARDS, after shuffling the pool with SEED.
SHARD = 0
SHARDS = 1
SEED = 0

# A .npz of your own (arrays x: (n, 8, 8) or (n, 8, 8, 1) in [0, 1], y: labels 0-9) to train
# on instead of the digits.
DATA_FILE: str | None = None

# Part of the shard kept aside to compare the new model with the task's current one.
VALIDATION_FRACTION = 0.2

EPOCHS = 8
BATCH_SIZE = 32
LEARNING_RATE = 0.003

# The new architecture: two 3x3 convolutions, pooling, dropout, a wider dense layer.
CONV_FILTERS = (16, 32)
DENSE_UNITS = 64
DROPOUT = 0.2
