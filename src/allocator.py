"""Keep freed memory in the process instead of handing it back to the OS at once.

By default glibc returns every freed block over a few hundred kilobytes to the OS,
so each minibatch's megabytes of screens, activations and gradients come back as
fresh pages, hundreds of page faults per update.  Raising its two thresholds lets
those blocks be reused: a compressed minibatch is gathered three times faster.
"""

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
LARGEST_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's ceiling on 64-bit machines
TRIM_THRESHOLD = 1024 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Tune glibc's malloc where there is one; True when it took effect."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): their allocators behave differently
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, LARGEST_MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
