"""``python -m model_creator``: see ``model_creator.model_creator``."""

import os
import sys

from .model_creator import main

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.exit(main())
