"""Coverage-guided fuzzing of what an attacker or a careless user controls.

Three targets:

``reader``
    The command line's ratings-file reader (``sklearn_rbm.cli.io``): bytes
    are decoded (gzip, bz2, xz, UTF-8 or Latin-1) and parsed as a ratings
    file. A parse either gives ``(X, y)`` or raises ``CLIError``. A parsed
    file is also written back with the CLI's CSV writer and read again, which
    must give the same ids and ratings ("reads back what it writes").
``load``
    ``sklearn_rbm.persistence.load`` on tampered skops files of small fitted
    models (a ``CategoricalRBMRecommender`` and a ``BernoulliRBM``). The
    input picks a model and one member of its zip (``schema.json`` or one of
    the ``.npy`` arrays) and replaces that member's bytes, and the zip is
    rebuilt around it, so that mutations reach skops and the estimators
    rather than failing the zip's checksums; a ``.npy`` member's array data
    can be replaced alone (its header kept, the data cut or padded to its
    length), so that the tampered arrays load; one choice takes the input as
    the whole zip file instead.
``predict``
    As ``load``, then the loaded model serves: ``predict`` and ``recommend``
    (recommender), ``transform`` and ``score_samples`` (RBM).

The documented errors are expected and counted: ``CLIError`` (reader),
``ValueError`` and ``TypeError`` (all), skops' ``UntrustedTypesFoundException``
(load, predict). Any other exception is a finding: its input and traceback
are saved under ``--crashes`` (one per exception type and place; for
``load`` and ``predict`` the tampered ``.skops`` file too), and
fuzzing goes on. An interpreter crash (segfault) stops the process; libFuzzer
saves its input as ``<crashes>/<target>-native-crash-<sha1>`` and
``--loop`` starts it again until ``--seconds`` have passed.

With atheris (``pip install atheris``) the search is coverage-guided
(``sklearn_rbm`` and ``skops`` are instrumented); without it, or with
``--mutator random``, a seeded random mutator runs (the smoke test of the
suite, ``tests/test_fuzz_smoke.py``, uses it)::

    python benchmarks/fuzz.py --target reader --runs 100000
    python benchmarks/fuzz.py --target load --seconds 600 --loop
    python benchmarks/fuzz.py --target predict --reproduce /tmp/fuzz-crashes/F

Executions and findings are written to ``<crashes>/stats-<target>-<pid>.json``
every few seconds (and at the end), so that runs ended by a crash count too.
"""

import argparse
import atexit
import hashlib
import importlib.util
import io
import json
import os
import random
import subprocess
import sys
import time
import traceback
import warnings
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TARGETS = ("reader", "load", "predict")
CRASHES = Path("/tmp/fuzz-crashes")


class RoundTripError(AssertionError):
    """The CLI read back something else than it wrote."""


# ------------------------------------------------------------------- inputs
#: ratings files for the reader: plain, quoted, compressed, odd separators
def _reader_seeds():
    import bz2
    import gzip

    plain = b"user,item,rating\n1,10,4\n1,11,3.5\n2,10,5\n3,12,1\n"
    quoted = (
        b'"user","item","rating"\r\n"u 1","Toy Story, part 2",4\r\n'
        b'"u2","say ""hi""",3\r\n"u3","two\nlines",5\r\n'
    )
    return [
        b"\x00" + plain,
        b"\x00" + quoted,
        b"\x00" + b"# comment\n\n1::10::4::978300760\n1::11::3::978300761\n",
        b"\x00" + b"1\t10\t4\n2\t10\t3\n",
        b"\x00" + b" 1  10 4 \n2 11   .5e1\n",
        b"\x00" + b"a;b;1e0\nc;d;-2\n007;+7;3\n",
        b"\x01" + gzip.compress(plain),
        b"\x02" + bz2.compress(quoted),
    ]


_READER_NAMES = ("r.csv", "r.csv.gz", "r.csv.bz2", "r.dat", "r.csv.xz")


def _skops_members(data):
    """``(name, bytes, data offset)`` of each member of a skops zip; the
    offset is where a ``.npy`` member's array data starts (None for other
    members)."""
    from numpy.lib import format as npy

    members = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            content, offset = z.read(info), None
            if info.filename.endswith(".npy"):
                f = io.BytesIO(content)
                if npy.read_magic(f) == (1, 0):
                    npy.read_array_header_1_0(f)
                else:
                    npy.read_array_header_2_0(f)
                offset = f.tell()
            members.append((info.filename, content, offset))
    return members


def _zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, content in members:
            z.writestr(name, content)
    return buf.getvalue()


