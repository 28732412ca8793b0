"""Rating data sets: MovieLens loaders, synthetic ratings and a per-user split.

The MovieLens data sets are published by GroupLens Research (University of
Minnesota) under a licence that does not allow redistribution, so this module
never ships them: :func:`load_movielens` reads a local copy.
"""

import csv
import gzip
import io
import math
import numbers
import os
import textwrap
from pathlib import Path

import numpy as np
from scipy.special import ndtr
from sklearn.utils import Bunch, check_random_state

__all__ = [
    "load_movielens",
    "load_nudged_digits",
    "make_ratings",
    "train_test_split_ratings",
]

_CITATION = (
    "F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: "
    "History and Context. ACM Transactions on Interactive Intelligent Systems "
    "(TiiS) 5, 4, Article 19 (December 2015), 19 pages. "
    "https://doi.org/10.1145/2827872"
)

_VARIANTS = ("100k", "1m", "10m", "latest-small", "latest")
_LABELS = {
    "100k": "MovieLens 100K",
    "1m": "MovieLens 1M",
    "10m": "MovieLens 10M",
    "latest-small": "MovieLens Latest Small",
    "latest": "MovieLens Latest",
}
_FOLDERS = {
    "100k": "ml-100k",
    "1m": "ml-1m",
    "10m": "ml-10m*",
    "latest-small": "ml-latest-small",
    "latest": "ml-latest",
}
# Official splits: variant -> (names, train suffix, test suffix).
_SPLITS = {
    "100k": (("u1", "u2", "u3", "u4", "u5", "ua", "ub"), ".base", ".test"),
    "10m": (("r1", "r2", "r3", "r4", "r5", "ra", "rb"), ".train", ".test"),
}
_PARTIAL_1M = "ratings_users_1-2999.dat.gz"
_EXPECTED_FILES = (
    "u.data (100K), ratings.dat (1M, 10M), "
    "ratings_without_timestamps.dat.gz (1M) or ratings.csv (latest)"
)


# --------------------------------------------------------------------------
# MovieLens
# --------------------------------------------------------------------------


