"""`python -m attributions demo | explain | compare` — see attributions.cli."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
