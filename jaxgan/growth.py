"""Progressive growing's schedule (Karras et al. 2018): resolution phases and fade-in.

A growing model trains at `num_phases` resolutions, each twice the last. Phase k
starts at step `k * phase_steps` (the last phase runs to the end of training) and
fades its new layers in over its first `fade_steps` steps: their weight alpha goes
linearly from 0, where the network computes exactly what it computed in phase k - 1,
to 1. The phase is static (one compiled step per phase); alpha is computed from the
traced step inside it.

Models and data stay full size in every phase: a growing generator upsamples its
current images (nearest neighbour) and a growing discriminator average-pools its input
down to the current resolution, so data, sample grids and metrics never change shape.
During a fade-in, real images are blended the same way as the generator's outputs
(`fade_real`), as in the paper.
"""

import dataclasses

import jax
import jax.numpy as jnp

from jaxgan.errors import ConfigError

Array = jax.Array


def lerp(start: Array, end: Array, weight: Array) -> Array:
  """`start` where `weight` is 0, `end` where it is 1: a fade-in."""
  return start + weight * (end - start)


def resize(images: Array, size: int) -> Array:
  """Square images `[batch, s, s, c]` -> `[batch, size, size, c]`: average pooling to make
  them smaller, nearest-neighbour repetition to make them larger (sizes powers of 2 apart)."""
  current = images.shape[1]
  if size == current:
    return images
  if size < current:
    factor = current // size
    return images.reshape(-1, size, factor, size, factor, images.shape[-1]).mean(axis=(2, 4))
  factor = size // current
  return jnp.repeat(jnp.repeat(images, factor, axis=1), factor, axis=2)


@dataclasses.dataclass(frozen=True)
class Growth:
  """When a progressive model grows; `phase` is the one a compiled step trains."""
  num_phases: int
  phase_steps: int
  fade_steps: int
  phase: int = 0

  def __post_init__(self):
    if self.phase_steps < 1:
      raise ConfigError(f"growth.phase_steps must be >= 1, got {self.phase_steps}.")
    if not 0 <= self.fade_steps <= self.phase_steps:
      raise ConfigError(f"growth.fade_steps must be in [0, phase_steps={self.phase_steps}], "
                        f"got {self.fade_steps}.")
    if not 0 <= self.phase < self.num_phases:
      raise ValueError(f"phase {self.phase} is not one of the {self.num_phases} phases.")

  def phase_at(self, step: int) -> int:
    """The phase that trains step `step` (counted from 0)."""
    return min(step // self.phase_steps, self.num_phases - 1)

  def at_step(self, step: int) -> "Growth":
    return dataclasses.replace(self, phase=self.phase_at(step))

  def alpha(self, step: Array) -> Array:
    """The weight `[]` of this phase's new layers at `step` (traced): 0 to 1 over the fade-in,
    1 after it and in phase 0."""
    if self.phase == 0 or self.fade_steps == 0:
      return jnp.ones((), jnp.float32)
    done = (step - self.phase * self.phase_steps).astype(jnp.float32)
    return jnp.clip(done / self.fade_steps, 0.0, 1.0)

  def model_kwargs(self, step: Array) -> dict:
    """What a growing generator and discriminator take besides their inputs when training."""
    return {"phase": self.phase, "alpha": self.alpha(step)}

  def fade_real(self, images: Array, alpha: Array) -> Array:
    """Real images `[batch, s, s, c]` as this phase shows them to D: at its resolution, blended
    during a fade-in with the previous resolution's (weight `1 - alpha`), then full size."""
    size = images.shape[1]
    current = resize(images, size >> (self.num_phases - 1 - self.phase))
    if self.phase:
      previous = resize(resize(current, current.shape[1] // 2), current.shape[1])
      current = lerp(previous, current, alpha)
    return resize(current, size)
