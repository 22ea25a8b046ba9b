"""A trained generator as an object: loaded from a workdir or an exported file, it samples,
truncates, interpolates and exports, with neither the trainer nor the dataset.

  g = jaxgan.load("runs/default")              # the best checkpoint, else the newest
  images = g.sample(64, seed=0, truncation=0.7)  # uint8 [64, 16, 16, 1]
  g.export("digits.jaxgan")                      # one file: the config and G's weights

Samples are decoded into what their kind of data writes (jaxgan.decoders): uint8 images,
strings, a table's rows, waveforms. A workdir holds `generator.json`, written when
training starts: the data's shape as the models see it and how outputs are decoded.
With the same arguments, a generator sampled from its workdir and from its exported file
gives the same samples, bit for bit, and the same as `jaxgan.evaluate` draws with that
seed (the EMA generator when there is one).
"""

import functools
import inspect
import json
import os
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from flax import serialization

from jaxgan import checkpointing, decoders, models
from jaxgan.step import apply_model
from jaxgan.tasks.base import DataSpec

FORMAT = "jaxgan-generator"
VERSION = 1
DESCRIPTION_FILE = "generator.json"
BATCH_SIZE = 500  # As jaxgan.evaluation.sample, so that a seed gives the same samples.


def tuples(value: Any) -> Any:
  """A config or spec read from JSON, with its lists turned back into the tuples it held."""
  if isinstance(value, dict):
    return {k: tuples(v) for k, v in value.items()}
  if isinstance(value, list):
    return tuple(tuples(v) for v in value)
  return value


def describe(spec: DataSpec, decoder: decoders.Decoder) -> dict[str, Any]:
  """What a generator needs of its data besides the config (JSON): the spec and the
  decoder."""
  return json.loads(json.dumps({"spec": spec._asdict(), "decoder": decoder.to_json()}))


def write_description(workdir: str, spec: DataSpec, decoder: decoders.Decoder) -> None:
  """Writes `WORKDIR/generator.json` (whole or not at all)."""
  path = os.path.join(workdir, DESCRIPTION_FILE)
  with open(path + ".tmp", "w", encoding="utf-8") as f:
    json.dump(describe(spec, decoder), f, indent=1)
  os.replace(path + ".tmp", path)


def generator_module(config: ml_collections.ConfigDict, spec: DataSpec) -> nn.Module:
  """The generator a config describes for data `spec` (conditional if `config.conditional`)."""
  pair = models.get(config.model)
  kwargs = config.generator.to_dict() | dict(spec.generator_kwargs)
  if config.conditional:
    kwargs["num_classes"] = spec.num_classes
  return pair.generator(data_shape=tuple(spec.shape), **kwargs)


def _truncates_itself(module: nn.Module) -> bool:
  """Whether the generator takes `truncation` (a mapping network's mean w)."""
  return "truncation" in inspect.signature(type(module).__call__).parameters


