"""``python -m diagnosis``: the command line (see ``cli.py`` at the project's root)."""

import sys

from cli import main

if __name__ == "__main__":
    sys.exit(main())
