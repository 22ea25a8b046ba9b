"""The GAN's fixed definition (models, optimizers, loss, schedule) and its training state."""

import dataclasses
from typing import Any, Callable, Sequence

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxgan import regularizers
from jaxgan.errors import ConfigError
from jaxgan.growth import Growth
from jaxgan.losses import GANLoss

SCHEDULES = ("alternating", "simultaneous")
COMPUTE_DTYPES = ("float32", "bfloat16")


def _same(samples: Any) -> Any:
  return samples


@dataclasses.dataclass(frozen=True)
class InstanceNoise:
  """Gaussian noise of `std` on every input of D (0: off), annealed linearly to 0 over
  `anneal_steps` (0: constant)."""
  std: float = 0.0
  anneal_steps: int = 0


@dataclasses.dataclass(frozen=True)
class Replay:
  """A buffer of `size` past generated samples (0: off) making up `fraction` of D's fake
  batch."""
  size: int = 0
  fraction: float = 0.5


@dataclasses.dataclass(frozen=True)
class Unrolled:
  """G's loss judged by D after `steps` more updates on the batch (0: off; Metz et al.
  2017), with G's gradient through them unless `gradient` is False."""
  steps: int = 0
  gradient: bool = True


@dataclasses.dataclass(frozen=True)
class PastSnapshots:
  """G also trains against `count` snapshots of D (0: off), one taken every `every` steps."""
  count: int = 0
  every: int = 100


@dataclasses.dataclass(frozen=True)
class Augment:
  """Differentiable augmentation of every input of D (`transform` None: off; DiffAugment
  and ADA are in jaxgan.augment). `transform(rng, images, p)` is applied with probability
  `p`: fixed at `p`, or, when `adaptive` (ADA), moved every `interval` steps toward the
  value at which the mean sign of D's outputs on real images is `target`, fast enough to
  go from 0 to 1 in `speed_images` real images (`regularizers.ada_update`)."""
  transform: Callable[[jax.Array, jax.Array, jax.Array], jax.Array] | None = None
  p: float = 1.0
  adaptive: bool = False
  target: float = 0.6
  speed_images: int = 500_000
  interval: int = 4


@dataclasses.dataclass(frozen=True)
class Translation:
  """Image-to-image translation: G maps images of one domain to another.

  Paired (pix2pix): batches are `(targets, sources)`; G takes `(latents, sources)` as a
  class-conditional G takes labels, and D judges `(samples, sources)` pairs.
  `source_shape` is one source's shape. Unpaired (CycleGAN): a sample holds an image of each
  domain, `[2, *image_shape]`; G takes `(latents, real batch)` and returns each image
  translated to the other domain, and D is unconditional.

  `terms` are G's losses besides the adversarial one (pix2pix's L1 to the target,
  CycleGAN's cycle consistency and identity; jaxgan.translation).
  """
  paired: bool
  source_shape: tuple[int, ...] = ()
  terms: tuple[Any, ...] = ()


