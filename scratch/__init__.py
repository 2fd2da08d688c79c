"""The NumPy side: the book's components, written to read like the book.

Pure NumPy by design -- this package never imports torch.  Layers follow the
book's protocol: ``forward``/``backward`` side by side, trainable arrays in the
``params`` dict and their gradients in ``grads`` under the same keys.
"""
