"""The reference loader: the training loop everyone writes, kept as an explicit baseline.

``bench run --loader reference`` feeds :func:`bench.train.loop.fit` from a torchvision dataset with
per-sample transforms (``ToTensor``, then ``Normalize`` when the recipe normalizes) through a
``DataLoader(shuffle=True)``, moving each batch to the device and calling ``.item()`` every
step, with the default (contiguous) layout and the default optimizer implementation. It is how
users check that archbench's numbers are the ones their own scripts give: with the same seed it
draws the same shuffle order, initial weights and dropout masks as the fast path, so on CPU it
gives the same losses and accuracies, bit for bit, as ``--loader fast --no-channels-last
--no-fused-optimizer`` (and, with those settings on, equal ones within seed noise: ``bench
speed`` shows both).

MNIST and Fashion-MNIST come from ``torchvision.datasets`` reading archbench's verified files;
datasets that torchvision does not ship (digits, synthetic) get an equivalent per-sample dataset.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision import transforms

from bench.config import RunConfig
from bench.data import datasets, splits
from bench.train.loop import HostTally, autocast

TORCHVISION_CLASSES = {
    "mnist": torchvision.datasets.MNIST,
    "fashion-mnist": torchvision.datasets.FashionMNIST,
}


class PerSampleImages(Dataset):
    """uint8 images with a per-sample transform, like a torchvision dataset."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform: Callable):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.transform(self.images[index]), int(self.labels[index])


def sample_transform(config: RunConfig, info: datasets.DatasetInfo, train_x: torch.Tensor):
    """The per-sample transform for a torchvision dataset (PIL image in) and for a tensor one
    (uint8 ``[C, H, W]`` in): scale to [0, 1], then subtract mean and divide by std."""
    mean, std = splits.normalization_stats(config.recipe.normalize, info, train_x)
    steps: list[Callable] = [transforms.ToTensor()]
    if config.recipe.normalize == "standard":
        steps.append(transforms.Normalize((mean,), (std,)))
    elif config.recipe.normalize == "zscore":
        steps.append(transforms.Lambda(lambda x: (x - mean) / std))
    pil = transforms.Compose(steps)
    scale = float(info.pixel_max)
    tensor = transforms.Compose([lambda img: img.float() / scale, *steps[1:]])
    return pil, tensor


class LoaderBatches:
    """Batches from ``DataLoader``s over per-sample datasets; ``.item()`` every step."""

    tally = HostTally

    def __init__(
        self,
        config: RunConfig,
        data_root: Path | None,
        device: torch.device,
        shuffle: torch.Generator,
    ):
        info = datasets.get_dataset_info(config.dataset)
        images = datasets.load(config.dataset, data_root)  # verifies checksums
        index = splits.split_indices(
            images, info, config.val_size, config.limit_train, config.limit_test
        )
        pil, tensor = sample_transform(config, info, images.train_x[index.train])
        if config.dataset in TORCHVISION_CLASSES:
            root = str(data_root or datasets.default_data_root())
            dataset_class = TORCHVISION_CLASSES[config.dataset]
            train_set = dataset_class(root, train=True, transform=pil, download=False)
            test_set = dataset_class(root, train=False, transform=pil, download=False)
        else:
            train_set = PerSampleImages(images.train_x, images.train_y, tensor)
            test_set = PerSampleImages(images.test_x, images.test_y, tensor)
        self.device = device
        self.float_dtype = torch.float64 if config.dtype == "float64" else torch.float32
        self.n_train = len(index.train)
        self.sizes = {"train": len(index.train), "val": len(index.val), "test": len(index.test)}
        batch_size = config.recipe.batch_size or self.n_train
        eval_batch = config.recipe.eval_batch_size
        self.train = DataLoader(
            Subset(train_set, index.train.tolist()),
            batch_size=batch_size,
            shuffle=True,
            generator=shuffle,
        )
        # Evaluation loaders get a generator of their own: without one, each pass draws a
        # worker seed from torch's global RNG and would shift the dropout stream.
        quiet = torch.Generator().manual_seed(0)
        self.eval_loaders = {
            name: DataLoader(Subset(data, indices.tolist()), batch_size=eval_batch, generator=quiet)
            for name, data, indices in (
                ("val", train_set, index.val),
                ("test", test_set, index.test),
            )
        }
        self.fill = tensor(torch.zeros(images.image_shape, dtype=torch.uint8)).to(device)

    def epoch(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.train:
            yield x.to(self.device, self.float_dtype), y.to(self.device)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str, dtype: str) -> tuple[float, float]:
        loader = self.eval_loaders[split]
        count = len(loader.dataset)
        if count == 0:
            return math.nan, math.nan
        model.eval()
        total, correct = 0.0, 0
        with autocast(self.device, dtype):
            for x, y in loader:
                x, y = x.to(self.device, self.float_dtype), y.to(self.device)
                logits = model(x)
                total += F.cross_entropy(logits.float(), y, reduction="sum").item()
                correct += (logits.argmax(1) == y).sum().item()
        model.train()
        return total / count, correct / count
