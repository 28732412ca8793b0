"""Check the built documentation site and take screenshots of it.

Usage (after building the HTML)::

    python docs/check_site.py SCREENSHOT_DIR [--build-dir docs/_build/html]

What it does:

1. Parses the built HTML (no browser needed) and checks that

   * the gallery index (``auto_examples/index.html``) has at least one
     thumbnail ``<img>`` and that every thumbnail's image file exists and is
     a non-empty PNG/JPEG/SVG, and that each thumbnail links to an existing
     example page;
   * the API page (``api.html``) lists every public class and function, each
     as a link to an existing generated page.

2. Serves the site on 127.0.0.1 (a random free port, ``http.server`` in a
   thread) and takes screenshots of the gallery index, the API page and one
   user-guide page with headless Chromium, into ``SCREENSHOT_DIR``. Each
   screenshot must be a PNG of the requested size.

3. If MathJax is served locally (``sphinx-mathjax-offline`` installed at build
   time), loads the user-guide page's rendered DOM and checks that MathJax
   typeset its equations. With MathJax from a CDN this check is skipped, since
   the machine may have no internet access.

Exits 0 when everything passes, 1 when a check fails and 2 when the
environment is unusable (no build, no Chromium); every failure is printed.
Needs only the standard library and a ``chromium`` executable (Debian:
``apt-get install -y chromium``; or set ``$CHROMIUM``).
"""

import argparse
import functools
import http.server
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

DOCS_DIR = Path(__file__).resolve().parent
DEFAULT_BUILD_DIR = DOCS_DIR / "_build" / "html"

GALLERY_PAGE = "auto_examples/index.html"
API_PAGE = "api.html"
MATH_PAGE = "user_guide/bernoulli.html"

# Public names the API page must list (class or function, as shown on the page).
API_NAMES = (
    "BernoulliRBM",
    "GaussianBernoulliRBM",
    "CategoricalRBMRecommender",
    "LogPartition",
    "load_movielens",
    "make_ratings",
)
# GaussianBernoulliRBM is developed on another branch: until its module is in
# the source tree (conf.py then leaves it out of the API page), do not ask
# for it.
_PACKAGE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sklearn_rbm"
)
if not os.path.isdir(os.path.join(_PACKAGE, "estimators")) or not os.path.isfile(
    os.path.join(_PACKAGE, "estimators", "gaussian.py")
):
    API_NAMES = tuple(n for n in API_NAMES if n != "GaussianBernoulliRBM")

WINDOW = (1280, 1600)
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


class CheckFailed(Exception):
    """A check of the site failed."""


class EnvironmentProblem(Exception):
    """The site or the browser is not available."""


# -- HTML parsing ---------------------------------------------------------------


_VOID_TAGS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)


class _PageParser(HTMLParser):
    """Collects links, images (with their enclosing thumbnail) and scripts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []  # (href, text)
        self.thumbnails = []  # dicts: img src, link href inside the container
        self.images = []  # all <img> src
        self.scripts = []  # all <script> src
        self.mjx_containers = 0
        self._stack = []  # open tags: (tag, is_thumbnail_container)
        self._thumb = None  # current thumbnail container dict
        self._thumb_depth = None
        self._link = None  # [href, text parts]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "mjx-container":
            self.mjx_containers += 1
        if tag not in _VOID_TAGS:
            self._stack.append(tag)
        if tag == "div" and "sphx-glr-thumbcontainer" in classes:
            self._thumb = {"img": None, "href": None}
            self._thumb_depth = len(self._stack)
        if tag == "a" and "href" in attrs:
            self._link = [attrs["href"], []]
            if self._thumb is not None and self._thumb["href"] is None:
                self._thumb["href"] = attrs["href"]
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
            if self._thumb is not None and self._thumb["img"] is None:
                self._thumb["img"] = attrs["src"]
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS and self._stack and self._stack[-1] == tag:
            self._stack.pop()

    def handle_endtag(self, tag):
        if tag == "a" and self._link is not None:
            href, parts = self._link
            self.links.append((href, " ".join("".join(parts).split())))
            self._link = None
        if tag in _VOID_TAGS:
            return
        # Pop up to and including the matching tag (tolerates sloppy HTML).
        if tag in self._stack:
            while self._stack:
                if self._stack.pop() == tag:
                    break
        if self._thumb is not None and len(self._stack) < self._thumb_depth:
            self.thumbnails.append(self._thumb)
            self._thumb = None
            self._thumb_depth = None

    def handle_data(self, data):
        if self._link is not None:
            self._link[1].append(data)


def parse_html(text):
    parser = _PageParser()
    parser.feed(text)
    parser.close()
    return parser


def _local_target(page_path, url):
    """The file a relative URL on ``page_path`` points to, or None if remote."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    if not parts.path:  # a pure fragment: the page itself
        return page_path
    return (page_path.parent / urllib.parse.unquote(parts.path)).resolve()


