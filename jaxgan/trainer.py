"""`train_and_evaluate(config, workdir)`: build, restore, train, log, draw samples, checkpoint.

Where the state and batches live, and how the step is compiled for the devices, is
jaxgan.parallel's concern.
"""

import contextlib
import functools
import inspect
import logging
import os
import time
from typing import Callable

import jax
import ml_collections
import numpy as np
import optax

from jaxgan import (
  augment,
  checkpointing,
  evaluation,
  fine_tune,
  generator,
  growth,
  losses,
  models,
  parallel,
  pictures,
  preemption,
  regularizers,
  tasks,
  translation,
)
from jaxgan.errors import ConfigError, NoEvaluation, check_kwargs
from jaxgan.metric_writer import MetricWriter, NoWriter
from jaxgan.state import (
  GAN,
  GANState,
  InstanceNoise,
  PastSnapshots,
  Replay,
  Translation,
  Unrolled,
  init_state,
)

log = logging.getLogger(__name__)


LEARNING_RATE_DECAYS = ("constant", "cosine", "linear")


def build_optimizer(config: ml_collections.ConfigDict,
                    num_updates: int) -> optax.GradientTransformation:
  """`optax.<name>(**rest)` for a config like `{name: "adam", learning_rate: 2e-4, b1: 0.5}`;
  with `decay: "cosine"` or `"linear"`, the learning rate falls to 0 over the player's
  `num_updates` updates (optax's schedules, counted by the optimizer's own state), from the
  start or, with `decay_start: 0.5`, after that fraction of them at the full rate (pix2pix
  and CycleGAN: constant for half the run, then linear to 0)."""
  kwargs = config.to_dict()
  name = kwargs.pop("name")
  decay = kwargs.pop("decay", "constant")
  decay_start = kwargs.pop("decay_start", 0.0)
  factory = getattr(optax, name, None)
  if not callable(factory) or name.startswith("_"):
    raise ConfigError(f"Unknown optimizer {name!r}: use the name of an optax optimizer, "
                     f"e.g. adam, adamw, sgd, rmsprop.")
  check_kwargs(factory, kwargs, f"optax.{name}")
  if kwargs.get("learning_rate", 1.0) <= 0:
    raise ConfigError(f"learning_rate must be positive, got {kwargs['learning_rate']}.")
  if decay not in LEARNING_RATE_DECAYS:
    raise ConfigError(f"Unknown learning-rate decay {decay!r}. Known: "
                      f"{', '.join(LEARNING_RATE_DECAYS)}.")
  if not 0.0 <= decay_start < 1.0:
    raise ConfigError(f"decay_start is the fraction of updates before the learning rate decays, "
                      f"in [0, 1); got {decay_start}.")
  constant_updates = round(decay_start * num_updates)
  decay_updates = num_updates - constant_updates
  if decay == "cosine":
    schedule = optax.cosine_decay_schedule(kwargs["learning_rate"], decay_updates)
  elif decay == "linear":
    schedule = optax.linear_schedule(kwargs["learning_rate"], 0.0, decay_updates)
  if decay != "constant":
    kwargs["learning_rate"] = schedule if not constant_updates else optax.join_schedules(
        [optax.constant_schedule(kwargs["learning_rate"]), schedule], [constant_updates])
  return factory(**kwargs)


def build_penalty(entry: dict, player: str = "d") -> regularizers.Penalty:
  """A D penalty (`player="d"`, from `regularizers.PENALTIES`) or a G penalty (`"g"`,
  `regularizers.G_PENALTIES`) from `{"name": ..., "weight": ..., "every": 1, **penalty
  kwargs}`."""
  kwargs = dict(entry)
  example = "{'name': 'r1', 'weight': 10.0, 'every': 16}" if player == "d" else (
      "{'name': 'path_length', 'weight': 2.0, 'every': 4}")
  try:
    name, weight = kwargs.pop("name"), kwargs.pop("weight")
  except KeyError as e:
    raise ConfigError(f"Each entry of {player}_penalties needs {e}, e.g. {example}; got "
                      f"{entry}.") from None
  every = kwargs.pop("every", 1)
  if weight < 0 or every < 1:
    raise ConfigError(f"Penalty {name!r} needs weight >= 0 and every >= 1, got {entry}.")
  fn = (regularizers.PENALTIES if player == "d" else regularizers.G_PENALTIES).get(name)
  check_kwargs(fn, kwargs, f"Penalty {name!r}")
  return regularizers.Penalty(name.rpartition(":")[2], functools.partial(fn, **kwargs),
                              weight, every)


