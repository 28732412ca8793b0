"""The subcommands: ``demo``, ``fit``, ``predict``, ``recommend``, ``evaluate``.

Each takes the parsed arguments and returns the exit status. The estimator
is imported from the public ``sklearn_rbm`` when a command needs it.
"""

import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from .files import check_output, load_model, model_path, save_model, write_csv
from .io import (
    CLIError,
    match_ids,
    note,
    note_unknown,
    pairs_array,
    read_ids,
    read_pairs,
    read_ratings,
    unknown_tokens,
)


def estimator_defaults():
    """The parameters of ``CategoricalRBMRecommender()``: the defaults of the
    model options."""
    from sklearn_rbm import CategoricalRBMRecommender

    return CategoricalRBMRecommender().get_params()


def _estimator(args):
    """The recommender with the model options of ``args``, validated before
    any data is read."""
    from sklearn_rbm import CategoricalRBMRecommender

    est = CategoricalRBMRecommender()
    est.set_params(**{k: v for k, v in vars(args).items() if k in est.get_params()})
    est._validate_params()  # scikit-learn's check of the parameter constraints
    return est


def cmd_demo(args):
    from .demo import run_demo

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CLIError(f"{out}: not a directory; --out is a folder for the figures")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"{out}: cannot create the folder ({exc.strerror})") from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise CLIError(f"{out}: the folder is not writable")
    run_demo(out, random_state=args.random_state)
    return 0


def _fitting(est, X, y, ratings):
    """``est.fit(X, y)``; its errors about the data name the ratings file."""
    try:
        return est.fit(X, y)
    except MemoryError as exc:
        raise CLIError(
            f"{Path(ratings).name}: out of memory fitting the model"
        ) from exc
    except (ValueError, TypeError) as exc:
        raise CLIError(f"{Path(ratings).name}: {exc}") from exc


def _note_one_rating(y):
    """The command line's form of the library's warning for ratings of one
    value (0/1 clicks read as ratings, say)."""
    if y is not None and len(y) and np.all(y == y[0]):
        note(
            f"every rating is {y[0]:g}: the rating model can only predict "
            "that value; for clicks, plays or purchases pass --feedback implicit"
        )


def cmd_fit(args):
    # everything that can be checked before the data is read and the model
    # trained: the options, the output path and its suffix
    est = _estimator(args)
    output = model_path(args.output, inputs=[args.ratings])
    X, y = read_ratings(
        args.ratings,
        header=getattr(args, "header", None),
        implicit=True,
        repeats=est.feedback == "implicit",
    )
    if y is not None and est.feedback == "implicit":
        note("--feedback implicit: the rating column is ignored (a pair is a choice)")
        y = None
    _note_one_rating(y)
    t0 = time.perf_counter()
    what = "ratings" if y is not None else "(user, item) pairs, implicit feedback"
    print(
        f"fitting on {len(X):,} {what} ({len(np.unique(X[:, 0])):,} users, "
        f"{len(np.unique(X[:, 1])):,} items)",
        file=sys.stderr,
    )
    _fitting(est, X, y, args.ratings)
    if output != Path(args.output):
        note(f"writing {output} ({output.suffix[1:]} format)")
    path = save_model(est, output)
    n = est.ranking_iter if est.feedback_ == "implicit" else est.n_iter_
    epochs = f"{n} epoch{'' if n == 1 else 's'}"
    if est.feedback_ == "implicit":
        epochs = f"the ranking model ({epochs})"
    msg = f"trained {epochs} in {time.perf_counter() - t0:.1f}s"
    if est.best_validation_rmse_ is not None:
        msg += f", validation RMSE {est.best_validation_rmse_:.4f}"
    print(f"{msg}; model written to {path}", file=sys.stderr)
    return 0