def _read_page(build_dir, rel):
    path = build_dir / rel
    if not path.is_file():
        raise CheckFailed(f"{rel}: page missing from the build ({path})")
    return path, path.read_text(encoding="utf-8")


_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"<svg", b"<?xml")


def check_gallery(build_dir):
    """The gallery index has thumbnails whose files exist."""
    path, text = _read_page(build_dir, GALLERY_PAGE)
    page = parse_html(text)
    thumbs = [t for t in page.thumbnails if t["img"]]
    if not thumbs:
        raise CheckFailed(
            f"{GALLERY_PAGE}: no thumbnail <img> inside a "
            "'sphx-glr-thumbcontainer' (did the gallery examples run?)"
        )
    problems = []
    for thumb in thumbs:
        target = _local_target(path, thumb["img"])
        if target is None:
            problems.append(f"thumbnail {thumb['img']!r} is not a local file")
            continue
        if not target.is_file():
            problems.append(f"thumbnail {thumb['img']!r} -> {target} does not exist")
            continue
        head = target.read_bytes()[:16]
        if not head or not any(head.startswith(m) for m in _IMAGE_MAGIC):
            problems.append(f"thumbnail {target} is empty or not an image")
        if thumb["href"] is None:
            problems.append(f"thumbnail {thumb['img']!r} links to no example page")
        else:
            page_target = _local_target(path, thumb["href"])
            if page_target is None or not page_target.is_file():
                problems.append(
                    f"thumbnail {thumb['img']!r} links to missing {thumb['href']!r}"
                )
    if problems:
        raise CheckFailed(f"{GALLERY_PAGE}: " + "; ".join(problems))
    return [t["img"] for t in thumbs]


def check_api(build_dir):
    """The API page links every public class and function to its own page."""
    path, text = _read_page(build_dir, API_PAGE)
    page = parse_html(text)
    missing, broken = [], []
    for name in API_NAMES:
        hits = [
            href
            for href, label in page.links
            if label.split("(")[0].strip().split(".")[-1] == name
        ]
        if not hits:
            missing.append(name)
            continue
        if not any(
            (t := _local_target(path, href)) is not None and t.is_file()
            for href in hits
        ):
            broken.append(f"{name} -> {hits[0]}")
    if missing or broken:
        msg = []
        if missing:
            msg.append("not listed: " + ", ".join(missing))
        if broken:
            msg.append("links to missing pages: " + ", ".join(broken))
        raise CheckFailed(f"{API_PAGE}: " + "; ".join(msg))
    return list(API_NAMES)


def mathjax_is_local(build_dir):
    path, text = _read_page(build_dir, MATH_PAGE)
    srcs = [s for s in parse_html(text).scripts if "mathjax" in s.lower()]
    if not srcs:
        raise CheckFailed(f"{MATH_PAGE}: no MathJax <script> on a page with maths")
    return all(_local_target(path, s) is not None for s in srcs)


# -- Serving and the browser ----------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def serve(build_dir):
    """Start a server for ``build_dir`` on 127.0.0.1:<free port>."""
    handler = functools.partial(_QuietHandler, directory=str(build_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def find_chromium():
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        if shutil.which(explicit):
            return shutil.which(explicit)
        raise EnvironmentProblem(f"$CHROMIUM={explicit!r} is not an executable")
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise EnvironmentProblem(
        "no Chromium found (tried: " + ", ".join(CHROMIUM_CANDIDATES) + "). "
        "Install it with 'apt-get install -y chromium' or set $CHROMIUM."
    )


def _chromium_command(chromium, profile_dir, *extra):
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile_dir}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        *extra,
    ]


def _run_chromium(cmd, timeout):
    try:
        return subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CheckFailed(f"Chromium timed out after {timeout} s: {cmd[-1]}") from exc


