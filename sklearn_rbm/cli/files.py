"""Files the command line writes and loads: model files (skops, or joblib
only when trusted) and its CSV output, which :mod:`.io` reads back."""

import importlib
import importlib.util
import os
import re
import sys
from pathlib import Path

import numpy as np

from .io import PROG, CLIError, _one_line, note


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


def check_output(path, inputs=()):
    """Refuse an output path that cannot be written, before any work: a
    folder, a file in a folder that does not exist or is not writable, a
    read-only file, or one of the command's input files. ``None`` and ``-``
    (standard output) pass."""
    if path in (None, "-"):
        return
    path = Path(path)
    if path.is_dir():
        raise CLIError(f"{path}: is a directory; give a file name for the output")
    folder = path.parent
    if not folder.exists():
        raise CLIError(f"{path}: cannot write: no such directory {folder}")
    if not folder.is_dir():
        raise CLIError(f"{path}: cannot write: {folder} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CLIError(f"{path}: cannot write: directory {folder} is not writable")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise CLIError(f"{path}: cannot write: the file is read-only")
        for other in inputs:
            if other is not None and Path(other).exists() and path.samefile(other):
                raise CLIError(
                    f"{path}: the output file is also an input file; give "
                    "another name for the output"
                )


def model_path(path, inputs=()):
    """The path a model will be written to, checked before training: the
    format's suffix added to a bare name, any other suffix refused, and
    :func:`check_output`."""
    _, _, suffix = _model_format()
    path = Path(path)
    if path.suffix and path.suffix != suffix:
        # never write to another name than asked (it might hold another model)
        raise CLIError(
            f"{path}: models are written in {suffix[1:]} format; give a file "
            f"name ending in {suffix}"
        )
    if not path.suffix:
        path = path.with_suffix(suffix)
    if suffix == ".joblib":
        note(
            f"skops is not installed: {path} is a joblib (pickle) file, which "
            f"predict and recommend load only with {PICKLE_FLAG}"
        )
    check_output(path, inputs)
    return path


def save_model(est, path):
    """Write a fitted model to ``path`` (from :func:`model_path`): to a
    temporary file in the same folder, renamed when complete, so that a
    failed write leaves an earlier file of that name as it was."""
    save, _, _ = _model_format()
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        save(est, tmp)
        os.replace(tmp, path)
    except Exception as exc:  # unwritable path, serialisation error: one line
        raise CLIError(f"{path}: cannot write the model ({_one_line(exc)})") from exc
    finally:
        tmp.unlink(missing_ok=True)
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
        what = "" if head in _ZIP_MAGIC else ", not a readable joblib / pickle file"
        raise CLIError(
            f"{path}: cannot load the model{what} ({_one_line(exc)})"
        ) from exc
    if not hasattr(est, "recommend"):
        raise CLIError(f"{path}: not a CategoricalRBMRecommender model")
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(est)
    except NotFittedError as exc:
        raise CLIError(
            f"{path}: an unfitted CategoricalRBMRecommender; train one with {PROG} fit"
        ) from exc
    return est


# ---------------------------------------------------------------------- output
def _fmt(v):
    return f"{v:.6g}" if isinstance(v, float | np.floating) else str(v)


#: a field is quoted when the readers above would otherwise change it: it
#: holds a separator they might detect first, a quote or a line break, starts
#: with "#" (a comment) or a space, ends with a space, or is empty
_NEEDS_QUOTES = re.compile(r'[",\t\r\n]|::|\A[#\s]|\s\Z|\A\Z')


def _csv_field(v):
    text = _fmt(v)
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def format_csv(header, rows):
    """CSV lines (``\\n``-terminated) of a header and rows, read back by
    :func:`read_pairs`, :func:`read_ids` and :func:`read_ratings` as
    written (RFC 4180 quoting where needed)."""
    yield ",".join(map(_csv_field, header)) + "\n"
    for row in rows:
        yield ",".join(map(_csv_field, row)) + "\n"


def write_csv(path, header, rows):
    """CSV to a file or, for None or ``-``, standard output (see
    :func:`format_csv`)."""
    if path in (None, "-"):
        sys.stdout.writelines(format_csv(header, rows))
        return
    try:
        with open(path, "w", encoding="utf-8", newline="") as out:
            out.writelines(format_csv(header, rows))
    except OSError as exc:
        raise CLIError(f"{path}: cannot write: {exc.strerror or exc}") from exc
