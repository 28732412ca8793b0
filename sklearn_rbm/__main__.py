"""Command line: ``sklearn-rbm`` or ``python -m sklearn_rbm``."""

import argparse
import sys


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-rbm",
        description="Restricted Boltzmann Machines for scikit-learn.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="train each estimator on embedded data and report")
    p.add_argument("--out", default="demo_output", help="folder for the figures")
    p.add_argument("--random-state", type=int, default=0)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        run_demo(args.out, random_state=args.random_state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
