"""One BLAS thread policy for training and serving.

numpy's and scipy's wheels each bundle an OpenBLAS; the policy limits both
while a model trains (:func:`training_threads`) and limits BLAS to one thread
around the thin products of the recommender (:func:`single_blas_thread`).
"""

import contextlib
import functools
import os
import threading

from threadpoolctl import ThreadpoolController


@functools.cache
def blas_controller():
    """The process's BLAS libraries, found once.

    A new ``ThreadpoolController`` (or ``threadpool_limits``) scans the
    loaded libraries by reading ``/proc/self/maps``: about 3 ms per call,
    which was most of the latency of one user's ``recommend``.
    """
    return ThreadpoolController().select(user_api="blas")


def single_blas_thread():
    """Context manager: one BLAS thread (thin products gain nothing from
    more, and a busy second core makes them far slower).

    Reference-counted with :func:`training_threads` (see
    :func:`_blas_limits`): calls that overlap in several threads restore the
    process's thread counts when the last of them leaves.
    """
    return _blas_limits(1)


def _is_numpy_blas(lib):
    return "numpy" in os.path.basename(os.path.dirname(lib.filepath))


#: guards the process's BLAS thread counts, shared by every call that
#: limits them (threads of one process): the first call to enter saves the
#: counts, the last one to leave restores them; in between, each library
#: runs with the least number of threads that a call inside asks for
_THREADS_LOCK = threading.Lock()
_threads_asked = []  # numpy's BLAS threads asked by each call inside
_threads_saved = None  # [(library, threads)] before the first call entered


@contextlib.contextmanager
def _blas_limits(numpy_threads):
    """BLAS thread limits while inside: ``numpy_threads`` threads for
    numpy's BLAS (or the one BLAS of the process), one for the others.

    A plain ``threadpoolctl`` limit saves the counts on entry and restores
    them on exit, which goes wrong when calls overlap in several threads:
    the second call saves the first one's limit and restores it after the
    first has restored the original, so the process keeps the limit for
    good (and threadpoolctl >= 3.8 silently ignores a set from any thread
    but its "controlling" one). Here the calls share one reference count.
    """
    global _threads_saved
    with _THREADS_LOCK:
        libs = blas_controller().lib_controllers
        first = not _threads_asked
        if first:
            saved = [(lib, lib.num_threads) for lib in libs]
        _threads_asked.append(numpy_threads)
        try:
            _apply_limits(libs)
        except BaseException:
            _threads_asked.pop()
            if first:
                _restore_threads(saved)
            raise
        if first:
            _threads_saved = saved
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _threads_asked.remove(numpy_threads)
            if _threads_asked:
                _apply_limits(libs)
            else:
                saved, _threads_saved = _threads_saved, None
                _restore_threads(saved)


def _apply_limits(libs):
    """Set each library to the least count asked by the calls inside."""
    n = min(_threads_asked)
    # one shared BLAS (e.g. conda's): it is numpy's as well
    numpy_libs = [lib for lib in libs if len(libs) == 1 or _is_numpy_blas(lib)]
    for lib in libs:
        want = n if lib in numpy_libs else 1
        if lib.num_threads != want:
            _set_num_threads(lib, want)


@contextlib.contextmanager
def training_threads():
    """BLAS threads while training dense RBMs, and around their AIS, RAISE
    and sampling chains: one, unless the user says so.

    Measured on the 2-core machine of ``benchmarks/README.md``, one thread is
    as fast as two for the products of an update (500 x 784 weights, batch
    10 to 100) and far more robust: a second thread gains at most ~20% on an
    idle machine and loses up to 10x as soon as anything else runs on the
    other core (two-thread OpenBLAS spin-waits between thin products).
    numpy's and scipy's wheels each bundle an OpenBLAS, and the weight update
    (``lowrank.update_weights``) uses scipy's, so two multithreaded pools would
    also spin against each other (11.8 s against 4.7 s per epoch, measured).
    One thread also makes a fit's bits independent of the caller's limit.
    AIS runs thousands of thin products in a row: on a 200-hidden digits
    model (100 runs of 64 visible units), 2,000 temperatures took 1.2 to
    5.7 times longer with OpenBLAS's two threads than with one, beside one
    to three busy jobs (``benchmarks/bench_ais_threads.py``; the same
    estimate, to the bit).
    ``SKLEARN_RBM_BLAS_THREADS=N`` gives numpy's BLAS (the conditionals'
    products) ``N`` threads and keeps scipy's at one; ``0`` leaves both
    libraries alone.

    The thread counts are process-wide, so concurrent fits and predictions
    (in Python threads) share them: the first call to enter saves the
    counts, the last one to leave restores them, under a lock and a
    reference count; in between each library has the least count that a
    call inside asks for (a prediction's one thread wins over
    ``SKLEARN_RBM_BLAS_THREADS`` while it runs). Work in other threads
    meanwhile runs with these limits too.
    """
    env = os.environ.get("SKLEARN_RBM_BLAS_THREADS", "").strip()
    if env == "0":
        yield
        return
    if env and not (env.isascii() and env.isdigit()):
        raise ValueError(
            "SKLEARN_RBM_BLAS_THREADS must be a non-negative integer (0 leaves "
            f"the BLAS libraries' thread counts alone); got {env!r}."
        )
    with _blas_limits(int(env) if env else 1):
        yield


def _set_num_threads(lib, n):
    """``lib.set_num_threads(n)``, effective from any thread.

    threadpoolctl >= 3.8 lets a single "controlling" thread (the first to set
    a limit, until it clears) change a process-wide OpenBLAS pool, and
    silently ignores the others; the restore of the last fit to finish may
    run in another thread than the first fit's set. The control is taken for
    the call and released after it, so that no thread keeps it (releasing a
    caller's ``threadpool_limits``, whose exit takes it again to restore).
    """
    clear = getattr(type(lib), "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)
    try:
        lib.set_num_threads(n)
    finally:
        if clear is not None:
            clear()


def _restore_threads(saved):
    for lib, n in saved:
        if lib.num_threads != n:
            _set_num_threads(lib, n)
