"""The pure training step and sampling.

`train_step` runs on one device under `jax.jit` (`axis_name=None`) and, unchanged,
on each device under `jax.pmap` or `jax.shard_map` with `axis_name=AXIS`
(jaxgan.parallel). The only device-aware lines are
the helpers below: `lax.pmean` of gradients, BatchNorm statistics and metrics;
latents drawn for the global batch and sliced per device (so a run without
BatchNorm or per-sample tricks gives the same parameters on any number of
devices); a per-device key for per-sample noise; and the gather of generated
samples into the replay buffer, which stays identical on every device.
"""

from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax import lax

from jaxgan import regularizers
from jaxgan.state import GAN, GANState, Player, sample_labels, sample_latents

AXIS = "devices"
Metrics = dict[str, jax.Array]
# Real samples `[batch, *data_shape]`, or `(samples, labels [batch])` for a conditional GAN,
# or `(targets, sources)` for a paired translation.
Batch = jax.Array | tuple[jax.Array, jax.Array]


def _pmean(tree: Any, axis_name: str | None) -> Any:
  return tree if axis_name is None else lax.pmean(tree, axis_name)


def _device_share(tree: Any, axis_name: str | None, axis: int = 0) -> Any:
  """This device's contiguous share of each array in `tree` along `axis` (all of it
  without pmap)."""
  if axis_name is None:
    return tree

  def share(x):
    size = x.shape[axis] // lax.axis_size(axis_name)
    return lax.dynamic_slice_in_dim(x, lax.axis_index(axis_name) * size, size, axis)

  return jax.tree.map(share, tree)


def _device_rng(rng: jax.Array, axis_name: str | None) -> jax.Array:
  return rng if axis_name is None else jax.random.fold_in(rng, lax.axis_index(axis_name))


def _num_devices(axis_name: str | None) -> int:
  return 1 if axis_name is None else lax.axis_size(axis_name)


def _gather(x: jax.Array, axis_name: str | None) -> jax.Array:
  """All devices' `x` concatenated along axis 0."""
  return x if axis_name is None else lax.all_gather(x, axis_name, tiled=True)


class _Context(NamedTuple):
  """What every phase of one step needs besides parameters and data."""
  step: jax.Array
  noise_std: jax.Array | None  # Instance noise level, None when off.
  augment_p: jax.Array  # The probability of augmenting each input of D (when on).
  axis_name: str | None
  model_kwargs: dict  # What G and D take in training besides their inputs: a growing
                      # model's phase and fade-in weight alpha; {} for the others.


def _context(gan: GAN, state: GANState, axis_name: str | None) -> _Context:
  step, noise_std = state.step, None
  if gan.instance_noise.std:
    noise_std = regularizers.instance_noise_std(
        step, std=gan.instance_noise.std, anneal_steps=gan.instance_noise.anneal_steps)
  augment_p = jnp.float32(gan.augment.p) if state.augment is None else state.augment.p
  return _Context(step, noise_std, augment_p, axis_name,
                  {} if gan.growth is None else gan.growth.model_kwargs(step))


def apply_model(module: nn.Module, dtype: str, params: Any, batch_stats: Any,
                inputs: jax.Array, labels: jax.Array | None = None, *, train: bool = True,
                noise_rng: jax.Array | None = None, method: str = "__call__",
                **model_kwargs) -> tuple[jax.Array, Any]:
  """`module(inputs)`, or `module(inputs, labels)` when conditional (or that `method` of
  it), computed in `dtype` (float32 outputs), and its new BatchNorm/spectral-norm
  statistics (unchanged unless `train`). `noise_rng` feeds a model's own randomness (its
  `"noise"` stream: a generator's sampled discrete outputs or noise inputs, a
  discriminator's phase shuffle)."""
  if jnp.dtype(dtype) != jnp.float32:  # Mixed precision: float32 parameters, computed in `dtype`.
    params, inputs = _cast((params, inputs), dtype)
  variables = {"params": params, "batch_stats": batch_stats} if batch_stats else {"params": params}
  args = (inputs,) if labels is None else (inputs, labels)
  rngs = None if noise_rng is None else {"noise": noise_rng}
  if not train:
    return _cast(module.apply(variables, *args, train=False, rngs=rngs, method=method,
                              **model_kwargs), jnp.float32), batch_stats
  outputs, mutated = module.apply(variables, *args, train=True, mutable=["batch_stats"],
                                  rngs=rngs, method=method, **model_kwargs)
  new_stats = jax.tree.map(lambda new, old: new.astype(old.dtype),
                           mutated.get("batch_stats", batch_stats), batch_stats)
  return _cast(outputs, jnp.float32), new_stats


