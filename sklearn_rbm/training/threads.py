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
    more, and a busy second core makes them far slower)."""
    return blas_controller().limit(limits=1)


def _is_numpy_blas(lib):
    return "numpy" in os.path.basename(os.path.dirname(lib.filepath))


#: guards the shared BLAS thread counts of concurrent training calls (threads
#: of one process): the first to enter saves the counts and sets the limit,
#: the last to leave restores them
_THREADS_LOCK = threading.Lock()
_threads_users = 0
_threads_saved = None


@contextlib.contextmanager
def training_threads():
    """BLAS threads while training dense RBMs: one, unless the user says so.

    Measured on the 2-core machine of ``benchmarks/README.md``, one thread is
    as fast as two for the products of an update (500 x 784 weights, batch
    10 to 100) and far more robust: a second thread gains at most ~20% on an
    idle machine and loses up to 10x as soon as anything else runs on the
    other core (two-thread OpenBLAS spin-waits between thin products).
    numpy's and scipy's wheels each bundle an OpenBLAS, and the weight update
    (``optimizers._update_weights``) uses scipy's, so two multithreaded pools would
    also spin against each other (11.8 s against 4.7 s per epoch, measured).
    One thread also makes a fit's bits independent of the caller's limit.
    ``SKLEARN_RBM_BLAS_THREADS=N`` gives numpy's BLAS (the conditionals'
    products) ``N`` threads and keeps scipy's at one; ``0`` leaves both
    libraries alone.

    The thread counts are process-wide, so concurrent fits (in Python
    threads) share one limit: the first fit to enter saves the counts and
    sets the limit (from its view of ``SKLEARN_RBM_BLAS_THREADS``), the last
    one to leave restores them, under a lock and a reference count. Work in
    other threads meanwhile runs with the training limit too.
    """
    global _threads_users, _threads_saved
    env = os.environ.get("SKLEARN_RBM_BLAS_THREADS", "").strip()
    if env == "0":
        yield
        return
    with _THREADS_LOCK:
        if _threads_users == 0:
            libs = blas_controller().lib_controllers
            saved = [(lib, lib.num_threads) for lib in libs]
            # one shared BLAS (e.g. conda's): it is numpy's as well
            numpy_libs = [lib for lib in libs if len(libs) == 1 or _is_numpy_blas(lib)]
            try:
                for lib in libs:
                    n = int(env) if env and lib in numpy_libs else 1
                    _set_num_threads(lib, n)
            except BaseException:
                _restore_threads(saved)
                raise
            _threads_saved = saved
        _threads_users += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _threads_users -= 1
            if _threads_users == 0:
                saved, _threads_saved = _threads_saved, None
                _restore_threads(saved)


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
        _set_num_threads(lib, n)