def build_gan(config: ml_collections.ConfigDict, spec: tasks.DataSpec) -> GAN:
  """The GAN a config describes, for the data `spec` describes (jaxgan.tasks: a task's
  `spec`); conditional on its classes if `config.conditional`."""
  pair = models.get(config.model)
  generator_kwargs = config.generator.to_dict()
  discriminator_kwargs = config.discriminator.to_dict()
  check_kwargs(pair.generator, generator_kwargs, f"The {config.model} generator")
  check_kwargs(pair.discriminator, discriminator_kwargs, f"The {config.model} discriminator")
  generator_kwargs |= dict(spec.generator_kwargs)
  data_shape = spec.shape
  pair.check_data_shape(data_shape, generator_kwargs)
  if config.conditional and not spec.num_classes:
    raise ConfigError("conditional=True needs the data's number of classes; the data spec "
                      "has none (a task's spec has them when the config is conditional).")
  num_classes = spec.num_classes if config.conditional else 0
  conditioning = {"num_classes": num_classes} if num_classes else {}
  if config.translation_terms and not spec.translation:
    raise ConfigError("translation_terms are losses of image-to-image translation; set "
                      "task='translation', or translation_terms=().")
  real_inputs = {}
  if pair.real_inputs is not None:
    if config.replay.size:
      raise ConfigError(f"The replay buffer keeps single samples, not the {config.model} "
                        f"generator's outputs; set replay.size=0.")
    real_inputs = {"real_inputs": pair.real_inputs(generator_kwargs)}
  schedule = _growth(config, pair, generator_kwargs, discriminator_kwargs)
  _check_unrolled(config)
  # G updates once a step, D `n_critic` times.
  d_optimizer = build_optimizer(config.d_optimizer, config.n_critic * config.num_train_steps)
  if config.d_weight_clip:
    d_optimizer = optax.chain(d_optimizer, regularizers.clip_weights(config.d_weight_clip))
  discriminator = pair.discriminator(**discriminator_kwargs, **conditioning)
  if config.freeze_d_layers:
    d_optimizer = optax.chain(d_optimizer, fine_tune.freeze_first_layers(
        fine_tune.layer_names(discriminator, data_shape, num_classes, config.packing),
        config.freeze_d_layers))
  return GAN(
      generator=generator.generator_module(config, spec),
      discriminator=discriminator,
      g_optimizer=build_optimizer(config.g_optimizer, config.num_train_steps),
      d_optimizer=d_optimizer,
      loss=losses.get(config.loss, **config.loss_kwargs.to_dict()),
      latent_dim=config.latent_dim,
      n_critic=config.n_critic,
      schedule=config.schedule,
      d_penalties=tuple(build_penalty(entry) for entry in config.d_penalties),
      g_penalties=tuple(build_penalty(entry, "g") for entry in config.g_penalties),
      instance_noise=InstanceNoise(**config.instance_noise.to_dict()),
      label_flip_fraction=config.label_flip_fraction,
      historical_averaging_weight=config.historical_averaging_weight,
      replay=Replay(**config.replay.to_dict()),
      g_ema_decay=config.g_ema_decay,
      skip_nonfinite_updates=config.skip_nonfinite_updates,
      num_classes=num_classes,
      label_probs=spec.label_probs if num_classes else None,
      packing=config.packing,
      unrolled=Unrolled(**config.unrolled.to_dict()),
      past_discriminators=PastSnapshots(**config.past_discriminators.to_dict()),
      compute_dtype=config.dtype,
      augment=augment.from_config(config.augment, config.augment_kwargs.to_dict(), data_shape,
                                  multi_scale=pair.real_inputs is not None),
      **real_inputs,
      growth=schedule,
      translation=Translation(
          paired=spec.translation == "paired", source_shape=spec.source_shape,
          terms=tuple(map(translation.build_term, config.translation_terms)))
      if spec.translation else None,
  )