def _cast(tree: Any, dtype: str | jnp.dtype) -> Any:
  """`tree` with its floating-point arrays in `dtype`."""
  return jax.tree.map(
      lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)


def _discriminate(gan: GAN, ctx: _Context, d_params: Any, d_stats: Any, samples: jax.Array,
                  labels: jax.Array | None, rng: jax.Array) -> tuple[jax.Array, Any]:
  """D's logits `[batch]` on `samples` (of classes `labels`), with instance noise when it is
  on; `rng` also feeds D's own randomness."""
  if ctx.noise_std is not None:
    samples = regularizers.instance_noise(rng, samples, ctx.noise_std)
  return _apply_d(gan, ctx, d_params, d_stats, samples, labels,
                  noise_rng=jax.random.fold_in(rng, 1))


def _apply_d(gan: GAN, ctx: _Context, d_params: Any, d_stats: Any, samples: Any,
             labels: jax.Array | None, *, train: bool = True,
             noise_rng: jax.Array | None = None) -> tuple[jax.Array, Any]:
  """D's logits `[batch / packing]` (every D call, penalties' too) on `samples` augmented
  when augmentation is on, and its new statistics; `noise_rng` feeds the augmentation and
  D's own randomness (WaveGAN's phase shuffle), if it has any."""
  if gan.augment.transform is not None:
    samples = gan.augment.transform(jax.random.fold_in(noise_rng, 2), samples, ctx.augment_p)
  if gan.packing > 1:
    samples = jax.tree.map(lambda x: regularizers.pack(x, gan.packing), samples)
  return apply_model(gan.discriminator, gan.compute_dtype, d_params, d_stats, samples, labels,
                     train=train, noise_rng=noise_rng, **ctx.model_kwargs)


def _real_inputs(gan: GAN, ctx: _Context, real: jax.Array) -> Any:
  """What D is shown of a real batch: while growing, the phase's resolution (faded in like
  G's images); for a multi-scale D, every scale."""
  if gan.growth is not None:
    real = gan.growth.fade_real(real, ctx.model_kwargs["alpha"])
  return gan.real_inputs(real)


def _generator_adversarial_loss(gan: GAN, fake_logits: jax.Array,
                                real_logits: Callable[[], jax.Array]) -> jax.Array:
  """G's loss; `real_logits()` is evaluated only for losses that compare with real data."""
  if gan.loss.generator_uses_real:
    return gan.loss.generator(fake_logits, real_logits())
  return gan.loss.generator(fake_logits)


def _g_loss(gan: GAN, ctx: _Context, judge: Player, past: regularizers.PastDiscriminators | None,
            real: jax.Array, real_labels: jax.Array | None, fake: jax.Array,
            fake_labels: jax.Array | None, rng: jax.Array) -> tuple[jax.Array, Any]:
  """G's adversarial loss against D (`judge`) and D's new statistics; with past
  discriminators, the mean of that loss and the losses against each snapshot taken so far
  (in inference mode). A loss that compares with real data sees them as D's loss does."""
  fake_rng, real_rng = jax.random.split(rng)
  real = _real_inputs(gan, ctx, real)
  fake_logits, d_stats = _discriminate(gan, ctx, judge.params, judge.batch_stats, fake,
                                       fake_labels, fake_rng)
  real_logits = lambda: _discriminate(  # noqa: E731
      gan, ctx, judge.params, judge.batch_stats, real, real_labels, real_rng)[0]
  loss = _generator_adversarial_loss(gan, fake_logits, real_logits)
  if past is None:
    return loss, d_stats

  def past_loss(params, stats):
    logits = lambda x, labels: _apply_d(  # noqa: E731
        gan, ctx, params, stats, x, labels, train=False, noise_rng=jax.random.fold_in(rng, 2))[0]
    return _generator_adversarial_loss(gan, logits(fake, fake_labels),
                                       lambda: logits(real, real_labels))

  past_losses = jax.vmap(past_loss)(past.params, past.batch_stats)  # [size]
  taken = jnp.arange(past_losses.shape[0]) < past.count
  return (loss + jnp.sum(jnp.where(taken, past_losses, 0.0))) / (1 + jnp.sum(taken)), d_stats


