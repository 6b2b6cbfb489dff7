"""``python -m msticnb_iforest``: the command line, as ``msticnb-iforest``."""

import sys

from .frontends.cli import main

if __name__ == "__main__":
    sys.exit(main())
