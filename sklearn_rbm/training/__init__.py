"""Training: state, schedules, optimisers, the dense CD phase, the epoch loop
and the BLAS thread policy.

* ``state.py``: ``TrainState`` (``DenseState``, ``RatingState``),
  ``Schedule`` and ``CDSettings``;
* ``optimizers.py``: ``MomentumSGD``, ``LazyMomentumSGD``, ``Adam``;
* ``cd.py``: ``DenseCD``, the fused CD-k / PCD-k update of the dense RBMs;
* ``reference.py``: its readable form, for the tests;
* ``loop.py``: ``run_epochs``, ``EarlyStopping``, divergence checks;
* ``threads.py``: one BLAS thread during training and serving.
"""