def _models():
    """Small fitted models, as ``(estimator, skops bytes)``."""
    import numpy as np

    from sklearn_rbm import BernoulliRBM, CategoricalRBMRecommender
    from sklearn_rbm.datasets import make_ratings
    from sklearn_rbm.persistence import save

    X, y = make_ratings(n_users=12, n_items=8, density=0.5, random_state=0)
    rec = CategoricalRBMRecommender(
        n_components=3, max_iter=2, early_stopping=False, random_state=0
    ).fit(X, y)
    V = (np.random.default_rng(0).random((20, 6)) < 0.5).astype(float)
    rbm = BernoulliRBM(n_components=3, max_iter=2, random_state=0).fit(V)
    out = []
    for est in (rec, rbm):
        path = Path(f"/dev/shm/fuzz-seed-{os.getpid()}.skops")
        save(est, path)
        out.append((est, path.read_bytes()))
        path.unlink()
    return out


# ------------------------------------------------------------------ targets
class Target:
    """One fuzz target: ``seeds`` and ``__call__(data)``, which returns the
    name of the expected outcome or raises a finding."""

    expected = (ValueError, TypeError)

    def __init__(self):
        self.counts = {}


class Reader(Target):
    name = "reader"
    max_len = 4096

    def __init__(self):
        super().__init__()
        from sklearn_rbm.cli import io as cli_io

        self.io = cli_io
        self.expected = (cli_io.CLIError,)
        self.seeds = _reader_seeds()

    def __call__(self, data):
        if not data:
            return "empty"
        cli_io = self.io
        name = _READER_NAMES[data[0] % len(_READER_NAMES)]
        try:
            X, y = cli_io.parse_ratings(name, cli_io.decode_text(name, data[1:]))
        except cli_io.CLIError:
            return "CLIError"
        # the CLI's writer, read back by the CLI: the same ids and ratings
        rows = ((u, i, repr(float(r))) for (u, i), r in zip(X.tolist(), y))
        from sklearn_rbm.cli.files import format_csv

        text = "".join(format_csv(["user", "item", "rating"], rows))
        X2, y2 = cli_io.parse_ratings("back.csv", text, header=True)
        if X2.tolist() != X.tolist() or y2.tolist() != y.tolist():
            raise RoundTripError(f"{X.tolist()!r} {y.tolist()!r} -> {text!r}")
        return "parsed"


class Load(Target):
    name = "load"

    def __init__(self, serve=False):
        super().__init__()
        from skops.io.exceptions import UntrustedTypesFoundException

        from sklearn_rbm import persistence

        self.persistence = persistence
        self.serve = serve
        self.expected = (ValueError, TypeError, UntrustedTypesFoundException)
        self.models = [(est, _skops_members(data), data) for est, data in _models()]
        self.path = Path(f"/dev/shm/fuzz-{self.name}-{os.getpid()}.skops")
        atexit.register(self.path.unlink, missing_ok=True)
        self.seeds = []
        for m, (_, members, data) in enumerate(self.models):
            n = len(members) + 1
            for k, (_, content, offset) in enumerate(members):
                self.seeds.append(bytes([m, k]) + content)
                if offset is not None:  # the array data alone
                    self.seeds.append(bytes([m, n + k]) + content[offset:])
            self.seeds.append(bytes([m, len(members)]) + data)
        self.max_len = max(map(len, self.seeds)) + 1024

    def file_bytes(self, data):
        """The skops file of an input: a model's zip with one member, or one
        ``.npy`` member's array data, replaced; or the input itself.

        ``data[0]`` picks the model, ``data[1]`` the member and the mode."""
        if len(data) < 2:
            return None
        _, members, _ = self.models[data[0] % len(self.models)]
        n = len(members) + 1
        k, data_only = data[1] % n, data[1] // n % 2
        if k == len(members):
            return data[2:]
        name, content, offset = members[k]
        payload = data[2:]
        if data_only and offset is not None:
            size = len(content) - offset
            payload = content[:offset] + payload[:size].ljust(size, b"\0")
        return _zip(
            [(m, c) for m, c, _ in members[:k]]
            + [(name, payload)]
            + [(m, c) for m, c, _ in members[k + 1 :]]
        )

    def __call__(self, data):
        raw = self.file_bytes(data)
        if raw is None:
            return "short"
        self.path.write_bytes(raw)
        try:
            est = self.persistence.load(self.path)
        except self.expected as exc:
            return "load " + type(exc).__name__
        if not self.serve:
            return "loaded"
        return self.use(est)

    def use(self, est):
        import numpy as np
        from sklearn.utils.validation import check_is_fitted

        try:
            # a mutation can drop the fitted state: an unfitted model is a
            # valid outcome (its methods raise NotFittedError, a ValueError)
            check_is_fitted(est)
            if hasattr(est, "recommend"):
                users = np.asarray(est.users_)[:3].tolist() + [10**6]
                items = np.asarray(est.items_)[:3].tolist() + [10**6]
                X = np.array([(u, i) for u in users for i in items], dtype=object)
                est.predict(X)
                est.recommend(users, n_items=3)
            else:
                V = (np.arange(4 * est.n_features_in_).reshape(4, -1) % 3 == 0) * 1.0
                est.transform(V)
                est.score_samples(V)
        except (ValueError, TypeError) as exc:
            return "serve " + type(exc).__name__
        return "served"


