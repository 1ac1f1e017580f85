"""`python -m attributions demo | explain | compare` — see attributions.app.cli."""

import sys

from .app.cli import main

if __name__ == "__main__":
    sys.exit(main())
