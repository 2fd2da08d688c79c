"""The only package that knows both sides: the engine, the experiments built on it, the registry.

``parity.engine`` -- the comparison machinery; it never imports the experiments:
  ``registry``    the twin pairs and probes (entries register themselves from ``parity.pairs``)
  ``layer_pair``  a scratch layer and its torch twin on the same inputs, forward and backward
  ``optim_pair``  an optimizer and its twin over a seeded trajectory
  ``probes``      ``ConventionGap``: a documented book-vs-torch difference that must show;
                  ``SameResults``: two scratch implementations that must agree
  ``compare``     shape, then dtype, then values; one ``Check`` per row of ``parity.csv``
  ``tolerances``  the one tolerance table
  ``inputs``      the one seeded float64 input source
  ``gradcheck``   central finite differences, the second oracle
  ``transfer``    weights between the book's layout and torch's
  ``audit``       crashes of published code explained to a learner
  ``runner``      run entries, tabulate, write atomically

``parity.experiments`` -- what is built on the engine:
  ``tables``       the one model table and the one optimizer table (names spelled only there)
  ``training``     training runs side by side (sampler, loop, masks, MNIST-or-skip)
  ``augment_plan`` one seeded augmentation plan per batch for both sides
  ``ch6``          the book's chapter-6 experiments on both sides
  ``hyperparams``  the chapter-6 random search on both sides
  ``book_weights`` the book's published weights on both sides
  ``bench``        timing workloads for the speed report: every registry LayerPair, every model

``parity.pairs`` -- the registry's content, one module per area.
``parity.cli`` -- ``make parity``;  ``parity.data`` -- ``python -m parity.data`` (MNIST check).
"""