class Generator:
  """A trained generator: its module, parameters and statistics, and how to decode its
  outputs. Build one with `load`."""

  def __init__(self, config: ml_collections.ConfigDict, description: dict[str, Any],
               params: Any, batch_stats: Any, step: int):
    self.config, self.description, self.step = config, description, step
    self.spec = DataSpec(**tuples(description["spec"]))
    self.decoder = decoders.from_json(description["decoder"])
    self.module = generator_module(config, self.spec)
    self.params, self.batch_stats = params, batch_stats
    self.latent_dim = config.latent_dim
    self.num_classes = self.spec.num_classes if config.conditional else 0

  def latents(self, n: int, seed: int = 0, *, threshold: float | None = None) -> jax.Array:
    """`n` latents `[n, latent_dim]` from N(0, 1), or with `threshold` from N(0, 1)
    truncated to [-threshold, threshold] (BigGAN's truncation trick)."""
    key = jax.random.key(seed)
    if threshold is None:
      return jax.random.normal(key, (n, self.latent_dim))
    return jax.random.truncated_normal(key, -threshold, threshold, (n, self.latent_dim))

  def labels(self, n: int, labels: Sequence[int] | int | None = None) -> jax.Array | None:
    """Labels `[n]`: every class equally often by default, one class for an int; None when
    unconditional."""
    if not self.num_classes:
      if labels is not None:
        raise ValueError("This generator is unconditional: it takes no labels.")
      return None
    if labels is None:
      return jnp.arange(n) % self.num_classes
    labels = jnp.broadcast_to(jnp.asarray(labels, jnp.int32), (n,))
    if jnp.any((labels < 0) | (labels >= self.num_classes)):
      raise ValueError(f"Labels must be in [0, {self.num_classes}); got {labels}.")
    return labels

  @functools.cached_property
  def _run(self):
    truncates = _truncates_itself(self.module)

    def run(params, batch_stats, latents, labels, noise_rng, truncation):
      kwargs = {"truncation": truncation} if truncates and truncation is not None else {}
      if not truncates and truncation is not None:  # Toward the mean latent, 0.
        latents = latents * truncation
      outputs = apply_model(self.module, self.config.dtype, params, batch_stats, latents,
                            labels, train=False, noise_rng=noise_rng, **kwargs)[0]
      return outputs[-1] if isinstance(outputs, tuple) else outputs

    return jax.jit(run)

  def outputs(self, latents: jax.Array, labels: jax.Array | None = None, *,
              truncation: float = 1.0, seed: int = 0, progress: bool = False) -> np.ndarray:
    """G's raw outputs `[n, *data_shape]` for `latents [n, latent_dim]` (and labels `[n]`),
    in batches (with a progress bar if `progress` and there are many); `truncation` (psi)
    pulls every latent toward the mean (w for a mapping network, else z), `seed` draws G's
    own noise."""
    if not 0.0 <= truncation <= 1.0:
      raise ValueError(f"truncation must be in [0, 1] (1: none), got {truncation}.")
    noise_rng = jax.random.fold_in(jax.random.key(seed), 1)
    psi = None if truncation == 1 else jnp.float32(truncation)  # None: G exactly as trained.
    n = latents.shape[0]
    return np.concatenate([np.asarray(self._run(
        self.params, self.batch_stats, latents[i:i + BATCH_SIZE],
        None if labels is None else labels[i:i + BATCH_SIZE], jax.random.fold_in(noise_rng, i),
        psi))
        for i in decoders.progress(range(0, n, BATCH_SIZE), n if progress else 0,
                                   "generating", BATCH_SIZE)])

  def decode(self, outputs: np.ndarray) -> Any:
    """Raw outputs as what their kind of data writes (jaxgan.decoders)."""
    return self.decoder.decode(outputs)

  def sample(self, n: int, *, seed: int = 0, labels: Sequence[int] | int | None = None,
             truncation: float = 1.0, threshold: float | None = None,
             progress: bool = False) -> Any:
    """`n` decoded samples (uint8 images `[n, h, w, c]`, strings `[n]`, a table of `n` rows,
    waveforms `[n, length]`); `labels` for a conditional G (default: every class in turn);
    `truncation` psi in [0, 1] toward the mean latent; `threshold` redraws latents beyond
    it; `progress`: a progress bar when there are many."""
    if self.spec.translation:
      raise ValueError("This generator translates images: call translate(images).")
    latents = self.latents(n, seed, threshold=threshold)
    return self.decode(self.outputs(latents, self.labels(n, labels), truncation=truncation,
                                    seed=seed, progress=progress))

  def translate(self, images: np.ndarray, *, direction: str = "AtoB", seed: int = 0) -> Any:
    """uint8 images `[n, h, w, c]` translated, decoded as uint8 images: by pix2pix from
    sources to targets; by CycleGAN from domain A to B (`direction="AtoB"`, its G) or B to A
    (`"BtoA"`, its F). `seed` draws G's own noise (pix2pix's dropout)."""
    if not self.spec.translation:
      raise ValueError("This generator draws samples from latents: call sample(n).")
    paired = self.spec.translation == "paired"
    expected = tuple(self.spec.source_shape if paired else self.spec.shape[1:])
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != expected:
      shape = ", ".join(map(str, expected))
      raise ValueError(f"This generator translates uint8 images [n, {shape}]; got an array of "
                       f"shape {images.shape}.")
    if direction not in ("AtoB", "BtoA"):
      raise ValueError(f"direction is 'AtoB' or 'BtoA', got {direction!r}.")
    conditions = images.astype(np.float32) / 127.5 - 1.0
    source, made = (0, 1) if direction == "AtoB" else (1, 0)
    if not paired:  # Both domains' places: this one's images, the other's left blank.
      both = np.zeros((len(images), 2, *expected), np.float32)
      both[:, source] = conditions
      conditions = both
    outputs = self.outputs(self.latents(len(images), seed), jnp.asarray(conditions), seed=seed)
    return self.decode(outputs if paired else outputs[:, made])

  def interpolate(self, seeds: tuple[int, int], steps: int = 8, *,
                  label: int | None = None, truncation: float = 1.0) -> Any:
    """`steps` decoded samples on the straight line from seed `seeds[0]`'s latent to
    `seeds[1]`'s, G's noise held fixed."""
    start, end = self.latents(1, seeds[0]), self.latents(1, seeds[1])
    weights = jnp.linspace(0.0, 1.0, steps)[:, None]
    latents = start * (1.0 - weights) + end * weights
    labels = self.labels(steps, label if self.num_classes and label is not None else None)
    return self.decode(self.outputs(latents, labels, truncation=truncation, seed=seeds[0]))

  def export(self, path: str) -> None:
    """Writes one self-contained file: the config, the description and G's variables."""
    payload = {"format": FORMAT, "version": VERSION, "step": self.step,
               "config": json.dumps(self.config.to_dict()),
               "description": json.dumps(self.description),
               "params": self.params, "batch_stats": self.batch_stats}
    with open(path + ".tmp", "wb") as f:
      f.write(serialization.msgpack_serialize(jax.device_get(payload)))
    os.replace(path + ".tmp", path)


