"""Files of the command line: ratings, pairs and user ids in, CSV and models out.

Input files are CSV as RFC 4180 writes it: a field in double quotes may hold
the separator, line breaks and doubled quotes; gzip, bz2 and xz files are
decompressed (recognised by their content); an optional header line, ``#``
comments, and the separators comma, tab, ``::`` (MovieLens 1M), ``;`` or
spaces. Output is CSV that these readers read back unchanged. Every error is
a :class:`CLIError` naming the file and, for a bad line, its number; output
paths are checked (:func:`check_output`, :func:`model_path`) before any data
is read.
"""

import bz2
import gzip
import io
import lzma
import math
import re
import sys
import zlib
from pathlib import Path

import numpy as np

from ..recommender.ids import MAX_ID_LENGTH

PROG = "sklearn-rbm"

# Strict numbers: Python's int() and float() also take "1_000", "٥" or "nan"
# (fields are stripped of spaces before they are matched). An integer id is
# written as it prints: "007", "+7" and "-0" are string ids, which would
# otherwise merge with the ids 7 and 0.
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = ("nan", "inf", "infinity")


class CLIError(Exception):
    """A user error: reported as one line on stderr, exit status 2."""


def _one_line(exc):
    return " ".join(str(exc).split())[:200]


def note(message):
    """A note on standard error (the program goes on)."""
    print(f"{PROG}: note: {message}", file=sys.stderr)


# --------------------------------------------------------------------- reading
# compressed files, known by their first bytes (or refused when their name
# says they are compressed and their content does not)
_BZ2_MAGIC = re.compile(rb"BZh[1-9](?:1AY&SY|\x17\x72\x45\x38\x50\x90)")
_COMPRESSED_SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz"}


def _compression(raw):
    """The compression of a file's bytes: ``"gzip"``, ``"bz2"``, ``"xz"``,
    ``"zip"`` or None."""
    if raw.startswith(b"\x1f\x8b"):
        return "gzip"
    if _BZ2_MAGIC.match(raw[:10]):
        return "bz2"
    if raw.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if raw.startswith(b"PK\x03\x04"):
        return "zip"
    return None


def _decompress(path, raw):
    kind = _compression(raw)
    expected = _COMPRESSED_SUFFIXES.get(path.suffix.lower())
    if kind is None and expected is not None:
        raise CLIError(
            f"{path}: not a {expected} file (its name ends in {path.suffix}, but "
            f"it does not start with the {expected} signature)"
        )
    if kind == "zip":
        raise CLIError(
            f"{path}: a zip archive; unpack it first (a MovieLens archive: "
            "give the unpacked folder)"
        )
    if kind is None:
        return raw
    decompress = {"gzip": gzip.decompress, "bz2": bz2.decompress}.get(
        kind, lzma.decompress
    )
    try:
        return decompress(raw)
    except MemoryError as exc:
        raise CLIError(f"{path}: out of memory decompressing the file") from exc
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
        raise CLIError(f"{path}: damaged {kind} file ({_one_line(exc)})") from exc


