"""The creator's settings: the task, the initial model's training, the annotation samples.

Edit them here, or override some per run on the command line (``--data``, ``--epochs``,
``--seed``). ``DECENTRALML_CREATOR_DATA`` names a ``.npz`` of your own (arrays ``x``, ``y``)
to use instead of scikit-learn's digits; ``load_holdout()`` reads the same file.
"""

from __future__ import annotations

import os

TASK_NAME = "digits-8x8"

# None: scikit-learn's 8x8 digits, shipped inside the scikit-learn package.
DATA_FILE: str | None = os.environ.get("DECENTRALML_CREATOR_DATA") or None

# The initial model is trained briefly, on the creator's own rows only.
SEED = 0
EPOCHS = 2
BATCH_SIZE = 32
LEARNING_RATE = 0.005

# The annotation task: a few labelled examples per class, and the samples to label.
ANNOTATION_EXAMPLES_PER_CLASS = 5
ANNOTATION_SAMPLES = 100