def _serving(model, call, *args, **kwargs):
    """``call(*args, **kwargs)`` on a loaded model; its errors (a damaged
    model's state) name the model file."""
    try:
        return call(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        raise CLIError(f"{Path(model).name}: {exc}") from exc


def cmd_predict(args):
    check_output(args.output, inputs=[args.model, args.pairs])
    est = load_model(args.model, allow_pickle=args.trusted_pickle)
    u_tok, i_tok = read_pairs(args.pairs, est, header=getattr(args, "header", None))
    users, items = match_ids(u_tok, est.users_), match_ids(i_tok, est.items_)
    note_unknown("user", u_tok, users, est.users_)
    note_unknown("item", i_tok, items, est.items_)
    pred = _serving(args.model, est.predict, pairs_array(users, items))
    # the ids as written in the input: each row is looked up on its own
    write_csv(args.output, ["user", "item", "prediction"], zip(u_tok, i_tok, pred))
    return 0


def _query(args, kind, given, path):
    """``(model, tokens, ids)`` of ``recommend`` / ``similar``: the ids of
    ``kind`` ("user", "item") given on the command line (space or comma
    separated) and one per line in the file ``path``, typed like the
    model's; the options and the output are checked before the model is
    loaded."""
    tokens = [t.strip() for chunk in given or [] for t in chunk.split(",")]
    tokens = [t for t in tokens if t]
    if not tokens and path is None:
        flag = f"--{kind}s"
        raise CLIError(f"no {kind}s given: use {flag} ID [ID ...] or {flag}-file FILE")
    if args.n_items < 1:
        raise CLIError(f"--n-items must be at least 1, got {args.n_items}")
    check_output(args.output, inputs=[args.model, path])
    est = load_model(args.model, allow_pickle=args.trusted_pickle)
    fitted = getattr(est, f"{kind}s_")
    if path is not None:  # CSV fields: an id holding a comma is quoted
        tokens += read_ids(path, fitted, kind, getattr(args, "header", None))
    return est, tokens, match_ids(tokens, fitted)


def cmd_recommend(args):
    est, tokens, users = _query(args, "user", args.users, args.users_file)
    note_unknown("user", tokens, users, est.users_)
    items, scores = _serving(
        args.model,
        est.recommend,
        users,
        n_items=args.n_items,
        exclude_seen=not args.include_seen,
    )
    # a user who rated almost every item gets fewer than n rows: recommend()
    # pads its lists with seen items scored -inf, which are not recommendations
    rows = _ranked_rows(tokens, items, scores)
    write_csv(args.output, ["user", "rank", "item", "score"], rows)
    return 0


def _ranked_rows(keys, items, scores):
    """``(key, rank, item, score)`` CSV rows of top-N lists, without the
    padding of lists longer than their candidates (scored ``-inf``)."""
    return (
        (key, rank + 1, it, float(s))
        for key, its, ss in zip(keys, items.tolist(), scores.tolist())
        for rank, (it, s) in enumerate(zip(its, ss))
        if s != -math.inf
    )


def cmd_similar(args):
    if args.min_support != "auto" and args.min_support < 1:
        raise CLIError(f"--min-support must be at least 1, got {args.min_support}")
    est, tokens, items = _query(args, "item", args.items, args.items_file)
    unknown = list(dict.fromkeys(unknown_tokens(tokens, items, est.items_)))
    if unknown:  # no fallback here: a list of items like an unknown one
        more = ", ..." if len(unknown) > 5 else ""
        shown = ", ".join(map(repr, unknown[:5])) + more
        raise CLIError(
            f"{len(unknown)} item id(s) of --items / --items-file not in the "
            f"model: {shown}"
        )
    similar, sims = _serving(
        args.model,
        est.similar_items,
        items,
        args.n_items,
        min_support=args.min_support,
    )
    # the query item itself pads a list longer than the other items
    rows = _ranked_rows(tokens, similar, sims)
    write_csv(args.output, ["item", "rank", "similar_item", "similarity"], rows)
    return 0


def _n_epochs(est, X, y=None):
    """A "score" for cross_validate: the epochs the fold's model trained
    (of the ranking model, for implicit feedback: there is no rating
    model)."""
    return est.ranking_iter if est.feedback_ == "implicit" else est.n_iter_


#: rating metrics of --metric: label, scikit-learn scorer name
RATING_METRICS = {
    "rmse": ("RMSE", "neg_root_mean_squared_error"),
    "mae": ("MAE", "neg_mean_absolute_error"),
}
RANKING_LABELS = {
    "precision": "precision",
    "recall": "recall",
    "ndcg": "NDCG",
    "map": "MAP",
    "coverage": "coverage",
}


def parse_metrics(names, threshold):
    """``{label: (scorer, sign)}`` and whether any is a ranking metric, from
    the ``--metric`` values (rating metrics are negated scores)."""
    from sklearn_rbm.metrics import make_ranking_scorer
    from sklearn_rbm.metrics._scorer import parse_metric

    metrics, ranking = {}, False
    for name in names or ["rmse", "mae"]:
        key = name.strip().lower()
        if key in RATING_METRICS:
            label, scorer = RATING_METRICS[key]
            metrics[label] = (scorer, -1.0)
            continue
        try:
            kind, k = parse_metric(key)
        except ValueError as exc:
            raise CLIError(
                f"--metric {name}: not a metric; use rmse, mae, or one of "
                "precision, recall, ndcg, map, coverage with a cut-off, e.g. ndcg@10"
            ) from exc
        scorer = make_ranking_scorer(kind, k, threshold=threshold)
        metrics[f"{RANKING_LABELS[kind]}@{k}"] = (scorer, 1.0)
        ranking = True
    return metrics, ranking


#: the metrics of ``evaluate`` on implicit feedback when none is named
IMPLICIT_METRICS = ["ndcg@10", "precision@10", "recall@10"]


def _implicit_evaluation(args, est, X, y, metrics):
    """``(pairs, metrics)`` for evaluating implicit feedback: the distinct
    ``(user, item)`` pairs (a repeated pair is one choice, as in fit, and
    must not be both a training and a held-out choice) and the ranking
    metrics (rating metrics are refused: there are no ratings)."""
    name = Path(args.ratings).name
    if args.threshold is not None:  # no ratings to threshold
        raise CLIError(
            "--threshold needs ratings; with implicit feedback every held-out "
            "item is relevant"
        )
    if est.feedback == "explicit":
        raise CLIError(
            f"{name}: --feedback explicit needs ratings (user,item,rating); "
            "this file has user,item pairs only"
        )
    if not args.metric:
        metrics, _ = parse_metrics(IMPLICIT_METRICS, None)
    rated = [label for label in metrics if label in ("RMSE", "MAE")]
    if rated:
        why = "the rating column is ignored" if y is not None else "it has none"
        raise CLIError(
            f"--metric {rated[0].lower()} needs ratings, and with implicit "
            f"feedback {why}; use ranking metrics such as ndcg@10"
        )
    if y is not None:
        note("--feedback implicit: the rating column is ignored (a pair is a choice)")
    first = {}
    keep = [first.setdefault(p, r) == r for r, p in enumerate(map(tuple, X.tolist()))]
    return X[np.asarray(keep, dtype=bool)], metrics


def cmd_evaluate(args):
    from sklearn.model_selection import KFold, cross_validate

    from sklearn_rbm.model_selection import UserHoldoutSplit

    from .baseline import ItemMeanRegressor, PopularityRecommender

    est = _estimator(args)
    if args.cv < 2:
        raise CLIError(f"--cv must be at least 2, got {args.cv}")
    test_size = 0.2 if args.test_size is None else args.test_size
    if not 0 < test_size < 1:
        raise CLIError(f"--test-size must be in (0, 1), got {test_size}")
    metrics, ranking = parse_metrics(args.metric, args.threshold)
    X, y = read_ratings(
        args.ratings,
        header=getattr(args, "header", None),
        implicit=True,
        repeats=est.feedback == "implicit",
    )
    if y is None or est.feedback == "implicit":
        X, metrics = _implicit_evaluation(args, est, X, y, metrics)
        y, ranking = None, True
    _note_one_rating(y)
    if not ranking and args.threshold is not None:  # it would be ignored
        raise CLIError(
            "--threshold sets which held-out items are relevant to a ranking "
            "metric; rmse and mae score every held-out rating. Add a ranking "
            "metric (e.g. --metric ndcg@10) or drop --threshold"
        )
    if not ranking and args.test_size is not None:  # it would be ignored
        raise CLIError(
            "--test-size sets the share of each user's ratings held out by the "
            "per-user splits of ranking metrics; rmse and mae alone use "
            "--cv folds of all ratings. Add a ranking metric (e.g. --metric "
            "ndcg@10) or drop --test-size"
        )
    what = "ratings" if y is not None else "pairs"
    if args.cv > len(X):
        raise CLIError(f"--cv {args.cv} is more than the {len(X)} {what}")
    # an int seed: every cross_validate call below sees the same splits
    if ranking:
        folds = UserHoldoutSplit(
            args.cv, test_size=test_size, random_state=args.random_state
        )
        rel = (
            "every held-out item"
            if args.threshold is None
            else f"held-out items rated >= {args.threshold:g}"
        )
        print(
            f"{args.cv} splits holding out {test_size:g} of each user's "
            f"{what}, on {len(X):,} {what}; relevant: {rel}",
            flush=True,
        )
    else:
        folds = KFold(args.cv, shuffle=True, random_state=args.random_state)
        print(f"{args.cv}-fold cross-validation on {len(y):,} ratings", flush=True)
    scoring = {label: scorer for label, (scorer, _) in metrics.items()}
    rbm = cross_validate(
        est,
        X,
        y,
        cv=folds,
        scoring={**scoring, "epochs": _n_epochs},
        error_score="raise",
    )
    results = {
        label: sign * rbm[f"test_{label}"] for label, (_, sign) in metrics.items()
    }
    baselines = {}
    if "RMSE" in metrics:
        base = cross_validate(
            ItemMeanRegressor(),
            X,
            y,
            cv=folds,
            scoring=scoring["RMSE"],
            error_score="raise",
        )
        baselines["item-mean RMSE"] = -base["test_score"]
    ranked = {k: v for k, v in scoring.items() if k not in ("RMSE", "MAE")}
    if ranked:
        base = cross_validate(
            PopularityRecommender(), X, y, cv=folds, scoring=ranked, error_score="raise"
        )
        for label in ranked:
            baselines[f"popularity {label}"] = base[f"test_{label}"]
    for k in range(args.cv):
        shown = "  ".join(f"{label} {v[k]:.4f}" for label, v in results.items())
        base = ", ".join(f"{label} {v[k]:.4f}" for label, v in baselines.items())
        base = f"  ({base})" if base else ""
        print(
            f"fold {k + 1}/{args.cv}: {shown}{base}  "
            f"{int(rbm['test_epochs'][k])} epochs in {rbm['fit_time'][k]:.1f}s"
        )
    width = max(15, *(len(name) + 1 for name in {**results, **baselines}))
    for name, values in {**results, **baselines}.items():
        print(f"{name:<{width}} {np.mean(values):.4f} +- {np.std(values):.4f}")
    return 0
