"""``python -m diagnosis``: an entry point, the same command line as ``cli.py``.

This file is an entry point, not part of the library: it is executed only by
``python -m diagnosis`` and imported by no module. It is the only file of
``diagnosis/`` allowed to import the top-level ``cli`` module
(``tests/test_architecture.py`` checks that nothing else in ``diagnosis/`` or
``coverage/`` imports an entry point).
"""

import sys

from cli import main

if __name__ == "__main__":
    sys.exit(main())
