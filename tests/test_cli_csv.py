"""The command line's files: standard CSV in (RFC 4180 quoting, gzip, bz2
and xz), CSV out that it reads back unchanged, output paths checked before
any data is read, and every error naming its file and line."""

import bz2
import gzip
import lzma
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sklearn_rbm import CategoricalRBMRecommender
from sklearn_rbm.cli import main
from sklearn_rbm.cli.files import model_path, save_model
from sklearn_rbm.cli.io import (
    CLIError,
    parse_ratings,
    read_ids,
    read_pairs,
    read_ratings,
)
from sklearn_rbm.datasets import make_ratings

FAST = ["--n-components", "8", "--max-iter", "3", "--random-state", "0"]

#: ids that a careless CSV writer or reader would change: separators,
#: quotes, line breaks, spaces inside and around, a leading "#" (a comment),
#: "::" and tabs (separators that would be detected first), non-ASCII
AWKWARD = [
    "Toy Story, part 2",
    'say "hi"',
    '"quoted"',
    "two\nlines",
    "crlf\r\nline",
    " leading",
    "trailing ",
    "#not a comment",
    "a::b",
    "tab\there",
    "semi;colon",
    "naïve café",
    "\u00a0nbsp",
    "plain",
]


def _ratings_text(X, y, sep=","):
    return "".join(f"{u}{sep}{i}{sep}{r:g}\n" for (u, i), r in zip(X, y))


def _write_csv(path, header, rows, quote_all=True):
    """A CSV file as a standard writer (Python's csv module) writes it; with
    every field quoted, or only those holding a comma, quote or line break
    (then spaces around a field and a "#" starting a line are read as
    blanks and a comment, as in a hand-written file)."""
    import csv

    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, quoting=quoting)
        w.writerow(header)
        w.writerows(rows)


