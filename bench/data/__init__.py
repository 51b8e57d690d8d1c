"""Step 2, data: datasets as whole tensors, from verified files.

Holds fetching and MD5 checks (:mod:`.sources`), IDX files (:mod:`.idx`), the dataset registry
with splits and normalization (:mod:`.datasets`), on-device batch augmentation
(:mod:`.augment`) and the user's ``.npz`` and image-folder datasets (:mod:`.userdata`).

Imports: :mod:`bench.config`.
Face: the modules :mod:`.datasets` (``load``, ``prepare``, ``verify``, ``split``, ...),
:mod:`.augment` and :mod:`.idx`.
"""

from bench.data import augment, datasets, idx

__all__ = ["augment", "datasets", "idx"]