def _checkpoints(workdir: str, step: int | None) -> tuple[ocp.CheckpointManager, int]:
  """The manager and step to load: `step` of `WORKDIR/checkpoints`, else the best
  checkpoint (`WORKDIR/best`), else the newest."""
  places = [workdir] if step is not None else [os.path.join(workdir, "best"), workdir]
  for place in places:
    directory = os.path.abspath(os.path.join(place, "checkpoints"))
    if not os.path.isdir(directory):
      continue
    manager = checkpointing.make_manager(place, create=False)
    if step is not None and step not in manager.all_steps():
      raise FileNotFoundError(f"No checkpoint of step {step} in {directory}; there are "
                              f"{manager.all_steps()}.")
    found = manager.latest_step() if step is None else step
    if found is not None:
      return manager, found
  raise FileNotFoundError(f"No checkpoint in {os.path.abspath(workdir)}: train there first "
                          f"(train.py --workdir {workdir}), or give an exported file.")


def _description(workdir: str, config: ml_collections.ConfigDict) -> dict[str, Any]:
  path = os.path.join(workdir, DESCRIPTION_FILE)
  if os.path.isfile(path):
    with open(path, encoding="utf-8") as f:
      return json.load(f)
  from jaxgan import tasks  # pylint: disable=import-outside-toplevel
  task = tasks.from_config(config)  # A workdir from before generator.json: ask the data.
  return describe(task.spec, task.decoder())


def read_checkpoint(workdir: str, step: int | None = None
                    ) -> tuple[ml_collections.ConfigDict, dict[str, Any], int]:
  """The config, the training state (as nested dicts of numpy arrays, without the GAN that
  made it) and the step of a workdir's checkpoint: `step`'s, else the best, else the
  newest."""
  manager, step = _checkpoints(workdir, step)
  restored = manager.restore(step, args=ocp.args.Composite(
      state=ocp.args.StandardRestore(), config=ocp.args.JsonRestore()))
  return ml_collections.ConfigDict(tuples(restored.config)), jax.device_get(restored.state), step


def _from_workdir(workdir: str, step: int | None) -> Generator:
  config, state, step = read_checkpoint(workdir, step)
  sampler = state["g_ema"] if state.get("g_ema") else state["g"]
  return Generator(config, _description(workdir, config), sampler["params"],
                   sampler.get("batch_stats") or {}, step)


def _from_file(path: str) -> Generator:
  with open(path, "rb") as f:
    payload = serialization.msgpack_restore(f.read())
  if not isinstance(payload, dict) or payload.get("format") != FORMAT:
    raise ValueError(f"{path} is not a jaxgan generator file (written by "
                     f"`python -m jaxgan.export`).")
  if payload["version"] > VERSION:
    raise ValueError(f"{path} is a version {payload['version']} generator file; this jaxgan "
                     f"reads version {VERSION}. Update jaxgan.")
  return Generator(ml_collections.ConfigDict(tuples(json.loads(payload["config"]))),
                   json.loads(payload["description"]), payload["params"],
                   payload["batch_stats"] or {}, int(payload["step"]))


def load(path: str, *, step: int | None = None) -> Generator:
  """The generator in `path`: a training workdir (`step`'s checkpoint, by default the best
  one, else the newest; the EMA generator when there is one) or a file written by
  `Generator.export` / `python -m jaxgan.export`."""
  if os.path.isdir(path):
    return _from_workdir(path, step)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path} is neither a workdir nor a generator file.")
  if step is not None:
    raise ValueError("step picks a checkpoint of a workdir; an exported file holds one.")
  return _from_file(path)