def _evaluator(config: ml_collections.ConfigDict, task: tasks.Task) -> tasks.Evaluator | None:
  """The task's evaluator, or None when evaluation is off or cannot measure this data (said
  in the log, with the fix)."""
  if not config.eval_every_steps:
    return None
  try:
    return task.evaluator(config.eval_cache_dir or evaluation.default_cache_dir())
  except NoEvaluation as e:
    log.warning("Training without evaluations: %s", e)
    return None


def _check_unrolled(config: ml_collections.ConfigDict) -> None:
  """Raises ConfigError where G's gradient through an unrolled D would be NaN."""
  if not config.unrolled.steps or not config.unrolled.gradient:
    return
  name = config.d_optimizer.name
  takes_eps_root = "eps_root" in inspect.signature(getattr(optax, name)).parameters
  if takes_eps_root and not config.d_optimizer.get("eps_root", 0.0):
    raise ConfigError(
        f"G's gradient through the unrolled D differentiates {name}'s update, whose square "
        f"root has an infinite slope at 0 (a parameter with zero gradient gives NaN): set "
        f"--config.d_optimizer.eps_root=1e-8, or --config.unrolled.gradient=False.")


def _growth(config: ml_collections.ConfigDict, pair: models.ModelPair, generator_kwargs: dict,
            discriminator_kwargs: dict) -> growth.Growth | None:
  """The growth schedule of `config.growth` (`{phase_steps, fade_steps}`) for a progressive
  model; None for a model trained fully grown."""
  if pair.num_phases is None:
    if config.get("growth"):
      raise ConfigError(f"config.growth is for progressive models; model {config.model!r} does "
                        f"not grow. Use --config.model=progressive, or remove growth.")
    return None
  num_phases = pair.num_phases(generator_kwargs, discriminator_kwargs)
  if not config.get("growth"):
    return None
  return growth.Growth(num_phases, config.growth.phase_steps, config.growth.fade_steps)


def check_config(config: ml_collections.ConfigDict, num_devices: int) -> None:
  """Raises ValueError naming the field and the fix for values training cannot use."""
  for field in ("batch_size", "num_train_steps", "log_every_steps", "sample_every_steps",
                "checkpoint_every_steps", "max_checkpoints_to_keep", "latent_dim", "num_samples",
                "eval_num_samples"):
    if config[field] <= 0:
      raise ConfigError(f"{field} must be positive, got {config[field]}.")
  if config.freeze_d_layers < 0:
    raise ConfigError(f"freeze_d_layers must be >= 0 (0: none frozen), got "
                      f"{config.freeze_d_layers}.")
  if config.eval_every_steps < 0:
    raise ConfigError(f"eval_every_steps must be >= 0 (0: no evaluation), got "
                      f"{config.eval_every_steps}.")
  if 0 < config.replay.size < config.batch_size:
    raise ConfigError(f"replay.size={config.replay.size} must hold at least one batch "
                      f"({config.batch_size}), or be 0 to turn the replay buffer off.")
  evaluation.check_config(config)
  if config.batch_size % num_devices:
    raise ConfigError(
        f"batch_size={config.batch_size} is not divisible by the {num_devices} devices: "
        f"each device takes an equal share. Use a multiple of {num_devices}, or set "
        f"--config.num_devices to a divisor of {config.batch_size}.")
  packing = config.packing
  if packing > 1 and (config.batch_size // num_devices) % packing:
    raise ConfigError(
        f"packing={packing} must divide the batch each device sees "
        f"({config.batch_size // num_devices} = batch_size {config.batch_size} / "
        f"{num_devices} devices): D judges whole packs. Change batch_size or packing.")


def log_to_console() -> None:
  """Progress lines on stderr (process 0's only, in a run over several), without orbax's
  per-file and jax's per-backend messages, nor tfds' warnings about folders of unprepared
  datasets (jaxgan.data says what to do)."""
  for noisy in ("absl", "jax", "matplotlib"):  # Before jax starts its backends and says so.
    logging.getLogger(noisy).setLevel(logging.WARNING)
  level = logging.INFO if _is_chief() else logging.WARNING
  logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%H:%M:%S", level=level,
                      force=True)
  logging.getLogger("absl").addFilter(
      lambda record: not str(record.msg).startswith("Variant folder"))


