"""Keep freed memory in the process instead of handing it back to the OS at once.

By default glibc returns every freed block over a few hundred kilobytes to the OS,
so each minibatch's megabytes of screens, activations and gradients come back as
fresh pages, hundreds of page faults per update.  Raising its two thresholds lets
those blocks be reused: a compressed minibatch is gathered three times faster.
"""

import ctypes

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
LARGEST_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's ceiling on 64-bit machines
TRIM_THRESHOLD = 256 * 1024 * 1024  # the most freed memory kept: several updates' worth


def keep_freed_memory() -> bool:
    """Tune the C library's malloc when it is glibc's; True when that took effect."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # no mallopt (macOS, Windows): their allocators differ
        return False
    # musl has mallopt but ignores it, returning 0.
    return bool(mallopt(M_MMAP_THRESHOLD, LARGEST_MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
