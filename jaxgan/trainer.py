"""`train_and_evaluate(config, workdir)`: build, restore, train, log, draw samples, checkpoint.

The only module that knows about devices: it picks jit (one device) or pmap
(several), replicates the state, and splits each global batch across devices.
"""

import functools
import logging
import os
import time
from typing import Callable

import flax.jax_utils
import jax
import ml_collections
import numpy as np
import optax

from jaxgan import checkpointing, data, losses, models, pictures, regularizers
from jaxgan.errors import ConfigError
from jaxgan.metric_writer import MetricWriter
from jaxgan.state import GAN, GANState, init_state, sample_latents
from jaxgan.step import AXIS, generate, train_step

log = logging.getLogger(__name__)


def build_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """`optax.<name>(**rest)` for a config like `{name: "adam", learning_rate: 2e-4, b1: 0.5}`."""
  kwargs = config.to_dict()
  name = kwargs.pop("name")
  factory = getattr(optax, name, None)
  if not callable(factory) or name.startswith("_"):
    raise ConfigError(f"Unknown optimizer {name!r}: use the name of an optax optimizer, "
                     f"e.g. adam, adamw, sgd, rmsprop.")
  if kwargs.get("learning_rate", 1.0) <= 0:
    raise ConfigError(f"learning_rate must be positive, got {kwargs['learning_rate']}.")
  return factory(**kwargs)


def build_penalty(entry: dict) -> regularizers.Penalty:
  """A D penalty from `{"name": ..., "weight": ..., "every": 1, **penalty kwargs}`."""
  kwargs = dict(entry)
  try:
    name, weight = kwargs.pop("name"), kwargs.pop("weight")
  except KeyError as e:
    raise ConfigError(f"Each entry of d_penalties needs {e}, e.g. "
                      f"{{'name': 'r1', 'weight': 10.0, 'every': 16}}; got {entry}.") from None
  every = kwargs.pop("every", 1)
  if weight < 0 or every < 1:
    raise ConfigError(f"Penalty {name!r} needs weight >= 0 and every >= 1, got {entry}.")
  fn = regularizers.PENALTIES.get(name)
  return regularizers.Penalty(name.rpartition(":")[2], functools.partial(fn, **kwargs),
                              weight, every)


def build_gan(config: ml_collections.ConfigDict, data_shape: tuple[int, ...]) -> GAN:
  """The GAN a config describes, for data samples of shape `data_shape`."""
  pair = models.get(config.model)
  generator_kwargs = config.generator.to_dict()
  pair.check_data_shape(data_shape, generator_kwargs)
  d_optimizer = build_optimizer(config.d_optimizer)
  if config.d_weight_clip:
    d_optimizer = optax.chain(d_optimizer, regularizers.clip_weights(config.d_weight_clip))
  return GAN(
      generator=pair.generator(data_shape=data_shape, **generator_kwargs),
      discriminator=pair.discriminator(**config.discriminator.to_dict()),
      g_optimizer=build_optimizer(config.g_optimizer),
      d_optimizer=d_optimizer,
      loss=losses.get(config.loss, **config.loss_kwargs.to_dict()),
      latent_dim=config.latent_dim,
      n_critic=config.n_critic,
      schedule=config.schedule,
      d_penalties=tuple(build_penalty(entry) for entry in config.d_penalties),
      instance_noise_std=config.instance_noise.std,
      instance_noise_anneal_steps=config.instance_noise.anneal_steps,
      label_flip_fraction=config.label_flip_fraction,
      historical_averaging_weight=config.historical_averaging_weight,
      replay_size=config.replay.size,
      replay_fraction=config.replay.fraction,
      g_ema_decay=config.g_ema_decay,
  )


def num_devices_for(config: ml_collections.ConfigDict) -> int:
  """Devices to train on: `config.num_devices`, or all local ones if 0."""
  available = jax.local_device_count()
  num = config.num_devices or available
  if num > available:
    raise ConfigError(f"num_devices={num} but only {available} devices are available.")
  return num


def check_config(config: ml_collections.ConfigDict, num_devices: int) -> None:
  """Raises ValueError naming the field and the fix for values training cannot use."""
  for field in ("batch_size", "num_train_steps", "log_every_steps", "sample_every_steps",
                "checkpoint_every_steps", "max_checkpoints_to_keep", "latent_dim", "num_samples"):
    if config[field] <= 0:
      raise ConfigError(f"{field} must be positive, got {config[field]}.")
  if 0 < config.replay.size < config.batch_size:
    raise ConfigError(f"replay.size={config.replay.size} must hold at least one batch "
                      f"({config.batch_size}), or be 0 to turn the replay buffer off.")
  if config.batch_size % num_devices:
    raise ConfigError(
        f"batch_size={config.batch_size} is not divisible by the {num_devices} devices: "
        f"each device takes an equal share. Use a multiple of {num_devices}, or set "
        f"--config.num_devices to a divisor of {config.batch_size}.")


