"""Differentiable augmentation of everything D sees, for GANs on small datasets.

Two families, each a pure function `(rng, images [n, h, w, c] in [-1, 1], p) -> images` that
the step applies to every input of D (real, generated and the penalties' alike), so G's
gradient flows through it and D never sees an unaugmented image:

- `diffaugment` (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
  Training"): colour (brightness, saturation, contrast), translation by up to 1/8 of the
  side with zero padding, and cutout of a square of half the side, on every sample.
- `ada` (Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data",
  the pipeline's first groups): flips, 90° rotations, integer translation by up to 1/8 of
  the side with reflect padding, brightness, contrast and saturation, each applied to a
  sample with probability `p`, which training adapts (`regularizers.ada_update`).

Per-sample parameters are drawn from `rng`, so a fixed key gives a fixed augmentation.
Colour is applied as in the papers: brightness may take values past [-1, 1], and so may
contrast and saturation (by at most their factor); flips, rotations, translation and
cutout only move values or put mid-grey (0) in.
"""

import functools
from typing import Callable

import dm_pix as pix
import jax
import jax.numpy as jnp
from jax import lax

from jaxgan.errors import ConfigError, check_kwargs
from jaxgan.state import Augment

Transform = Callable[[jax.Array, jax.Array, jax.Array], jax.Array]


def _per_sample(shape: tuple[int, ...]) -> tuple[int, ...]:
  return (shape[0],) + (1,) * (len(shape) - 1)


def _where_drawn(rng: jax.Array, p: jax.Array, augmented: jax.Array,
                 images: jax.Array) -> jax.Array:
  """`augmented` for each sample with probability `p`, else `images`."""
  take = jax.random.uniform(rng, _per_sample(images.shape)) < p
  return jnp.where(take, augmented, images)


def brightness(rng: jax.Array, images: jax.Array, delta: jax.Array) -> jax.Array:
  """Each sample plus a shift drawn uniformly in `[-delta, delta]`."""
  shift = jax.random.uniform(rng, _per_sample(images.shape), minval=-delta, maxval=delta)
  return pix.adjust_brightness(images, shift)


def contrast(rng: jax.Array, images: jax.Array, low: float, high: float) -> jax.Array:
  """Each sample's deviations from its mean scaled by a factor drawn in `[low, high]`."""
  factor = jax.random.uniform(rng, _per_sample(images.shape), minval=low, maxval=high)
  mean = jnp.mean(images, axis=(1, 2, 3), keepdims=True)
  return factor * (images - mean) + mean


def saturation(rng: jax.Array, images: jax.Array, low: float, high: float) -> jax.Array:
  """Each pixel's deviations from its grey (the mean of its channels) scaled by a factor
  per sample drawn in `[low, high]`; grey images are returned as they are. (dm-pix's
  `adjust_saturation` goes through HSV and clips, which is not this transform.)"""
  if images.shape[-1] == 1:
    return images
  factor = jax.random.uniform(rng, _per_sample(images.shape), minval=low, maxval=high)
  grey = jnp.mean(images, axis=-1, keepdims=True)
  return factor * (images - grey) + grey


def translation(rng: jax.Array, images: jax.Array, ratio: float = 0.125,
                mode: str = "constant") -> jax.Array:
  """Each sample moved by a whole number of pixels, up to `ratio` of its side in each
  direction, drawn uniformly; the uncovered border is filled with 0 (`mode="constant"`,
  DiffAugment) or mirrored (`"reflect"`, ADA)."""
  n, h, w, _ = images.shape
  pad_h, pad_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
  padded = jnp.pad(images, ((0, 0), (pad_h, pad_h), (pad_w, pad_w), (0, 0)), mode=mode)
  y_rng, x_rng = jax.random.split(rng)
  ys = jax.random.randint(y_rng, (n,), 0, 2 * pad_h + 1)
  xs = jax.random.randint(x_rng, (n,), 0, 2 * pad_w + 1)
  crop = lambda image, y, x: lax.dynamic_slice(  # noqa: E731
      image, (y, x, 0), (h, w, image.shape[-1]))
  return jax.vmap(crop)(padded, ys, xs)


