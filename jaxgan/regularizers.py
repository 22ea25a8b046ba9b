"""Regularisers and training tricks, as pure functions and optax transforms.

Discriminator penalties share one signature,
`penalty(d_fn, real, fake, rng) -> scalar`, where `d_fn(samples) -> logits [batch]`
is D with its parameters closed over (so the penalty's gradient reaches them);
the trainer adds `weight * penalty`, or, when applied lazily every N steps,
`N * weight * penalty` on those steps (StyleGAN2's lazy regularisation).
Register your own with `PENALTIES.register(name, fn)` or name it in a config
as `"package.module:function"`. Generator penalties (path length) are alike, in
`G_PENALTIES`, on a generator with a mapping network.
"""

import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import lax

from jaxgan.registry import Registry

Array = jax.Array
Discriminator = Callable[[Array], Array]


def _input_gradients(d_fn: Discriminator, samples: Any) -> Any:
  """d D(x_i) / d x_i for every sample, `[batch, ...]` (per array, for D's inputs that are
  several arrays, such as MSG-GAN's scales); D must not mix samples (no BatchNorm)."""
  return jax.grad(lambda x: jnp.sum(d_fn(x)))(samples)


def _per_sample_squares(gradients: Any) -> Array:
  """`|g_i|^2` `[batch]` over every array of the input."""
  return sum(jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=1) for g in jax.tree.leaves(gradients))


def _per_sample_norms(gradients: Any) -> Array:
  # The gradient of |g| at g = 0 is undefined; the floor keeps it finite (as optax.safe_norm).
  return jnp.sqrt(jnp.maximum(_per_sample_squares(gradients), 1e-24))


def gradient_penalty(d_fn: Discriminator, real: Array, fake: Array, rng: Array, *,
                     target: float = 1.0, one_sided: bool = False) -> Array:
  """WGAN-GP (Gulrajani et al. 2017): `mean (|grad D(x_hat)| - target)^2` on random
  interpolates `x_hat = real + u (fake - real)`, `u ~ U[0, 1]` per sample.

  Args:
    d_fn: samples `[batch, ...]` -> logits `[batch]`.
    real: `[batch, ...]` data (or a pytree of such arrays: one interpolation weight per
      sample for all of them, one norm over all of them).
    fake: generated samples, of the same structure.
    rng: key for the interpolation weights.
    target: the gradient norm aimed at.
    one_sided: penalise only norms above `target` (Petzka et al. 2018's variant).

  Returns:
    scalar penalty.
  """
  batch = jax.tree.leaves(real)[0].shape[0]
  u = jax.random.uniform(rng, (batch,))  # One weight per sample, for all its arrays.
  interpolates = jax.tree.map(lambda r, f: r + u.reshape((-1,) + (1,) * (r.ndim - 1)) * (f - r),
                              real, fake)
  gap = _per_sample_norms(_input_gradients(d_fn, interpolates)) - target
  if one_sided:
    gap = jax.nn.relu(gap)
  return jnp.mean(gap ** 2)


def r1_penalty(d_fn: Discriminator, real: Array, fake: Array, rng: Array) -> Array:
  """R1 (Mescheder et al. 2018): `0.5 mean |grad D(real)|^2`; weight is the paper's gamma."""
  del fake, rng
  return 0.5 * jnp.mean(_per_sample_squares(_input_gradients(d_fn, real)))


def r2_penalty(d_fn: Discriminator, real: Array, fake: Array, rng: Array) -> Array:
  """R2 (Mescheder et al. 2018): `0.5 mean |grad D(fake)|^2`, R1 on generated samples."""
  return r1_penalty(d_fn, fake, real, rng)


PENALTIES: Registry[Callable[..., Array]] = Registry("penalty", {
    "gradient_penalty": gradient_penalty,
    "r1": r1_penalty,
    "r2": r2_penalty,
})