def load_movielens(path=None, *, variant=None, split=None, as_frame=True):
    """Load a local copy of a MovieLens rating data set.

    The files are not downloaded: MovieLens may not be redistributed, so a
    copy obtained from GroupLens must be present on disk.

    Parameters
    ----------
    path : str or path-like, default=None
        Folder of one MovieLens data set (for example ``.../ml-100k``), or a
        folder containing such folders when ``variant`` is given. The format
        is detected from the files present. If None, the data home is the
        environment variable ``SKLEARN_RBM_DATA``, falling back to
        ``../shared/data`` relative to the current working directory, and
        ``variant`` picks its subfolder (``ml-100k``, ``ml-1m``, ``ml-10m*``,
        ``ml-latest-small`` or ``ml-latest``).

    variant : {"100k", "1m", "10m", "latest-small", "latest"}, default=None
        Which data set to load. With ``path=None``, None means ``"100k"``.
        With an explicit ``path`` it is checked against the detected format.

    split : str, default=None
        Name of an official train/test split: ``"u1"`` to ``"u5"``, ``"ua"``
        or ``"ub"`` for 100K, ``"r1"`` to ``"r5"``, ``"ra"`` or ``"rb"`` for
        10M. Data sets without official splits raise a ValueError; use
        :func:`train_test_split_ratings` for those.

    as_frame : bool, default=True
        If True, ``X`` is a pandas DataFrame with int64 columns ``user`` and
        ``item`` (this needs pandas). If False, it is an int64 ndarray of
        shape (n_ratings, 2).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        X : DataFrame or ndarray of shape (n_ratings, 2)
            User and item ids, as in the files (they start at 1).
        y : ndarray of shape (n_ratings,), dtype float64
            Ratings.
        timestamps : ndarray of shape (n_ratings,), dtype int64, or None
            Unix timestamps, or None when the file has none (the local ML-1M
            copy ``ratings_without_timestamps.dat.gz``).
        variant : str
            The data set loaded.
        item_titles : dict of int to str, or None
            Movie titles by item id, when the movies file is present.
        path : str
            The folder read.
        DESCR : str
            Description and citation.
        split : str or None
            The official split loaded.
        X_train, y_train, timestamps_train, X_test, y_test, timestamps_test
            Only when ``split`` is given: the ratings of the split files.

    Raises
    ------
    FileNotFoundError
        If the folder or its ratings file is missing.
    ValueError
        If a line of a ratings file is malformed (the message gives the file
        and line number), or a parameter is invalid.
    ImportError
        If ``as_frame=True`` and pandas is not installed.

    Notes
    -----
    The ML-1M ratings are read from ``ratings.dat`` when present, else from
    ``ratings_without_timestamps.dat.gz`` (the complete 1,000,209 ratings
    without timestamps). The partial file ``ratings_users_1-2999.dat.gz`` is
    never used.

    Please cite GroupLens when you publish results obtained with MovieLens:
    F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets:
    History and Context. ACM TiiS 5, 4, Article 19.

    Examples
    --------
    >>> from sklearn_rbm.datasets import load_movielens
    >>> ml = load_movielens(variant="100k", split="u1")  # doctest: +SKIP
    >>> ml.X.shape, ml.X_train.shape, ml.X_test.shape  # doctest: +SKIP
    ((100000, 2), (80000, 2), (20000, 2))
    """
    if variant is not None and variant not in _VARIANTS:
        raise ValueError(
            f"variant must be one of {_VARIANTS} or None, got {variant!r}."
        )
    if split is not None and not isinstance(split, str):
        raise ValueError(f"split must be a str or None, got {split!r}.")
    if not isinstance(as_frame, bool | np.bool_):
        raise ValueError(f"as_frame must be a bool, got {as_frame!r}.")
    pd = None
    if as_frame:
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "load_movielens(as_frame=True) requires pandas. Install pandas "
                "or pass as_frame=False to get numpy arrays."
            ) from exc

    folder = _resolve_folder(path, variant)
    variant, ratings_file, sep = _detect_format(folder, variant)

    split_files = None
    if split is not None:
        split_files = _split_files(folder, variant, split)

    users, items, ratings, timestamps = _read_ratings(ratings_file, sep)
    if variant is None:  # "::" files that could be 1M or 10M
        variant = "1m" if np.all(ratings == np.floor(ratings)) else "10m"

    def to_X(u, i):
        X = np.column_stack([u, i])
        if pd is not None:
            X = pd.DataFrame(X, columns=["user", "item"])
        return X

    data = Bunch(
        X=to_X(users, items),
        y=ratings,
        timestamps=timestamps,
        variant=variant,
        item_titles=_read_titles(folder, variant),
        path=str(folder),
        split=split,
    )
    if split_files is not None:
        for part, file in zip(("train", "test"), split_files, strict=True):
            u, i, r, t = _read_ratings(file, sep)
            data[f"X_{part}"] = to_X(u, i)
            data[f"y_{part}"] = r
            data[f"timestamps_{part}"] = t
    data.DESCR = _describe(data, users, items, ratings_file)
    return data


def _resolve_folder(path, variant):
    if path is None:
        env = os.environ.get("SKLEARN_RBM_DATA")
        home = Path(env) if env else Path.cwd() / ".." / "shared" / "data"
        if not home.is_dir():
            raise FileNotFoundError(
                f"MovieLens data home {home} does not exist. Pass path= or set "
                "the SKLEARN_RBM_DATA environment variable to a folder "
                "containing ml-100k/, ml-1m/, ml-latest-small/ or ml-10m*/."
            )
        folder = _variant_subfolder(home, variant or "100k")
        if folder is None:
            raise FileNotFoundError(
                f"No {_FOLDERS[variant or '100k']} folder in the data home "
                f"{home} (for the MovieLens {variant or '100k'} data set)."
            )
        return folder
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(
            f"MovieLens folder {path} does not exist or is not a folder."
        )
    if variant is not None:
        sub = _variant_subfolder(path, variant)
        if sub is not None:
            return sub
    return path


def _variant_subfolder(home, variant):
    pattern = _FOLDERS[variant]
    if not pattern.endswith("*"):
        sub = home / pattern
        return sub if sub.is_dir() else None
    prefix = pattern[:-1]
    matches = sorted(
        p for p in home.iterdir() if p.is_dir() and p.name.lower().startswith(prefix)
    )
    return matches[0] if matches else None