def _update(player: Player, optimizer: optax.GradientTransformation, grads: Any,
            batch_stats: Any) -> Player:
  updates, opt_state = optimizer.update(grads, player.opt_state, player.params)
  return player.replace(params=optax.apply_updates(player.params, updates),
                        batch_stats=batch_stats, opt_state=opt_state)


def _lazily(every: int, step: jax.Array, fn: Callable[[], Any], otherwise: Any) -> Any:
  """`fn()` on steps divisible by `every`, else `otherwise` (of the same structure). Only
  the taken branch runs (`lax.cond`), except on XLA:CPU: there a whole step with the
  penalty inside `lax.cond` ran 3x slower than one computing it every step (the digits
  DCGAN with R1 every 4: 11 against 36 steps/s), so the penalty is computed every step and
  masked."""
  if every == 1:
    return fn()
  take = step % every == 0
  if jax.default_backend() == "cpu":
    return jax.tree.map(lambda taken, kept: jnp.where(take, taken, kept), fn(), otherwise)
  return lax.cond(take, fn, lambda: otherwise)


def _d_loss(gan: GAN, ctx: _Context, d_params: Any, d: Player, real: jax.Array,
            real_labels: jax.Array | None, fake: jax.Array, fake_labels: jax.Array | None,
            rng: jax.Array):
  """D's loss: adversarial term (real and fake passed separately, so BatchNorm sees each
  alone), penalties (conditioned on the real labels) and historical averaging.
  Returns `(loss, (stats, real_logits, fake_logits, penalty_metrics))`."""
  real_rng, fake_rng, flip_rng, penalty_rng = jax.random.split(rng, 4)
  real = _real_inputs(gan, ctx, real)  # Penalties then see every input D sees.
  real_logits, d_stats = _discriminate(gan, ctx, d_params, d.batch_stats, real, real_labels,
                                       real_rng)
  fake_logits, d_stats = _discriminate(gan, ctx, d_params, d_stats, fake, fake_labels, fake_rng)
  adversarial_real, adversarial_fake = real_logits, fake_logits
  if gan.label_flip_fraction:
    adversarial_real, adversarial_fake = regularizers.flip_labels(
        flip_rng, real_logits, fake_logits, fraction=gan.label_flip_fraction)
  loss = gan.loss.discriminator(adversarial_real, adversarial_fake)

  *penalty_rngs, noise_rng = jax.random.split(penalty_rng, len(gan.d_penalties) + 1)

  def d_fn(x):
    return _apply_d(gan, ctx, d_params, d.batch_stats, x, real_labels, noise_rng=noise_rng)[0]

  terms = {}
  for penalty, key in zip(gan.d_penalties, penalty_rngs):
    value = _lazily(penalty.every, ctx.step, lambda: penalty.fn(d_fn, real, fake, key),
                    jnp.zeros((), jnp.float32))
    loss += penalty.weight * penalty.every * value
    terms[f"d/{penalty.name}"] = value
  if gan.historical_averaging_weight:
    value = regularizers.historical_average_penalty(d_params, d.history)
    loss += gan.historical_averaging_weight * value
    terms["d/historical_average"] = value
  return loss, (d_stats, real_logits, fake_logits, terms)


def _d_step(gan: GAN, ctx: _Context, d: Player, real: jax.Array, real_labels: jax.Array | None,
            fake: jax.Array, fake_labels: jax.Array | None,
            rng: jax.Array) -> tuple[Player, Metrics]:
  """One D update on a real and a (constant) fake batch."""
  (loss, (d_stats, real_logits, fake_logits, terms)), grads = jax.value_and_grad(
      lambda p: _d_loss(gan, ctx, p, d, real, real_labels, fake, fake_labels, rng),
      has_aux=True)(d.params)
  grads = _pmean(grads, ctx.axis_name)
  return (_update(d, gan.d_optimizer, grads, d_stats),
          _d_metrics(gan, loss, real_logits, fake_logits, grads) | terms)


