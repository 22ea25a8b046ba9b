"""The pure training step and sampling.

`train_step` runs on one device under `jax.jit` (`axis_name=None`) and, unchanged,
on each device under `jax.pmap(axis_name=AXIS)`; the only device-aware lines are
the `lax.pmean` of gradients, BatchNorm statistics and metrics, and the slicing
of globally drawn latents, which makes a BatchNorm-free run independent of the
number of devices.
"""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax import lax

from jaxgan.state import GAN, GANState, Player, sample_latents

AXIS = "devices"
Metrics = dict[str, jax.Array]


def _pmean(tree: Any, axis_name: str | None) -> Any:
  return tree if axis_name is None else lax.pmean(tree, axis_name)


def _device_share(x: jax.Array, axis_name: str | None, axis: int = 0) -> jax.Array:
  """This device's contiguous share of `x` along `axis` (all of it without pmap)."""
  if axis_name is None:
    return x
  share = x.shape[axis] // lax.axis_size(axis_name)
  return lax.dynamic_slice_in_dim(x, lax.axis_index(axis_name) * share, share, axis)


def _apply(module: nn.Module, params: Any, batch_stats: Any, inputs: jax.Array,
           *, train: bool = True) -> tuple[jax.Array, Any]:
  """`module(inputs)` and its new BatchNorm statistics (unchanged unless `train`)."""
  variables = {"params": params, "batch_stats": batch_stats} if batch_stats else {"params": params}
  if not train:
    return module.apply(variables, inputs, train=False), batch_stats
  outputs, mutated = module.apply(variables, inputs, train=True, mutable=["batch_stats"])
  return outputs, mutated.get("batch_stats", batch_stats)


def _update(player: Player, optimizer: optax.GradientTransformation, grads: Any,
            batch_stats: Any) -> Player:
  updates, opt_state = optimizer.update(grads, player.opt_state, player.params)
  return Player(params=optax.apply_updates(player.params, updates), batch_stats=batch_stats,
                opt_state=opt_state)


def _d_loss(gan: GAN, d_params: Any, d_stats: Any, real: jax.Array, fake: jax.Array):
  """D's loss on a real and a fake batch, passed separately so BatchNorm sees each alone."""
  real_logits, d_stats = _apply(gan.discriminator, d_params, d_stats, real)
  fake_logits, d_stats = _apply(gan.discriminator, d_params, d_stats, fake)
  return gan.loss.discriminator(real_logits, fake_logits), (d_stats, real_logits, fake_logits)


def _d_metrics(loss: jax.Array, real_logits: jax.Array, fake_logits: jax.Array,
               grads: Any) -> Metrics:
  return {"d/loss": loss,
          "d/real_prob": jnp.mean(jax.nn.sigmoid(real_logits)),
          "d/fake_prob": jnp.mean(jax.nn.sigmoid(fake_logits)),
          "d/grad_norm": optax.tree.norm(grads)}


def _d_step(gan: GAN, d: Player, real: jax.Array, fake: jax.Array,
            axis_name: str | None) -> tuple[Player, Metrics]:
  """One D update on a real and a (constant) fake batch."""
  (loss, (d_stats, real_logits, fake_logits)), grads = jax.value_and_grad(
      lambda p: _d_loss(gan, p, d.batch_stats, real, fake), has_aux=True)(d.params)
  grads = _pmean(grads, axis_name)
  return (_update(d, gan.d_optimizer, grads, d_stats),
          _d_metrics(loss, real_logits, fake_logits, grads))


