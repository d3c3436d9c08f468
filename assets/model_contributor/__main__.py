"""``python -m model_contributor``: see ``model_contributor.model_contributor``."""

import os
import sys

from .model_contributor import main

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.exit(main())