def _detect_format(folder, variant):
    """Return (variant or None, ratings file, separator) for ``folder``."""
    if (folder / "u.data").is_file():
        found, file, sep = "100k", folder / "u.data", "\t"
    elif (folder / "ratings.csv").is_file():
        file, sep = folder / "ratings.csv", ","
        if variant in ("latest", "latest-small"):
            found = variant
        else:
            found = "latest-small" if "small" in folder.name.lower() else "latest"
    elif (folder / "ratings.dat").is_file():
        file, sep = folder / "ratings.dat", "::"
        if variant in ("1m", "10m"):
            found = variant
        elif (folder / "users.dat").is_file():
            found = "1m"
        elif (
            (folder / "tags.dat").is_file()
            or any((folder / f"{s}.train").is_file() for s in _SPLITS["10m"][0])
            or "10m" in folder.name.lower()
        ):
            found = "10m"
        elif "1m" in folder.name.lower():
            found = "1m"
        else:
            found = None  # decided from the ratings (half stars mean 10M)
    elif (folder / "ratings_without_timestamps.dat.gz").is_file():
        found, file, sep = "1m", folder / "ratings_without_timestamps.dat.gz", "::"
    else:
        hint = ""
        if (folder / _PARTIAL_1M).is_file():
            hint = (
                f" {_PARTIAL_1M} holds only part of ML-1M (users 1 to 2999) "
                "and is not used as the full data set."
            )
        subs = sorted(
            p.name for p in folder.iterdir() if p.is_dir() and p.name.startswith("ml-")
        )
        if subs:
            hint += f" The folder contains {subs}: pass variant= to pick one."
        raise FileNotFoundError(
            f"No MovieLens ratings file in {folder}; expected {_EXPECTED_FILES}." + hint
        )
    if variant is not None and found is not None and found != variant:
        raise ValueError(
            f"variant={variant!r} does not match the files in {folder}, "
            f"which hold the {found!r} format ({file.name})."
        )
    if variant is not None and found is None:
        found = variant
    return found, file, sep


def _split_files(folder, variant, split):
    if variant not in _SPLITS:
        raise ValueError(
            f"The {_LABELS.get(variant, variant)} data set has no official "
            f"train/test splits (split={split!r}); official splits exist for "
            "100K and 10M only. Use train_test_split_ratings instead."
        )
    names, train_suffix, test_suffix = _SPLITS[variant]
    if split not in names:
        raise ValueError(
            f"Unknown split {split!r} for {_LABELS[variant]}; valid splits are "
            f"{', '.join(names)}."
        )
    files = (folder / f"{split}{train_suffix}", folder / f"{split}{test_suffix}")
    for file in files:
        if not file.is_file():
            raise FileNotFoundError(
                f"Split file {file} is missing (needed for split={split!r})."
            )
    return files


def _read_bytes(file):
    file = Path(file)
    if file.suffix == ".gz":
        with gzip.open(file, "rb") as f:
            return f.read()
    return file.read_bytes()


def _is_int(text):
    try:
        int(text)
    except ValueError:
        return False
    return True


def _read_ratings(file, sep):
    """Parse a ratings file into (users, items, ratings, timestamps).

    The fast path parses the whole file with numpy's C reader; when that fails
    a line-by-line scan finds the first malformed line to report it.
    """
    raw = _read_bytes(file)
    header, body_start = 0, 0
    n_cols = None
    pos, lineno = 0, 0
    while pos < len(raw):
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end
        line = raw[pos:end].rstrip(b"\r").decode("latin-1")
        pos, lineno = end + 1, lineno + 1
        if lineno == 1 and sep == "," and line and not _is_int(line.split(",")[0]):
            fields = [f.strip().strip('"').lower() for f in line.split(",")]
            if fields[:3] != ["userid", "movieid", "rating"] or len(fields) > 4:
                _raise_line(
                    file,
                    1,
                    line,
                    "expected the header userId,movieId,rating[,timestamp]",
                )
            header, body_start = 1, pos
            continue
        if line:
            n_cols = len(line.split(sep))
            if n_cols not in (3, 4):
                _raise_line(file, lineno, line, f"expected 3 or 4 fields, got {n_cols}")
            break
    if n_cols is None:
        raise ValueError(f"Ratings file {file} contains no ratings.")

    body = raw[body_start:]
    delimiter = sep
    if sep == "::":
        body, delimiter = body.replace(b"::", b"\t"), "\t"
    try:
        arr = np.loadtxt(
            io.BytesIO(body),
            delimiter=delimiter,
            dtype=np.float64,
            comments=None,
            ndmin=2,
            encoding="latin-1",
        )
    except ValueError as exc:
        _find_bad_line(raw, file, sep, n_cols, header, exc)
    ids = arr[:, [0, 1, 3] if n_cols == 4 else [0, 1]]
    if arr.shape[1] != n_cols or not (
        np.all(np.isfinite(arr)) and np.all(ids == np.floor(ids))
    ):
        _find_bad_line(raw, file, sep, n_cols, header, None)
    users = arr[:, 0].astype(np.int64)
    items = arr[:, 1].astype(np.int64)
    ratings = np.ascontiguousarray(arr[:, 2])
    timestamps = arr[:, 3].astype(np.int64) if n_cols == 4 else None
    return users, items, ratings, timestamps


