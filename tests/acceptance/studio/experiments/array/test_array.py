"""Stand-in for Studio.ml's tests/test_array.py (Apache-2.0, see ../../SOURCES.md).

The original loads the array hyperparameter ``lr`` with ``fs_tracker.get_artifact``
(tunelab substitutes an array as a list instead, so that line goes) and falls back to
random values; it prints the fitness ``|sum(lr)|`` that Studio.ml's optimizer maximizes.
"""

import numpy as np

lr = np.random.random(10)

print("fitness: %s" % np.abs(np.sum(lr)))
