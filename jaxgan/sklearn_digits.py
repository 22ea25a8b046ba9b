"""A tfds dataset of scikit-learn's bundled 1,797 8x8 handwritten digits: works offline.

Prepared on first use (array_record files, no TensorFlow needed); the input
pipeline upsamples the 8x8 images to the model's size.
"""

import numpy as np
import tensorflow_datasets as tfds

TRAIN_FRACTION = 0.8


class SklearnDigits(tfds.core.GeneratorBasedBuilder):
  """`image`: uint8 `[8, 8, 1]` in [0, 255]; `label`: the digit. 80/20 train/test split."""

  prepared_offline = True  # Made from what is on disk (jaxgan.data).
  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Tensor(shape=(8, 8, 1), dtype=np.uint8),
            "label": tfds.features.ClassLabel(num_classes=10),
        }),
        supervised_keys=("image", "label"),
        homepage="https://scikit-learn.org/stable/datasets/toy_dataset.html#digits-dataset",
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # The data ships with scikit-learn.
    from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top
    digits = load_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)[..., None]
    order = np.random.default_rng(0).permutation(len(images))
    num_train = int(TRAIN_FRACTION * len(images))
    return {
        "train": self._generate_examples(images, digits.target, order[:num_train]),
        "test": self._generate_examples(images, digits.target, order[num_train:]),
    }

  def _generate_examples(self, images, labels, indices):
    for i in indices:
      yield int(i), {"image": images[i], "label": int(labels[i])}
