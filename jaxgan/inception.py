"""InceptionV3 as the FID papers use it, in Flax, loading pytorch-fid's weights from disk.

Standard FID on CIFAR-10, CelebA or ImageNet is measured in the 2,048 pool features
of the TensorFlow InceptionV3 of 2015 (Heusel et al. 2017). pytorch-fid ships those
weights as `pt_inception-2015-12-05-6726825d.pth`; this module is the same network
(its FID variants of the Mixed blocks included: average pools that do not count
padding, and a max pool in the last block), named like pytorch-fid's modules so its
state dict maps onto the Flax variables one to one.

jaxgan never downloads the file. With internet, get it once from `WEIGHTS_URL` and
point `config.eval_inception_weights` at it (a `.pth` needs torch to read; convert it
once to `.npz` with `.venv/bin/python -m jaxgan.inception IN.pth OUT.npz` to drop that need).
"""

import functools
import sys
from typing import Mapping, NamedTuple, Sequence

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import classifier

WEIGHTS_URL = ("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
               "pt_inception-2015-12-05-6726825d.pth")
INPUT_SIZE = 299
NUM_LOGITS = 1008  # The TF graph's 1,000 ImageNet classes and 8 unused ones.


class BasicConv(nn.Module):
  """Convolution without bias, BatchNorm (eps 1e-3, running statistics) and ReLU."""
  features: int
  kernel_size: tuple[int, int]
  strides: int = 1
  padding: tuple[int, int] = (0, 0)

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    x = nn.Conv(self.features, self.kernel_size, strides=self.strides,
                padding=[(p, p) for p in self.padding], use_bias=False, name="conv")(x)
    return nn.relu(nn.BatchNorm(use_running_average=True, epsilon=1e-3, name="bn")(x))