def unrolled(gan: GAN, ctx: _Context, d: Player, real: jax.Array, real_labels: jax.Array | None,
             fake: jax.Array, fake_labels: jax.Array | None, rng: jax.Array) -> Player:
  """Unrolled GAN (Metz et al. 2017): D after `gan.unrolled.steps` more updates on this batch,
  the judge of G's loss. G's gradient flows through the updates (they depend on `fake`)
  unless `gan.unrolled.gradient` is False; D itself keeps its state. `d` when not unrolled."""
  if not gan.unrolled.steps:
    return d

  def update(d, key):
    return _d_step(gan, ctx, d, real, real_labels, fake, fake_labels, key)[0], None

  judge, _ = lax.scan(update, d, jax.random.split(rng, gan.unrolled.steps), unroll=True)
  return judge if gan.unrolled.gradient else lax.stop_gradient(judge)


def _d_metrics(gan: GAN, loss: jax.Array, real_logits: jax.Array, fake_logits: jax.Array,
               grads: Any) -> Metrics:
  """D's loss and gradient norm, and what it says of real and fake samples: the mean
  probability that they are real (`d/real_prob`, `d/fake_prob`) when its outputs are logits,
  else a critic's mean scores (`d/real_score`, `d/fake_score`)."""
  if gan.loss.outputs_are_logits:
    outputs = {"d/real_prob": jnp.mean(jax.nn.sigmoid(real_logits)),
               "d/fake_prob": jnp.mean(jax.nn.sigmoid(fake_logits))}
  else:
    outputs = {"d/real_score": jnp.mean(real_logits), "d/fake_score": jnp.mean(fake_logits)}
  if gan.augment.adaptive:  # ADA's overfitting signal.
    outputs["aug/real_sign"] = jnp.mean(jnp.sign(real_logits))
  return {"d/loss": loss, **outputs, "d/grad_norm": optax.tree.norm(grads)}


def _replayed(gan: GAN, state: GANState, fake: jax.Array,
              rng: jax.Array) -> tuple[jax.Array, jax.Array]:
  """The fake batch D sees (partly from the replay buffer when it is on), and the rest of
  the D update's key `rng`."""
  replay_rng, rng = jax.random.split(rng)
  if state.replay is None:
    return fake, rng
  return regularizers.replay_mix(replay_rng, fake, state.replay,
                                 fraction=gan.replay.fraction), rng


def _step_rngs(rng: jax.Array, step: jax.Array) -> jax.Array:
  """The step's four keys `[4]`: the latents' (and fake labels'), D's updates', G's update's
  and G's own noise's."""
  return jax.random.split(jax.random.fold_in(rng, step), 4)


def _latent_rng(rng: jax.Array, step: jax.Array) -> jax.Array:
  return _step_rngs(rng, step)[0]


def step_latents(gan: GAN, rng: jax.Array, step: jax.Array, global_batch: int) -> jax.Array:
  """The latents `[n_critic, global_batch, latent_dim]` that `train_step` draws at `step`;
  the last row feeds the G update."""
  latents = sample_latents(gan, _latent_rng(rng, step), gan.n_critic * global_batch)
  return latents.reshape(gan.n_critic, global_batch, gan.latent_dim)


def step_labels(gan: GAN, rng: jax.Array, step: jax.Array, global_batch: int
                ) -> jax.Array | None:
  """The labels `[n_critic, global_batch]` of the fake samples `train_step` draws at `step`,
  None for an unconditional GAN."""
  labels = sample_labels(gan, jax.random.fold_in(_latent_rng(rng, step), 1),
                         gan.n_critic * global_batch)
  return None if labels is None else labels.reshape(gan.n_critic, global_batch)


def _split_batch(gan: GAN, batch: Batch) -> tuple[jax.Array, jax.Array | None]:
  """`(samples, labels or sources)` of a batch, checking it matches the GAN's conditioning."""
  conditional_batch = isinstance(batch, (tuple, list))
  if gan.conditional != conditional_batch:
    taken = "(targets, sources)" if gan.num_classes == 0 else "(samples, labels)"
    raise ValueError(
        f"A {'conditional' if gan.conditional else 'unconditional'} GAN takes batches of "
        f"{taken if gan.conditional else 'samples alone'}; got "
        f"{'a pair' if conditional_batch else 'an array'}.")
  return tuple(batch) if conditional_batch else (batch, None)


class _Inputs(NamedTuple):
  """One D update's inputs (a row of `_step_inputs`); the last row's also feed G's."""
  real: jax.Array  # [per_device_batch, *data_shape]
  real_labels: jax.Array | None  # [per_device_batch]
  latents: jax.Array  # [per_device_batch, latent_dim]
  fake_labels: jax.Array | None  # What D takes with the fake batch: labels, or sources.
  g_labels: jax.Array | None  # What G takes besides latents: labels, or images to translate.
  d_rng: jax.Array  # The D update's key.
  noise_rng: jax.Array  # G's own noise in the forward pass that makes the fake batch.