class Predict(Load):
    name = "predict"

    def __init__(self):
        super().__init__(serve=True)


def make_target(name):
    return {"reader": Reader, "load": Load, "predict": Predict}[name]()


# ----------------------------------------------------------------- findings
class Recorder:
    """Counts executions and outcomes; saves each new finding's input."""

    def __init__(self, target, crashes, every=1.0, runs=0):
        self.target, self.crashes = target, Path(crashes)
        self.crashes.mkdir(parents=True, exist_ok=True)
        self.execs, self.outcomes, self.findings = 0, {}, {}
        self.stats = self.crashes / f"stats-{target.name}-{os.getpid()}.json"
        self.every, self.last = every, time.monotonic()
        self.t0, self.runs = time.monotonic(), runs

    def __call__(self, data):
        self.execs += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outcome = self.target(data)
        except Exception as exc:  # a finding: any other exception
            outcome = "FINDING " + self._save(data, exc)
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if self.execs == self.runs or time.monotonic() - self.last > self.every:
            self.write()
        return outcome

    def _save(self, data, exc):
        tb = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in tb if "sklearn_rbm" in f.filename or "skops" in f.filename]
        frame = (ours or tb)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        sig = f"{type(exc).__name__} at {where}"
        if sig not in self.findings:
            digest = hashlib.sha1(data).hexdigest()[:12]
            stem = f"{self.target.name}-{type(exc).__name__}-{digest}"
            (self.crashes / f"{stem}.bin").write_bytes(data)
            if hasattr(self.target, "file_bytes"):  # the tampered model file
                skops = self.target.file_bytes(data)
                if skops is not None:
                    (self.crashes / f"{stem}.skops").write_bytes(skops)
            text = "".join(traceback.format_exception(exc))
            (self.crashes / f"{stem}.txt").write_text(
                f"{sig}\nreproduce: python benchmarks/fuzz.py --target "
                f"{self.target.name} --reproduce {self.crashes / stem}.bin\n\n{text}"
            )
            self.findings[sig] = {"count": 0, "input": f"{stem}.bin"}
        self.findings[sig]["count"] += 1
        return sig

    def write(self):
        self.last = time.monotonic()
        self.stats.write_text(
            json.dumps(
                {
                    "target": self.target.name,
                    "execs": self.execs,
                    "seconds": round(time.monotonic() - self.t0, 1),
                    "outcomes": self.outcomes,
                    "findings": self.findings,
                },
                indent=1,
            )
        )


# ----------------------------------------------------------------- mutators
#: tokens that matter to the reader and to skops' schema
TOKENS = [
    b'"',
    b'""',
    b",",
    b"::",
    b"\t",
    b";",
    b"\n",
    b"\r\n",
    b"#",
    b" ",
    b"\x00",
    b"-",
    b"e999",
    b"nan",
    b"1_0",
    b"99999999999999999999",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\x1f\x8b",
    b"BZh91AY&SY",
    b'"__class__"',
    b'"__module__"',
    b'"content"',
    b'"shape"',
    b"-1",
    b"2147483648",
    b"\x93NUMPY",
    b"<i8",
    b"<f8",
    b"|O",
]