def shard_batch(batch: np.ndarray, num_devices: int, n_critic: int) -> np.ndarray:
  """`[n_critic * batch, ...]` -> `[devices, n_critic * batch / devices, ...]`, giving each
  device the same share of every critic step's batch."""
  per_device = batch.shape[0] // (n_critic * num_devices)
  batch = batch.reshape(n_critic, num_devices, per_device, *batch.shape[1:]).swapaxes(0, 1)
  return batch.reshape(num_devices, n_critic * per_device, *batch.shape[3:])


def compile_step(gan: GAN, num_devices: int) -> Callable:
  """`train_step` compiled with jit for one device, pmap for several; the state is donated."""
  if num_devices == 1:
    return jax.jit(functools.partial(train_step, gan), donate_argnums=0)
  return jax.pmap(functools.partial(train_step, gan, axis_name=AXIS), axis_name=AXIS,
                  devices=jax.local_devices()[:num_devices], donate_argnums=0)


def log_to_console() -> None:
  """Progress lines on stderr, without orbax's per-file and jax's per-backend messages."""
  logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%H:%M:%S", level=logging.INFO,
                      force=True)
  for noisy in ("absl", "jax"):
    logging.getLogger(noisy).setLevel(logging.WARNING)


def _summarise(metrics: list[dict], replicated: bool) -> dict[str, float]:
  """The mean of each metric over the steps since the last log."""
  metrics = jax.device_get(metrics)
  if replicated:  # Identical on every device after pmean.
    metrics = [jax.tree.map(lambda x: x[0], m) for m in metrics]
  return {name: float(np.mean([m[name] for m in metrics])) for name in metrics[0]}


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> GANState:
  """Trains the GAN of `config`, resuming from `workdir/checkpoints` if there are any.

  Writes `metrics.jsonl`, TensorBoard events, `samples/step_<n>.png` from a fixed
  noise batch, and checkpoints to `workdir`. Returns the final (single-device) state.
  """
  num_devices = num_devices_for(config)
  check_config(config, num_devices)
  dataset = data.get(config.dataset, seed=config.seed, image_size=config.image_size,
                     data_dir=config.data_dir or None, download=config.download)
  gan = build_gan(config, dataset.data_shape)

  init_rng, step_rng, sample_rng = jax.random.split(jax.random.key(config.seed), 3)
  manager = checkpointing.make_manager(workdir, max_to_keep=config.max_checkpoints_to_keep)
  state = checkpointing.restore_or_init(manager, init_state(gan, init_rng, dataset.data_shape))
  start_step = int(state.step)
  if start_step:
    log.info("Resumed from %s at step %d.", manager.directory, start_step)

  fixed_latents = sample_latents(gan, sample_rng, config.num_samples)
  sample = jax.jit(functools.partial(generate, gan))
  samples_dir = os.path.join(workdir, "samples")
  os.makedirs(samples_dir, exist_ok=True)

  step_fn = compile_step(gan, num_devices)
  replicated = num_devices > 1
  train_iter = data.batches(dataset, config.batch_size * gan.n_critic, start_step)
  if replicated:
    devices = jax.local_devices()[:num_devices]
    state = flax.jax_utils.replicate(state, devices)
    step_rng = flax.jax_utils.replicate(step_rng, devices)
    train_iter = flax.jax_utils.prefetch_to_device(
        (shard_batch(b, num_devices, gan.n_critic) for b in train_iter), 2, devices)
  single = flax.jax_utils.unreplicate if replicated else lambda x: x

  writer = MetricWriter(workdir)
  pending_metrics = []
  last_log_time, last_log_step = time.perf_counter(), start_step
  for step in range(start_step + 1, config.num_train_steps + 1):
    state, metrics = step_fn(state, next(train_iter), step_rng)
    pending_metrics.append(metrics)
    is_last = step == config.num_train_steps

    if step % config.log_every_steps == 0 or is_last:
      summary = _summarise(pending_metrics, replicated)
      pending_metrics = []
      bad = [name for name, value in summary.items() if not np.isfinite(value)]
      if bad:
        raise FloatingPointError(f"Non-finite {', '.join(bad)} at step {step}; the last "
                                 f"checkpoint in {manager.directory} is from before it.")
      now = time.perf_counter()
      summary["steps_per_s"] = (step - last_log_step) / (now - last_log_time)
      last_log_time, last_log_step = now, step
      writer.write(step, summary)
      log.info("step %d/%d | %s", step, config.num_train_steps,
                   " | ".join(f"{k} {v:.4g}" for k, v in summary.items()))

    if step % config.sample_every_steps == 0 or is_last:
      current = single(state)
      generators = {"": current.g}
      if current.g_ema is not None:
        generators["ema_"] = current.g_ema
      for prefix, g in generators.items():
        samples = np.asarray(sample(g, fixed_latents))
        pictures.save_png(os.path.join(samples_dir, f"{prefix}step_{step:07d}.png"),
                          pictures.samples_picture(samples))

    if step % config.checkpoint_every_steps == 0 or is_last:
      checkpointing.save(manager, single(state), config)

  manager.wait_until_finished()
  writer.close()
  log.info("Done: checkpoints, samples/, metrics.jsonl and TensorBoard events in %s",
               os.path.abspath(workdir))
  return single(state)
