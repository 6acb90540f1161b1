"""The age model, in one home; it imports nothing above it (constants, match, selection, seismo, io only).

``inputs`` (the age inputs of each allStar row), ``split`` (which seismic stars train, calibrate and test),
``noise`` (the trees' input noise), ``trees`` (the one tree evaluator), ``forest`` (the probabilistic
forests), ``support`` (the training support: out-of-distribution flags), ``training`` (fitting the model),
``model`` (:class:`~latentexplorer.ages.model.AgeModel`, the one prediction path) and ``files`` (``forest/``).
The step that trains it on a workspace is :mod:`latentexplorer.steps.ages`.
"""