def _step_inputs(gan: GAN, step: jax.Array, batch: Batch, rng: jax.Array,
                 axis_name: str | None) -> tuple[_Inputs, jax.Array]:
  """This device's inputs of each D update, stacked `[n_critic, ...]`, and G's key."""
  _, d_rng, g_rng, noise_rng = _step_rngs(rng, step)  # [0]: the latents', drawn globally.
  d_rng, g_rng, noise_rng = (_device_rng(key, axis_name) for key in (d_rng, g_rng, noise_rng))
  noise_rngs = jax.random.split(noise_rng, gan.n_critic)  # One per G forward pass.
  samples, labels = _split_batch(gan, batch)
  per_device_batch = samples.shape[0] // gan.n_critic
  real, real_labels = jax.tree.map(
      lambda x: x.reshape(gan.n_critic, per_device_batch, *x.shape[1:]), (samples, labels))
  global_batch = per_device_batch * _num_devices(axis_name)
  latents, fake_labels = _device_share(
      (step_latents(gan, rng, step, global_batch),
       step_labels(gan, rng, step, global_batch)), axis_name, axis=1)
  g_labels = fake_labels
  if gan.translation is not None:  # G translates the batch: its sources, or both domains.
    fake_labels = real_labels
    g_labels = real_labels if gan.translation.paired else real
  d_rngs = jax.random.split(d_rng, gan.n_critic)
  return _Inputs(real, real_labels, latents, fake_labels, g_labels, d_rngs, noise_rngs), g_rng


def _generate(gan: GAN, ctx: _Context, g_params: Any, g_stats: Any,
              inputs: _Inputs) -> tuple[jax.Array, Any]:
  """G's fake batch `[per_device_batch, *data_shape]` in training, and its new statistics."""
  return apply_model(gan.generator, gan.compute_dtype, g_params, g_stats, inputs.latents,
                     inputs.g_labels, noise_rng=inputs.noise_rng, **ctx.model_kwargs)


def _d_update(gan: GAN, ctx: _Context, state: GANState, d: Player, inputs: _Inputs,
              fake: jax.Array) -> tuple[Player, Metrics]:
  """One D update on `inputs`' real batch and the fake batch `fake` (mixed with the replay
  buffer when it is on)."""
  d_fake, d_rng = _replayed(gan, state, fake, inputs.d_rng)
  return _d_step(gan, ctx, d, inputs.real, inputs.real_labels, d_fake, inputs.fake_labels,
                 d_rng)


def _critic_updates(gan: GAN, ctx: _Context, state: GANState,
                    inputs: _Inputs) -> tuple[Any, Player]:
  """All D updates but the last (n_critic > 1 only), each on a fresh fake batch; returns
  G's statistics and D after them."""
  if gan.n_critic == 1:
    return state.g.batch_stats, state.d

  def critic_update(carry, inputs_i):
    g_stats, d = carry
    fake, g_stats = _generate(gan, ctx, state.g.params, g_stats, inputs_i)
    d, _ = _d_update(gan, ctx, state, d, inputs_i, fake)
    return (g_stats, d), None

  all_but_last = jax.tree.map(lambda x: x[:-1], inputs)
  # Unrolled: XLA:CPU runs convolutions inside a loop ~20x slower (the digits DCGAN with
  # n_critic=5: 2.8 s a step in a loop, 0.13 s unrolled).
  (g_stats, d), _ = lax.scan(critic_update, (state.g.batch_stats, state.d), all_but_last,
                             unroll=True)
  return g_stats, d


