"""Files of the command line: ratings, pairs and user ids in, CSV and models out.

Input files are read with the :mod:`csv` module: quoted fields (a quoted
field may hold the separator), gzip-compressed files (recognised by their
content), an optional header line, ``#`` comments, and the separators comma,
tab, ``::`` (MovieLens 1M), ``;`` or spaces. Every error is a
:class:`CLIError` naming the file and, for a bad line, its number.
"""

import csv
import gzip
import importlib
import importlib.util
import io
import math
import re
import sys
import zlib
from pathlib import Path

import numpy as np

from ..recommender.ids import MAX_ID_LENGTH

PROG = "sklearn-rbm"

# Strict numbers: Python's int() and float() also take "1_000", "٥" or "nan"
# (fields are stripped of spaces before they are matched).
_INT = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = ("nan", "inf", "infinity")
# one-character stand-ins for the two-character separator "::", which the csv
# module cannot take; the first one absent from a file is used
_STAND_INS = "\x1f\x1e\x1d\x1c\x01\x02\x03"


class CLIError(Exception):
    """A user error: reported as one line on stderr, exit status 2."""


def note(message):
    """A note on standard error (the program goes on)."""
    print(f"{PROG}: note: {message}", file=sys.stderr)


# --------------------------------------------------------------------- reading
def read_text(path):
    """The text of a file: gzip is decompressed, UTF-8 (with or without a
    byte-order mark) decoded, falling back to Latin-1; UTF-16 is refused."""
    path = Path(path)
    if not path.exists():
        raise CLIError(f"{path}: no such file or directory")
    if path.is_dir():
        raise CLIError(f"{path}: is a directory, expected a file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CLIError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if raw.startswith(b"\x1f\x8b"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise CLIError(f"{path}: damaged gzip file ({exc})") from exc
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
    """The separator of a file, from its first data line (quoted text, which
    may hold any separator, left out); ``" "`` stands for runs of spaces."""
    line = re.sub(r'"[^"]*"', "", line)
    return next((sep for sep in ("::", "\t", ",", ";") if sep in line), " ")


def _csv_rows(path, text):
    """``(line number, fields)`` of each line of ``text`` that is neither
    blank nor a ``#`` comment, its fields stripped of spaces."""
    name = Path(path).name
    lines = io.StringIO(text, newline="")
    first = next((line for line in lines if line.strip()[:1] not in "#"), "")
    delimiter = sep = _separator(first)
    if sep == "::":
        delimiter = next((c for c in _STAND_INS if c not in text), None)
        if delimiter is None:
            raise CLIError(f"{name}: cannot read a '::' file holding control codes")
        text = text.replace("::", delimiter)
    # only a quoted field can hold the stand-in, from a "::" inside the quotes
    restore = sep != delimiter and '"' in text
    raw_lines = io.StringIO(text, newline="").readlines()  # as the reader sees them
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True
    )
    last = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field over csv.field_size_limit()
            raise CLIError(f"{name} line {reader.line_num}: {exc}") from None
        lineno, last = last + 1, reader.line_num
        if lineno != last:
            raise CLIError(
                f"{name} line {lineno}: a quoted field runs past the end of the "
                "line (a quote missing?)"
            )
        if sep == " " and fields and not fields[-1]:
            fields.pop()  # spaces at the end of the line
        fields = [f.strip() for f in fields]
        # a comment is a line that starts with '#', not a quoted "#id"
        comment = raw_lines[lineno - 1].lstrip().startswith("#")
        if not fields or fields == [""] or comment:
            continue
        if restore:
            fields = [f.replace(delimiter, sep) for f in fields]
        yield lineno, fields


def _is_number(text):
    return _NUMBER.fullmatch(text) is not None


def _ratings_header(fields):
    """A ratings file's first line is a header when its rating and user
    fields are not numbers (``user,item,rating``, ``uid,iid,stars``...)."""
    return not _is_number(fields[2]) and not _is_number(fields[0])


