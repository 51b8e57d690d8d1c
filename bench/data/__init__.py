"""Step 2, data: datasets as whole tensors, from verified files.

Holds fetching and MD5 checks (:mod:`.sources`), IDX files (:mod:`.idx`), the dataset registry
with splits and normalization (:mod:`.datasets`), on-device batch augmentation
(:mod:`.augment`) and the user's ``.npz`` and image-folder datasets (:mod:`.userdata`).

Imports: :mod:`bench.config`.
Face: the modules :mod:`.datasets` (``load``, ``prepare``, ``verify``, ``split``, ...),
:mod:`.augment` and :mod:`.idx`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.config.faces import lazy_names
from bench.data import idx

if TYPE_CHECKING:
    from bench.data import augment, datasets

# augment (torch) and datasets are imported when first used: a command that only reads the
# store needs idx's checksums, not torch.
_LAZY = {"augment": ("bench.data.augment", None), "datasets": ("bench.data.datasets", None)}

__getattr__ = lazy_names(__name__, _LAZY)

__all__ = ["augment", "datasets", "idx"]