class StepMetrics:
  """Each step's metrics, brought from the device `chunk` steps at a time: checked to be
  finite (naming the first step that is not) and summed into the means the next log
  writes, so memory stays bounded however many steps lie between two logs."""

  def __init__(self, manager, *, check_finite: bool = True, chunk: int = 1000):
    self.manager, self.check_finite, self.chunk = manager, check_finite, chunk
    self.pending: list[dict] = []  # Device metrics of the steps up to the current one.
    self.sums: dict[str, float] = {}
    self.count = 0

  def add(self, step: int, metrics: dict) -> None:
    """Adds `step`'s metrics (one device's copy); every `chunk` steps, checks them."""
    self.pending.append(metrics)
    if len(self.pending) >= self.chunk:
      self.check(step)

  def check(self, step: int) -> None:
    """Fetches the pending metrics, `step` being the last; raises FloatingPointError naming
    the first step and metrics that are not finite (unless `check_finite` is off)."""
    fetched, self.pending = jax.device_get(self.pending), []
    first_step = step - len(fetched) + 1
    for offset, values in enumerate(fetched):
      bad = [name for name, value in values.items() if not np.all(np.isfinite(value))]
      if bad and self.check_finite:
        raise FloatingPointError(
            f"Non-finite {', '.join(bad)} at step {first_step + offset}; training stopped. "
            f"The newest checkpoint in {self.manager.directory} (step "
            f"{self.manager.latest_step()}) is from "
            f"before it. Lower the learning rates, add a gradient penalty, or set "
            f"skip_nonfinite_updates=True to drop such updates.")
      for name, value in values.items():
        self.sums[name] = self.sums.get(name, 0.0) + float(np.mean(value))
    self.count += len(fetched)

  def means(self, step: int) -> dict[str, float]:
    """The mean of each metric over the steps since the last call, `step` being the last."""
    self.check(step)
    means = {name: total / self.count for name, total in self.sums.items()}
    self.sums, self.count = {}, 0
    return means


def _save_samples(gan: GAN, state: GANState, inputs: tuple[jax.Array, jax.Array | None],
                  samples_dir: str, task: tasks.Task, writer: MetricWriter) -> None:
  """`samples/step_<n>.png` from G on the fixed `(latents, labels)`, and `ema_step_<n>.png`
  from the EMA G if there is one, with the samples in the kind's own format beside them
  (`.txt`, `.csv`, `.wav`); the same pictures to TensorBoard."""
  generators = {"": state.g} if state.g_ema is None else {"": state.g, "ema_": state.g_ema}
  step = int(state.step)
  cols = evaluation.grid_columns(gan, len(inputs[0]))
  for prefix, g in generators.items():
    samples = np.asarray(evaluation.generate_fn(gan)(g, *inputs))
    path = os.path.join(samples_dir, f"{prefix}step_{step:07d}")
    picture = task.picture(samples, cols)
    pictures.save_png(path + ".png", picture)
    task.write_samples(path, samples)
    writer.write_picture(step, f"{prefix}samples", picture)