@dataclasses.dataclass(frozen=True)
class GAN:
  """Everything about a GAN that training does not change.

  `schedule="alternating"` (the classic DCGAN loop): `n_critic` D updates, then a G
  update against the updated D. `"simultaneous"`: both gradients from one shared
  forward pass through G and D, then both updates; cheaper (no second D forward),
  but G's gradient comes from the D before its update, and only from those of its
  samples that D was shown (not the ones the replay buffer replaced).

  Tricks, all off by default, each a field or a small group of fields named as in the
  config: `d_penalties` (gradient penalties on D); `instance_noise` (Gaussian noise on D's
  inputs, annealed to 0); `label_flip_fraction`; `historical_averaging_weight` (both
  players); `replay` (a buffer of past samples mixed into D's fake batch); `g_ema_decay` (an
  exponential moving average of G's weights, for sampling); `augment` (differentiable
  augmentation of every input of D, its probability adapted in the state by ADA).

  `num_classes > 0` makes the GAN class-conditional: both models take labels, data
  batches are `(samples, labels)`, and fake samples get labels drawn uniformly, or with
  `label_probs` (a table's training-by-sampling).

  `g_penalties` regularise G as `d_penalties` do D (StyleGAN2's path length), for a
  generator with `mapping` and `synthesis` methods; each one's running value is kept in
  `GANState.g.penalty_state`.

  `skip_nonfinite_updates`: a step whose losses or gradients are not finite leaves
  the parameters as they were (and counts in `GANState.skipped_updates`) instead
  of spreading NaNs.

  `real_inputs` turns real samples into what D takes, for a model whose G returns
  more than its samples (MSG-GAN: every scale); the identity for the others.

  `packing > 1` makes D judge that many samples at once, concatenated (PacGAN,
  `regularizers.pack`); its logits are then `[batch / packing]`.

  `unrolled.steps > 0` judges G's loss by D unrolled that many more updates (Metz et al.
  2017, alternating schedule), with the gradient through the unroll unless
  `unrolled.gradient` is False.

  `past_discriminators.count > 0` keeps that many snapshots of D, one taken every
  `past_discriminators.every` steps, and G's loss becomes the mean of its losses against D
  and each snapshot taken so far ("the generator trains on the outputs of historical
  discriminators"; alternating schedule).

  `growth` is the schedule of a progressively growing model (jaxgan.growth), None for
  the others; its phase is the one `train_step` trains, set by `at_step`.

  `translation` makes G translate the batch's images instead of drawing samples from latents
  alone (`Translation`: pix2pix, CycleGAN); None for generation.

  `compute_dtype="bfloat16"` computes G and D in bfloat16 (mixed precision): parameters,
  optimizer states, BatchNorm statistics, losses and their reductions stay float32.
  """
  generator: nn.Module
  discriminator: nn.Module
  g_optimizer: optax.GradientTransformation
  d_optimizer: optax.GradientTransformation
  loss: GANLoss
  latent_dim: int
  n_critic: int = 1
  schedule: str = "alternating"
  d_penalties: tuple[regularizers.Penalty, ...] = ()
  g_penalties: tuple[regularizers.Penalty, ...] = ()
  instance_noise: InstanceNoise = InstanceNoise()
  label_flip_fraction: float = 0.0
  historical_averaging_weight: float = 0.0
  replay: Replay = Replay()
  g_ema_decay: float = 0.0
  skip_nonfinite_updates: bool = False
  num_classes: int = 0
  label_probs: tuple[float, ...] | None = None
  real_inputs: Callable[[Any], Any] = _same
  growth: Growth | None = None
  packing: int = 1
  unrolled: Unrolled = Unrolled()
  past_discriminators: PastSnapshots = PastSnapshots()
  compute_dtype: str = "float32"
  augment: Augment = Augment()
  translation: Translation | None = None

  def __post_init__(self):
    if self.compute_dtype not in COMPUTE_DTYPES:
      raise ConfigError(f"Unknown dtype {self.compute_dtype!r}. Known: "
                        f"{', '.join(COMPUTE_DTYPES)}.")
    if self.schedule not in SCHEDULES:
      raise ConfigError(f"Unknown schedule {self.schedule!r}. Known: {', '.join(SCHEDULES)}.")
    if self.n_critic < 1:
      raise ConfigError(f"n_critic must be >= 1, got {self.n_critic}.")
    if self.schedule == "simultaneous" and self.n_critic != 1:
      raise ConfigError("The simultaneous schedule updates both players once per step; "
                        "set n_critic=1 or use schedule='alternating'.")
    for name, value in (("label_flip_fraction", self.label_flip_fraction),
                        ("replay.fraction", self.replay.fraction)):
      if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be in [0, 1], got {value}.")
    if not 0.0 <= self.g_ema_decay < 1.0:
      raise ConfigError(f"g_ema_decay must be in [0, 1), got {self.g_ema_decay}; 0 disables it.")
    for name, value in (("instance_noise.std", self.instance_noise.std),
                        ("historical_averaging_weight", self.historical_averaging_weight),
                        ("replay.size", self.replay.size)):
      if value < 0:
        raise ConfigError(f"{name} must be >= 0, got {value}; 0 disables it.")
    if self.unrolled.steps < 0:
      raise ConfigError(f"unrolled.steps must be >= 0 (0: off), got {self.unrolled.steps}.")
    if self.unrolled.steps and self.schedule != "alternating":
      raise ConfigError("An unrolled D judges G after D's update; use schedule='alternating' "
                        "with unrolled.steps, or set unrolled.steps=0.")
    past = self.past_discriminators
    if past.count < 0 or past.every < 1:
      raise ConfigError(f"past_discriminators needs count >= 0 (0: off) and every >= 1, got "
                        f"count={past.count}, every={past.every}.")
    if past.count and self.schedule != "alternating":
      raise ConfigError("Past discriminators judge G in the alternating schedule; use "
                        "schedule='alternating', or set past_discriminators.count=0.")
    if not 0.0 <= self.augment.p <= 1.0 or self.augment.interval < 1:
      raise ConfigError(f"augment needs p in [0, 1] and interval >= 1, got p={self.augment.p}, "
                        f"interval={self.augment.interval}.")
    if self.g_penalties and not hasattr(self.generator, "synthesis"):
      raise ConfigError(f"g_penalties ({', '.join(p.name for p in self.g_penalties)}) need a "
                        f"generator with a mapping network, such as model='stylegan2'; "
                        f"{type(self.generator).__name__} has none. Set g_penalties=().")
    if self.packing < 1:
      raise ConfigError(f"packing must be >= 1 (1: off), got {self.packing}.")
    if self.num_classes and self.packing > 1:
      raise ConfigError("A packed D judges several samples at once, so it cannot be "
                        "conditioned on one label each; set packing=1 for a conditional GAN.")
    if self.translation is not None and self.translation.paired and (
        self.replay.size or self.num_classes):
      raise ConfigError("A paired translation's D judges each sample with its source: set "
                        "replay.size=0 (the buffer keeps no sources) and conditional=False "
                        "(the sources are the condition).")
    if self.num_classes and self.replay.size:
      raise ConfigError("The replay buffer keeps samples without their labels, so it cannot "
                        "be used with a conditional GAN; set replay.size=0.")

  @property
  def conditional(self) -> bool:
    """Whether batches come as `(samples, labels or sources)`."""
    return bool(self.num_classes) or (self.translation is not None and self.translation.paired)

  def at_step(self, step: int) -> "GAN":
    """The GAN that trains step `step` (counted from 0): itself, unless it grows."""
    return self if self.growth is None else dataclasses.replace(
        self, growth=self.growth.at_step(step))