def train_step(gan: GAN, state: GANState, batch: jax.Array, rng: jax.Array, *,
               axis_name: str | None = None) -> tuple[GANState, Metrics]:
  """One training step: `gan.n_critic` D updates and one G update.

  Args:
    gan: the fixed definition (models, optimizers, loss, schedule).
    state: the current state.
    batch: `[n_critic * per_device_batch, *data_shape]` real samples (this device's share).
    rng: the run's key, the same on every device; the step draws from
      `fold_in(rng, state.step)`, so results depend only on the seed and the step.
    axis_name: the pmap axis to average over, or None under jit.

  Returns:
    The new state and scalar metrics: `d/loss`, `d/real_prob` and `d/fake_prob`
    (mean D(x) and D(G(z)) before the last D update), `d/grad_norm`, `g/loss`,
    `g/grad_norm`.
  """
  per_device_batch = batch.shape[0] // gan.n_critic
  real = batch.reshape(gan.n_critic, per_device_batch, *batch.shape[1:])
  num_devices = 1 if axis_name is None else lax.axis_size(axis_name)
  latents = sample_latents(gan, jax.random.fold_in(rng, state.step),
                           gan.n_critic * per_device_batch * num_devices)
  latents = _device_share(latents.reshape(gan.n_critic, -1, gan.latent_dim), axis_name, axis=1)
  g, d = state.g, state.d

  # All D updates but the last, each on a fresh fake batch (n_critic > 1 only).
  def critic_update(carry, inputs):
    g_stats, d = carry
    real_i, latents_i = inputs
    fake, g_stats = _apply(gan.generator, g.params, g_stats, latents_i)
    d, _ = _d_step(gan, d, real_i, fake, axis_name)
    return (g_stats, d), None

  g_stats = g.batch_stats
  if gan.n_critic > 1:
    (g_stats, d), _ = lax.scan(critic_update, (g_stats, d), (real[:-1], latents[:-1]))

  # One G forward pass serves the last D update and the G update.
  fake, g_pullback, g_stats = jax.vjp(
      lambda p: _apply(gan.generator, p, g_stats, latents[-1]), g.params, has_aux=True)

  if gan.schedule == "alternating":
    # Last D update, then G's loss against the updated D.
    d, metrics = _d_step(gan, d, real[-1], fake, axis_name)

    def g_loss_fn(fake):
      fake_logits, d_stats = _apply(gan.discriminator, d.params, d.batch_stats, fake)
      return gan.loss.generator(fake_logits), d_stats

    (g_loss, d_stats), fake_grad = jax.value_and_grad(g_loss_fn, has_aux=True)(fake)
    d = d.replace(batch_stats=d_stats)
  else:
    # Both losses from one forward pass through D; each player's gradient by its own pullback.
    def losses(d_params, fake):
      d_loss, (d_stats, real_logits, fake_logits) = _d_loss(
          gan, d_params, d.batch_stats, real[-1], fake)
      return (d_loss, gan.loss.generator(fake_logits)), (d_stats, real_logits, fake_logits)

    (d_loss, g_loss), d_pullback, (d_stats, real_logits, fake_logits) = jax.vjp(
        losses, d.params, fake, has_aux=True)
    d_grads, _ = d_pullback((jnp.ones_like(d_loss), jnp.zeros_like(g_loss)))
    _, fake_grad = d_pullback((jnp.zeros_like(d_loss), jnp.ones_like(g_loss)))
    d_grads = _pmean(d_grads, axis_name)
    metrics = _d_metrics(d_loss, real_logits, fake_logits, d_grads)
    d = _update(d, gan.d_optimizer, d_grads, d_stats)

  (g_grads,) = g_pullback(fake_grad)
  g_grads = _pmean(g_grads, axis_name)
  g = _update(g, gan.g_optimizer, g_grads, g_stats)

  # Running statistics are linear in the batch statistics, so one mean at the end
  # equals a mean after every update.
  g = g.replace(batch_stats=_pmean(g.batch_stats, axis_name))
  d = d.replace(batch_stats=_pmean(d.batch_stats, axis_name))
  metrics |= {"g/loss": g_loss, "g/grad_norm": optax.tree.norm(g_grads)}
  return GANState(step=state.step + 1, g=g, d=d), _pmean(metrics, axis_name)


def generate(gan: GAN, g: Player, latents: jax.Array) -> jax.Array:
  """Samples `[n, *data_shape]` from latents `[n, latent_dim]`, BatchNorm in inference mode."""
  return _apply(gan.generator, g.params, g.batch_stats, latents, train=False)[0]