def _avg_pool_3x3(x: jax.Array) -> jax.Array:
  """TensorFlow's 3x3 stride-1 average pool, which does not count the zero padding."""
  return nn.avg_pool(x, (3, 3), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool_3x3(x: jax.Array, stride: int = 2) -> jax.Array:
  padding = "VALID" if stride == 2 else ((1, 1), (1, 1))
  return nn.max_pool(x, (3, 3), strides=(stride, stride), padding=padding)


def _concat(branches: Sequence[jax.Array]) -> jax.Array:
  return jnp.concatenate(branches, axis=-1)


class InceptionA(nn.Module):
  pool_features: int

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    branch5x5 = BasicConv(48, (1, 1), name="branch5x5_1")(x)
    branch3x3dbl = BasicConv(64, (1, 1), name="branch3x3dbl_1")(x)
    branch3x3dbl = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(branch3x3dbl)
    return _concat([
        BasicConv(64, (1, 1), name="branch1x1")(x),
        BasicConv(64, (5, 5), padding=(2, 2), name="branch5x5_2")(branch5x5),
        BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_3")(branch3x3dbl),
        BasicConv(self.pool_features, (1, 1), name="branch_pool")(_avg_pool_3x3(x)),
    ])


class InceptionB(nn.Module):
  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    branch3x3dbl = BasicConv(64, (1, 1), name="branch3x3dbl_1")(x)
    branch3x3dbl = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(branch3x3dbl)
    return _concat([
        BasicConv(384, (3, 3), strides=2, name="branch3x3")(x),
        BasicConv(96, (3, 3), strides=2, name="branch3x3dbl_3")(branch3x3dbl),
        _max_pool_3x3(x),
    ])


class InceptionC(nn.Module):
  channels_7x7: int

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    c7 = self.channels_7x7
    row, column = dict(kernel_size=(1, 7), padding=(0, 3)), dict(kernel_size=(7, 1),
                                                                   padding=(3, 0))
    branch7x7 = BasicConv(c7, (1, 1), name="branch7x7_1")(x)
    branch7x7 = BasicConv(c7, **row, name="branch7x7_2")(branch7x7)
    branch7x7 = BasicConv(192, **column, name="branch7x7_3")(branch7x7)
    branch7x7dbl = BasicConv(c7, (1, 1), name="branch7x7dbl_1")(x)
    for i, (width, shape) in enumerate([(c7, column), (c7, row), (c7, column), (192, row)]):
      branch7x7dbl = BasicConv(width, **shape, name=f"branch7x7dbl_{i + 2}")(branch7x7dbl)
    return _concat([
        BasicConv(192, (1, 1), name="branch1x1")(x),
        branch7x7,
        branch7x7dbl,
        BasicConv(192, (1, 1), name="branch_pool")(_avg_pool_3x3(x)),
    ])


class InceptionD(nn.Module):
  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    branch3x3 = BasicConv(192, (1, 1), name="branch3x3_1")(x)
    branch7x7x3 = BasicConv(192, (1, 1), name="branch7x7x3_1")(x)
    branch7x7x3 = BasicConv(192, (1, 7), padding=(0, 3), name="branch7x7x3_2")(branch7x7x3)
    branch7x7x3 = BasicConv(192, (7, 1), padding=(3, 0), name="branch7x7x3_3")(branch7x7x3)
    return _concat([
        BasicConv(320, (3, 3), strides=2, name="branch3x3_2")(branch3x3),
        BasicConv(192, (3, 3), strides=2, name="branch7x7x3_4")(branch7x7x3),
        _max_pool_3x3(x),
    ])


class InceptionE(nn.Module):
  """`pool="avg"` in Mixed_7b; the FID network's Mixed_7c has a max pool instead."""
  pool: str = "avg"

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    def split_3x3(y: jax.Array, prefix: str) -> jax.Array:
      return _concat([BasicConv(384, (1, 3), padding=(0, 1), name=f"{prefix}a")(y),
                      BasicConv(384, (3, 1), padding=(1, 0), name=f"{prefix}b")(y)])

    branch3x3dbl = BasicConv(448, (1, 1), name="branch3x3dbl_1")(x)
    branch3x3dbl = BasicConv(384, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(branch3x3dbl)
    pooled = _avg_pool_3x3(x) if self.pool == "avg" else _max_pool_3x3(x, stride=1)
    return _concat([
        BasicConv(320, (1, 1), name="branch1x1")(x),
        split_3x3(BasicConv(384, (1, 1), name="branch3x3_1")(x), "branch3x3_2"),
        split_3x3(branch3x3dbl, "branch3x3dbl_3"),
        BasicConv(192, (1, 1), name="branch_pool")(pooled),
    ])


class InceptionV3(nn.Module):
  """Images `[n, h, w, 1 or 3]` in [-1, 1] -> `(pool features [n, 2048], logits [n, 1008])`.

  Inputs are resized bilinearly to `input_size` (299 for standard FID) and grey
  images repeated to three channels.
  """
  input_size: int = INPUT_SIZE

  @nn.compact
  def __call__(self, images: jax.Array) -> tuple[jax.Array, jax.Array]:
    x = jnp.broadcast_to(images, (*images.shape[:3], 3)) if images.shape[-1] == 1 else images
    x = jax.image.resize(x, (x.shape[0], self.input_size, self.input_size, 3), "bilinear",
                         antialias=False)
    x = BasicConv(32, (3, 3), strides=2, name="Conv2d_1a_3x3")(x)
    x = BasicConv(32, (3, 3), name="Conv2d_2a_3x3")(x)
    x = BasicConv(64, (3, 3), padding=(1, 1), name="Conv2d_2b_3x3")(x)
    x = _max_pool_3x3(x)
    x = BasicConv(80, (1, 1), name="Conv2d_3b_1x1")(x)
    x = BasicConv(192, (3, 3), name="Conv2d_4a_3x3")(x)
    x = _max_pool_3x3(x)
    x = InceptionA(32, name="Mixed_5b")(x)
    x = InceptionA(64, name="Mixed_5c")(x)
    x = InceptionA(64, name="Mixed_5d")(x)
    x = InceptionB(name="Mixed_6a")(x)
    for name, channels_7x7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160),
                               ("Mixed_6e", 192)):
      x = InceptionC(channels_7x7, name=name)(x)
    x = InceptionD(name="Mixed_7a")(x)
    x = InceptionE("avg", name="Mixed_7b")(x)
    x = InceptionE("max", name="Mixed_7c")(x)
    features = jnp.mean(x, axis=(1, 2))
    return features, nn.Dense(NUM_LOGITS, name="fc")(features)


# pytorch-fid's names for the last part of a key -> (Flax collection, Flax name).
_RENAMES = {("conv", "weight"): ("params", "kernel"), ("fc", "weight"): ("params", "kernel"),
            ("fc", "bias"): ("params", "bias"), ("bn", "weight"): ("params", "scale"),
            ("bn", "bias"): ("params", "bias"), ("bn", "running_mean"): ("batch_stats", "mean"),
            ("bn", "running_var"): ("batch_stats", "var")}


