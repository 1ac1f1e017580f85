"""Mini-batch iteration over NumPy arrays.

Stochastic gradient descent looks at the data a batch at a time, in a fresh
random order every epoch. :class:`DataLoader` does exactly that and nothing
more: no workers, no transforms, no tensors -- it yields plain ndarrays that
the engine wraps itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..typing import Seed
from ..validation import check_int, check_seed

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over aligned arrays in mini-batches.

    ``DataLoader(x, y, batch_size=64)`` yields tuples ``(x_batch, y_batch)``;
    pass more arrays (``DataLoader(x, y, masks, ...)``) and each tuple grows
    accordingly. Every array is indexed along its first axis, so rows stay
    aligned. A tuple is yielded even for a single array, so the loop always
    unpacks the same way.

    Parameters
    ----------
    *arrays : np.ndarray
        One or more arrays with the same length N (first dimension).
    batch_size : int >= 1
    shuffle : bool
        When True each epoch (each ``iter()``) visits the rows in a new random
        order, drawn from one ``np.random.default_rng(seed)`` created here.
        Two loaders with the same seed therefore produce the same *sequence*
        of epoch orders. When False, batches are contiguous slices (views).
    seed : int >= 0 or None
        None draws fresh entropy from the operating system (not reproducible).
    drop_last : bool
        Drop the final batch when it would be smaller than ``batch_size``.
        Useful when a layer (e.g. batch norm) dislikes tiny batches.

    ``len(loader)`` is the number of batches per epoch:
    ``ceil(N / batch_size)``, or ``floor(N / batch_size)`` with ``drop_last``.
    """

    def __init__(self, *arrays: np.ndarray, batch_size: int = 64, shuffle: bool = False, seed: Seed = None,
                 drop_last: bool = False) -> None:
        if not arrays:
            raise ValueError("arrays: DataLoader needs at least one array, got none")
        for i, array in enumerate(arrays):
            if not isinstance(array, np.ndarray):
                raise TypeError(f"arrays[{i}] must be a numpy.ndarray, got {type(array).__name__}")
            if array.ndim == 0:
                raise ValueError(f"arrays[{i}] must have at least one dimension, got a 0-d array")
        lengths = [len(array) for array in arrays]
        if len(set(lengths)) != 1:
            raise ValueError(
                f"arrays must all have the same length (e.g. x and y), got lengths {lengths}"
            )
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle must be a bool, got {type(shuffle).__name__}")
        if not isinstance(drop_last, bool):
            raise TypeError(f"drop_last must be a bool, got {type(drop_last).__name__}")
        self.arrays = arrays
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.shuffle = shuffle
        self.seed = check_seed(seed, allow_none=True)
        self.drop_last = drop_last
        self._rng = np.random.default_rng(self.seed)

    @property
    def n_samples(self) -> int:
        """Number of rows N shared by all arrays."""
        return len(self.arrays[0])

    def __len__(self) -> int:
        full, rest = divmod(self.n_samples, self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def __iter__(self) -> Iterator[tuple[np.ndarray, ...]]:
        n = self.n_samples
        order = self._rng.permutation(n) if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            stop = min(start + self.batch_size, n)
            if order is None:
                yield tuple(array[start:stop] for array in self.arrays)
            else:
                rows = order[start:stop]
                yield tuple(array[rows] for array in self.arrays)

    def __repr__(self) -> str:
        return (
            f"DataLoader(n_samples={self.n_samples}, arrays={len(self.arrays)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, seed={self.seed}, "
            f"drop_last={self.drop_last}, batches={len(self)})"
        )