def cutout(rng: jax.Array, images: jax.Array, ratio: float = 0.5) -> jax.Array:
  """Each sample with a square of side `ratio` of its own set to 0, centred anywhere in
  the image (clipped at the borders)."""
  n, h, w, _ = images.shape
  size_h, size_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
  y_rng, x_rng = jax.random.split(rng)
  cy = jax.random.randint(y_rng, (n, 1, 1, 1), 0, h + 1 - size_h % 2)
  cx = jax.random.randint(x_rng, (n, 1, 1, 1), 0, w + 1 - size_w % 2)
  rows = jnp.arange(h)[None, :, None, None]
  cols = jnp.arange(w)[None, None, :, None]
  inside = ((rows >= cy - size_h // 2) & (rows < cy - size_h // 2 + size_h)
            & (cols >= cx - size_w // 2) & (cols < cx - size_w // 2 + size_w))
  return jnp.where(inside, 0.0, images)


def flip(rng: jax.Array, images: jax.Array) -> jax.Array:
  """Each sample mirrored left-right with probability 1/2."""
  return _where_drawn(rng, 0.5, pix.flip_left_right(images), images)


def rotate90(rng: jax.Array, images: jax.Array) -> jax.Array:
  """Each sample (square) rotated by 0, 90, 180 or 270 degrees, drawn uniformly."""
  quarter_turns = jax.random.randint(rng, _per_sample(images.shape), 0, 4)
  rotated = images
  for k in (1, 2, 3):
    rotated = jnp.where(quarter_turns == k, pix.rot90(images, k), rotated)
  return rotated


DIFFAUGMENT_POLICY = ("color", "translation", "cutout")


def diffaugment(rng: jax.Array, images: jax.Array, p: jax.Array | None = None,
                policy: tuple[str, ...] = DIFFAUGMENT_POLICY) -> jax.Array:
  """DiffAugment's transforms named in `policy` ("color": brightness, saturation and
  contrast; "translation"; "cutout") on every sample, with the paper's ranges (`p` is
  unused: every transform is always on)."""
  del p
  keys = jax.random.split(rng, 5)
  if "color" in policy:
    images = brightness(keys[0], images, 0.5)
    images = saturation(keys[1], images, 0.0, 2.0)
    images = contrast(keys[2], images, 0.5, 1.5)
  if "translation" in policy:
    images = translation(keys[3], images, 0.125, mode="constant")
  if "cutout" in policy:
    images = cutout(keys[4], images, 0.5)
  return images


def ada(rng: jax.Array, images: jax.Array, p: jax.Array) -> jax.Array:
  """ADA's geometric and colour transforms, each applied to a sample with probability `p`:
  flip, 90° rotation (square images), integer translation (1/8, reflect), brightness
  (shift with std 0.2), contrast (factor 2^N(0, 0.5)) and saturation (factor 2^N(0, 1)),
  with the paper's strengths."""
  keys = jax.random.split(rng, 12)
  geometric = [flip, functools.partial(translation, ratio=0.125, mode="reflect")]
  if images.shape[1] == images.shape[2]:
    geometric.insert(1, rotate90)
  colour = [
      lambda key, x: pix.adjust_brightness(
          x, 0.2 * jax.random.normal(key, _per_sample(x.shape))),
      lambda key, x: _lognormal_scale(key, x, 0.5, jnp.mean(x, axis=(1, 2, 3), keepdims=True)),
  ]
  if images.shape[-1] > 1:
    colour.append(lambda key, x: _lognormal_scale(key, x, 1.0,
                                                  jnp.mean(x, axis=-1, keepdims=True)))
  for i, transform in enumerate(geometric + colour):
    images = _where_drawn(keys[2 * i], p, transform(keys[2 * i + 1], images), images)
  return images


def _lognormal_scale(rng: jax.Array, images: jax.Array, std: float,
                     centre: jax.Array) -> jax.Array:
  """`images`' deviations from `centre` scaled by `2^N(0, std^2)` per sample."""
  factor = jnp.exp2(std * jax.random.normal(rng, _per_sample(images.shape)))
  return factor * (images - centre) + centre


def _none() -> Augment:
  return Augment()


def _diffaugment(policy: tuple[str, ...] | str = DIFFAUGMENT_POLICY) -> Augment:
  """DiffAugment with the transforms of `policy`: some of "color", "translation" and
  "cutout", as a tuple or comma-separated (`--config.augment_kwargs.policy=color,cutout`)."""
  if isinstance(policy, str):
    policy = tuple(name.strip() for name in policy.split(",") if name.strip())
  unknown = set(policy) - set(DIFFAUGMENT_POLICY)
  if unknown or not policy:
    raise ConfigError(f"augment_kwargs.policy takes some of {', '.join(DIFFAUGMENT_POLICY)}; "
                      f"got {tuple(policy)}.")
  return Augment(functools.partial(diffaugment, policy=tuple(policy)), p=1.0)


def _ada(p: float = 0.0, adaptive: bool = True, target: float = 0.6,
         speed_images: int = 500_000, interval: int = 4) -> Augment:
  """ADA from probability `p`, adapted toward `target` (see `state.Augment`) unless
  `adaptive` is False (a fixed `p`)."""
  return Augment(ada, p=p, adaptive=adaptive, target=target, speed_images=speed_images,
                 interval=interval)


AUGMENTS: dict[str, Callable[..., Augment]] = {
    "none": _none, "diffaugment": _diffaugment, "ada": _ada}


def from_config(name: str, kwargs: dict, data_shape: tuple[int, ...], *,
                multi_scale: bool) -> Augment:
  """The augmentation `config.augment` names, with `config.augment_kwargs`, for samples of
  `data_shape`; ConfigError where it cannot apply."""
  if name not in AUGMENTS:
    raise ConfigError(f"Unknown augment {name!r}. Known: {', '.join(AUGMENTS)}.")
  check_kwargs(AUGMENTS[name], kwargs, f"augment={name!r}")
  if name == "none":
    return _none()
  if len(data_shape) != 3:
    raise ConfigError(f"augment={name!r} transforms images [height, width, channels]; this "
                      f"data's samples have shape {data_shape}. Set augment='none'.")
  if multi_scale:
    raise ConfigError(f"augment={name!r} transforms one image per sample; a multi-scale D "
                      f"takes every scale. Set augment='none', or use a single-scale model.")
  return AUGMENTS[name](**kwargs)
