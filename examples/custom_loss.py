"""A new GAN loss in a few lines, trained with the unchanged jaxgan step.

  .venv/bin/python examples/custom_loss.py                  # ~1 minute on 2 CPU cores
  .venv/bin/python examples/custom_loss.py --steps 50 --workdir /tmp/chi2

The loss is the Pearson chi-squared f-GAN (Nowozin et al. 2016): D's raw output v
estimates the variational bound of the chi-squared divergence,
  D loss = -(mean v(real) - mean f*(v(fake))),  f*(t) = t^2 / 4 + t,
and G takes the non-saturating form, maximising mean v(fake).
"""

import argparse
import os
import sys

import jax.numpy as jnp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jaxgan  # noqa: E402
from configs import default  # noqa: E402
from jaxgan import trainer  # noqa: E402


def pearson_chi2() -> jaxgan.GANLoss:
  """Pearson chi-squared f-GAN: logits `[batch]` -> scalar losses."""
  conjugate = lambda t: 0.25 * t ** 2 + t  # noqa: E731  f*(t) for f(u) = (u - 1)^2.
  return jaxgan.GANLoss(
      discriminator=lambda real, fake: -(jnp.mean(real) - jnp.mean(conjugate(fake))),
      generator=lambda fake: -jnp.mean(fake))


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--steps", type=int, default=3000)
  parser.add_argument("--workdir", default="runs/custom_loss")
  parser.add_argument("--eval_every_steps", type=int, default=1000, help="0: no evaluation")
  args = parser.parse_args()
  trainer.log_to_console()

  # Registered by name here; from another module, a config can name it directly:
  # --config.loss=mypackage.mylosses:pearson_chi2
  jaxgan.losses.LOSSES.register("pearson_chi2", pearson_chi2)
  config = default.get_config()
  config.loss = "pearson_chi2"
  config.num_train_steps = args.steps
  config.sample_every_steps = config.checkpoint_every_steps = max(args.steps // 3, 1)
  config.log_every_steps = max(args.steps // 10, 1)
  config.eval_every_steps = args.eval_every_steps
  trainer.train_and_evaluate(config, args.workdir)
  print(f"Samples in {os.path.join(args.workdir, 'samples')}")


if __name__ == "__main__":
  main()