def _raise_line(file, lineno, line, problem):
    raise ValueError(f"Malformed line {lineno} in {file}: {problem}: {line[:80]!r}.")


def _find_bad_line(raw, file, sep, n_cols, header, exc):
    """Raise a ValueError naming the first malformed line of ``raw``."""
    text = raw.decode("latin-1")
    for lineno, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if lineno <= header or not line:
            continue
        fields = line.split(sep)
        if len(fields) != n_cols:
            _raise_line(
                file,
                lineno,
                line,
                f"expected {n_cols} fields separated by {sep!r}, got {len(fields)}",
            )
        for pos, name in ((0, "user id"), (1, "item id"), (3, "timestamp")):
            if pos < n_cols and not _is_int(fields[pos]):
                _raise_line(file, lineno, line, f"{name} {fields[pos]!r} is not an int")
        try:
            rating = float(fields[2])
        except ValueError:
            rating = math.nan
        if not math.isfinite(rating):
            _raise_line(file, lineno, line, f"rating {fields[2]!r} is not a number")
    raise ValueError(f"Could not parse the ratings file {file}: {exc}") from exc


def _decode(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _read_titles(folder, variant):
    """Map item id -> title from u.item, movies.dat or movies.csv, or None."""
    if variant == "100k":
        file, sep, n_tail = folder / "u.item", "|", 22
    elif variant in ("1m", "10m"):
        file, sep, n_tail = folder / "movies.dat", "::", 1
    else:
        file, sep, n_tail = folder / "movies.csv", ",", None
    if not file.is_file():
        return None
    text = _decode(file.read_bytes())
    titles = {}
    if n_tail is None:
        rows = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
        for lineno, row in enumerate(rows, start=1):
            if lineno == 1 or not row:
                continue
            if len(row) < 2 or not _is_int(row[0]):
                _raise_line(file, lineno, ",".join(row), "expected movieId,title,...")
            titles[int(row[0])] = row[1]
        return titles
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line:
            continue
        fields = line.split(sep)
        if len(fields) < 2 or not _is_int(fields[0]):
            _raise_line(file, lineno, line, f"expected id{sep}title{sep}...")
        title = sep.join(fields[1 : len(fields) - n_tail]) or fields[1]
        titles[int(fields[0])] = title
    return titles


def _n_unique(ids):
    if ids.size and ids.min() >= 0 and ids.max() < 10 * ids.size + 1000:
        return int(np.count_nonzero(np.bincount(ids)))
    return len(np.unique(ids))


def _describe(data, users, items, ratings_file):
    y = data.y
    lines = [
        f"{_LABELS[data.variant]} ratings (GroupLens Research)",
        "",
        f"{y.size:,} ratings from {_n_unique(users):,} users on "
        f"{_n_unique(items):,} items; ratings {y.min():g} to {y.max():g}.",
        f"Read from {ratings_file}.",
    ]
    if data.timestamps is None:
        lines.append("This file has no timestamps.")
    if data.split is not None:
        lines.append(
            f"Official split {data.split}: {data.y_train.size:,} training and "
            f"{data.y_test.size:,} test ratings."
        )
    lines += [
        "",
        "The MovieLens data sets are published by GroupLens Research, University",
        "of Minnesota, for research use. They may not be redistributed.",
        "",
        "Citation:",
        textwrap.fill(_CITATION, 79),
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Synthetic ratings
# --------------------------------------------------------------------------


def _check_int(value, name, low):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int, got {value!r}.")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}.")
    return int(value)


def _check_real(value, name):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ValueError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}.")
    return value


