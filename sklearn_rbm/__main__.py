"""Command line: ``sklearn-rbm`` or ``python -m sklearn_rbm`` (see
:mod:`sklearn_rbm.cli`)."""

import sys

from .cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