# The last D update and G's loss, by schedule: each takes `(gan, ctx, state, d, inputs,
# fake, g_rng)` and returns D after its update, D's metrics, G's loss and that loss's
# gradient with respect to `fake`.
def _alternating(gan: GAN, ctx: _Context, state: GANState, d: Player, inputs: _Inputs,
                 fake: jax.Array, g_rng: jax.Array):
  """D's last update, then G's loss against the updated D (or D unrolled from it)."""
  d, metrics = _d_update(gan, ctx, state, d, inputs, fake)
  unroll_rng = jax.random.fold_in(g_rng, 2)

  def g_loss_fn(fake):
    judge = unrolled(gan, ctx, d, inputs.real, inputs.real_labels, fake, inputs.fake_labels,
                     unroll_rng)
    return _g_loss(gan, ctx, judge, state.past_d, inputs.real, inputs.real_labels, fake,
                   inputs.fake_labels, g_rng)

  (g_loss, d_stats), fake_grad = jax.value_and_grad(g_loss_fn, has_aux=True)(fake)
  if not gan.unrolled.steps:  # An unrolled D is only G's judge: D keeps its own state.
    d = d.replace(batch_stats=d_stats)
  return d, metrics, g_loss, fake_grad


def _simultaneous(gan: GAN, ctx: _Context, state: GANState, d: Player, inputs: _Inputs,
                  fake: jax.Array, g_rng: jax.Array):
  """Both losses from one forward pass through D; each player's gradient by its own
  pullback, then D's update. Samples D was shown from the replay buffer send G none."""
  del g_rng  # G's loss comes from the shared pass.

  def losses(d_params, fake):
    d_fake, d_rng = _replayed(gan, state, fake, inputs.d_rng)
    d_loss, (d_stats, real_logits, fake_logits, terms) = _d_loss(
        gan, ctx, d_params, d, inputs.real, inputs.real_labels, d_fake, inputs.fake_labels,
        d_rng)
    g_loss = _generator_adversarial_loss(gan, fake_logits, lambda: real_logits)
    return (d_loss, g_loss), (d_stats, real_logits, fake_logits, terms)

  (d_loss, g_loss), d_pullback, (d_stats, real_logits, fake_logits, terms) = jax.vjp(
      losses, d.params, fake, has_aux=True)
  d_grads, _ = d_pullback((jnp.ones_like(d_loss), jnp.zeros_like(g_loss)))
  _, fake_grad = d_pullback((jnp.zeros_like(d_loss), jnp.ones_like(g_loss)))
  d_grads = _pmean(d_grads, ctx.axis_name)
  metrics = _d_metrics(gan, d_loss, real_logits, fake_logits, d_grads) | terms
  return _update(d, gan.d_optimizer, d_grads, d_stats), metrics, g_loss, fake_grad


_SCHEDULES = {"alternating": _alternating, "simultaneous": _simultaneous}


def _g_penalties(gan: GAN, ctx: _Context, g: Player, params: Any, inputs: _Inputs,
                 rng: jax.Array) -> tuple[jax.Array, tuple[Metrics, Any]]:
  """G's weighted penalties (path length) on the latents of its update, each on the steps it
  is due, and `(their values, the penalties' new running values)`."""
  def apply(method: str, inputs_: jax.Array, labels: jax.Array | None,
            noise_rng: jax.Array | None) -> jax.Array:
    return apply_model(gan.generator, gan.compute_dtype, params, g.batch_stats, inputs_,
                       labels, train=False, noise_rng=noise_rng, method=method)[0]

  ws = apply("mapping", inputs.latents, inputs.g_labels, None)
  loss, terms, states = jnp.zeros((), jnp.float32), {}, []
  keys = jax.random.split(rng, len(gan.g_penalties))
  for penalty, key, state in zip(gan.g_penalties, keys, g.penalty_state):
    def synthesize(ws: jax.Array, noise_rng: jax.Array = jax.random.fold_in(key, 1)):
      return apply("synthesis", ws, None, noise_rng)

    value, state = _lazily(penalty.every, ctx.step,
                           lambda: penalty.fn(synthesize, ws, key, state),
                           (jnp.zeros((), jnp.float32), state))
    loss += penalty.weight * penalty.every * value
    terms[f"g/{penalty.name}"] = value
    states.append(state)
  return loss, (terms, tuple(states))


def _translation_terms(gan: GAN, ctx: _Context, g: Player, params: Any, inputs: _Inputs,
                       fake: jax.Array) -> tuple[jax.Array, Metrics]:
  """G's weighted translation terms on its translation `fake` of the batch (jaxgan.translation),
  and their values."""
  def translate(images: jax.Array) -> jax.Array:
    return apply_model(gan.generator, gan.compute_dtype, params, g.batch_stats, inputs.latents,
                       images, noise_rng=jax.random.fold_in(inputs.noise_rng, 1),
                       **ctx.model_kwargs)[0]

  loss, terms = jnp.zeros((), jnp.float32), {}
  for term in gan.translation.terms:
    value = term.fn(translate, fake, inputs.real, inputs.g_labels)
    loss += term.weight * value
    terms[f"g/{term.name}"] = value
  return loss, terms