def make_ratings(
    n_users=200,
    n_items=100,
    *,
    density=0.1,
    n_factors=3,
    rating_scale=(1, 5),
    rating_step=1,
    noise=0.5,
    random_state=None,
    return_truth=False,
):
    """Generate explicit ratings with a planted low-rank structure.

    Each user ``u`` and item ``i`` has a bias and ``n_factors`` latent
    factors. The noise-free score is::

        s[u, i] = mu + b_user[u] + b_item[i] + user_factors[u] @ item_factors[i]

    An observed rating is ``s + e`` with Gaussian noise ``e`` of standard
    deviation ``noise``, rounded to the nearest point of the rating grid
    ``low, low + rating_step, ..., high`` (values outside are clipped to the
    ends). With ``R = high - low``, the global mean is ``low + 0.6 R``, the
    biases have standard deviation ``0.1 R`` and the factor term ``0.2 R``.

    Which pairs are rated is not uniform: every user has an activity and every
    item a popularity (both log-normal), and more active users and more
    popular items have more ratings. Every user has at least two ratings and
    every item at least one (as far as ``n_items`` allows), so the number of
    ratings can exceed ``density * n_users * n_items`` when that is small.
    No (user, item) pair is rated twice.

    Parameters
    ----------
    n_users : int, default=200
        Number of users (ids ``0 .. n_users - 1``).

    n_items : int, default=100
        Number of items (ids ``0 .. n_items - 1``).

    density : float, default=0.1
        Fraction of the ``n_users * n_items`` pairs that are rated, in (0, 1].

    n_factors : int, default=3
        Rank of the interaction term (0 gives a biases-only model).

    rating_scale : tuple of (float, float), default=(1, 5)
        Lowest and highest rating.

    rating_step : float, default=1
        Spacing of the rating grid, for example 0.5 for half stars. It must
        divide ``high - low``.

    noise : float, default=0.5
        Standard deviation of the Gaussian noise added to the score, in rating
        units, before rounding. 0 gives deterministic ratings.

    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    return_truth : bool, default=False
        If True, also return a dict describing the generating model.

    Returns
    -------
    X : ndarray of shape (n_ratings, 2), dtype int64
        User and item ids, sorted by user then item.

    y : ndarray of shape (n_ratings,), dtype float64
        Ratings, on the rating grid.

    truth : dict
        Only when ``return_truth=True``. Keys: ``"expected_ratings"``, the
        dense (n_users, n_items) float64 matrix of the expected observed
        rating ``E[rating | u, i]`` (rounding, clipping and noise included;
        the best possible predictor in squared error); ``"scores"``, the
        continuous noise-free scores ``s``; ``"user_factors"``,
        ``"item_factors"``, ``"user_biases"``, ``"item_biases"`` and
        ``"global_mean"``.

    Examples
    --------
    >>> from sklearn_rbm.datasets import make_ratings
    >>> X, y = make_ratings(n_users=50, n_items=20, random_state=0)
    >>> X.shape[1], X.dtype, y.dtype
    (2, dtype('int64'), dtype('float64'))
    >>> sorted(set(y.tolist())) == [1.0, 2.0, 3.0, 4.0, 5.0]
    True
    """
    n_users = _check_int(n_users, "n_users", 1)
    n_items = _check_int(n_items, "n_items", 1)
    n_factors = _check_int(n_factors, "n_factors", 0)
    density = _check_real(density, "density")
    if not 0 < density <= 1:
        raise ValueError(f"density must be in (0, 1], got {density}.")
    try:
        low, high = rating_scale
    except (TypeError, ValueError):
        raise ValueError(
            f"rating_scale must be a pair (low, high), got {rating_scale!r}."
        ) from None
    low = _check_real(low, "rating_scale[0]")
    high = _check_real(high, "rating_scale[1]")
    if not low < high:
        raise ValueError(f"rating_scale must have low < high, got {rating_scale!r}.")
    step = _check_real(rating_step, "rating_step")
    if step <= 0:
        raise ValueError(f"rating_step must be > 0, got {rating_step}.")
    n_steps = round((high - low) / step)
    if n_steps < 1 or abs(n_steps * step - (high - low)) > 1e-9 * max(1.0, high - low):
        raise ValueError(
            f"rating_step={rating_step} must divide the range of "
            f"rating_scale={rating_scale!r} into a whole number of steps."
        )
    noise = _check_real(noise, "noise")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}.")
    if not isinstance(return_truth, bool | np.bool_):
        raise ValueError(f"return_truth must be a bool, got {return_truth!r}.")
    rng = check_random_state(random_state)

    # Planted model.
    span = high - low
    mu = low + 0.6 * span
    user_biases = rng.normal(0.0, 0.1 * span, size=n_users)
    item_biases = rng.normal(0.0, 0.1 * span, size=n_items)
    factor_scale = math.sqrt(0.2 * span / math.sqrt(n_factors)) if n_factors else 0.0
    user_factors = rng.normal(0.0, factor_scale, size=(n_users, n_factors))
    item_factors = rng.normal(0.0, factor_scale, size=(n_items, n_factors))
    scores = mu + user_biases[:, None] + item_biases[None, :]
    scores += user_factors @ item_factors.T

    # Which pairs are rated: an exponential race weighted by activity times
    # popularity (weighted sampling without replacement).
    activity = np.exp(rng.normal(0.0, 0.8, size=n_users))
    popularity = np.exp(rng.normal(0.0, 1.0, size=n_items))
    keys = rng.standard_exponential((n_users, n_items))
    keys /= activity[:, None] * popularity[None, :]
    forced = np.zeros((n_users, n_items), dtype=bool)
    per_user = min(2, n_items)
    first = np.argpartition(keys, per_user - 1, axis=1)[:, :per_user]
    forced[np.arange(n_users)[:, None], first] = True
    forced[np.argmin(keys, axis=0), np.arange(n_items)] = True
    keys[forced] = -1.0
    n_cells = n_users * n_items
    n_ratings = max(round(density * n_cells), int(forced.sum()))
    flat = keys.ravel()
    chosen = (
        np.argpartition(flat, n_ratings - 1)[:n_ratings]
        if n_ratings < n_cells
        else np.arange(n_cells)
    )
    chosen.sort()
    users, items = np.divmod(chosen, n_items)

    # Observed ratings: noisy score rounded to the grid.
    observed = scores[users, items] + noise * rng.standard_normal(chosen.size)
    level = np.clip(np.rint((observed - low) / step), 0, n_steps)
    y = np.round(low + level * step, 12)
    X = np.column_stack([users, items]).astype(np.int64)
    if not return_truth:
        return X, y

    # E[level] = sum_k P(level > k), level > k iff s + e > low + (k + 1/2) step.
    expected_level = np.zeros_like(scores)
    for k in range(n_steps):
        threshold = low + (k + 0.5) * step
        if noise > 0:
            expected_level += ndtr((scores - threshold) / noise)
        else:
            expected_level += scores > threshold
    truth = {
        "expected_ratings": low + step * expected_level,
        "scores": scores,
        "user_factors": user_factors,
        "item_factors": item_factors,
        "user_biases": user_biases,
        "item_biases": item_biases,
        "global_mean": mu,
    }
    return X, y, truth