def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or not head.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    return struct.unpack(">II", head[16:24])


def screenshot(chromium, url, out_file, timeout, budget_ms):
    """Screenshot ``url`` into ``out_file`` with a fresh browser profile."""
    out_file = Path(out_file)
    if out_file.exists():
        out_file.unlink()
    with tempfile.TemporaryDirectory(prefix="check_site_profile_") as profile:
        cmd = _chromium_command(
            chromium,
            profile,
            f"--virtual-time-budget={budget_ms}",
            f"--screenshot={out_file}",
            url,
        )
        result = _run_chromium(cmd, timeout)
    if not out_file.is_file():
        tail = (result.stderr or "").strip().splitlines()[-5:]
        raise CheckFailed(
            f"no screenshot written for {url} (chromium exit {result.returncode}): "
            + " | ".join(tail)
        )
    size = _png_size(out_file)
    if size != WINDOW:
        raise CheckFailed(f"{out_file}: expected a {WINDOW} PNG, got {size}")
    return out_file


def rendered_dom(chromium, url, timeout, budget_ms):
    with tempfile.TemporaryDirectory(prefix="check_site_profile_") as profile:
        cmd = _chromium_command(
            chromium, profile, f"--virtual-time-budget={budget_ms}", "--dump-dom", url
        )
        result = _run_chromium(cmd, timeout)
    if result.returncode != 0 or not result.stdout.strip():
        raise CheckFailed(f"could not load the rendered DOM of {url}")
    return result.stdout


# -- Main -----------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Check the built docs and take screenshots with headless Chromium."
    )
    parser.add_argument("outdir", help="folder for the screenshots (created)")
    parser.add_argument(
        "--build-dir",
        default=str(DEFAULT_BUILD_DIR),
        help="the built HTML site (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds per browser run"
    )
    parser.add_argument(
        "--budget-ms",
        type=int,
        default=10000,
        help="Chromium virtual time budget per page, for scripts (MathJax)",
    )
    args = parser.parse_args(argv)

    build_dir = Path(args.build_dir).resolve()
    outdir = Path(args.outdir).resolve()
    failures = []

    def record(label, func, *func_args):
        try:
            value = func(*func_args)
        except CheckFailed as exc:
            failures.append(str(exc))
            print(f"FAIL  {label}: {exc}")
            return None
        print(f"ok    {label}")
        return value

    try:
        if not (build_dir / "index.html").is_file():
            raise EnvironmentProblem(
                f"no built site at {build_dir} (run: python -m sphinx -W "
                "--keep-going -b html docs docs/_build/html)"
            )
        chromium = find_chromium()
    except EnvironmentProblem as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    outdir.mkdir(parents=True, exist_ok=True)

    thumbs = record(
        "gallery index has thumbnails whose files exist", check_gallery, build_dir
    )
    if thumbs:
        print("      " + ", ".join(thumbs))
    record("API page lists " + ", ".join(API_NAMES), check_api, build_dir)
    local_math = record("user-guide page loads MathJax", mathjax_is_local, build_dir)

    server = serve(build_dir)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"      serving {build_dir} at {base}")
    try:
        shots = {
            "gallery_index.png": GALLERY_PAGE,
            "api.png": API_PAGE,
            "user_guide_bernoulli.png": MATH_PAGE,
        }
        for name, rel in shots.items():
            record(
                f"screenshot {rel} -> {outdir / name}",
                screenshot,
                chromium,
                base + rel,
                outdir / name,
                args.timeout,
                args.budget_ms,
            )
        if local_math:

            def check_math():
                dom = rendered_dom(
                    chromium, base + MATH_PAGE, args.timeout, args.budget_ms
                )
                n = parse_html(dom).mjx_containers
                if n == 0:
                    raise CheckFailed(
                        f"{MATH_PAGE}: MathJax typeset no equation "
                        "(no <mjx-container> in the rendered page)"
                    )
                return n

            record("MathJax typesets the maths", check_math)
        elif local_math is False:
            print(
                "note  MathJax is loaded from a CDN: maths will show as raw TeX "
                "without internet (install sphinx-mathjax-offline and rebuild)"
            )
    finally:
        server.shutdown()
        server.server_close()

    if failures:
        print(f"\n{len(failures)} check(s) failed:", file=sys.stderr)
        for failure in failures:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    print(f"\nall checks passed; screenshots in {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
