"""The age model, in one home: the probabilistic forest, its trees as arrays, the training support
(out-of-distribution flags), the age inputs of each allStar row, training, and the ``forest/`` files."""
