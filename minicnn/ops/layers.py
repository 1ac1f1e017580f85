"""The linear layers of a CNN: dense (y = x Wᵀ + b) and 2-D convolution.

The convolution's arithmetic lives in `minicnn.kernels` (Numba, with plain NumPy references);
this file is the calculus: which kernel computes which derivative.
"""

import numpy as np

from ..autograd import Function
from ..kernels import conv2d_backward_input, conv2d_backward_weight, conv2d_forward, one_blas_thread

__all__ = ["Linear", "Conv2d"]


class Linear(Function):
    """y = x Wᵀ + b,  x (N, in), W (out, in), b (out,)  — PyTorch's layout.

    ∂L/∂x = G W,  ∂L/∂W = Gᵀ x,  ∂L/∂b = Σ_n G_n.
    """

    def forward(self, x, weight, bias=None):
        self.save_for_backward(x, weight)
        with one_blas_thread():       # see one_blas_thread: no spinning BLAS threads in a step
            y = x @ weight.T
        if bias is not None:
            y += bias
        return y

    def backward(self, g):
        x, weight = self.saved
        need = self.needs_input_grad
        with one_blas_thread():
            grad_x = g @ weight if need[0] else None
            grad_w = (g.reshape(-1, g.shape[-1]).T @ x.reshape(-1, x.shape[-1])
                      if need[1] else None)
        grads = (grad_x, grad_w)
        if len(need) == 3:
            grads += (g.reshape(-1, g.shape[-1]).sum(axis=0) if need[2] else None,)
        return grads


class Conv2d(Function):
    """y[n,o,i,j] = b[o] + Σ_{c,p,q} W[o,c,p,q] · x_pad[n, c, i·s_h + p, j·s_w + q]

    (cross-correlation, as PyTorch; x_pad is x with `padding` zeros on each side).
    ∂L/∂x is the transposed convolution of G with W, ∂L/∂W the correlation of x with G,
    ∂L/∂b[o] = Σ_{n,i,j} G[n,o,i,j].
    """

    def forward(self, x, weight, bias=None):
        self.save_for_backward(x, weight)
        return conv2d_forward(x, weight, self.stride, self.padding, bias)

    def backward(self, g):
        x, weight = self.saved
        need = self.needs_input_grad
        g = np.ascontiguousarray(g)
        grad_x = conv2d_backward_input(g, weight, x.shape, self.stride, self.padding) if need[0] else None
        grad_w = conv2d_backward_weight(g, x, weight.shape, self.stride, self.padding) if need[1] else None
        grads = (grad_x, grad_w)
        if len(need) == 3:
            # ∂L/∂b[o] = Σ_{n,i,j} G[n,o,i,j]. einsum does it in one pass over G, about 3x
            # faster than g.sum(axis=(0, 2, 3)), which reduces the axes one after another.
            grads += (np.einsum("noij->o", g) if need[2] else None,)
        return grads