def mutate(rng, data, seeds, max_len):
    """A seeded mutation of ``data``: 1 to 4 of byte flips, random or token
    insertions, deletions, duplications and splices with another seed."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        pos = rng.randint(0, len(data))
        if op == 0 and data:
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif op == 2:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3:
            data[pos:pos] = rng.choice(TOKENS)
        elif op == 4 and data:
            del data[pos : pos + rng.randint(1, 16)]
        elif op == 5 and data:
            chunk = data[pos : pos + rng.randint(1, 32)]
            at = rng.randint(0, len(data))
            data[at:at] = chunk
        elif op == 6:
            other = rng.choice(seeds)
            cut = rng.randint(0, len(other))
            data = data[:pos] + bytearray(other[cut:])
    if len(data) > 1 and rng.random() < 0.05:  # keep the selector bytes varied
        data[0] = rng.randrange(256)
    return bytes(data[:max_len])


def run_random(recorder, seeds, runs, seconds, seed, max_len, last=None):
    """Seeded random mutation of the seeds. ``last``: a file that holds the
    input being run (what an interpreter crash leaves behind)."""
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds if seconds else None
    for s in seeds:
        recorder(s)
    n = 0
    while not runs or n < runs:
        if deadline is not None and time.monotonic() > deadline:
            break
        n += 1
        data = mutate(rng, rng.choice(seeds), seeds, max_len)
        if last is not None:
            last.write_bytes(data)
        recorder(data)
    recorder.write()


def run_atheris(atheris, recorder, seeds, runs, seconds, corpus, crashes, name):
    corpus = Path(corpus)
    corpus.mkdir(parents=True, exist_ok=True)
    for s in seeds:
        (corpus / f"seed-{hashlib.sha1(s).hexdigest()[:12]}").write_bytes(s)
    max_len = recorder.target.max_len
    argv = [
        sys.argv[0],
        str(corpus),
        f"-max_len={max_len}",
        f"-artifact_prefix={crashes}/{name}-native-",
        "-timeout=20",
        "-rss_limit_mb=3072",
        "-print_final_stats=1",
        "-len_control=0",
        "-keep_seed=1",
    ]
    if runs:
        argv.append(f"-runs={runs}")
    if seconds:
        argv.append(f"-max_total_time={int(seconds)}")
    atheris.Setup(argv, recorder)
    atheris.Fuzz()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", choices=TARGETS, required=True)
    p.add_argument("--runs", type=int, default=0, help="executions (0: no limit)")
    p.add_argument("--seconds", type=float, default=0, help="time limit (0: none)")
    p.add_argument("--mutator", choices=("atheris", "random"), default=None)
    p.add_argument("--seed", type=int, default=0, help="seed of the random mutator")
    p.add_argument("--corpus", default=None, help="atheris corpus folder")
    p.add_argument("--crashes", default=str(CRASHES))
    p.add_argument("--reproduce", help="run one saved input and show what it does")
    p.add_argument(
        "--skops-out",
        help="with --reproduce (load, predict): also write the tampered model file",
    )
    p.add_argument(
        "--last-input",
        help="random mutator: a file that holds the input being run (what an "
        "interpreter crash leaves behind)",
    )
    p.add_argument(
        "--loop",
        action="store_true",
        help="start again after an interpreter crash until --seconds have passed",
    )
    args = p.parse_args(argv)

    if args.loop:
        return _loop(args)
    if args.reproduce:
        target = make_target(args.target)
        data = Path(args.reproduce).read_bytes()
        if args.skops_out and hasattr(target, "file_bytes"):
            Path(args.skops_out).write_bytes(target.file_bytes(data) or b"")
        print(f"{args.target}: {target(data)}")
        return 0

    mutator = args.mutator
    if mutator is None:
        mutator = "atheris" if importlib.util.find_spec("atheris") else "random"
        if mutator == "random":
            print("atheris not installed: random mutation", file=sys.stderr)
    if mutator == "atheris":
        import atheris

        with atheris.instrument_imports(include=["sklearn_rbm", "skops"]):
            # imported here, not lazily at the first call, to be instrumented
            import skops.io  # noqa: F401

            import sklearn_rbm.cli.io
            import sklearn_rbm.persistence  # noqa: F401

            target = make_target(args.target)
        recorder = Recorder(target, args.crashes, runs=args.runs)
        corpus = args.corpus or f"/tmp/fuzz-corpus/{args.target}"
        run_atheris(
            atheris,
            recorder,
            target.seeds,
            args.runs,
            args.seconds,
            corpus,
            args.crashes,
            args.target,
        )
    else:
        target = make_target(args.target)
        recorder = Recorder(target, args.crashes)
        last = Path(args.last_input) if args.last_input else None
        run_random(
            recorder,
            target.seeds,
            args.runs,
            args.seconds,
            args.seed,
            target.max_len,
            last,
        )
        print(json.dumps({"execs": recorder.execs, "findings": recorder.findings}))
    return 0


def _loop(args):
    """Run the fuzzer in child processes until ``--seconds`` have passed,
    starting again after an interpreter crash (the corpus carries over)."""
    deadline = time.monotonic() + args.seconds
    starts = 0
    while (left := deadline - time.monotonic()) > 5:
        starts += 1
        cmd = [sys.executable, __file__, "--target", args.target]
        cmd += ["--seconds", str(int(left)), "--crashes", args.crashes]
        if args.corpus:
            cmd += ["--corpus", args.corpus]
        if args.mutator:
            cmd += ["--mutator", args.mutator, "--seed", str(args.seed + starts)]
        last = Path(f"/dev/shm/fuzz-last-{args.target}-{os.getpid()}.bin")
        last.unlink(missing_ok=True)
        rc = subprocess.call([*cmd, "--last-input", str(last)])
        print(f"fuzz {args.target}: run {starts} ended with status {rc}", flush=True)
        if rc < 0 and last.exists():  # killed by a signal: keep its input
            data = last.read_bytes()
            digest = hashlib.sha1(data).hexdigest()
            (Path(args.crashes) / f"{args.target}-native-crash-{digest}").write_bytes(
                data
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
