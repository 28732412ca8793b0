"""The argument parser of ``sklearn-rbm``.

The model options of ``fit`` and ``evaluate`` are parameters of
:class:`~sklearn_rbm.CategoricalRBMRecommender`, named alike (``--max-iter``
is ``max_iter``) and with the estimator's own defaults, read from
``get_params()``; only ``--random-state`` has a default of its own (0, so
that runs repeat).
"""

import argparse

from . import commands
from .files import PICKLE_FLAG
from .io import PROG

#: the seed of the command line (the estimator's default, None, does not repeat)
RANDOM_STATE = 0

#: model options: (parameter, type or choices, help); bool gives a
#: --name / --no-name pair
HYPERPARAMETERS = (
    ("n_components", int, "hidden units"),
    ("max_iter", int, "maximum epochs of CD (fine-tuning adds --fine-tune-iter)"),
    (
        "orientation",
        ("item", "user", "both"),
        "one RBM case per item (the I-RBM) or per user, or both models averaged",
    ),
    ("learning_rate", float, "step size"),
    ("batch_size", int, "cases per minibatch"),
    ("weight_decay", float, "L2 penalty"),
    ("rank", int, "rank of a factored RBM (None: a full W)"),
    ("conditional", bool, "conditional RBM"),
    (
        "fine_tune_iter",
        int,
        "epochs of discriminative fine-tuning of the predictor after CD (0: none)",
    ),
    ("fine_tune_learning_rate", float, "Adam step size of fine-tuning"),
    (
        "early_stopping",
        bool,
        "stop when the RMSE on held-out ratings stops improving "
        "(--no-early-stopping: train all --max-iter epochs on all ratings)",
    ),
    ("n_iter_no_change", int, "patience of early stopping, in epochs"),
    (
        "ranking",
        ("choice", "rating"),
        "how recommend ranks: the ranking model (choice) or predicted rating",
    ),
    ("ranking_components", int, "hidden units of the ranking model"),
    ("ranking_iter", int, "epochs of the ranking model"),
    (
        "ranking_like_weight",
        float,
        "weight of the rating model's log P(liked) in recommend's re-ranking "
        "(0: the ranking model alone)",
    ),
    (
        "ranking_lateral_l2",
        "float_or_none",
        "L2 penalty of the ranking model's lateral item-item weights "
        "(none: no lateral term; auto: by the feedback)",
    ),
    (
        "feedback",
        ("auto", "explicit", "implicit"),
        "what the file holds: ratings, or user,item pairs (auto: by its columns)",
    ),
)


def _or_auto(kind):
    """An argparse type: ``"auto"`` or a value of ``kind``."""

    def parse(text):
        return "auto" if text == "auto" else kind(text)

    parse.__name__ = kind.__name__  # argparse names the type in its errors
    return parse


def _float_or_none(text):
    """An argparse type: ``"none"`` (None), ``"auto"`` or a float."""
    if text.lower() in ("none", "auto"):
        return None if text.lower() == "none" else "auto"
    return float(text)


_float_or_none.__name__ = "number, auto or none"


def _add_hyperparameters(p, defaults):
    g = p.add_argument_group("model (CategoricalRBMRecommender)")
    for name, kind, help in HYPERPARAMETERS:
        flag = "--" + name.replace("_", "-")
        default = defaults[name]
        if kind is bool:
            g.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=default, help=help
            )
        elif kind == "float_or_none":
            g.add_argument(flag, type=_float_or_none, default=default, help=help)
        elif isinstance(kind, tuple):
            g.add_argument(flag, choices=kind, default=default, help=help)
        elif default == "auto":  # a data-dependent default: "auto" or a number
            g.add_argument(
                flag, type=_or_auto(kind), default=default, help=f"{help} (or auto)"
            )
        else:
            g.add_argument(flag, type=kind, default=default, help=help)
    g.add_argument("--random-state", type=int, default=RANDOM_STATE, help="seed")
    g.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=defaults["verbose"],
        help="print progress (validation RMSE per epoch)",
    )


def _add_header_option(p, detect):
    p.add_argument(
        "--header",
        action=argparse.BooleanOptionalAction,
        default=argparse.SUPPRESS,  # absent: detect (no "(default: None)")
        help="the first line of the file is a header (--header) or data "
        f"(--no-header); by default a header is detected: {detect}",
    )


RATINGS_DETECT = "a first line whose user and rating fields are not numbers"
IDS_DETECT = (
    "a first line whose ids are not ids of the model and not all numbers "
    "(a note on standard error says so)"
)
MODEL_HELP = "model file written by 'sklearn-rbm fit' (skops)"
PICKLE_HELP = (
    "also load a joblib / pickle model file (written by fit when skops is not "
    "installed); unpickling runs code from the file, so pass this only for a "
    "file you trust. Without it only skops files are loaded"
)
RATINGS_HELP = (
    "ratings file with user,item,rating lines (comma, tab, ';', '::' or space "
    "separated, CSV quoting, header optional, gzip, bz2 or xz compressed or not) "
    "or a MovieLens folder"
)
FIT_RATINGS_HELP = RATINGS_HELP + (
    "; a file of user,item lines (no rating column: plays, clicks) fits an "
    "implicit-feedback recommender that ranks (recommend), with no predict"
)


