"""``python -m latentexplorer``: the command line (same as the ``latentexplorer`` script)."""

import sys

from .cli import main

sys.exit(main())
