"""The contributor's settings: which shard of the data to train on, and how.

Each is also a command-line option (``--shard``, ``--shards``, ``--seed``, ``--data``,
``--epochs``), which wins over the value here.
"""

from __future__ import annotations

# Your part of the digits pool: shard SHARD of SHARDS, after shuffling the pool with SEED.
# Contributors who agree on SHARDS and SEED and take different SHARDs train on different rows.
SHARD = 0
SHARDS = 1
SEED = 0

# A .npz of your own (arrays x: (n, 8, 8) or (n, 8, 8, 1) in [0, 1], y: labels 0-9) to train
# on instead of the digits; SHARD/SHARDS/SEED then split your file.
DATA_FILE: str | None = None

EPOCHS = 5
BATCH_SIZE = 32
LEARNING_RATE = 0.005