def _read_table(path, n_cols, what, max_cols, header=None, is_header=None):
    """Rows of ``n_cols`` to ``max_cols`` fields of a file (None: at least
    ``n_cols``), and the line number of each row.

    ``header``: True skips the first row, False reads it as data, None
    detects a header with ``is_header(fields)`` (default:
    :func:`_ratings_header`).
    """
    is_header = is_header or _ratings_header
    name = Path(path).name
    rows, linenos = [], []
    for lineno, fields in _csv_rows(path, read_text(path)):
        if header:  # skip the first row, whatever it holds
            header = False
            continue
        if not n_cols <= len(fields) <= (max_cols or math.inf):
            expected = f"{n_cols} to {max_cols}" if max_cols else f"at least {n_cols}"
            raise CLIError(
                f"{name} line {lineno}: expected {expected} columns ({what}), "
                f"got {len(fields)}"
            )
        if header is None:
            header = False
            if is_header(fields):
                continue
        if not all(fields[:n_cols]):
            raise CLIError(f"{name} line {lineno}: empty field")
        for what, field in zip(("user id", "item id"), fields[: min(n_cols, 2)]):
            if len(field) > MAX_ID_LENGTH:  # before any fixed-width array
                raise CLIError(
                    f"{name} line {lineno}: {what} of {len(field)} characters; "
                    f"ids are limited to {MAX_ID_LENGTH} characters"
                )
        rows.append(fields)
        linenos.append(lineno)
    if not rows:
        raise CLIError(f"{name}: empty file, no {what} rows")
    return rows, linenos


def _all_match(pattern, values):
    """Whether every value matches ``pattern`` (each distinct value once)."""
    return all(pattern.fullmatch(v) for v in set(values))


def _check_rating(text, name, lineno):
    """Raise the error of a rating that is not a finite decimal number."""
    number = _is_number(text)
    if number and math.isfinite(float(text)):
        return
    finite = number or text.lower().lstrip("+-") in _NON_FINITE  # 1e999, nan
    what = "a finite number" if finite else "a number"
    raise CLIError(f"{name} line {lineno}: rating {text!r} is not {what}")


def _id_array(values):
    """One id column of a ratings file: int64 ids when every id of the
    column is an integer, else str ids (the ids of a column have one type)."""
    if _all_match(_INT, values):
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:
            pass
    return np.array(values, dtype=str)


def pairs_array(users, items):
    """``(n, 2)`` pairs; each column keeps its own type (int user ids with
    str item ids become an object array, not all strings)."""
    if users.dtype.kind == items.dtype.kind:
        return np.column_stack([users, items])
    X = np.empty((len(users), 2), dtype=object)
    X[:, 0], X[:, 1] = users, items
    return X


def read_ratings(path, header=None):
    """``(X, y)`` from a ratings file or a MovieLens folder.

    A file holds ``user,item,rating`` lines (an optional fourth column, a
    timestamp, is ignored), with an optional header line.
    """
    path = Path(path)
    if path.is_dir():
        from sklearn_rbm.datasets import load_movielens

        try:
            data = load_movielens(path, as_frame=False)
        except (OSError, ValueError) as exc:
            raise CLIError(" ".join(str(exc).split())) from exc
        return np.asarray(data.X), np.asarray(data.y, dtype=np.float64)
    rows, linenos = _read_table(path, 3, "user,item,rating", 4, header=header)
    texts = [f[2] for f in rows]
    ratings = np.array(texts, dtype=np.float64) if _all_match(_NUMBER, texts) else None
    if ratings is None or not np.isfinite(ratings).all():
        for text, lineno in zip(texts, linenos):
            _check_rating(text, path.name, lineno)  # raises at the first bad one
    pairs = [(f[0], f[1]) for f in rows]
    if len(set(pairs)) < len(pairs):
        seen = {}
        for (user, item), lineno in zip(pairs, linenos):
            if (user, item) in seen:
                raise CLIError(
                    f"{path.name} line {lineno}: duplicate rating of item {item!r} "
                    f"by user {user!r} (first on line {seen[user, item]})"
                )
            seen[user, item] = lineno
    users = _id_array([f[0] for f in rows])
    items = _id_array([f[1] for f in rows])
    return pairs_array(users, items), ratings


def match_ids(tokens, fitted):
    """Ids from a file or the command line, typed like the model's ids.

    Each id on its own: against integer ids, an integer token becomes an
    int and any other token stays a string (an unknown id, which gets the
    fallback without affecting the other ids); against string ids every
    token is a string.
    """
    if np.asarray(fitted).dtype.kind not in "iu":
        return np.array(tokens, dtype=str)
    out = np.array([int(t) if _INT.fullmatch(t) else t for t in tokens], dtype=object)
    if all(isinstance(v, int) for v in out):
        try:
            return out.astype(np.int64)
        except OverflowError:
            pass
    return out


def _is_known(token, fitted):
    """Whether a token is one of the model's ids."""
    v = match_ids([token], fitted)[0]
    fitted = np.asarray(fitted)
    if isinstance(v, str) != (fitted.dtype.kind == "U"):
        return False
    return bool(np.any(fitted == v))


