"""``python -m model_engineer``: see ``model_engineer.model_engineer``."""

import os
import sys

from .model_engineer import main

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.exit(main())