@flax.struct.dataclass
class Player:
  """One player's parameters, BatchNorm and spectral-norm statistics (`{}` if none),
  optimizer state (`()` for the EMA generator), the running mean of its past
  parameters (None unless historical averaging is on), and the running values of its
  penalties (one scalar each, G's path-length mean; None without any)."""
  params: Any
  batch_stats: Any
  opt_state: optax.OptState
  history: Any = None
  penalty_state: tuple[jax.Array, ...] | None = None


@flax.struct.dataclass
class GANState:
  """The whole training state: a pytree that jit, pmap and orbax take as it is.

  `g_ema`, `replay`, `past_d` and `augment` (ADA's probability) are None unless enabled in
  the `GAN`; `skipped_updates` counts the steps whose update was dropped as non-finite.
  """
  step: jax.Array
  g: Player
  d: Player
  skipped_updates: jax.Array
  g_ema: Player | None = None
  replay: regularizers.ReplayBuffer | None = None
  past_d: regularizers.PastDiscriminators | None = None
  augment: regularizers.AdaptiveProbability | None = None

  @property
  def sampler(self) -> Player:
    """The generator to draw samples from: the EMA one when there is one."""
    return self.g if self.g_ema is None else self.g_ema


def sample_latents(gan: GAN, rng: jax.Array, num: int) -> jax.Array:
  """Standard normal latents `[num, latent_dim]`."""
  return jax.random.normal(rng, (num, gan.latent_dim))