def read_text(path):
    """The text of a file: gzip, bz2 and xz are decompressed (known by their
    content), UTF-8 (with or without a byte-order mark) decoded, falling back
    to Latin-1; UTF-16 and NUL characters (binary files) are refused."""
    path = Path(path)
    if not path.exists():
        raise CLIError(f"{path}: no such file or directory")
    if path.is_dir():
        raise CLIError(f"{path}: is a directory, expected a file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CLIError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return decode_text(path, raw)


def decode_text(path, raw):
    """The text of the bytes ``raw`` of the file ``path`` (see
    :func:`read_text`)."""
    path = Path(path)
    raw = _decompress(path, raw)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CLIError(
            f"{path}: UTF-16 text (a spreadsheet's 'Unicode text' export?) is "
            "not supported; save the file as UTF-8 (or CSV) instead"
        )
    nul = raw.find(b"\x00")
    if nul >= 0:
        before = io.StringIO(raw[:nul].decode("latin-1") + "x", newline="")
        raise CLIError(
            f"{path.name} line {len(before.readlines())}: a NUL character (a "
            "binary file?)"
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


#: spaces around a field, which are not part of it (a tab is a separator in
#: a tab-separated file)
_BLANKS = " \t\f\v"
_SPACE_RUN = re.compile(r"[ \t\f\v]+")


class _Record:
    """Split one record (a line, or several when a quoted field holds line
    breaks) at ``sep``, RFC 4180 quoting: a field that starts with a double
    quote ends at the next single one, ``""`` in it is one quote, and
    separators and line breaks in it are part of it. ``more()`` gives the
    next line of the file (None at its end)."""

    def __init__(self, sep, name, more):
        self.sep, self.name, self.more = sep, name, more
        self.blanks = _BLANKS.replace("\t", "") if sep == "\t" else _BLANKS

    def _end(self, line):
        """Where the fields of ``line`` end: before its line ending (and, with
        spaces as the separator, before the spaces at its end)."""
        line = line.rstrip("\r\n")
        return len(line.rstrip(_BLANKS) if self.sep == " " else line)

    def _skip_blanks(self, line, pos, n):
        while pos < n and line[pos] in self.blanks:
            pos += 1
        return pos

    def _next_sep(self, line, pos, n):
        """``(start, end)`` of the next separator in ``line[pos:n]``, or None."""
        if self.sep == " ":
            m = _SPACE_RUN.search(line, pos, n)
            return (m.start(), m.end()) if m else None
        j = line.find(self.sep, pos, n)
        return (j, j + len(self.sep)) if j >= 0 else None

    def split(self, line, lineno):
        """``(fields, last line number)`` of the record starting with ``line``
        (its line ending included) on line ``lineno``."""
        fields, start = [], lineno
        n = self._end(line)
        pos = self._skip_blanks(line, 0, n)
        while True:
            if not line.startswith('"', pos):
                found = self._next_sep(line, pos, n)
                end = found[0] if found else n
                fields.append(line[pos:end].strip(_BLANKS))
                if found is None:
                    return fields, lineno
                pos = self._skip_blanks(line, found[1], n)
                continue
            parts, pos = [], pos + 1
            while True:  # the quoted field, over as many lines as it takes
                q = line.find('"', pos)
                if q < 0:
                    parts.append(line[pos:])
                    line = self.more()
                    if line is None:
                        raise CLIError(
                            f"{self.name} line {start}: a quoted field runs to "
                            "the end of the file (a quote missing?)"
                        )
                    lineno, pos, n = lineno + 1, 0, self._end(line)
                    continue
                parts.append(line[pos:q])
                if line.startswith('"', q + 1):  # "" is one quote
                    parts.append('"')
                    pos = q + 2
                    continue
                break
            fields.append("".join(parts))
            after = self._skip_blanks(line, q + 1, n)
            if after >= n:
                return fields, lineno
            if self.sep == " " and after > q + 1:
                pos = after
            elif self.sep != " " and line.startswith(self.sep, after):
                pos = self._skip_blanks(line, after + len(self.sep), n)
            else:
                raise CLIError(
                    f"{self.name} line {lineno}: text after the closing quote "
                    f"of a field ({line[q : after + 10].strip()!r}; a quote in a "
                    'quoted field is written "")'
                )
            if pos >= n:  # a separator at the end of the line: an empty field
                fields.append("")
                return fields, lineno


def _records(path, text):
    """``(line number, fields, last line number)`` of each record of
    ``text`` that is neither blank nor a ``#`` comment, its fields stripped
    of spaces (not inside quotes). A record is one line, or several when a
    quoted field holds line breaks."""
    name = Path(path).name
    lines = io.StringIO(text, newline="")
    first = next(
        (line for line in lines if line.strip(_BLANKS + "\r\n")[:1] not in ("", "#")),
        "",
    )
    while first.count('"') % 2:  # the whole first record, quotes closed
        line = next(lines, None)
        if line is None:
            break
        first += line
    sep = _separator(first)
    lines = io.StringIO(text, newline="")
    record = _Record(sep, name, lambda: next(lines, None))
    # most files have no spaces to strip (a tab is the separator of a
    # tab-separated file, not a space around a field)
    blanks = _BLANKS.replace("\t", "") if sep == "\t" else _BLANKS
    strip = any(c in text for c in blanks)
    lineno = comments = 0
    for line in lines:
        lineno += 1
        body = line.rstrip("\r\n")
        rest = body.lstrip(_BLANKS) if body[:1] in _BLANKS else body
        if not rest or rest[0] == "#":
            comments += rest[:1] == "#"
            continue
        if '"' in body:
            fields, last = record.split(line, lineno)
            yield lineno, fields, last
            lineno = last
            continue
        if sep == " ":
            fields = _SPACE_RUN.split(body.strip(_BLANKS))
        else:
            fields = body.split(sep)
            if strip:
                fields = [f.strip(_BLANKS) for f in fields]
        yield lineno, fields, lineno
    if comments:  # an unquoted id such as #1 (pandas' to_csv) reads as one
        note(
            f"{name}: skipped {comments} comment line(s) starting with '#'; "
            'quote an id that starts with "#" ("#1") to read it as data'
        )


def _is_number(text):
    return _NUMBER.fullmatch(text) is not None


def _ratings_header(fields, following=None):
    """A ratings file's first line is a header when its rating and user
    fields are not numbers (``user,item,rating``, ``uid,iid,stars``...)."""
    if len(fields) < 3:
        return False  # data, of the wrong width: the row's error says so
    return not _is_number(fields[2]) and not _is_number(fields[0])


def _read_table(
    path, text, n_cols, what, max_cols, header=None, is_header=None, columns=None
):
    """Rows of ``n_cols`` to ``max_cols`` fields of the text of a file (None:
    at least ``n_cols``), and the line number of each row.

    ``header``: True skips the first row, False reads it as data, None
    detects a header with ``is_header(fields, following)`` (the first row's
    fields and the next row's, or None; default: :func:`_ratings_header`).
    ``columns(names)``, given a header's fields, returns the indices of the
    columns to keep in that order (every row must then have as many fields
    as the header) or None to keep the rows as they are.
    """
    is_header = is_header or _ratings_header
    name = Path(path).name
    records = list(_records(path, text))
    if records and header is None:
        following = records[1][1] if len(records) > 1 else None
        header = bool(is_header(records[0][1], following))
    order = None
    if records and header:
        names = records.pop(0)[1]
        order = columns(names) if columns is not None else None
        if order is not None:
            n_cols = max_cols = len(names)
            what = ",".join(names)
    rows, linenos = [], []
    for lineno, fields, last in records:
        if not n_cols <= len(fields) <= (max_cols or math.inf):
            expected = f"{n_cols} to {max_cols}" if max_cols else f"at least {n_cols}"
            if n_cols == max_cols:
                expected = str(n_cols)
            where = f"line {lineno}"
            if last > lineno:
                where += f" (a record to line {last}: a quote missing?)"
            raise CLIError(
                f"{name} {where}: expected {expected} columns ({what}), "
                f"got {len(fields)}"
            )
        if order is not None:
            fields = [fields[k] for k in order]
        width = len(fields) if order is not None else n_cols
        if not all(fields[:width]):
            raise CLIError(f"{name} line {lineno}: empty field")
        for what_id, field in zip(("user id", "item id"), fields[: min(width, 2)]):
            if len(field) > MAX_ID_LENGTH:  # before any fixed-width array
                raise CLIError(
                    f"{name} line {lineno}: {what_id} of {len(field)} characters; "
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


def read_ratings(path, header=None, implicit=False, repeats=False):
    """``(X, y)`` from a ratings file or a MovieLens folder.

    A file holds ``user,item,rating`` lines (an optional fourth column, a
    timestamp, is ignored), with an optional header line. With
    ``implicit=True`` a file of ``user,item`` lines (no rating column:
    plays, clicks) is also read, as ``(X, None)``; a pair may repeat there,
    and in a ratings file too with ``repeats=True`` (``--feedback implicit``:
    the ratings are ignored, each pair a choice).
    """
    path = Path(path)
    if path.is_dir():
        from sklearn_rbm.datasets import load_movielens

        try:
            data = load_movielens(path, as_frame=False)
        except (OSError, ValueError) as exc:
            raise CLIError(" ".join(str(exc).split())) from exc
        return np.asarray(data.X), np.asarray(data.y, dtype=np.float64)
    text = read_text(path)
    return parse_ratings(path, text, header=header, implicit=implicit, repeats=repeats)


def _pairs_header(path):
    """Header test of a pairs file (``user,item`` lines, no rating): its
    first line is a header when neither field is a number. A note says so
    unless it names a user and an item column (``userId,movieId``) or the
    next line has a number in their place (``u,i`` above integer ids): a
    header-less file of string ids loses its first line otherwise."""
    from .columns import names_both

    def is_header(fields, following=None):
        if len(fields) > 2:
            return _ratings_header(fields)
        if _is_number(fields[0]) or _is_number(fields[1]):
            return False
        numbers_below = following is not None and any(map(_is_number, following[:2]))
        if not (names_both(fields) or numbers_below):
            note(
                f"{Path(path).name}: first line {','.join(fields)!r} read as a "
                "header (use --no-header if it is data)"
            )
        return True

    return is_header


def parse_ratings(path, text, header=None, implicit=False, repeats=False):
    """``(X, y)`` from the text of the ratings file ``path`` (see
    :func:`read_ratings`)."""
    from .columns import by_name

    path = Path(path)
    if implicit:
        rows, linenos = _read_table(
            path,
            text,
            2,
            "user,item[,rating]",
            4,
            header=header,
            is_header=_pairs_header(path),
            columns=lambda names: by_name(path, names, "optional"),
        )
        widths = {min(len(f), 3) for f in rows}
        if widths == {2}:  # plays, clicks: a pair may repeat (fit counts it once)
            return _pairs(path, rows, linenos, repeats=True), None
        if 2 in widths:
            lineno = linenos[[len(f) for f in rows].index(2)]
            raise CLIError(
                f"{path.name} line {lineno}: expected 3 to 4 columns "
                "(user,item,rating), got 2: other lines have a rating column "
                "(a file has ratings on every line or on none)"
            )
    else:
        rows, linenos = _read_table(
            path,
            text,
            3,
            "user,item,rating",
            4,
            header=header,
            columns=lambda names: by_name(path, names, "needed"),
        )
    texts = [f[2] for f in rows]
    ratings = np.array(texts, dtype=np.float64) if _all_match(_NUMBER, texts) else None
    if ratings is None or not np.isfinite(ratings).all():
        for text, lineno in zip(texts, linenos):
            _check_rating(text, path.name, lineno)  # raises at the first bad one
    return _pairs(path, rows, linenos, repeats=repeats), ratings


def _pairs(path, rows, linenos, repeats=False):
    """The ``(user, item)`` array of the rows; a pair twice is refused
    unless ``repeats``."""
    pairs = [(f[0], f[1]) for f in rows]
    if not repeats and len(set(pairs)) < len(pairs):
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
    return pairs_array(users, items)


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


def unknown_tokens(tokens, matched, fitted):
    """The tokens whose ids (``matched``, from :func:`match_ids`) are not
    among the model's ids ``fitted``."""
    fitted = np.asarray(fitted)
    is_str, known = fitted.dtype.kind == "U", set(fitted.tolist())
    return [
        t
        for t, v in zip(tokens, matched.tolist(), strict=True)
        if isinstance(v, str) != is_str or v not in known
    ]


def note_unknown(kind, tokens, matched, fitted):
    """Tell stderr which distinct ids (as written) the model does not know:
    they get the documented fallback, which must not pass unnoticed."""
    unknown = dict.fromkeys(unknown_tokens(tokens, matched, fitted))
    if unknown:
        # an id holding a comma, a quote or outer spaces is shown quoted
        shown = ", ".join(
            f'"{t}"' if t != t.strip() or "," in t or '"' in t else t
            for t in list(unknown)[:5]
        ) + (", ..." if len(unknown) > 5 else "")
        note(
            f"{len(unknown)} {kind} id(s) not in the model ({shown}) get the "
            "fallback for unknown ids"
        )


def _is_known(token, fitted):
    """Whether a token is one of the model's ids."""
    return not unknown_tokens([token], match_ids([token], fitted), fitted)


def _id_header(path, fitted_ids):
    """Header test of the first line of a file of ids: none of its ids is
    an id of the model and one of them is not a number (``user,item``,
    ``uid,iid``...); a note says so, unless the first field is ``user``."""

    def is_header(fields, following=None):
        tokens = fields[: len(fitted_ids)]
        found = not any(
            _is_known(t, ids) for t, ids in zip(tokens, fitted_ids)
        ) and not all(map(_is_number, tokens))
        quiet = ("user", "userid", "user_id", "u", "item", "itemid", "item_id", "i")
        if found and fields[0].lower() not in quiet:
            note(
                f"{Path(path).name}: first line {','.join(fields)!r} read as a "
                "header (use --no-header if it is data)"
            )
        return found

    return is_header


def read_pairs(path, est, header=None):
    """``(user, item)`` id tokens from a file (a third or fourth column is
    ignored), with a header detected by :func:`_id_header` unless ``header``
    says; a header that names the user and item columns picks them."""
    from .columns import by_name

    path = Path(path)
    ids = (est.users_, est.items_)
    rows, _ = _read_table(
        path,
        read_text(path),
        2,
        "user,item",
        4,
        header=header,
        is_header=_id_header(path, ids),
        columns=lambda names: by_name(path, names, "ignored"),
    )
    return [f[0] for f in rows], [f[1] for f in rows]


def read_ids(path, fitted, kind, header=None):
    """Id tokens of ``kind`` ("user", "item"), the first field of each line
    of a file (``fitted``: the model's ids of that kind, for the header
    test)."""
    is_header = _id_header(path, (fitted,))
    text = read_text(path)
    rows, _ = _read_table(path, text, 1, kind, None, header=header, is_header=is_header)
    return [f[0] for f in rows]
