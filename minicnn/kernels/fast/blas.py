"""`gemm`: a BLAS matrix product on strided views, callable from inside Numba kernels.

    C ← op(A) · op(B) + β · C,        op(M) = M or Mᵀ,  β ∈ {0, 1}

Numba's ``np.dot(a, b, out)`` calls the same BLAS routine (sgemm/dgemm, through SciPy), but only
on contiguous arrays: a block of columns ``w2[:, k0:k1]``, a band of an output plane
``y[n, o0:o1, p0:p1]`` or a transposed weight matrix has to be copied first, and the result
copied back. On ResNet's deep layers those copies (a 2048 × 1024 transpose is 8 MB) cost
several times the product itself (docs/performance.md). BLAS itself takes any matrix whose rows
are contiguous, with a leading dimension (the distance between rows) and a transpose flag, and
it can add into C (β = 1) instead of overwriting it; this wrapper passes those through.

Each of A, B, C is a 2-D view whose last axis has unit stride (a slice of rows and columns of a
C-ordered array, or such an array itself); `trans_a`/`trans_b` say whether the product uses the
transpose of A/B. BLAS is column-major: a row-major (r × s) buffer with leading dimension ld is
the column-major (s × r) matrix, so the row-major product C = op(A) op(B) is asked of BLAS as
Cᵀ = op(B)ᵀ op(A)ᵀ, with the operands swapped and each flag kept.

The routine is Numba's own ``numba_xxgemm`` (the one ``np.dot`` uses), named as an external
symbol, so kernels that call it keep ``cache=True``.
"""

import numpy as np
from numba import njit, types
from numba.extending import overload
from numba.np.linalg import ensure_blas

__all__ = ["gemm"]

ensure_blas()  # imports SciPy's BLAS, whose sgemm/dgemm numba_xxgemm calls


def _xxgemm(dtype):
    signature = types.intc(types.char, types.char, types.char, types.intp, types.intp, types.intp,
                           types.CPointer(dtype), types.CPointer(dtype), types.intp,
                           types.CPointer(dtype), types.intp, types.CPointer(dtype),
                           types.CPointer(dtype), types.intp)
    return types.ExternalFunction("numba_xxgemm", signature)


_XXGEMM = {types.float32: (_xxgemm(types.float32), ord("s")), types.float64: (_xxgemm(types.float64), ord("d"))}
_N, _T = ord("n"), ord("t")


def _call_xxgemm(c, flag_b, flag_a, n, m, k, alpha, b, ldb, a, lda, beta, ldc):  # pragma: no cover
    """Typed by the overload below: the BLAS call for c's dtype (sgemm or dgemm)."""
    raise NotImplementedError


@overload(_call_xxgemm)
def _call_xxgemm_typed(c, flag_b, flag_a, n, m, k, alpha, b, ldb, a, lda, beta, ldc):
    routine, kind = _XXGEMM[c.dtype]

    def call(c, flag_b, flag_a, n, m, k, alpha, b, ldb, a, lda, beta, ldc):
        return routine(kind, flag_b, flag_a, n, m, k, alpha, b.ctypes, ldb, a.ctypes, lda, beta, c.ctypes, ldc)
    return call


@njit(cache=True)
def gemm(a: np.ndarray, trans_a: bool, b: np.ndarray, trans_b: bool, c: np.ndarray, accumulate: bool) -> None:
    """c[:, :] = op(a) @ op(b) (+ c if `accumulate`), in place; op(m) = m.T when its flag is set.

    a, b, c: 2-D arrays of one float dtype, each with unit stride along its last axis."""
    m, n = c.shape
    k = a.shape[0] if trans_a else a.shape[1]
    if ((a.shape[1] if trans_a else a.shape[0]) != m or (b.shape[0] if trans_b else b.shape[1]) != n
            or (b.shape[1] if trans_b else b.shape[0]) != k):
        raise ValueError("gemm: op(a) (m × k) @ op(b) (k × n) does not fit c (m × n)")
    if m == 0 or n == 0:
        return
    itemsize = c.itemsize
    lda, ldb, ldc = a.strides[0] // itemsize, b.strides[0] // itemsize, c.strides[0] // itemsize
    # A leading dimension must be at least the row length, even for one row or an empty axis.
    lda, ldb, ldc = max(lda, a.shape[1], 1), max(ldb, b.shape[1], 1), max(ldc, n, 1)
    if k == 0:
        if not accumulate:
            c[:, :] = 0
        return
    if ((a.shape[1] > 1 and a.strides[1] != a.itemsize) or (b.shape[1] > 1 and b.strides[1] != b.itemsize)
            or (c.shape[1] > 1 and c.strides[1] != c.itemsize)):       # a lone column may have any stride
        raise ValueError("gemm: every operand needs unit stride along its last axis")
    scalars = np.empty(2, dtype=c.dtype)
    scalars[0] = 1                          # α
    scalars[1] = 1 if accumulate else 0     # β
    flag_a, flag_b = (_T if trans_a else _N), (_T if trans_b else _N)
    _call_xxgemm(c, flag_b, flag_a, n, m, k, scalars[:1].ctypes, b, ldb, a, lda, scalars[1:].ctypes, ldc)