# --------------------------------------------------------------------------
# Splitting
# --------------------------------------------------------------------------


def train_test_split_ratings(
    X, y, *, test_size=0.1, random_state=None, stratify_users=True
):
    """Split ratings into train and test sets, keeping users in training.

    Every user keeps at least one training rating, so every user in the test
    set has training ratings, unless ``test_size`` is too large for that to be
    possible (then the remaining test ratings are drawn from users' last
    ratings).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_ratings, 2)
        User and item ids. For a DataFrame the user ids are the ``user``
        column if there is one, else the first column.

    y : array-like of shape (n_ratings,)
        Ratings.

    test_size : float or int, default=0.1
        Fraction of the ratings (float in (0, 1), rounded up) or number of
        ratings (int) in the test set.

    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    stratify_users : bool, default=True
        If True, each user's ratings are split in the proportion
        ``test_size`` (as closely as whole numbers allow). If False, the test
        ratings are drawn uniformly among all ratings except one reserved
        training rating per user.

    Returns
    -------
    X_train, X_test : ndarray or DataFrame
        Rows of ``X``, in their original order (same type as ``X``).

    y_train, y_test : ndarray
        The matching ratings.

    Examples
    --------
    >>> from sklearn_rbm.datasets import make_ratings, train_test_split_ratings
    >>> X, y = make_ratings(n_users=50, n_items=20, random_state=0)
    >>> X_train, X_test, y_train, y_test = train_test_split_ratings(
    ...     X, y, test_size=0.2, random_state=0)
    >>> len(y_train) + len(y_test) == len(y)
    True
    >>> set(X_test[:, 0]) <= set(X_train[:, 0])
    True
    """
    if hasattr(X, "iloc") and hasattr(X, "columns"):
        if X.ndim != 2 or X.shape[1] < 2:
            raise ValueError(f"X must have 2 columns (user, item), got {X.shape}.")
        users = np.asarray(X["user"] if "user" in X.columns else X.iloc[:, 0])
        take = X.iloc.__getitem__
    else:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] < 2:
            raise ValueError(
                f"X must be 2-d with columns (user, item), got shape {X.shape}."
            )
        users = X[:, 0]
        take = X.__getitem__
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != users.shape[0]:
        raise ValueError(
            f"y must be 1-d with one rating per row of X ({users.shape[0]}), "
            f"got shape {y.shape}."
        )
    n = y.shape[0]
    if n < 2:
        raise ValueError(f"Need at least 2 ratings to split, got {n}.")
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        if not 1 <= test_size < n:
            raise ValueError(
                f"An int test_size must be in [1, {n - 1}], got {test_size}."
            )
        n_test = int(test_size)
    elif isinstance(test_size, numbers.Real) and not isinstance(test_size, bool):
        if not 0 < test_size < 1:
            raise ValueError(f"A float test_size must be in (0, 1), got {test_size}.")
        n_test = min(max(math.ceil(test_size * n), 1), n - 1)
    else:
        raise ValueError(f"test_size must be a float or an int, got {test_size!r}.")
    rng = check_random_state(random_state)

    # Group the ratings by user, in random order within each user.
    perm = rng.permutation(n)
    order = perm[np.argsort(users[perm], kind="stable")]
    grouped = users[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    group = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, n]))
    rank = np.arange(n) - starts[group]
    if stratify_users:
        counts = np.diff(np.r_[starts, n])[group]
        key = (rank + rng.random_sample(n)) / counts
    else:
        key = rng.random_sample(n)
    key[rank == 0] -= 2.0  # each user's first rating stays in training
    top = np.argpartition(-key, n_test - 1)[:n_test]
    is_test = np.zeros(n, dtype=bool)
    is_test[order[top]] = True
    train_idx = np.flatnonzero(~is_test)
    test_idx = np.flatnonzero(is_test)
    return take(train_idx), take(test_idx), y[train_idx], y[test_idx]


def load_nudged_digits(*, scale=True):
    """scikit-learn's digits, plus copies shifted by one pixel in 4 directions.

    The data of scikit-learn's "Restricted Boltzmann Machine features for
    digit classification" example: 5 x 1,797 = 8,985 images of 8 x 8 pixels.
    The shifts make raw pixels a poor linear representation, which RBM
    features repair.

    Parameters
    ----------
    scale : bool, default=True
        Scale pixel values from [0, 16] to [0, 1].

    Returns
    -------
    X : ndarray of shape (8985, 64)
        Images, the originals first, then the shifted copies.
    y : ndarray of shape (8985,)
        Digit labels.

    Examples
    --------
    >>> from sklearn_rbm.datasets import load_nudged_digits
    >>> X, y = load_nudged_digits()
    >>> X.shape, float(X.max())
    ((8985, 64), 1.0)
    """
    from scipy.ndimage import shift
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    imgs = X.reshape(-1, 8, 8) / (16.0 if scale else 1.0)
    moved = [imgs] + [
        shift(imgs, (0, dy, dx), order=0, mode="constant")
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))
    ]
    return np.concatenate(moved).reshape(-1, 64), np.tile(y, 5)
