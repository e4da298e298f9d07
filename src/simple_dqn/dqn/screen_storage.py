"""Where replay memory keeps its screens: a plain array, or each screen compressed on its own.

Both are written a run of consecutive entries at a time (one per game played at
once) and hand back screens gathered into one new uint8 array, so the replay logic
above them is the same, and both return identical minibatches for the same seed.
"""

import mmap
import sys

import lz4.block
import numpy as np

# lz4 shrinks an 84x84 Atari screen 2.7 (Up'n Down) to 23 (Pong) times; 40% with 64 bytes of
# Python's per-object overhead covers the least compressible game measured, to plan memory with.
COMPRESSED_FRACTION_BOUND = 0.4
COMPRESSED_OVERHEAD_BYTES = 64


def zeroed_array(shape: tuple[int, ...]) -> np.ndarray:
    """A zero uint8 array whose pages the OS hands out only when first written.

    On Linux the pages are asked for as 2 MB huge pages, which halves the cost of
    filling a large memory the first time and of the TLB misses when sampling from it.
    """
    nbytes = int(np.prod(shape))
    if nbytes == 0 or not hasattr(mmap, "MADV_HUGEPAGE"):
        return np.zeros(shape, dtype=np.uint8)
    buffer = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        buffer.madvise(mmap.MADV_HUGEPAGE)
    except OSError:  # a kernel without transparent huge pages: ordinary pages do
        pass
    return np.frombuffer(buffer, dtype=np.uint8).reshape(shape)


def check_screens(entries: range, screens: np.ndarray, screen_shape: tuple[int, ...]) -> None:
    """Refuse screens that do not fill ``entries`` exactly, rather than let numpy broadcast one over several."""
    if screens.shape != (len(entries), *screen_shape):
        raise ValueError(f"screens of shape {screens.shape} for {len(entries)} entries of a memory of "
                         f"{screen_shape} screens")


class ScreenArray:
    """Every screen in one preallocated array: the fastest to gather from."""

    def __init__(self, size: int, screen_shape: tuple[int, int]) -> None:
        self.screens = zeroed_array((size, *screen_shape))

    def __setitem__(self, entries: slice, screens: np.ndarray) -> None:
        """``screens`` (count, height, width) into the ``count`` consecutive entries of ``entries``."""
        check_screens(range(len(self.screens))[entries], screens, self.screens.shape[1:])
        self.screens[entries] = screens

    def contents(self) -> dict[str, np.ndarray]:
        """The array itself, not a copy."""
        return {"screens": self.screens}

    def load_contents(self, contents: dict[str, np.ndarray]) -> None:
        screens = contents["screens"]
        if screens is not self.screens:
            if screens.shape != self.screens.shape or screens.dtype != np.uint8:
                raise ValueError(f"screens of shape {screens.shape}, not {self.screens.shape}")
            self.screens[...] = screens

    def gather(self, positions: np.ndarray) -> np.ndarray:
        """uint8 (*positions.shape, height, width), a new array."""
        return self.screens[positions]

    @property
    def nbytes(self) -> int:
        """Bytes reserved for all screens, held or not."""
        return self.screens.nbytes

    def nbytes_when_full(self, count: int) -> int:
        """The same as now: every screen's bytes are reserved from the start."""
        return self.nbytes


class CompressedScreens:
    """Each screen compressed with lz4 as it arrives: a ninth of the memory on average over
    Breakout, Pong, Seaquest and Space Invaders, and under half for any game measured.

    lz4 is the codec because decompression is what every minibatch pays for, and lz4
    decompresses an 84x84 screen in a few microseconds.
    """

    def __init__(self, size: int, screen_shape: tuple[int, int]) -> None:
        self.screen_shape = screen_shape
        self.screen_bytes = int(np.prod(screen_shape))
        self.blank = lz4.block.compress(np.zeros(self.screen_bytes, dtype=np.uint8), store_size=False)
        self.screens = np.empty(size, dtype=object)
        self.screens.fill(self.blank)  # one shared object until written (np.full would strip its zero bytes)
        self.compressed_bytes = sys.getsizeof(self.blank)

    def __setitem__(self, entries: slice, screens: np.ndarray) -> None:
        """``screens`` (count, height, width) into the ``count`` consecutive entries of ``entries``, each on its own."""
        indices = range(len(self.screens))[entries]
        check_screens(indices, screens, self.screen_shape)
        for index, screen in zip(indices, screens, strict=True):
            compressed = lz4.block.compress(np.ascontiguousarray(screen, dtype=np.uint8), store_size=False)
            replaced = self.screens[index]
            self.compressed_bytes += sys.getsizeof(compressed) - (0 if replaced is self.blank
                                                                  else sys.getsizeof(replaced))
            self.screens[index] = compressed

    def contents(self) -> dict[str, np.ndarray]:
        """Each screen's compressed bytes one after another (none for a screen never written), and their lengths."""
        blobs = [b"" if blob is self.blank else blob for blob in self.screens]
        return {"screen_lengths": np.array([len(blob) for blob in blobs], dtype=np.int32),
                "screen_bytes": np.frombuffer(b"".join(blobs), dtype=np.uint8)}

    def load_contents(self, contents: dict[str, np.ndarray]) -> None:
        lengths, data = contents["screen_lengths"], contents["screen_bytes"].tobytes()
        if len(lengths) != len(self.screens) or int(lengths.sum()) != len(data) or (lengths < 0).any():
            raise ValueError("the compressed screens do not add up")
        ends = np.cumsum(lengths)
        for index, (end, length) in enumerate(zip(ends.tolist(), lengths.tolist(), strict=True)):
            self.screens[index] = data[end - length:end] if length else self.blank
        self.compressed_bytes = sys.getsizeof(self.blank) + sum(
            sys.getsizeof(blob) for blob in self.screens if blob is not self.blank)

    def gather(self, positions: np.ndarray) -> np.ndarray:
        """uint8 (*positions.shape, height, width), a new array."""
        screens = bytearray().join([lz4.block.decompress(compressed, uncompressed_size=self.screen_bytes)
                                    for compressed in self.screens[positions.ravel()]])
        return np.frombuffer(screens, dtype=np.uint8).reshape(*positions.shape, *self.screen_shape)

    @property
    def nbytes(self) -> int:
        """Bytes held now: the compressed screens with Python's per-object overhead, and their index."""
        return self.screens.nbytes + self.compressed_bytes

    def nbytes_when_full(self, count: int) -> int:
        """Bytes held once every entry is written, if they compress as the ``count`` written so far did."""
        return self.screens.nbytes + self.compressed_bytes * len(self.screens) // max(count, 1)
