"""Run BLAS single-threaded while simulating.

Every matrix here is small (d <= ~1000), where OpenBLAS's threads gain nothing and, on a busy
2-core machine, spin against other processes: an eigh of a 128 x 128 matrix went from 2 ms to
200+ ms. OpenBLAS reads its thread count only at load time, so it is set through its C API on the
libraries already loaded; where none is found (another BLAS, another OS) this does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes

_NAME_PAIRS = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)


def _loaded_openblas_paths() -> list[str]:
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            lines = maps.read().splitlines()
    except OSError:
        return []
    paths = {line.split()[-1] for line in lines if "openblas" in line.lower() and ".so" in line}
    return sorted(p for p in paths if p.startswith("/"))


def _thread_controls() -> list[tuple]:
    controls = []
    for path in _loaded_openblas_paths():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _NAME_PAIRS:
            getter, setter = getattr(library, get_name, None), getattr(library, set_name, None)
            if getter is not None and setter is not None:
                getter.restype = ctypes.c_int
                setter.argtypes = [ctypes.c_int]
                controls.append((getter, setter))
                break
    return controls


@contextlib.contextmanager
def limited_blas_threads(threads: int = 1):
    """Within the block, numpy's and scipy's OpenBLAS use at most `threads`; restored afterwards."""
    import numpy  # noqa: F401  (make sure the libraries are loaded before looking for them)
    import scipy.linalg  # noqa: F401

    previous = []
    for getter, setter in _thread_controls():
        previous.append((setter, getter()))
        setter(threads)
    try:
        yield len(previous)
    finally:
        for setter, count in previous:
            setter(count)
