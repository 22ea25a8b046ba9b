"""A small classifier trained on real data, whose features measure generated samples.

Inception weights cannot be downloaded everywhere; for digit-like data jaxgan trains
its own LeNet-style CNN on the real training split (as TF-GAN does for MNIST) and
uses its penultimate layer for Fréchet/kernel distances and precision/recall, and
its softmax for the classifier score. Audio gets a 1-D CNN over log-power spectrograms
(jaxgan.tasks.audio.AudioNet), used the same way (as the WaveGAN paper scores SC09 with a trained
classifier). Each kind of data trains its own once per (dataset, image size or clip format,
seed) with `fit`, and `load_or_train` keeps it with orbax and reloads it after.
"""

import functools
import logging
import os
from typing import Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import tqdm

log = logging.getLogger(__name__)


class LeNet(nn.Module):
  """Two 3x3 conv + max-pool blocks, a 128-wide feature layer, and class logits."""
  num_classes: int = 10

  @nn.compact
  def __call__(self, images: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`images [n, h, w, c]` in [-1, 1] -> `(features [n, 128], logits [n, classes])`."""
    x = images
    for width in (32, 64):
      x = nn.relu(nn.Conv(width, (3, 3))(x))
      x = nn.max_pool(x, (2, 2), (2, 2))
    features = nn.relu(nn.Dense(128)(x.reshape(x.shape[0], -1)))
    return features, nn.Dense(self.num_classes)(features)


def embed_in_batches(fn: Callable[[jax.Array], tuple[jax.Array, jax.Array]], images: np.ndarray,
                     batch_size: int) -> tuple[np.ndarray, np.ndarray]:
  """`fn(images) -> (features, probs)` applied `batch_size` images at a time, on the host."""
  outputs = [jax.device_get(fn(jnp.asarray(images[i:i + batch_size])))
             for i in range(0, len(images), batch_size)]
  features, probs = (np.concatenate(parts) for parts in zip(*outputs))
  return features, probs


class Classifier(NamedTuple):
  """A trained classifier (`model`, LeNet or AudioNet): `embed(samples) -> (features, probs)`
  in batches, and its test accuracy."""
  params: dict
  test_accuracy: float
  model: nn.Module = LeNet()

  @property
  def num_classes(self) -> int:
    return self.params["Dense_1"]["bias"].shape[-1]

  def embed(self, samples: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Features `[n, 128]` and class probabilities `[n, classes]` of images `[n, h, w, c]`
    (clips `[n, length, 1]` for AudioNet)."""
    return embed_in_batches(functools.partial(_embed, self.model, self.params), samples,
                            batch_size)


@functools.partial(jax.jit, static_argnums=0)
def _embed(model, params, samples):
  features, logits = model.apply({"params": params}, samples)
  return features, jax.nn.softmax(logits)


def fit(model: nn.Module, train_split: tuple[np.ndarray, np.ndarray],
        test_split: tuple[np.ndarray, np.ndarray], *, name: str, seed: int = 0,
        epochs: int = 30, batch_size: int = 64) -> Classifier:
  """Trains `model` (logits second of its outputs) with Adam on `(inputs, labels)`, measuring
  accuracy on the test split."""
  images, labels = train_split
  test_images, test_labels = test_split
  optimizer = optax.adam(1e-3)
  params = model.init(jax.random.key(seed), images[:1])["params"]
  opt_state = optimizer.init(params)

  @jax.jit
  def step(params, opt_state, x, y):
    def loss_fn(p):
      logits = model.apply({"params": p}, x)[1]
      return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    grads = jax.grad(loss_fn)(params)
    updates, opt_state = optimizer.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state

  rng = np.random.default_rng(seed)
  batch_size = min(batch_size, len(images))  # A split smaller than a batch is one batch.
  for _ in tqdm.trange(epochs, desc=f"Training the {name} feature classifier", unit="epoch",
                       mininterval=1.0):
    order = rng.permutation(len(images))
    for i in range(0, len(order) - batch_size + 1, batch_size):
      batch = order[i:i + batch_size]
      params, opt_state = step(params, opt_state, images[batch], labels[batch])
  _, probs = Classifier(params, 0.0, model).embed(test_images)
  accuracy = float(np.mean(np.argmax(probs, axis=1) == test_labels))
  return Classifier(params, accuracy, model)


def load_or_train(path: str, model_class: type[nn.Module],
                   train_it: Callable[[], Classifier]) -> Classifier:
  """The classifier saved at `path` (a `model_class`), or `train_it()`'s, saved there."""
  path = os.path.abspath(path)
  checkpointer = ocp.StandardCheckpointer()
  if os.path.isdir(path):
    restored = checkpointer.restore(path)
    params = restored["params"]
    return Classifier(params, float(restored["test_accuracy"]),
                      model_class(params["Dense_1"]["bias"].shape[-1]))
  log.info("Training the feature classifier %s (once; saved to %s).", os.path.basename(path),
           path)
  classifier = train_it()
  checkpointer.save(path, {"params": classifier.params,
                           "test_accuracy": np.float32(classifier.test_accuracy)})
  checkpointer.wait_until_finished()
  log.info("Feature classifier test accuracy: %.3f", classifier.test_accuracy)
  return classifier