def path_length_penalty(synthesize: Callable[[Array], Array], ws: Array, rng: Array,
                        mean: Array, *, decay: float = 0.01,
                        batch_shrink: int = 2) -> tuple[Array, Array]:
  """Path length regularisation (Karras et al. 2020, StyleGAN2): `mean (a_i - m)^2`, where
  `a_i = |J_i^T y|`, the gradient of `<synthesize(w_i), y>` for image-space noise `y ~
  N(0, 1 / (h w))`, should stay near its running mean `m`, so that a step in w moves the
  image by the same amount everywhere.

  Args:
    synthesize: ws `[n, num_ws, w_dim]` (or `[n, w_dim]`) -> samples `[n, h, w, c]`, G's
      synthesis with its parameters closed over.
    ws: intermediate latents of the batch; the first `n / batch_shrink` are used.
    rng: key for `y`.
    mean: the running mean `m` of the lengths, a scalar.
    decay: how far `m` moves toward this batch's mean length.
    batch_shrink: the fraction of the batch the penalty sees is `1 / batch_shrink`.

  Returns:
    `(penalty, new mean)`, the penalty measured against the new mean.
  """
  ws = ws[:max(ws.shape[0] // batch_shrink, 1)]
  samples, pullback = jax.vjp(synthesize, ws)
  pixels = math.prod(samples.shape[1:-1])
  (gradients,) = pullback(jax.random.normal(rng, samples.shape) / math.sqrt(pixels))
  squares = jnp.sum(jnp.square(gradients), axis=-1).reshape(ws.shape[0], -1)  # [n, num_ws]
  lengths = jnp.sqrt(jnp.mean(squares, axis=1))
  new_mean = lax.stop_gradient(mean + decay * (jnp.mean(lengths) - mean))
  return jnp.mean(jnp.square(lengths - new_mean)), new_mean


# Generator penalties: `penalty(synthesize, ws, rng, state) -> (value, new state)`, where
# `synthesize(ws) -> samples` is G after its mapping network (parameters closed over), `ws`
# the intermediate latents of G's batch, and `state` a scalar the penalty carries from step
# to step in `Player.penalty_state` (path length's running mean).
G_PENALTIES: Registry[Callable[..., tuple[Array, Array]]] = Registry("generator penalty", {
    "path_length": path_length_penalty,
})


class Penalty(NamedTuple):
  """A D or G penalty with its weight, applied every `every` steps (weight scaled by
  `every`); `name` labels its metric `d/<name>` or `g/<name>`."""
  name: str
  fn: Callable[..., Array]
  weight: float
  every: int = 1


def clip_weights(limit: float) -> optax.GradientTransformation:
  """The original WGAN's weight clipping (Arjovsky et al. 2017) as an optax transform.

  Chained after an optimizer, it turns the updates into ones that land every
  parameter in `[-limit, limit]`.
  """

  def update_fn(updates, state, params):
    clipped = jax.tree.map(lambda p: jnp.clip(p, -limit, limit),
                           optax.apply_updates(params, updates))
    return jax.tree.map(jnp.subtract, clipped, params), state

  return optax.GradientTransformation(lambda params: optax.EmptyState(), update_fn)


def instance_noise_std(step: Array, *, std: float, anneal_steps: int) -> Array:
  """Instance noise (Sønderby et al. 2016) level at `step`: `std`, annealed linearly to 0
  over `anneal_steps` (constant if 0)."""
  if anneal_steps <= 0:
    return jnp.asarray(std, jnp.float32)
  return std * jnp.clip(1.0 - step / anneal_steps, 0.0, 1.0)


def instance_noise(rng: Array, samples: Any, std: Array) -> Any:
  """D's input `samples` (an array `[batch, ...]`, or a pytree of them, e.g. every scale of
  a multi-scale D) plus Gaussian noise of `std`, drawn independently for each array: a
  transform of D's inputs, as augmentation is."""
  leaves, tree = jax.tree.flatten(samples)
  keys = jax.random.split(rng, len(leaves)) if len(leaves) > 1 else [rng]
  return tree.unflatten([x + std * jax.random.normal(key, x.shape)
                         for x, key in zip(leaves, keys)])


def flip_labels(rng: Array, real_logits: Array, fake_logits: Array, *,
                fraction: float) -> tuple[Array, Array]:
  """Flips the labels of a random `fraction` of pairs by swapping their real and fake
  logits, so any loss sees those real samples as fake and vice versa. `[batch]` each."""
  flip = jax.random.bernoulli(rng, fraction, real_logits.shape)
  return jnp.where(flip, fake_logits, real_logits), jnp.where(flip, real_logits, fake_logits)


def historical_average_penalty(params: Any, average: Any) -> Array:
  """Historical averaging (Salimans et al. 2016): `|params - average of past params|^2`."""
  return optax.tree.norm(jax.tree.map(jnp.subtract, params, average), squared=True)


def update_average(average: Any, params: Any, count: Array) -> Any:
  """The running mean of parameters after adding the `count`-th (0-based) value."""
  return optax.incremental_update(params, average, 1.0 / (count + 1.0))


class ReplayBuffer(NamedTuple):
  """A fixed-size store of past generated samples, `samples [size, ...]`, and how many
  were ever written (`count`); kept inside the training state."""
  samples: Array
  count: Array


def replay_mix(rng: Array, fake: Array, buffer: ReplayBuffer, *, fraction: float) -> Array:
  """`fake [batch, ...]` with a random `fraction` of it replaced by past samples
  (Shrivastava et al. 2017); unchanged while the buffer is empty."""
  pick_rng, index_rng = jax.random.split(rng)
  filled = jnp.minimum(buffer.count, buffer.samples.shape[0])
  indices = jax.random.randint(index_rng, (fake.shape[0],), 0, jnp.maximum(filled, 1))
  use_old = jax.random.bernoulli(pick_rng, fraction, (fake.shape[0],)) & (filled > 0)
  use_old = use_old.reshape((-1,) + (1,) * (fake.ndim - 1))
  return jnp.where(use_old, buffer.samples[indices], fake)


def replay_push(buffer: ReplayBuffer, fake: Array) -> ReplayBuffer:
  """Writes `fake [batch, ...]` over the oldest entries."""
  positions = (buffer.count + jnp.arange(fake.shape[0])) % buffer.samples.shape[0]
  return ReplayBuffer(buffer.samples.at[positions].set(fake), buffer.count + fake.shape[0])


def pack(samples: Array, packing: int) -> Array:
  """PacGAN (Lin et al. 2018): `[batch, ..., c]` -> `[batch / packing, ..., packing * c]`,
  each run of `packing` consecutive samples concatenated along the last axis (the features
  of points, the channels of images), so that D judges them together and a generator
  that repeats itself shows. Samples of different packs never mix."""
  batch = samples.shape[0]
  if batch % packing:
    raise ValueError(f"packing={packing} must divide the batch D sees on each device "
                     f"({batch}); change batch_size or packing.")
  packs = samples.reshape(batch // packing, packing, *samples.shape[1:])
  packs = jnp.moveaxis(packs, 1, -2)  # [packs, ..., packing, c]
  return packs.reshape(*packs.shape[:-2], packing * samples.shape[-1])


class PastDiscriminators(NamedTuple):
  """A ring of `size` snapshots of D, its `params` and `batch_stats` stacked on a leading
  axis `[size, ...]`, and how many were ever taken (`count`); kept inside the training state
  (and its checkpoints) so that G can train against them too."""
  params: Any
  batch_stats: Any
  count: Array


def past_discriminators(params: Any, batch_stats: Any, size: int) -> PastDiscriminators:
  """An empty ring of `size` snapshots shaped like D's `params` and `batch_stats`."""
  def stack(tree):
    return jax.tree.map(lambda x: jnp.zeros((size, *x.shape), x.dtype), tree)

  return PastDiscriminators(stack(params), stack(batch_stats), jnp.zeros((), jnp.int32))


def past_discriminators_push(ring: PastDiscriminators, params: Any, batch_stats: Any,
                             take: Array) -> PastDiscriminators:
  """`ring` with D's `params` and `batch_stats` written over the oldest snapshot if `take`."""
  slot = ring.count % jax.tree.leaves(ring.params)[0].shape[0]

  def write(stacked, x):  # One slot's worth of work per step, taken or not.
    return stacked.at[slot].set(jnp.where(take, x, stacked[slot]))

  return PastDiscriminators(jax.tree.map(write, ring.params, params),
                            jax.tree.map(write, ring.batch_stats, batch_stats),
                            ring.count + take.astype(jnp.int32))


class AdaptiveProbability(NamedTuple):
  """ADA's augmentation probability `p` and the sum of `E[sign(D(real))]` over the steps
  since `p` last moved (`signs`); kept inside the training state."""
  p: Array
  signs: Array


def ada_update(ada: AdaptiveProbability, real_sign: Array, step: Array, *, images: int,
               target: float, speed_images: int, interval: int) -> AdaptiveProbability:
  """ADA's controller (Karras et al. 2020): adds this step's `real_sign` (the mean sign of
  D's outputs on real images) to the sum; every `interval` steps (`step` counted from 1),
  moves `p` by `sign(r_t - target) * images * interval / speed_images`, with `r_t` the
  sum's mean and `images` those D judged per step, keeps it in [0, 1] and starts a new sum.
  `p` can thus go from 0 to 1 in `speed_images` real images."""
  signs = ada.signs + real_sign
  due = step % interval == 0
  r_t = signs / interval
  moved = jnp.clip(ada.p + jnp.sign(r_t - target) * images * interval / speed_images, 0.0, 1.0)
  return AdaptiveProbability(jnp.where(due, moved, ada.p), jnp.where(due, 0.0, signs))