def _compile_phase(gan: GAN, step: int, layout: parallel.Layout, data_shape: tuple[int, ...]
                   ) -> tuple[Callable, int]:
  """The compiled step that trains step `step` (counted from 0), and its growth phase (0 for
  a model that does not grow), which is logged."""
  phase_gan = gan.at_step(step)
  if phase_gan.growth is None:
    return layout.compile(gan), 0
  schedule = phase_gan.growth
  size = data_shape[0] >> (schedule.num_phases - 1 - schedule.phase)
  start = schedule.phase * schedule.phase_steps
  fading = (f", its new layers fading in until step {start + schedule.fade_steps}"
            if schedule.phase and schedule.fade_steps else "")
  log.info("Growth phase %d/%d from step %d: %dx%d images%s.", schedule.phase + 1,
           schedule.num_phases, start, size, size, fading)
  return layout.compile(phase_gan), schedule.phase


def _stop_signal(stop: preemption.StopRequest, vote: parallel.StopVote) -> str | None:
  """The signal that stops training at this step, if any: this process's, or in a run over
  several processes any one's, agreed so that all stop at the same step."""
  name = stop.signal_name  # Read once: a signal may land at any moment.
  if vote(name is not None):
    return name or "a signal to another process"
  return None


def _time_left(steps_left: int, steps_per_s: float) -> str:
  seconds = round(steps_left / max(steps_per_s, 1e-9))
  minutes, seconds = divmod(seconds, 60)
  return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m{seconds:02d}s"


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> GANState:
  """Trains the GAN of `config`, resuming from `workdir/checkpoints` if there are any.

  Writes `metrics.jsonl`, TensorBoard events, `samples/step_<n>.png` from a fixed
  noise batch, and checkpoints to `workdir`. SIGTERM or SIGINT saves a checkpoint
  and returns early. Returns the final (single-device) state.

  In a run over several processes (`jax.distributed`), every process calls this with the
  same config and workdir: each reads its own share of every batch, checkpoints are saved
  and restored by all together, and only process 0 writes logs, pictures and metrics.
  """
  layout = parallel.layout_for(config)
  check_config(config, layout.num_devices)
  lock = checkpointing.workdir_lock(workdir) if _is_chief() else contextlib.nullcontext()
  with lock, preemption.stop_on_signals() as stop:
    return _train(config, workdir, layout, stop)


def _is_chief() -> bool:
  return jax.process_index() == 0