def _g_gradient(gan: GAN, ctx: _Context, g: Player, inputs: _Inputs, fake: jax.Array,
                fake_grad: jax.Array, g_pullback: Callable, rng: jax.Array
                ) -> tuple[Any, Metrics, Any]:
  """G's gradient: its adversarial loss's gradient `fake_grad` with respect to its output
  `fake`, with the translation terms' added, pulled back through G's forward pass; with its
  regularisers' added (historical averaging, penalties). Also returns the terms' and
  regularisers' values, and the penalties' new running values."""
  terms, penalty_state, term_grads = {}, g.penalty_state, None
  if gan.translation is not None and gan.translation.terms:
    (_, terms), (term_grads, term_fake_grad) = jax.value_and_grad(
        lambda params, fake: _translation_terms(gan, ctx, g, params, inputs, fake),
        argnums=(0, 1), has_aux=True)(g.params, fake)
    fake_grad = fake_grad + term_fake_grad
  (grads,) = g_pullback(fake_grad)
  if term_grads is not None:  # Through G's other passes (CycleGAN's cycle and identity).
    grads = jax.tree.map(jnp.add, grads, term_grads)
  if gan.g_penalties:
    (_, (penalty_terms, penalty_state)), penalty_grads = jax.value_and_grad(
        lambda params: _g_penalties(gan, ctx, g, params, inputs, rng), has_aux=True)(g.params)
    terms |= penalty_terms
    grads = jax.tree.map(jnp.add, grads, penalty_grads)
  if gan.historical_averaging_weight:
    penalty, penalty_grads = jax.value_and_grad(regularizers.historical_average_penalty)(
        g.params, g.history)
    grads = jax.tree.map(lambda a, b: a + gan.historical_averaging_weight * b,
                         grads, penalty_grads)
    terms["g/historical_average"] = penalty
  return grads, terms, penalty_state


def _next_state(gan: GAN, state: GANState, g: Player, d: Player, fake: jax.Array,
                metrics: Metrics, axis_name: str | None) -> GANState:
  """The state after both updates: the players with their statistics averaged over
  devices, and what follows them (parameter histories, G's EMA, the replay buffer, D's
  snapshots, ADA's probability from the step's `metrics`, averaged over devices)."""
  # Running statistics are linear in the batch statistics, so one mean at the end
  # equals a mean after every update.
  g = g.replace(batch_stats=_pmean(g.batch_stats, axis_name),
                penalty_state=_pmean(g.penalty_state, axis_name))
  d = d.replace(batch_stats=_pmean(d.batch_stats, axis_name))
  if gan.historical_averaging_weight:
    g = g.replace(history=regularizers.update_average(g.history, g.params, state.step + 1))
    d = d.replace(history=regularizers.update_average(d.history, d.params, state.step + 1))
  g_ema = state.g_ema
  if g_ema is not None:
    g_ema = Player(optax.incremental_update(g.params, g_ema.params, 1.0 - gan.g_ema_decay),
                   g.batch_stats, opt_state=())
  replay = state.replay
  if replay is not None:
    replay = regularizers.replay_push(replay, _gather(fake, axis_name))
  past_d = state.past_d
  if past_d is not None:
    past_d = regularizers.past_discriminators_push(
        past_d, d.params, d.batch_stats, (state.step + 1) % gan.past_discriminators.every == 0)
  augment = state.augment
  if augment is not None:
    augment = regularizers.ada_update(
        augment, metrics["aug/real_sign"], state.step + 1,
        images=fake.shape[0] * _num_devices(axis_name), target=gan.augment.target,
        speed_images=gan.augment.speed_images, interval=gan.augment.interval)
  return GANState(step=state.step + 1, g=g, d=d, skipped_updates=state.skipped_updates,
                  g_ema=g_ema, replay=replay, past_d=past_d, augment=augment)