def _id_header(path, fitted_ids):
    """Header test of the first line of a file of ids: none of its ids is
    an id of the model and one of them is not a number (``user,item``,
    ``uid,iid``...); a note says so, unless the first field is ``user``."""

    def is_header(fields):
        tokens = fields[: len(fitted_ids)]
        found = not any(
            _is_known(t, ids) for t, ids in zip(tokens, fitted_ids)
        ) and not all(map(_is_number, tokens))
        if found and fields[0].lower() not in ("user", "userid", "user_id", "u"):
            note(
                f"{Path(path).name}: first line {','.join(fields)!r} read as a "
                "header (use --no-header if it is data)"
            )
        return found

    return is_header


def read_pairs(path, est, header=None):
    """``(user, item)`` id tokens from a file (a third or fourth column is
    ignored), with a header detected by :func:`_id_header` unless ``header``
    says."""
    ids = (est.users_, est.items_)
    rows, _ = _read_table(
        path, 2, "user,item", 4, header=header, is_header=_id_header(path, ids)
    )
    return [f[0] for f in rows], [f[1] for f in rows]


def read_users(path, est, header=None):
    """User id tokens, the first field of each line of a file."""
    is_header = _id_header(path, (est.users_,))
    rows, _ = _read_table(path, 1, "user", None, header=header, is_header=is_header)
    return [f[0] for f in rows]


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


def _one_line(exc):
    return " ".join(str(exc).split())[:200]


def save_model(est, path):
    """Write a fitted model; returns the path written (a suffix added to a
    bare name)."""
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
        note(f"writing {path} ({suffix[1:]} format)")
    if suffix == ".joblib":
        note(
            f"skops is not installed: {path} is a joblib (pickle) file, which "
            f"predict and recommend load only with {PICKLE_FLAG}"
        )
    try:
        save(est, path)
    except Exception as exc:  # unwritable path, serialisation error: one line
        raise CLIError(f"{path}: cannot write the model ({_one_line(exc)})") from exc
    return path


#: the option of predict and recommend that allows unpickling a model file
PICKLE_FLAG = "--trusted-pickle"
#: the first bytes of a zip archive (a skops file)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def load_model(path, allow_pickle=False):
    """A model written by ``sklearn-rbm fit``.

    A skops file (a zip archive, whatever its name) is loaded through
    :mod:`sklearn_rbm.persistence`. Any other file may be a pickle (joblib),
    and unpickling runs code chosen by the file: it is refused, before
    anything reads it as a pickle, unless ``allow_pickle`` (the
    ``--trusted-pickle`` option). Either way the loaded model's state is
    validated (``ValueError``, reported as "cannot load the model").
    """
    path = Path(path)
    if not path.exists():
        raise CLIError(f"{path}: no such model file")
    if path.is_dir():
        raise CLIError(f"{path}: is a directory, expected a model file")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise CLIError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if head in _ZIP_MAGIC:
        _, load, suffix = _model_format()
        if suffix != ".skops":
            raise CLIError(
                f"{path}: a skops model file; loading it needs skops "
                "(pip install skops)"
            )
    elif allow_pickle:
        import joblib

        load = joblib.load
    else:
        raise CLIError(
            f"{path}: cannot load the model: it is not a skops file, and a "
            "joblib / pickle file runs code when it is loaded; pass "
            f"{PICKLE_FLAG} only if you trust this file"
        )
    try:
        est = load(path)
    except Exception as exc:  # corrupt or foreign files: one line, no traceback
        raise CLIError(f"{path}: cannot load the model ({_one_line(exc)})") from exc
    if not hasattr(est, "recommend"):
        raise CLIError(f"{path}: not a CategoricalRBMRecommender model")
    return est


# ---------------------------------------------------------------------- output
def _fmt(v):
    return f"{v:.6g}" if isinstance(v, float | np.floating) else str(v)


def write_csv(path, header, rows):
    """CSV to a file or, for None or ``-``, standard output. Fields holding
    the separator or a quote are quoted (ids read from tab-separated files
    may contain commas), so the CLI reads its own output back."""

    def write(out):
        w = csv.writer(out, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            fields = [_fmt(v) for v in row]
            if fields and fields[0].startswith("#"):
                # quoted, so that it reads back as data, not as a comment
                out.write(f'"{fields[0].replace(chr(34), chr(34) * 2)}"')
                if len(fields) > 1:
                    out.write(",")
                    w.writerow(fields[1:])
                else:
                    out.write("\n")
            else:
                w.writerow(fields)

    if path in (None, "-"):
        write(sys.stdout)
        return
    try:
        with open(path, "w", encoding="utf-8", newline="") as out:
            write(out)
    except OSError as exc:
        raise CLIError(f"{path}: cannot write: {exc.strerror or exc}") from exc