def _train(config: ml_collections.ConfigDict, workdir: str, layout: parallel.Layout,
           stop: preemption.StopRequest) -> GANState:
  task = tasks.from_config(config)
  dataset = task.dataset
  gan = build_gan(config, task.spec)
  if _is_chief():
    os.makedirs(workdir, exist_ok=True)
    generator.write_description(workdir, task.spec, task.decoder())

  init_rng, step_rng, sample_rng = jax.random.split(jax.random.key(config.seed), 3)
  manager = checkpointing.make_manager(workdir, max_to_keep=config.max_checkpoints_to_keep)
  state = checkpointing.restore_or_init(
      manager, init_state(gan, init_rng, dataset.data_shape), config)
  start_step = int(state.step)
  if not start_step and config.init_from:
    state = fine_tune.init_from(state, gan, config.init_from)
  if start_step:
    log.info("Resumed from %s at step %d.", manager.directory, start_step)
    changed = checkpointing.config_changes(manager, start_step, config)
    if changed:
      log.info("Config fields changed since that checkpoint: %s.", "; ".join(changed))
  if start_step >= config.num_train_steps:
    log.info("Nothing to train: %s already holds step %d of num_train_steps=%d. Raise "
             "--config.num_train_steps to train on, or give a new --workdir to start over.",
             os.path.abspath(workdir), start_step, config.num_train_steps)
    return state

  evaluator = _evaluator(config, task)
  if evaluator:
    metric_name, mode = evaluator.main_metric
    best_manager = checkpointing.make_manager(
        os.path.join(workdir, "best"), max_to_keep=1, best_metric=metric_name, best_mode=mode)
    log.info("Evaluating every %d steps on %s.", config.eval_every_steps,
             evaluator.describe(config.eval_num_samples))
  eval_rng = jax.random.fold_in(sample_rng, 1)
  fixed_inputs = task.grid_inputs(gan, sample_rng, config.num_samples)
  samples_dir = os.path.join(workdir, "samples")
  os.makedirs(samples_dir, exist_ok=True)

  log.info("Training steps %d to %d on %s.", start_step + 1, config.num_train_steps, layout)
  step_fn, phase = None, None
  train_iter = layout.batches(dataset, config.batch_size, gan.n_critic, start_step)
  state, step_rng = layout.put((state, step_rng))
  single = layout.local

  writer = MetricWriter(workdir, start_step) if _is_chief() else NoWriter()
  step_metrics = StepMetrics(manager, check_finite=not gan.skip_nonfinite_updates)
  stop_vote = parallel.StopVote()
  last_log_time, last_log_step, waited = time.perf_counter(), start_step, 0.0
  try:
    for step in range(start_step + 1, config.num_train_steps + 1):
      if step_fn is None or gan.growth and gan.growth.phase_at(step - 1) != phase:
        step_fn, phase = _compile_phase(gan, step - 1, layout, dataset.data_shape)
      waited_from = time.perf_counter()
      batch = next(train_iter)
      waited += time.perf_counter() - waited_from
      state, metrics = step_fn(state, batch, step_rng)
      step_metrics.add(step, single(metrics))
      is_last = step == config.num_train_steps
      stopping = _stop_signal(stop, stop_vote)
      save_now = step % config.checkpoint_every_steps == 0 or is_last or stopping
      log_now = step % config.log_every_steps == 0 or is_last or stopping

      if save_now:
        step_metrics.check(step)  # Never save a state that is not finite.
      if log_now:
        summary = step_metrics.means(step)
        now = time.perf_counter()
        summary["steps_per_s"] = (step - last_log_step) / (now - last_log_time)
        summary["input_wait"] = waited / (now - last_log_time)  # Time spent waiting for data.
        last_log_time, last_log_step, waited = now, step, 0.0
        writer.write(step, summary)
        log.info("step %d/%d | %s | %s left", step, config.num_train_steps,
                 " | ".join(f"{k} {v:.4g}" for k, v in summary.items()),
                 _time_left(config.num_train_steps - step, summary["steps_per_s"]))

      if _is_chief() and (step % config.sample_every_steps == 0 or is_last):
        _save_samples(gan, single(state), fixed_inputs, samples_dir, task, writer)

      if evaluator and (step % config.eval_every_steps == 0 or is_last):
        current = single(state)
        results, _, _ = evaluator(gan, current.sampler, eval_rng, config.eval_num_samples)
        writer.write(step, results)
        log.info("eval at step %d %s", step, evaluator.format(results, config.eval_num_samples))
        # One manager saves at a time: two saving at once, each process's background threads
        # may reach the managers' barriers in other orders and wait forever (seen with two).
        manager.wait_until_finished()
        checkpointing.save(best_manager, current, config, metrics=results)
        best_manager.wait_until_finished()

      if save_now:
        checkpointing.save(manager, single(state), config)
      if stopping:
        log.info("Stopped by %s at step %d with a checkpoint in %s; run the same command to "
                 "resume.", stopping, step, manager.directory)
        break
  finally:  # Let pending saves finish even when training stops on an error.
    manager.wait_until_finished()
    if evaluator:
      best_manager.wait_until_finished()
    writer.close()
  if _is_chief():
    pictures.plot_metrics(os.path.join(workdir, "metrics.jsonl"),
                          os.path.join(workdir, "metrics.png"))
  state = single(state)
  if int(state.skipped_updates):
    log.info("%d updates were skipped as non-finite.", int(state.skipped_updates))
  outputs = [name for name in ("checkpoints/", "best/", "samples/", "metrics.jsonl",
                                "metrics.png") if os.path.exists(os.path.join(workdir, name))]
  log.info("Outputs in %s: %s, TensorBoard events (tensorboard --logdir %s).",
           os.path.abspath(workdir), ", ".join(outputs), os.path.abspath(workdir))
  return state
