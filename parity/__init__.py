"""The only package that knows both sides.

``registry`` holds the twin pairs, ``transfer`` copies weights between layouts,
``compare`` is the comparison engine with its one tolerance table, ``gradcheck``
the finite-difference oracle, ``runner`` the ``make parity`` job.
"""
