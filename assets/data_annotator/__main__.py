"""``python -m data_annotator``: see ``data_annotator.data_annotator``."""

import sys

from .data_annotator import main

sys.exit(main())