def build_parser():
    """The :class:`argparse.ArgumentParser` of ``sklearn-rbm``."""
    from sklearn_rbm import __version__

    defaults = commands.estimator_defaults()
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Restricted Boltzmann Machines for scikit-learn: a demo, and "
        "a command line for the CategoricalRBMRecommender.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, func, **kw):
        p = sub.add_parser(
            name, formatter_class=argparse.ArgumentDefaultsHelpFormatter, **kw
        )
        p.set_defaults(func=func)
        return p

    p = add(
        "demo",
        commands.cmd_demo,
        help="train each estimator on embedded data and report",
        description="Train each estimator on data that ships with the package "
        "(or is generated), print a report and write figures.",
    )
    p.add_argument("--out", default="demo_output", help="folder for the figures")
    p.add_argument("--random-state", type=int, default=RANDOM_STATE, help="seed")

    p = add(
        "fit",
        commands.cmd_fit,
        help="train a recommender on a ratings file",
        description="Train a CategoricalRBMRecommender on a ratings file and "
        "write the model to a file.",
    )
    p.add_argument("ratings", help=FIT_RATINGS_HELP)
    _add_header_option(p, RATINGS_DETECT)
    p.add_argument(
        "-o",
        "--output",
        default="model.skops",
        help="model file (written as .joblib when skops persistence is not available)",
    )
    _add_hyperparameters(p, defaults)

    p = add(
        "predict",
        commands.cmd_predict,
        help="predict ratings of user,item pairs",
        description="Predict the ratings of user,item pairs with a fitted model; "
        "writes user,item,prediction CSV.",
    )
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument(PICKLE_FLAG, action="store_true", help=PICKLE_HELP)
    p.add_argument("pairs", help="file of user,item lines (header optional)")
    _add_header_option(p, IDS_DETECT)
    p.add_argument("-o", "--output", default="-", help="output CSV ('-': stdout)")

    p = add(
        "recommend",
        commands.cmd_recommend,
        help="top-N items for users",
        description="Recommend the top-N items for users; writes "
        "user,rank,item,score CSV.",
    )
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument(PICKLE_FLAG, action="store_true", help=PICKLE_HELP)
    p.add_argument(
        "--users", nargs="+", metavar="ID", help="user ids (space or comma separated)"
    )
    p.add_argument("--users-file", help="file with one user id per line")
    _add_header_option(p, "of --users-file, " + IDS_DETECT)
    p.add_argument("-n", "--n-items", type=int, default=10, help="items per user")
    p.add_argument(
        "--include-seen",
        action="store_true",
        help="also recommend items the user rated in training",
    )
    p.add_argument("-o", "--output", default="-", help="output CSV ('-': stdout)")

    p = add(
        "similar",
        commands.cmd_similar,
        help="items like given items",
        description="The items most like each given item (cosine of their "
        "rows in the ranking model, CategoricalRBMRecommender.similar_items); "
        "writes item,rank,similar_item,similarity CSV.",
    )
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument(PICKLE_FLAG, action="store_true", help=PICKLE_HELP)
    p.add_argument(
        "--items", nargs="+", metavar="ID", help="item ids (space or comma separated)"
    )
    p.add_argument(
        "--items-file",
        help="file with one item id per line (CSV: an id holding a comma is quoted)",
    )
    _add_header_option(p, "of --items-file, " + IDS_DETECT)
    p.add_argument("-n", "--n-items", type=int, default=10, help="items per item")
    p.add_argument(
        "--min-support",
        default="auto",
        type=_or_auto(int),
        help="leave out items rated fewer times in training ('auto': 5, fewer "
        "when under two candidates have 5; 1 keeps every item)",
    )
    p.add_argument("-o", "--output", default="-", help="output CSV ('-': stdout)")

    p = add(
        "evaluate",
        commands.cmd_evaluate,
        help="cross-validated RMSE, MAE or ranking metrics on a ratings file",
        description="Cross-validated metrics of the recommender on a ratings "
        "file (scikit-learn's cross_validate): RMSE and MAE on shuffled KFold "
        "folds, with the item-mean baseline RMSE for comparison; ranking "
        "metrics (ndcg@10, ...) of recommend()'s top-k lists on splits that "
        "hold out part of each user's ratings, with the popularity baseline. "
        "Implicit feedback (a user,item file, or --feedback implicit) is "
        "evaluated by ranking metrics (default: ndcg@10, precision@10, "
        "recall@10).",
    )
    p.add_argument(
        "ratings",
        help=RATINGS_HELP + "; or a file of user,item lines (implicit feedback)",
    )
    p.add_argument(
        "--cv", type=int, default=5, help="number of folds (splits for ranking metrics)"
    )
    p.add_argument(
        "--metric",
        action="append",
        metavar="NAME",
        help="rmse, mae, precision@K, recall@K, ndcg@K, map@K or coverage@K; "
        "repeat for several (default: rmse and mae). With a ranking metric "
        "every metric is computed on UserHoldoutSplit splits",
    )
    p.add_argument(
        "--test-size",
        type=float,
        default=None,
        help="fraction of each user's ratings held out (ranking metrics; default 0.2)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="lowest rating of a relevant held-out item (ranking metrics; "
        "default: every held-out item is relevant)",
    )
    _add_header_option(p, RATINGS_DETECT)
    _add_hyperparameters(p, defaults)
    return parser