def sample_labels(gan: GAN, rng: jax.Array, num: int) -> jax.Array | None:
  """Class labels `[num]` for a conditional GAN (uniform, or drawn with `gan.label_probs`),
  None for an unconditional one."""
  if not gan.num_classes:
    return None
  if gan.label_probs is None:
    return jax.random.randint(rng, (num,), 0, gan.num_classes)
  return jax.random.choice(rng, gan.num_classes, (num,), p=jnp.asarray(gan.label_probs))


def balanced_labels(gan: GAN, num: int) -> jax.Array | None:
  """Labels `[num]` cycling through the classes (0, 1, ..., 0, 1, ...), or None if
  unconditional: every class equally often, for sample grids and evaluation."""
  return jnp.arange(num) % gan.num_classes if gan.num_classes else None


def example_conditions(gan: GAN, data_shape: Sequence[int], num: int
                       ) -> tuple[jax.Array | None, jax.Array | None]:
  """Example conditions of `num` samples, what G and D take besides their inputs: class
  labels `[num]`, a paired translation's sources `[num, *source_shape]` for both, an
  unpaired one's batch `[num, *data_shape]` for G alone; None where a model takes none."""
  if gan.translation is None:
    labels = balanced_labels(gan, num)
    return labels, labels
  if gan.translation.paired:
    sources = jnp.zeros((num, *gan.translation.source_shape))
    return sources, sources
  return jnp.zeros((num, *data_shape)), None


def _copy(tree: Any) -> Any:
  """A copy in new buffers: the step donates the state, and XLA cannot donate one buffer twice."""
  return jax.tree.map(jnp.copy, tree)


def _init_player(module: nn.Module, optimizer: optax.GradientTransformation,
                 rng: jax.Array, example: jax.Array, labels: jax.Array | None,
                 history: bool) -> Player:
  inputs = (example,) if labels is None else (example, labels)
  variables = module.init({"params": rng, "noise": rng}, *inputs, train=False)
  params = variables["params"]
  return Player(params=params, batch_stats=variables.get("batch_stats", {}),
                opt_state=optimizer.init(params), history=_copy(params) if history else None)


def init_state(gan: GAN, rng: jax.Array, data_shape: Sequence[int]) -> GANState:
  """Fresh state for data samples of shape `data_shape` (without the batch axis)."""
  g_rng, d_rng = jax.random.split(rng)
  history = gan.historical_averaging_weight > 0
  g_labels, d_labels = example_conditions(gan, data_shape, 1)
  g = _init_player(gan.generator, gan.g_optimizer, g_rng, jnp.zeros((1, gan.latent_dim)),
                   g_labels, history)
  if gan.g_penalties:
    g = g.replace(penalty_state=tuple(jnp.zeros((), jnp.float32) for _ in gan.g_penalties))
  d_example = regularizers.pack(jnp.zeros((gan.packing, *data_shape)), gan.packing)
  d = _init_player(gan.discriminator, gan.d_optimizer, d_rng, d_example, d_labels, history)
  g_ema = Player(*_copy((g.params, g.batch_stats)), opt_state=()) if gan.g_ema_decay else None
  replay = None
  if gan.replay.size:
    replay = regularizers.ReplayBuffer(jnp.zeros((gan.replay.size, *data_shape)),
                                       jnp.zeros((), jnp.int32))
  past_d = None
  if gan.past_discriminators.count:
    past_d = regularizers.past_discriminators(d.params, d.batch_stats,
                                              gan.past_discriminators.count)
  augment = None
  if gan.augment.adaptive:
    augment = regularizers.AdaptiveProbability(jnp.asarray(gan.augment.p, jnp.float32),
                                               jnp.zeros((), jnp.float32))
  return GANState(step=jnp.zeros((), jnp.int32), g=g, d=d,
                  skipped_updates=jnp.zeros((), jnp.int32), g_ema=g_ema, replay=replay,
                  past_d=past_d, augment=augment)
