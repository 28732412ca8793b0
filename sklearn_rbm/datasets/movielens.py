"""MovieLens loaders: local copies of the GroupLens rating data sets.

The MovieLens data sets are published by GroupLens Research (University of
Minnesota) under a licence that does not allow redistribution, so this module
never ships or downloads them: :func:`load_movielens` reads a local copy.
"""

import codecs
import csv
import gzip
import io
import os
import re
import textwrap
import zlib
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

__all__ = ["get_data_home", "load_movielens"]

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


def get_data_home(data_home=None):
    """Return the folder that holds the local MovieLens copies.

    The folder is, in order of precedence: ``data_home`` when given, the
    environment variable ``SKLEARN_RBM_DATA`` when set, else
    ``../shared/data`` relative to the current working directory. A leading
    ``~`` is expanded to the user's home folder. As in
    :func:`sklearn.datasets.get_data_home` the path is returned as a str;
    unlike it, the folder is never created (nothing is downloaded into it).

    Parameters
    ----------
    data_home : str or path-like, default=None
        The data home to use instead of the default.

    Returns
    -------
    data_home : str
        The path of the data home (which may not exist).

    Examples
    --------
    >>> from sklearn_rbm.datasets import get_data_home
    >>> get_data_home("/data/movielens")
    '/data/movielens'
    """
    if data_home is None:
        env = os.environ.get("SKLEARN_RBM_DATA")
        data_home = env or Path.cwd() / ".." / "shared" / "data"
    return str(Path(data_home).expanduser())


