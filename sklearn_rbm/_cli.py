"""The ``sklearn-rbm`` command line (also ``python -m sklearn_rbm``).

Subcommands: ``demo``, ``fit``, ``predict``, ``recommend`` and ``evaluate``.
Bad input (a missing file, a malformed line, an invalid option) ends the
program with exit status 2 and a one-line message on stderr that names the
file and line, never a traceback.
"""

import argparse
import csv
import importlib
import importlib.util
import math
import sys
import time
from pathlib import Path

import numpy as np

PROG = "sklearn-rbm"


class CLIError(Exception):
    """A user error: reported as one line on stderr, exit status 2."""


# --------------------------------------------------------------------- reading
def _open_text(path):
    path = Path(path)
    if not path.exists():
        raise CLIError(f"{path}: no such file or directory")
    if path.is_dir():
        raise CLIError(f"{path}: is a directory, expected a file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CLIError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CLIError(
            f"{path}: UTF-16 text (a spreadsheet's 'Unicode text' export?) is "
            "not supported; save the file as UTF-8 (or CSV) instead"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _separator(line):
    if "::" in line:
        return "::"
    if "\t" in line:
        return "\t"
    if "," in line:
        return ","
    if ";" in line:
        return ";"
    return None  # whitespace


def _split(line, sep):
    fields = line.split(sep) if sep is not None else line.split()
    return [f.strip().strip('"') for f in fields]


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _id_array(values):
    """One id column of a ratings file: int64 ids when every id of the
    column is an integer, else str ids (the ids of a column have one type)."""
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except ValueError:
        return np.array(values, dtype=str)


def _ratings_header(fields):
    """A ratings file's first line is a header when its rating and user
    fields are not numbers (``user,item,rating``, ``uid,iid,stars``...)."""
    return not _is_number(fields[2]) and not _is_number(fields[0])


def _read_table(path, n_cols, what, max_cols=None, header=None, is_header=None):
    """Parse a delimited text file into rows of ``n_cols`` (to ``max_cols``)
    fields, with the line number of each row.

    The separator (``,``, tab, ``::``, ``;`` or whitespace) is taken from the
    first non-empty line. ``header``: True skips the first line, False reads
    it as data, None detects a header with ``is_header(fields)`` (default:
    :func:`_ratings_header`).
    """
    max_cols = max_cols or n_cols
    is_header = is_header or _ratings_header
    name = Path(path).name
    text = _open_text(path)
    rows, linenos = [], []
    sep = None
    first = True
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if first:
            sep = _separator(line)
        fields = _split(line, sep)
        if first and header:
            first = False
            continue
        if not n_cols <= len(fields) <= max_cols:
            expected = f"{n_cols}" if n_cols == max_cols else f"{n_cols} to {max_cols}"
            raise CLIError(
                f"{name} line {lineno}: expected {expected} columns ({what}), "
                f"got {len(fields)}"
            )
        if first:
            first = False
            if header is None and is_header(fields):
                continue
        if any(not f for f in fields[:n_cols]):
            raise CLIError(f"{name} line {lineno}: empty field")
        rows.append(fields)
        linenos.append(lineno)
    if not rows:
        raise CLIError(f"{name}: empty file, no {what} rows")
    return rows, np.asarray(linenos)


def read_ratings(path, header=None):
    """``(X, y)`` from a ratings file or a MovieLens folder.

    A file holds ``user,item,rating`` lines (an optional fourth column, a
    timestamp, is ignored), separated by commas, tabs, ``::`` or whitespace,
    with an optional header line.
    """
    path = Path(path)
    if path.is_dir():
        from .datasets import load_movielens

        try:
            data = load_movielens(path, as_frame=False)
        except (OSError, ValueError) as exc:
            raise CLIError(" ".join(str(exc).split())) from exc
        return np.asarray(data.X), np.asarray(data.y, dtype=np.float64)
    rows, linenos = _read_table(path, 3, "user,item,rating", max_cols=4, header=header)
    name = path.name
    ratings = np.empty(len(rows))
    seen = {}
    for j, (fields, lineno) in enumerate(zip(rows, linenos)):
        try:
            r = float(fields[2])
        except ValueError:
            raise CLIError(
                f"{name} line {lineno}: rating {fields[2]!r} is not a number"
            ) from None
        if not math.isfinite(r):
            raise CLIError(
                f"{name} line {lineno}: rating {fields[2]!r} is not a finite number"
            )
        ratings[j] = r
        key = (fields[0], fields[1])
        if key in seen:
            raise CLIError(
                f"{name} line {lineno}: duplicate rating of item {fields[1]!r} by "
                f"user {fields[0]!r} (first on line {seen[key]})"
            )
        seen[key] = lineno
    users = _id_array([f[0] for f in rows])
    items = _id_array([f[1] for f in rows])
    return _pairs_array(users, items), ratings


def _pairs_array(users, items):
    """``(n, 2)`` pairs; each column keeps its own type (int user ids with
    str item ids become an object array, not all strings)."""
    if users.dtype.kind == items.dtype.kind:
        return np.column_stack([users, items])
    X = np.empty((len(users), 2), dtype=object)
    X[:, 0], X[:, 1] = users, items
    return X


def _match_ids(tokens, fitted):
    """Ids from a file or the command line, typed like the model's ids.

    Each id on its own: against integer ids, an integer token becomes an
    int and any other token stays a string (an unknown id, which gets the
    fallback without affecting the other ids); against string ids every
    token is a string.
    """
    if np.asarray(fitted).dtype.kind not in "iu":
        return np.array(tokens, dtype=str)
    out = np.empty(len(tokens), dtype=object)
    all_int = True
    for j, t in enumerate(tokens):
        try:
            out[j] = int(t)
        except ValueError:
            out[j] = t
            all_int = False
    return out.astype(np.int64) if all_int else out


def _is_known(token, fitted):
    """Whether a token is one of the model's ids."""
    v = _match_ids([token], fitted)[0]
    fitted = np.asarray(fitted)
    if isinstance(v, str) != (fitted.dtype.kind == "U"):
        return False
    return bool(np.any(fitted == v))


def _unknown_text(tokens, fitted_ids):
    """Header test of a first line: none of its ids is an id of the model
    and one of them is not a number (``user,item``, ``uid,iid``, ...)."""
    return not any(
        _is_known(t, ids) for t, ids in zip(tokens, fitted_ids, strict=True)
    ) and any(not _is_number(t) for t in tokens)


def _note_header(path, fields):
    if fields[0].lower() in ("user", "userid", "user_id", "u"):
        return  # the usual header: nothing to note
    print(
        f"{PROG}: note: {Path(path).name}: first line {','.join(fields)!r} read "
        "as a header (use --no-header if it is data)",
        file=sys.stderr,
    )


def read_pairs(path, est, header=None):
    """``(user, item)`` id tokens from a file (a third column is ignored).

    Without ``header`` (None) the first line is a header when neither of
    its two ids is an id of the model ``est`` and one of them is not a
    number.
    """

    def is_header(fields):
        found = _unknown_text(fields[:2], (est.users_, est.items_))
        if found:
            _note_header(path, fields)
        return found

    rows, _ = _read_table(
        path, 2, "user,item", max_cols=4, header=header, is_header=is_header
    )
    return [f[0] for f in rows], [f[1] for f in rows]


# ----------------------------------------------------------------- model files
def _model_format():
    """``(save, load, suffix)``: skops via ``sklearn_rbm.persistence`` when that
    module and skops are installed, else joblib."""
    try:
        persistence = importlib.import_module("sklearn_rbm.persistence")
    except ImportError:
        persistence = None
    if persistence is not None and importlib.util.find_spec("skops") is not None:
        return persistence.save, persistence.load, ".skops"
    import joblib

    return (lambda est, path: joblib.dump(est, path)), joblib.load, ".joblib"


def save_model(est, path):
    save, _, suffix = _model_format()
    path = Path(path)
    if path.suffix and path.suffix != suffix:
        # never write to another name than asked (it might hold another model)
        raise CLIError(
            f"{path}: models are written in {suffix[1:]} format; give a file "
            f"name ending in {suffix}"
        )
    if not path.suffix:
        path = path.with_suffix(suffix)
        print(f"{PROG}: note: writing {path} ({suffix[1:]} format)", file=sys.stderr)
    try:
        save(est, path)
    except Exception as exc:  # unwritable path, serialisation error: one line
        msg = " ".join(str(exc).split())[:200]
        raise CLIError(f"{path}: cannot write the model ({msg})") from exc
    return path


def load_model(path):
    path = Path(path)
    if not path.exists():
        raise CLIError(f"{path}: no such model file")
    _, load, suffix = _model_format()
    if path.suffix == ".joblib" and suffix != ".joblib":
        import joblib

        load = joblib.load
    try:
        est = load(path)
    except Exception as exc:  # corrupt or foreign files: one line, no traceback
        msg = " ".join(str(exc).split())[:200]
        raise CLIError(f"{path}: cannot load the model ({msg})") from exc
    if not hasattr(est, "recommend"):
        raise CLIError(f"{path}: not a CategoricalRBMRecommender model")
    return est


# ---------------------------------------------------------------------- output
def _writer(path):
    if path in (None, "-"):
        return sys.stdout, False
    try:
        return open(path, "w", encoding="utf-8"), True
    except OSError as exc:
        raise CLIError(f"{path}: cannot write: {exc.strerror or exc}") from exc


def _fmt(v):
    return f"{v:.6g}" if isinstance(v, float | np.floating) else str(v)


def _write_csv(path, header, rows):
    """CSV output; fields holding a comma or a quote are quoted (ids read
    from tab-separated files may contain commas)."""
    out, close = _writer(path)
    try:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow([_fmt(v) for v in row])
    finally:
        if close:
            out.close()


# -------------------------------------------------------------------- commands
def _estimator(args):
    from ._recommender import CategoricalRBMRecommender

    est = CategoricalRBMRecommender(
        n_components=args.n_components,
        orientation=args.orientation,
        conditional=args.conditional,
        rank=args.rank,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        max_iter=args.max_iter,
        weight_decay=args.weight_decay,
        fine_tune_iter=args.fine_tune_iter,
        fine_tune_learning_rate=args.fine_tune_learning_rate,
        early_stopping=not args.no_early_stopping,
        n_iter_no_change=args.n_iter_no_change,
        random_state=args.random_state,
        verbose=args.verbose,
    )
    est._validate_params()  # report bad options before reading any data
    return est


def cmd_demo(args):
    from ._demo import run_demo

    run_demo(args.out, random_state=args.random_state)
    return 0


def cmd_fit(args):
    est = _estimator(args)
    X, y = read_ratings(args.ratings, header=getattr(args, "header", None))
    t0 = time.perf_counter()
    print(
        f"fitting on {len(y):,} ratings ({len(np.unique(X[:, 0])):,} users, "
        f"{len(np.unique(X[:, 1])):,} items)",
        file=sys.stderr,
    )
    est.fit(X, y)
    path = save_model(est, args.output)
    msg = f"trained {est.n_iter_} epochs in {time.perf_counter() - t0:.1f}s"
    if est.best_validation_rmse_ is not None:
        msg += f", validation RMSE {est.best_validation_rmse_:.4f}"
    print(f"{msg}; model written to {path}", file=sys.stderr)
    return 0


def cmd_predict(args):
    est = load_model(args.model)
    u_tok, i_tok = read_pairs(args.pairs, est, header=getattr(args, "header", None))
    users, items = _match_ids(u_tok, est.users_), _match_ids(i_tok, est.items_)
    pred = est.predict(_pairs_array(users, items))
    # the ids as written in the input: each row is looked up on its own
    _write_csv(args.output, ["user", "item", "prediction"], zip(u_tok, i_tok, pred))
    return 0


def _user_list(args, est):
    users = []
    for chunk in args.users or []:
        users += [u.strip() for u in chunk.split(",") if u.strip()]
    if args.users_file is not None:
        path = args.users_file
        first = True
        for line in _open_text(path).splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            uid = _split(line, _separator(line))[0]
            if first:
                first = False
                header = getattr(args, "header", None)
                if header is None and _unknown_text([uid], [est.users_]):
                    _note_header(path, [uid])
                    header = True
                if header:
                    continue
            users.append(uid)
    if not users:
        raise CLIError("no users given: use --users ID [ID ...] or --users-file FILE")
    return users


def cmd_recommend(args):
    est = load_model(args.model)
    tokens = _user_list(args, est)
    users = _match_ids(tokens, est.users_)
    if args.n_items < 1:
        raise CLIError(f"--n-items must be at least 1, got {args.n_items}")
    items, scores = est.recommend(
        users, n_items=args.n_items, exclude_seen=not args.include_seen
    )
    # a user who rated almost every item gets fewer than n rows: recommend()
    # pads its lists with seen items scored -inf, which are not recommendations
    rows = (
        (u, rank + 1, it, float(s))
        for u, its, ss in zip(tokens, items.tolist(), scores.tolist())
        for rank, (it, s) in enumerate(zip(its, ss))
        if s != -math.inf
    )
    _write_csv(args.output, ["user", "rank", "item", "score"], rows)
    return 0


def _item_mean_predict(X_tr, y_tr, X_te):
    mean = float(y_tr.mean())
    items, inv = np.unique(X_tr[:, 1], return_inverse=True)
    sums = np.bincount(inv, weights=y_tr, minlength=len(items))
    counts = np.bincount(inv, minlength=len(items))
    pos = np.searchsorted(items, X_te[:, 1])
    pos = np.minimum(pos, len(items) - 1)
    hit = items[pos] == X_te[:, 1]
    out = np.full(len(X_te), mean)
    out[hit] = sums[pos[hit]] / counts[pos[hit]]
    return out


def cmd_evaluate(args):
    from sklearn.model_selection import KFold

    _estimator(args)
    X, y = read_ratings(args.ratings, header=getattr(args, "header", None))
    if args.cv < 2:
        raise CLIError(f"--cv must be at least 2, got {args.cv}")
    if args.cv > len(y):
        raise CLIError(f"--cv {args.cv} is more than the {len(y)} ratings")
    folds = KFold(args.cv, shuffle=True, random_state=args.random_state)
    rmse, mae, base = [], [], []
    print(f"{args.cv}-fold cross-validation on {len(y):,} ratings")
    for k, (tr, te) in enumerate(folds.split(X), start=1):
        t0 = time.perf_counter()
        est = _estimator(args).fit(X[tr], y[tr])
        pred = est.predict(X[te])
        rmse.append(float(np.sqrt(np.mean((pred - y[te]) ** 2))))
        mae.append(float(np.mean(np.abs(pred - y[te]))))
        b = _item_mean_predict(X[tr], y[tr], X[te])
        base.append(float(np.sqrt(np.mean((b - y[te]) ** 2))))
        print(
            f"fold {k}/{args.cv}: RMSE {rmse[-1]:.4f}  MAE {mae[-1]:.4f}  "
            f"(item-mean RMSE {base[-1]:.4f})  {est.n_iter_} epochs, "
            f"{time.perf_counter() - t0:.1f}s",
            flush=True,
        )
    print(f"RMSE            {np.mean(rmse):.4f} +- {np.std(rmse):.4f}")
    print(f"MAE             {np.mean(mae):.4f} +- {np.std(mae):.4f}")
    print(f"item-mean RMSE  {np.mean(base):.4f} +- {np.std(base):.4f}")
    return 0


# ---------------------------------------------------------------------- parser
def _add_hyperparameters(p):
    g = p.add_argument_group("model (CategoricalRBMRecommender)")
    g.add_argument("--n-components", type=int, default=100, help="hidden units")
    g.add_argument("--max-iter", type=int, default=20, help="maximum epochs")
    g.add_argument(
        "--orientation",
        choices=["item", "user"],
        default="item",
        help="one RBM case per item (the I-RBM) or per user",
    )
    g.add_argument("--learning-rate", type=float, default=0.1, help="step size")
    g.add_argument("--batch-size", type=int, default=50, help="cases per minibatch")
    g.add_argument("--weight-decay", type=float, default=0.003, help="L2 penalty")
    g.add_argument(
        "--rank", type=int, default=None, help="rank of a factored RBM (None: a full W)"
    )
    g.add_argument("--conditional", action="store_true", help="conditional RBM")
    g.add_argument(
        "--fine-tune-iter",
        type=int,
        default=0,
        help="epochs of discriminative fine-tuning of the predictor after CD (0: none)",
    )
    g.add_argument(
        "--fine-tune-learning-rate",
        type=float,
        default=1e-3,
        help="Adam step size of fine-tuning",
    )
    g.add_argument(
        "--no-early-stopping",
        action="store_true",
        help="train all --max-iter epochs on all ratings",
    )
    g.add_argument(
        "--n-iter-no-change",
        type=int,
        default=5,
        help="patience of early stopping, in epochs",
    )
    g.add_argument("--random-state", type=int, default=0, help="seed")
    g.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
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

RATINGS_HELP = (
    "ratings file with user,item,rating lines (comma, tab or '::' separated, "
    "header optional) or a MovieLens folder"
)


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Restricted Boltzmann Machines for scikit-learn: a demo, and "
        "a command line for the CategoricalRBMRecommender.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add = sub.add_parser

    def add_parser(name, **kw):
        return add(name, formatter_class=argparse.ArgumentDefaultsHelpFormatter, **kw)

    sub.add_parser = add_parser

    p = sub.add_parser(
        "demo",
        help="train each estimator on embedded data and report",
        description="Train each estimator on data that ships with the package "
        "(or is generated), print a report and write figures.",
    )
    p.add_argument("--out", default="demo_output", help="folder for the figures")
    p.add_argument("--random-state", type=int, default=0, help="seed")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "fit",
        help="train a recommender on a ratings file",
        description="Train a CategoricalRBMRecommender on a ratings file and "
        "write the model to a file.",
    )
    p.add_argument("ratings", help=RATINGS_HELP)
    _add_header_option(p, RATINGS_DETECT)
    p.add_argument(
        "-o",
        "--output",
        default="model.skops",
        help="model file (written as .joblib when skops persistence is not available)",
    )
    _add_hyperparameters(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser(
        "predict",
        help="predict ratings of user,item pairs",
        description="Predict the ratings of user,item pairs with a fitted model; "
        "writes user,item,prediction CSV.",
    )
    p.add_argument("model", help="model file written by 'sklearn-rbm fit'")
    p.add_argument("pairs", help="file of user,item lines (header optional)")
    _add_header_option(p, IDS_DETECT)
    p.add_argument("-o", "--output", default="-", help="output CSV ('-': stdout)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser(
        "recommend",
        help="top-N items for users",
        description="Recommend the top-N items for users; writes "
        "user,rank,item,score CSV.",
    )
    p.add_argument("model", help="model file written by 'sklearn-rbm fit'")
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
    p.set_defaults(func=cmd_recommend)

    p = sub.add_parser(
        "evaluate",
        help="cross-validated RMSE and MAE on a ratings file",
        description="K-fold cross-validated RMSE and MAE of the recommender on a "
        "ratings file, with the item-mean baseline RMSE for comparison.",
    )
    p.add_argument("ratings", help=RATINGS_HELP)
    p.add_argument("--cv", type=int, default=5, help="number of folds")
    _add_header_option(p, RATINGS_DETECT)
    _add_hyperparameters(p)
    p.set_defaults(func=cmd_evaluate)
    return parser


def _error(msg):
    print(f"{PROG}: error: {' '.join(str(msg).split())}", file=sys.stderr)
    return 2


def main(argv=None):
    """Run the command line; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.func(args)
    except CLIError as exc:
        return _error(exc)
    except (ValueError, TypeError) as exc:
        # invalid hyperparameters (scikit-learn's InvalidParameterError) or
        # data; the estimator's advice names its parameter, here an option
        msg = str(exc).replace("set early_stopping=False", "use --no-early-stopping")
        return _error(msg)
    except MemoryError:
        return _error("out of memory")
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