def train_step(gan: GAN, state: GANState, batch: Batch, rng: jax.Array, *,
               axis_name: str | None = None) -> tuple[GANState, Metrics]:
  """One training step: `gan.n_critic` D updates and one G update.

  Args:
    gan: the fixed definition (models, optimizers, loss, schedule, tricks).
    state: the current state.
    batch: `[n_critic * per_device_batch, *data_shape]` real samples (this device's share),
      or `(samples, labels [n_critic * per_device_batch])` for a conditional GAN, or
      `(targets, sources)` for a paired translation.
    rng: the run's key, the same on every device; the step draws from
      `fold_in(rng, state.step)`, so results depend only on the seed and the step.
    axis_name: the pmap axis to average over, or None under jit.

  Returns:
    The new state and scalar metrics: `d/loss`, `d/real_prob` and `d/fake_prob` (mean D(x)
    and D(G(z)) before the last D update; for a critic, `d/real_score` and `d/fake_score`,
    its mean outputs), `d/grad_norm`, `g/loss`, `g/grad_norm`, one per regulariser that
    is on (`d/r1`, `g/path_length`, ...) and per translation term (`g/l1`, `g/cycle`, ...),
    and with ADA its probability `aug/p` and signal `aug/real_sign` (mean sign of D's
    outputs on real images).
  """
  inputs, g_rng = _step_inputs(gan, state.step, batch, rng, axis_name)
  ctx = _context(gan, state, axis_name)
  g_stats, d = _critic_updates(gan, ctx, state, inputs)

  # One G forward pass serves D's last update and G's.
  last = jax.tree.map(lambda x: x[-1], inputs)
  fake, g_pullback, g_stats = jax.vjp(
      lambda params: _generate(gan, ctx, params, g_stats, last), state.g.params, has_aux=True)
  d, metrics, g_loss, fake_grad = _SCHEDULES[gan.schedule](
      gan, ctx, state, d, last, fake, g_rng)

  g_grads, g_terms, g_penalty_state = _g_gradient(gan, ctx, state.g, last, fake, fake_grad,
                                                  g_pullback, jax.random.fold_in(g_rng, 3))
  g_grads = _pmean(g_grads, axis_name)
  g = _update(state.g, gan.g_optimizer, g_grads, g_stats).replace(penalty_state=g_penalty_state)

  metrics = _pmean(metrics | g_terms | {"g/loss": g_loss, "g/grad_norm": optax.tree.norm(g_grads)},
                   axis_name)
  new_state = _next_state(gan, state, g, d, fake, metrics, axis_name)
  if state.augment is not None:
    metrics["aug/p"] = state.augment.p
  if gan.skip_nonfinite_updates:
    return _skip_if_nonfinite(state, new_state, metrics)
  return new_state, metrics


def _skip_if_nonfinite(state: GANState, new_state: GANState,
                       metrics: Metrics) -> tuple[GANState, Metrics]:
  """Keeps `state` (but advances the step) when any loss or gradient norm is not finite.

  Metrics are already averaged over devices, so every device makes the same choice.
  """
  finite = jnp.all(jnp.stack([jnp.isfinite(v) for v in jax.tree.leaves(metrics)]))
  kept = jax.tree.map(lambda new, old: jnp.where(finite, new, old), new_state, state)
  kept = kept.replace(step=new_state.step,
                      skipped_updates=state.skipped_updates + (~finite).astype(jnp.int32))
  return kept, metrics | {"skipped": (~finite).astype(jnp.float32)}


def generate_outputs(gan: GAN, g: Player, latents: jax.Array, labels: jax.Array | None = None,
                     noise_rng: jax.Array | None = None) -> jax.Array | tuple[jax.Array, ...]:
  """G's outputs for latents `[n, latent_dim]` (and, for a conditional GAN, labels `[n]`),
  BatchNorm in inference mode: samples `[n, *data_shape]`, or a multi-scale generator's
  images at every scale, smallest first. A generator with noise of its own (sampled
  discrete outputs) draws it from `noise_rng`, by default a fixed key: fixed latents then
  give fixed samples."""
  noise_rng = jax.random.key(0) if noise_rng is None else noise_rng
  return apply_model(gan.generator, gan.compute_dtype, g.params, g.batch_stats, latents, labels,
                     train=False, noise_rng=noise_rng)[0]


def generate(gan: GAN, g: Player, latents: jax.Array, labels: jax.Array | None = None,
             noise_rng: jax.Array | None = None) -> jax.Array:
  """Samples `[n, *data_shape]`: of a multi-scale generator's outputs, the full-size ones."""
  outputs = generate_outputs(gan, g, latents, labels, noise_rng)
  return outputs[-1] if isinstance(outputs, tuple) else outputs
