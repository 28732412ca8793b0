"""The ``sklearn-rbm`` command line (also ``python -m sklearn_rbm``).

Subcommands: ``demo``, ``fit``, ``predict``, ``recommend`` and ``evaluate``.
Bad input (a missing file, a malformed line, an invalid option) ends the
program with exit status 2 and a one-line message on stderr that names the
file and line, never a traceback.

Modules: ``parser`` (the options), ``commands`` (what each subcommand does),
``io`` (input files, CSV output, model files), ``baseline`` (the item-mean
and popularity baselines) and ``demo``.
"""

import contextlib
import os
import sys
import warnings

from ..recommender.fitting import ONE_RATING_WARNING
from ..recommender.ids import OTHER_KIND_WARNING
from .files import load_model
from .io import PROG, CLIError
from .parser import build_parser

__all__ = ["build_parser", "load_model", "main"]


def _error(msg):
    # the estimator's advice names its parameter, here an option
    msg = str(msg).replace("set early_stopping=False", "use --no-early-stopping")
    print(f"{PROG}: error: {' '.join(msg.split())}", file=sys.stderr)
    return 2


def main(argv=None):
    """Run the command line; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        with warnings.catch_warnings():
            # ids of the other type: the command's own note names them
            warnings.filterwarnings(
                "ignore", message=OTHER_KIND_WARNING, category=UserWarning
            )
            # ratings of one value: the command's own note names --feedback
            warnings.filterwarnings(
                "ignore", message=ONE_RATING_WARNING, category=UserWarning
            )
            return args.func(args)
    except CLIError as exc:
        return _error(exc)
    except (ValueError, TypeError) as exc:
        # invalid hyperparameters (scikit-learn's InvalidParameterError) or
        # data
        return _error(exc)
    except MemoryError:
        return _error("out of memory")
    except BrokenPipeError:  # output piped to a program that stopped reading
        # (head, say); as other command-line tools, end quietly
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