def load_movielens(
    path=None,
    *,
    variant=None,
    split=None,
    as_frame=True,
    data_home=None,
    return_X_y=False,
):
    """Load a local copy of a MovieLens rating data set.

    The files are not downloaded: MovieLens may not be redistributed, so a
    copy obtained from GroupLens must be present on disk.

    Parameters
    ----------
    path : str or path-like, default=None
        Folder of one MovieLens data set (for example ``.../ml-100k``), or a
        folder containing such folders when ``variant`` is given. The format
        is detected from the files present. If None, the folder is the
        subfolder of the data home that ``variant`` names (``ml-100k``,
        ``ml-1m``, ``ml-10m*``, ``ml-latest-small`` or ``ml-latest``). A
        variant name given as ``path`` (``load_movielens("1m")``) when no
        folder of that name exists means ``variant="1m"``.

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

    data_home : str or path-like, default=None
        The folder holding the MovieLens folders, used when ``path`` is None.
        The precedence is: ``path``, then ``data_home``, then the
        environment variable ``SKLEARN_RBM_DATA``, then ``../shared/data``
        relative to the current working directory (see
        :func:`get_data_home`).

    return_X_y : bool, default=False
        If True, return ``(X, y)`` instead of a Bunch, as scikit-learn's
        loaders do; with ``split``, ``(X_train, X_test, y_train, y_test)``,
        in the order of :func:`~sklearn.model_selection.train_test_split`.

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

    (X, y) or (X_train, X_test, y_train, y_test) : tuple
        With ``return_X_y=True``.

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
    for name, value in (("as_frame", as_frame), ("return_X_y", return_X_y)):
        if not isinstance(value, bool | np.bool_):
            raise ValueError(f"{name} must be a bool, got {value!r}.")
    pd = None
    if as_frame:
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "load_movielens(as_frame=True) requires pandas. Install pandas "
                "or pass as_frame=False to get numpy arrays."
            ) from exc

    if isinstance(path, str) and path in _VARIANTS and not Path(path).exists():
        if variant not in (None, path):
            raise ValueError(
                f"path={path!r} names a variant and variant={variant!r} another; "
                f"to load a folder named {path!r}, create it or pass its full path."
            )
        path, variant = None, path
    folder = _resolve_folder(path, variant, data_home)
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
    if return_X_y:
        if split is not None:
            return data.X_train, data.X_test, data.y_train, data.y_test
        return data.X, data.y
    return data


def _resolve_folder(path, variant, data_home):
    if path is None:
        home = Path(get_data_home(data_home))
        if not home.is_dir():
            raise FileNotFoundError(
                f"MovieLens data home {home} does not exist. Pass path= or "
                "data_home=, or set the SKLEARN_RBM_DATA environment variable, "
                "to a folder containing ml-100k/, ml-1m/, ml-latest-small/ or "
                "ml-10m*/."
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
    """The bytes of ``file`` (gunzipped for ``.gz``), without a UTF-8
    byte-order mark; a damaged gzip file is a ValueError naming it."""
    file = Path(file)
    if file.suffix == ".gz":
        try:
            with gzip.open(file, "rb") as f:
                raw = f.read()
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise ValueError(f"{file} is not a readable gzip file: {exc}.") from exc
    else:
        raw = file.read_bytes()
    return raw.removeprefix(codecs.BOM_UTF8)


# Numbers as numpy's reader takes them (spaces around a field allowed);
# Python's int() and float() would also take "1_000".
_INT = re.compile(r"\s*[+-]?[0-9]+\s*")
_FLOAT = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")
_COLUMNS = [
    ("user", np.int64),
    ("item", np.int64),
    ("rating", np.float64),
    ("timestamp", np.int64),
]
_CSV_HEADER = ["userid", "movieid", "rating"]


def _read_ratings(file, sep):
    """Parse a ratings file into (users, items, ratings, timestamps).

    The csv module reads the first lines (header and number of fields), then
    numpy's C reader parses the whole file, with int64 ids and timestamps and
    float64 ratings; when that fails, :func:`_find_bad_line` reports the
    first malformed line.
    """
    text = _read_bytes(file).decode("latin-1")
    delimiter = sep
    if sep == "::":  # csv and numpy take one-character delimiters only: one
        # that the text does not hold (a tab in a field is no separator)
        free = [c for c in "\t\x1f\x1e\x1d\x1c" if c not in text]
        if not free:
            raise ValueError(f"Ratings file {file} holds control characters.")
        text, delimiter = text.replace("::", free[0]), free[0]
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header, n_cols = 0, None
    for fields in rows:
        if not fields:
            continue
        if rows.line_num == 1 and sep == "," and not _INT.fullmatch(fields[0]):
            names = [f.strip().lower() for f in fields]
            if names[:3] != _CSV_HEADER or len(names) > 4:
                problem = "expected the header userId,movieId,rating[,timestamp]"
                _raise_line(file, 1, sep.join(fields), problem)
            header = 1
            continue
        n_cols = len(fields)
        if n_cols not in (3, 4):
            problem = f"expected 3 or 4 fields, got {n_cols}"
            _raise_line(file, rows.line_num, sep.join(fields), problem)
        break
    if n_cols is None:
        raise ValueError(f"Ratings file {file} contains no ratings.")

    bad_line = (text, file, sep, delimiter, n_cols, header)
    try:
        arr = np.loadtxt(
            io.StringIO(text),
            delimiter=delimiter,
            dtype=_COLUMNS[:n_cols],
            comments=None,
            skiprows=header,
            quotechar='"',
            ndmin=1,
        )
    except ValueError as exc:
        _find_bad_line(*bad_line, exc)
    if not np.all(np.isfinite(arr["rating"])):
        _find_bad_line(*bad_line, None)
    timestamps = arr["timestamp"].copy() if n_cols == 4 else None
    return arr["user"].copy(), arr["item"].copy(), arr["rating"].copy(), timestamps


def _raise_line(file, lineno, line, problem):
    raise ValueError(f"Malformed line {lineno} in {file}: {problem}: {line[:80]!r}.")


def _find_bad_line(text, file, sep, delimiter, n_cols, header, exc):
    """Raise a ValueError naming the first malformed line of ``text``."""
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for fields in rows:
        if rows.line_num <= header or not fields:
            continue
        lineno, line = rows.line_num, sep.join(fields)
        if len(fields) != n_cols:
            problem = (
                f"expected {n_cols} fields separated by {sep!r}, got {len(fields)}"
            )
            _raise_line(file, lineno, line, problem)
        for pos, name in ((0, "user id"), (1, "item id"), (3, "timestamp")):
            if pos < n_cols and not _INT.fullmatch(fields[pos]):
                _raise_line(file, lineno, line, f"{name} {fields[pos]!r} is not an int")
        if not (_FLOAT.fullmatch(fields[2]) and np.isfinite(float(fields[2]))):
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
            if len(row) < 2 or not _INT.fullmatch(row[0]):
                _raise_line(file, lineno, ",".join(row), "expected movieId,title,...")
            titles[int(row[0])] = row[1]
        return titles
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line:
            continue
        fields = line.split(sep)
        if len(fields) < 2 or not _INT.fullmatch(fields[0]):
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