# -------------------------------------------------------------- compression
@pytest.mark.parametrize(
    "compress, suffix",
    [(gzip.compress, ".gz"), (bz2.compress, ".bz2"), (lzma.compress, ".xz")],
    ids=["gzip", "bz2", "xz"],
)
def test_compressed_files_by_name_or_content(tmp_path, compress, suffix):
    X, y = make_ratings(n_users=20, n_items=10, density=0.5, random_state=0)
    data = compress(("user,item,rating\n" + _ratings_text(X, y)).encode())
    for name in ("ratings.csv" + suffix, "ratings.bin"):  # name or content
        path = tmp_path / name
        path.write_bytes(data)
        Xr, yr = read_ratings(path)
        np.testing.assert_array_equal(Xr, X)
        np.testing.assert_array_equal(yr, y)
    argv = ["fit", str(path), "-o", str(tmp_path / "m"), *FAST]
    assert main([*argv, "--no-early-stopping"]) == 0


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("r.csv.bz2", bz2.compress(b"1,2,3\n" * 50)[:-10], "damaged bz2 file"),
        ("r.csv.xz", lzma.compress(b"1,2,3\n" * 50)[:-10], "damaged xz file"),
        ("r.csv.gz", gzip.compress(b"1,2,3\n" * 50)[:-10], "damaged gzip file"),
        ("r.csv.gz", b"1,2,3\n2,3,4\n", "not a gzip file"),
        ("r.csv.bz2", b"1,2,3\n2,3,4\n", "not a bz2 file"),
        ("r.csv", b"PK\x03\x04" + b"\x00" * 40, "a zip archive"),
        ("r.csv", b"1,2,3\n1,3,\x004\n", "line 2: a NUL character"),
    ],
    ids=["bz2", "xz", "gzip", "gz-name", "bz2-name", "zip", "nul"],
)
def test_damaged_or_misnamed_compressed_files(
    tmp_path, capsys, name, content, expected
):
    path = tmp_path / name
    path.write_bytes(content)
    assert main(["fit", str(path), "-o", str(tmp_path / "m"), *FAST]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and name in err and expected in err, err
    assert not list(tmp_path.glob("m*"))


def test_text_starting_like_bz2_magic_is_text(tmp_path):
    # "BZh" and a digit begin a bz2 file only when its block signature follows
    path = tmp_path / "r.csv"
    path.write_text("BZh9,a,4\nBZh9,b,3\n")
    Xr, yr = read_ratings(path)
    assert Xr.tolist() == [["BZh9", "a"], ["BZh9", "b"]] and yr.tolist() == [4, 3]


# -------------------------------------------------------------- RFC 4180
def test_rfc4180_quoting(tmp_path):
    path = tmp_path / "r.csv"
    # line breaks in quoted fields (a record over several lines), CRLF line
    # endings, doubled quotes, spaces kept inside quotes and dropped outside
    path.write_bytes(
        b'"user","item","rating"\r\n'
        b'"u 1","two\r\nlines",4\r\n'
        b'u2 , " spaced " , 3\r\n'
        b'u3,"say ""hi""",5\r\n'
        b"u4,plain,2\r\n"
    )
    Xr, yr = read_ratings(path)
    assert Xr.tolist() == [
        ["u 1", "two\r\nlines"],
        ["u2", " spaced "],
        ["u3", 'say "hi"'],
        ["u4", "plain"],
    ]
    assert yr.tolist() == [4, 3, 5, 2]


def test_standard_csv_writer_output_is_read(tmp_path):
    # what Python's csv module (and spreadsheets) write, awkward ids included
    rng = np.random.default_rng(0)
    rows = [(u, i, int(rng.integers(1, 6))) for u in AWKWARD for i in AWKWARD[:5]]
    path = tmp_path / "r.csv"
    for quote_all in (True, False):
        if not quote_all:  # "#..." starting a line would be a comment
            rows = [(u, i, r) for u, i, r in rows if "#" not in u + i]
        _write_csv(path, ["user", "item", "rating"], rows, quote_all)
        Xr, yr = read_ratings(path)
        # spaces around unquoted fields are not part of them
        expected = [(u.strip(" "), i.strip(" "), r) for u, i, r in rows]
        if quote_all:
            expected = rows
        assert Xr.tolist() == [[u, i] for u, i, _ in expected]
        assert yr.tolist() == [r for _, _, r in expected]


def test_ids_are_integers_only_as_they_print(tmp_path):
    # "007", "+7" and "-0" are not the ids 7 and 0: as integers they would
    # merge with them
    path = tmp_path / "r.csv"
    path.write_text("7,1,4\n007,1,3\n+7,1,2\n0,2,1\n-0,2,5\n")
    Xr, _ = read_ratings(path)
    assert Xr[:, 0].tolist() == ["7", "007", "+7", "0", "-0"]
    assert len(set(Xr[:, 0].tolist())) == 5
    path.write_text("7,1,4\n-3,1,3\n0,2,1\n")
    Xr, _ = read_ratings(path)
    assert Xr.dtype == np.int64 and Xr[:, 0].tolist() == [7, -3, 0]


# ------------------------------------------------------------- round trips
@pytest.fixture(scope="module")
def awkward_model(tmp_path_factory):
    """A model fitted in Python on ids that the CLI must write and read back
    unchanged."""
    rng = np.random.default_rng(0)
    users = AWKWARD + [f"user {k}" for k in range(10)]
    items = AWKWARD + [f"item, {k}" for k in range(6)]
    pairs = [(u, i) for u in users for i in items if rng.random() < 0.6]
    X = np.array(pairs, dtype=object)
    y = rng.integers(1, 6, len(pairs)).astype(float)
    est = CategoricalRBMRecommender(
        n_components=4, max_iter=2, early_stopping=False, random_state=0
    ).fit(X, y)
    folder = tmp_path_factory.mktemp("awkward")
    path = save_model(est, model_path(folder / "model"))
    return path, est, X, y


def test_predict_output_reads_back_as_written(awkward_model, tmp_path):
    path, est, X, _ = awkward_model
    pairs = tmp_path / "pairs.csv"
    _write_csv(pairs, ["user", "item"], [(u, i) for u in AWKWARD for i in AWKWARD])
    first, second = tmp_path / "p1.csv", tmp_path / "p2.csv"
    assert main(["predict", str(path), str(pairs), "-o", str(first)]) == 0
    # the output is a pairs file: the same ids, the same predictions
    users, items = read_pairs(first, est)
    assert list(zip(users, items)) == [(u, i) for u in AWKWARD for i in AWKWARD]
    assert main(["predict", str(path), str(first), "-o", str(second)]) == 0
    assert second.read_bytes() == first.read_bytes()
    # ... and a ratings file (header user,item,prediction)
    Xr, yr = read_ratings(first)
    assert Xr.tolist() == [[u, i] for u in AWKWARD for i in AWKWARD]
    expected = est.predict(np.array(Xr, dtype=object))
    np.testing.assert_allclose(yr, expected, rtol=5e-6)


def test_recommend_output_reads_back_as_written(awkward_model, tmp_path, capsys):
    path, est, _, _ = awkward_model
    users_file = tmp_path / "users.csv"
    _write_csv(users_file, ["user"], [(u,) for u in AWKWARD])
    out = tmp_path / "recs.csv"
    argv = ["recommend", str(path), "--users-file", str(users_file), "-n", "3"]
    assert main([*argv, "-o", str(out)]) == 0
    assert read_ids(users_file, est.users_, "user") == AWKWARD
    # its users column is a users file; its rows are user,rank,item,score
    assert list(dict.fromkeys(read_ids(out, est.users_, "user"))) == AWKWARD
    rows, _ = _rows(out)
    items, scores = est.recommend(np.array(AWKWARD, dtype=object), n_items=3)
    assert [r[2] for r in rows] == [i for its in items.tolist() for i in its]
    np.testing.assert_allclose([float(r[3]) for r in rows], scores.ravel(), rtol=5e-6)


def _rows(path):
    from sklearn_rbm.cli.io import _records, read_text

    records = list(_records(path, read_text(path)))
    return [f for _, f, _ in records[1:]], records[0][1]


def test_cli_fit_on_awkward_ids_round_trips(tmp_path):
    # ratings with awkward ids, written by a standard CSV writer, fitted by
    # the CLI: the model holds the ids as written
    rng = np.random.default_rng(1)
    rows = [
        (u, i, int(rng.integers(1, 6)))
        for u in AWKWARD
        for i in AWKWARD
        if rng.random() < 0.7
    ]
    ratings = tmp_path / "r.csv"
    _write_csv(ratings, ["user", "item", "rating"], rows)
    argv = ["fit", str(ratings), "-o", str(tmp_path / "m"), *FAST]
    assert main([*argv, "--no-early-stopping"]) == 0
    from sklearn_rbm.cli import load_model

    est = load_model(tmp_path / "m.skops")
    assert sorted(est.users_.tolist()) == sorted({u for u, _, _ in rows})
    assert sorted(est.items_.tolist()) == sorted({i for _, i, _ in rows})


# ----------------------------------------------- output checked before work
@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if a model is trained or loaded."""

    def refuse(*args, **kwargs):
        raise AssertionError("the data was read or a model trained or loaded")

    import sklearn_rbm.cli.commands as commands

    monkeypatch.setattr(CategoricalRBMRecommender, "fit", refuse)
    monkeypatch.setattr(commands, "read_ratings", refuse)
    monkeypatch.setattr(commands, "load_model", refuse)


def _one_error(capsys):
    """The error line on standard error (after progress lines, if any)."""
    lines = capsys.readouterr().err.splitlines()
    errors = [line for line in lines if line.startswith("sklearn-rbm: error: ")]
    assert len(errors) == 1 and errors[0] == lines[-1], lines
    return errors[0]


def test_fit_checks_the_output_before_reading(tmp_path, capsys, no_training):
    ratings = tmp_path / "r.csv"
    ratings.write_text("1,1,4\n")
    (tmp_path / "adir.skops").mkdir()
    (tmp_path / "afile").write_text("x")
    cases = [
        (tmp_path / "m.joblib", "ending in .skops"),
        (tmp_path / "m.csv", "ending in .skops"),
        (tmp_path / "adir.skops", "is a directory"),
        (tmp_path / "missing" / "m.skops", "no such directory"),
        (tmp_path / "afile" / "m.skops", "is not a directory"),
    ]
    for output, expected in cases:
        assert main(["fit", str(ratings), "-o", str(output)]) == 2
        assert expected in _one_error(capsys)
    # an invalid option, too, is reported before anything is read
    argv = ["fit", str(ratings), "-o", str(tmp_path / "m"), "--n-components", "0"]
    assert main(argv) == 2
    assert "n_components" in _one_error(capsys)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root may write anywhere",
)
def test_unwritable_output_folder(tmp_path, capsys, no_training):
    ratings = tmp_path / "r.csv"
    ratings.write_text("1,1,4\n")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["fit", str(ratings), "-o", str(locked / "m.skops")]) == 2
        assert "not writable" in _one_error(capsys)
    finally:
        locked.chmod(0o700)


def test_predict_and_recommend_check_before_loading(tmp_path, capsys, no_training):
    model = tmp_path / "m.skops"
    model.write_text("never loaded")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("1,2\n")
    (tmp_path / "adir").mkdir()
    for argv, expected in [
        (["predict", str(model), str(pairs), "-o", str(tmp_path)], "is a directory"),
        (
            ["predict", str(model), str(pairs), "-o", str(tmp_path / "no" / "p.csv")],
            "no such directory",
        ),
        (["predict", str(model), str(pairs), "-o", str(pairs)], "also an input"),
        (["predict", str(model), str(pairs), "-o", str(model)], "also an input"),
        (["recommend", str(model), "--users", "1", "-o", str(model)], "also an input"),
        (["recommend", str(model), "--users", "1", "-n", "0"], "--n-items"),
        (["recommend", str(model)], "no users given"),
        (["recommend", str(model), "--users", "1", "-o", str(tmp_path)], "directory"),
    ]:
        assert main(argv) == 2
        assert expected in _one_error(capsys), argv


def test_evaluate_checks_cv_before_reading(tmp_path, capsys, no_training):
    assert main(["evaluate", str(tmp_path / "missing.csv"), "--cv", "1"]) == 2
    assert "--cv" in _one_error(capsys)


def test_failed_save_keeps_the_earlier_model(tmp_path, monkeypatch, capsys):
    import sklearn_rbm.cli.files as cli_io

    X, y = make_ratings(n_users=20, n_items=10, density=0.5, random_state=0)
    ratings = tmp_path / "r.csv"
    ratings.write_text(_ratings_text(X, y))
    model = tmp_path / "m.skops"
    model.write_bytes(b"the earlier model")
    save, load, suffix = cli_io._model_format()

    def broken_save(est, path):
        with open(path, "wb") as f:
            f.write(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(cli_io, "_model_format", lambda: (broken_save, load, suffix))
    argv = ["fit", str(ratings), "-o", str(model), *FAST, "--no-early-stopping"]
    assert main(argv) == 2
    assert "disk full" in _one_error(capsys)
    assert model.read_bytes() == b"the earlier model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.skops", "r.csv"]


# ------------------------------------------------- errors name file and line
@pytest.mark.parametrize(
    "content, expected",
    [
        ('1,2,4\n"a"b,2,3\n', "line 2: text after the closing quote"),
        ('1,2,4\n1,"3\n5,4\n', "line 2: a quoted field runs to the end"),
        ('1,2,4\n1,"x\ny",3,4,5\n', "line 2 (a record to line 3"),
        ("1,2,4\n\n# c\n1,3,abc\n", "line 4: rating 'abc'"),
        ("1,2,4\n1,,4\n", "line 2: empty field"),
        ('1,2,4\n1,"",4\n', "line 2: empty field"),
        ("1,2,4\n2,2,4\n1,2,3\n", "line 3: duplicate"),
        ("1,2,4\n1,3,4\x00\n", "line 2: a NUL character"),
        ("1\t2\t4\n1\t3\n", "line 2: expected 3 to 4 columns"),
    ],
)
def test_ratings_errors_name_file_and_line(tmp_path, capsys, content, expected):
    path = tmp_path / "ratings.csv"
    path.write_text(content, newline="")
    assert main(["fit", str(path), "-o", str(tmp_path / "m"), *FAST]) == 2
    err = _one_error(capsys)
    assert f"ratings.csv {expected}" in err, err


def test_pairs_and_users_errors_name_file_and_line(awkward_model, tmp_path, capsys):
    path, _, _, _ = awkward_model
    pairs = tmp_path / "pairs.csv"
    pairs.write_text('user,item\nplain,plain\nplain,"open\n')
    assert main(["predict", str(path), str(pairs)]) == 2
    assert "pairs.csv line 3: a quoted field" in _one_error(capsys)
    pairs.write_text("user,item\nplain\n")
    assert main(["predict", str(path), str(pairs)]) == 2
    assert "pairs.csv line 2: expected 2 to 4 columns" in _one_error(capsys)
    users = tmp_path / "users.csv"
    users.write_text('user\nplain\n"x"y\n')
    assert main(["recommend", str(path), "--users-file", str(users)]) == 2
    assert "users.csv line 3: text after the closing quote" in _one_error(capsys)


def test_fit_errors_name_the_ratings_file(tmp_path, capsys):
    path = tmp_path / "two.csv"
    path.write_text("1,1,3\n2,1,4\n")
    assert main(["fit", str(path), "-o", str(tmp_path / "m")]) == 2
    err = _one_error(capsys)
    assert "two.csv: early_stopping" in err and "--no-early-stopping" in err


def test_parse_ratings_needs_no_file():
    X, y = parse_ratings("mem.csv", '"a, b",x,4\nc,"y\nz",3\n')
    assert X.tolist() == [["a, b", "x"], ["c", "y\nz"]] and y.tolist() == [4, 3]
    with pytest.raises(CLIError, match="mem.csv line 2"):
        parse_ratings("mem.csv", "1,x,4\n2,x,four\n")


def test_zip_of_a_folder_is_refused_clearly(tmp_path, capsys):
    path = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("ml-100k/u.data", "1\t2\t3\t0\n")
    assert main(["fit", str(path)]) == 2
    assert "unpack it first" in _one_error(capsys)


def test_demo_output_folder_is_checked_first(tmp_path, capsys, monkeypatch):
    import sklearn_rbm.cli.demo as demo

    monkeypatch.setattr(demo, "run_demo", lambda *a, **k: pytest.fail("ran"))
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["demo", "--out", str(afile)]) == 2
    assert "not a directory" in _one_error(capsys)
    assert main(["demo", "--out", str(afile / "sub")]) == 2
    assert "cannot create the folder" in _one_error(capsys)


def test_output_to_a_closed_pipe_ends_quietly(awkward_model, tmp_path):
    import subprocess
    import sys

    path, _, _, _ = awkward_model
    users = ",".join(AWKWARD[-3:] * 200)
    cmd = [sys.executable, "-m", "sklearn_rbm", "recommend", str(path)]
    proc = subprocess.Popen(
        [*cmd, "--users", users, "-n", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    proc.stdout.read(10)
    proc.stdout.close()  # like `| head -c 10`
    err = proc.stderr.read().decode()
    assert proc.wait(60) in (0, 141)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


# ------------------------------------------------ columns read by their names
def test_columns_are_read_by_the_headers_names(capsys):
    rows = [(1, "a", 4), (2, "b", 3), (1, "b", 5)]
    plain = parse_ratings("r.csv", "".join(f"{u},{i},{r}\n" for u, i, r in rows))
    # swapped user and item columns, as a DataFrame would be read by name
    swapped = "movieId,userId,rating\n" + "".join(f"{i},{u},{r}\n" for u, i, r in rows)
    X, y = parse_ratings("s.csv", swapped)
    assert X.tolist() == plain[0].tolist() and y.tolist() == plain[1].tolist()
    assert "user = 'userId' (column 2)" in capsys.readouterr().err
    # the rating after a timestamp: the timestamp is never the rating
    ts = "userId,movieId,timestamp,rating\n" + "".join(
        f"{u},{i},{978300760 + k},{r}\n" for k, (u, i, r) in enumerate(rows)
    )
    X, y = parse_ratings("t.csv", ts)
    assert y.tolist() == [4, 3, 5]
    # a pairs file with a timestamp is implicit feedback, not ratings
    X, y = parse_ratings(
        "p.csv", "user,item,timestamp\n1,a,100\n2,b,101\n", implicit=True
    )
    assert y is None and X.tolist() == [[1, "a"], [2, "b"]]
    # the usual order reads as ever, extra columns included
    X, y = parse_ratings("u.csv", "user,item,rating,timestamp\n1,a,4,7\n")
    assert X.tolist() == [[1, "a"]] and y.tolist() == [4]
    # Amazon's reviews: an unknown word in the rating's place, a time column
    text = "reviewerID,asin,overall,unixReviewTime\nA1,B2,5.0,1400000000\n"
    X, y = parse_ratings("a.csv", text)
    assert X.tolist() == [["A1", "B2"]] and y.tolist() == [5.0]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("userId,rating\n1,4\n2,5\n", "names no item column"),
        ("user,user_id,item,rating\n1,1,a,4\n", "two user columns"),
        ("user,date,item,foo,bar\n1,2,a,4,1\n", "more than one could be it"),
        ("userId,movieId,timestamp\n1,2,3\n", "names no rating column"),
        ("movieId,userId,rating\n1,2\n", "line 2: expected 3 columns"),
    ],
)
def test_headers_that_do_not_fit_are_refused(text, expected):
    with pytest.raises(CLIError, match=expected):
        parse_ratings("h.csv", text, implicit="names no rating" not in expected)


def test_first_line_of_string_pairs_is_a_header_with_a_note(capsys):
    # two strings above string ids: a header, but it could be data
    X, y = parse_ratings("c.csv", "visitor_hash,content_hash\nab,ff\n", implicit=True)
    assert y is None and X.tolist() == [["ab", "ff"]]
    assert "first line 'visitor_hash,content_hash' read as a header" in (
        capsys.readouterr().err
    )
    X, _ = parse_ratings("c.csv", "alice,sku1\nbob,sku2\n", implicit=True, header=False)
    assert X.tolist() == [["alice", "sku1"], ["bob", "sku2"]]
    # no note where the line names both columns or numbers sit below it
    parse_ratings("c.csv", "who,what\n1,2\n3,4\n", implicit=True)
    parse_ratings("c.csv", "customer_id,sku\nalice,s1\n", implicit=True)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "text, expected",
    [
        # one id column named: the other of the first two is the other id
        ("user_id,joke_id,rating\n1,5,0.2\n", ([[1, 5]], [0.2])),
        ("CustomerID,StockCode,Quantity\nc1,s1,6\n", ([["c1", "s1"]], [6.0])),
        ("joke_id,user_id,rating\n5,1,0.2\n", ([[1, 5]], [0.2])),
        # profile is a user in some data sets and an item in others
        ("UserID,ProfileID,Rating\n1,7,10\n", ([[1, 7]], [10.0])),
        # header-less: an id that is also a column word is data
        ("alice,wine,4\nbob,beer,3\n", ([["alice", "wine"], ["bob", "beer"]], [4, 3])),
        ("user,apple,4\nu2,pear,3\n", ([["user", "apple"], ["u2", "pear"]], [4, 3])),
    ],
)
def test_headers_read_as_before_or_better(text, expected):
    X, y = parse_ratings("f.csv", text)
    assert X.tolist() == expected[0] and y.tolist() == expected[1]


def test_recommend_output_is_a_pairs_file_for_predict(awkward_model, tmp_path):
    path, est, _, _ = awkward_model
    recs = tmp_path / "recs.csv"
    argv = ["recommend", str(path), "--users", "plain", "-n", "3", "-o", str(recs)]
    assert main(argv) == 0
    # user,rank,item,score: the pairs are (user, item), not (user, rank)
    users, items = read_pairs(recs, est)
    rows, _ = _rows(recs)
    assert list(zip(users, items)) == [(r[0], r[2]) for r in rows]


def test_unfitted_or_foreign_model_files(tmp_path, capsys):
    from sklearn_rbm import persistence

    unfitted = tmp_path / "unfitted.skops"
    persistence.save(CategoricalRBMRecommender(), unfitted)
    assert main(["recommend", str(unfitted), "--users", "1"]) == 2
    assert "an unfitted CategoricalRBMRecommender" in _one_error(capsys)
    text = tmp_path / "ratings.csv"
    text.write_text("1,2,3\n")
    assert main(["recommend", str(text), "--users", "1", "--trusted-pickle"]) == 2
    assert "not a readable joblib / pickle file" in _one_error(capsys)


def test_similar_names_the_option_of_unknown_items(awkward_model, capsys):
    path, _, _, _ = awkward_model
    assert main(["similar", str(path), "--items", "plain", "nope"]) == 2
    err = _one_error(capsys)
    assert "--items / --items-file" in err and "'nope'" in err