def _to_flax(key: str, value: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
  """One state-dict entry as a flat Flax path and array (torch layouts transposed)."""
  *path, leaf = key.split(".")
  collection, name = _RENAMES.get((path[-1] if path else "", leaf), ("unknown", leaf))
  if path and path[-1] == "conv" and value.ndim == 4:  # [out, in, kh, kw] -> [kh, kw, in, out]
    value = value.transpose(2, 3, 1, 0)
  elif path and path[-1] == "fc" and value.ndim == 2:  # [out, in] -> [in, out]
    value = value.T
  return (collection, *path, name), value


def variables_from_state_dict(state_dict: Mapping[str, np.ndarray]) -> dict:
  """pytorch-fid's state dict (`Mixed_5b.branch1x1.conv.weight`, ...) as the Flax variables
  of `InceptionV3`; raises ValueError naming any missing, unexpected or misshapen entry."""
  flat = dict(_to_flax(key, np.asarray(value, np.float32)) for key, value in state_dict.items()
              if not key.endswith("num_batches_tracked"))
  wanted = {path: leaf.shape for path, leaf in flax.traverse_util.flatten_dict(
      jax.eval_shape(InceptionV3().init, jax.random.key(0), jnp.zeros((1, 75, 75, 3)))).items()}
  missing = sorted(".".join(k) for k in wanted.keys() - flat.keys())
  unexpected = sorted(".".join(k) for k in flat.keys() - wanted.keys())
  misshapen = sorted(f"{'.'.join(k)} {flat[k].shape} != {wanted[k]}"
                     for k in wanted.keys() & flat.keys() if flat[k].shape != wanted[k])
  if missing or unexpected or misshapen:
    raise ValueError(
        f"These are not pytorch-fid's InceptionV3 weights ({WEIGHTS_URL}): {len(missing)} "
        f"missing {missing[:3]}, {len(unexpected)} unexpected {unexpected[:3]}, "
        f"{len(misshapen)} of the wrong shape {misshapen[:3]}.")
  return flax.traverse_util.unflatten_dict(flat)


def read_state_dict(path: str) -> dict[str, np.ndarray]:
  """The arrays of a `.npz` file, or of a PyTorch `.pth` state dict (needs torch)."""
  if path.endswith(".npz"):
    with np.load(path) as arrays:
      return dict(arrays)
  try:
    import torch  # pylint: disable=g-import-not-at-top  Only .pth files need it.
  except ImportError:
    raise ImportError(
        f"Reading {path} needs torch. Install it (pip install torch), or convert the file "
        f"once where torch is: .venv/bin/python -m jaxgan.inception {path} weights.npz") from None
  return {k: v.numpy() for k, v in torch.load(path, map_location="cpu",
                                              weights_only=True).items()}


def load(path: str) -> dict:
  """`InceptionV3` variables from pytorch-fid's weights file (`.pth` or converted `.npz`)."""
  return variables_from_state_dict(read_state_dict(path))


class InceptionFeatures(NamedTuple):
  """`embed(images) -> (pool features [n, 2048], probabilities [n, 1008])` in batches."""
  variables: dict
  input_size: int = INPUT_SIZE

  def embed(self, images: np.ndarray, batch_size: int = 100) -> tuple[np.ndarray, np.ndarray]:
    return classifier.embed_in_batches(
        lambda batch: _embed(self.variables, batch, self.input_size), images, batch_size)


@functools.partial(jax.jit, static_argnums=2)
def _embed(variables: dict, images: jax.Array, input_size: int) -> tuple[jax.Array, jax.Array]:
  features, logits = InceptionV3(input_size).apply(variables, images)
  return features, jax.nn.softmax(logits)


def main(argv: list[str]) -> None:
  """`.venv/bin/python -m jaxgan.inception IN.pth OUT.npz`: checks and converts the weights file."""
  if len(argv) != 3:
    sys.exit(main.__doc__)
  state_dict = read_state_dict(argv[1])
  variables_from_state_dict(state_dict)  # Refuse anything that is not the FID network.
  np.savez(argv[2], **state_dict)
  print(f"Wrote {len(state_dict)} arrays to {argv[2]}.")


if __name__ == "__main__":
  main(sys.argv)
