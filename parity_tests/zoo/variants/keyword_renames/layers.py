import numpy as np


class Pooling:
    """max pooling written with loops; `padding=` where the book says `pad=`"""

    def __init__(self, pool_h, pool_w, stride=1, padding=0):
        self.pool_h, self.pool_w, self.stride, self.padding = pool_h, pool_w, stride, padding

    def forward(self, x):
        p, s, ph, pw = self.padding, self.stride, self.pool_h, self.pool_w
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
        N, C, H, W = xp.shape
        out_h, out_w = (H - ph) // s + 1, (W - pw) // s + 1
        out = np.empty((N, C, out_h, out_w))
        self.argmax = np.empty((N, C, out_h, out_w), dtype=int)
        for i in range(out_h):
            for j in range(out_w):
                window = xp[:, :, i * s:i * s + ph, j * s:j * s + pw].reshape(N, C, -1)
                self.argmax[:, :, i, j] = window.argmax(axis=2)
                out[:, :, i, j] = window.max(axis=2)
        self.x_shape, self.xp_shape = x.shape, xp.shape
        return out

    def backward(self, dout):
        p, s, pw = self.padding, self.stride, self.pool_w
        dxp = np.zeros(self.xp_shape)
        N, C, out_h, out_w = dout.shape
        n, c = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
        for i in range(out_h):
            for j in range(out_w):
                k = self.argmax[:, :, i, j]
                dxp[n, c, i * s + k // pw, j * s + k % pw] += dout[:, :, i, j]
        H, W = self.x_shape[2:]
        return dxp[:, :, p:p + H, p:p + W]
