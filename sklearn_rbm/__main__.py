"""Command line: ``sklearn-rbm`` or ``python -m sklearn_rbm`` (see ``_cli.py``)."""

import sys

from ._cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
