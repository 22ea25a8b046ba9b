"""Prints the networks of a config: `.venv/bin/python -m jaxgan.summary --config
configs/stylegan2_digits.py`.

One line per network with its parameter count, then a table per network (Flax's
`tabulate`: each layer's inputs, outputs and parameters). Nothing is trained or
generated; the data's shape comes from `--data_shape` (e.g. `32,32,3`), or else from the
config's dataset as the models see it (for images, the prepared index; no samples are
read).
"""

import sys

import jax
import jax.numpy as jnp
from absl import app, flags

from jaxgan import command_line, tasks, trainer
from jaxgan.errors import ConfigError
from jaxgan.state import example_conditions
from jaxgan.tasks.base import DataSpec

command_line.define_config_flag(None)
flags.DEFINE_list("data_shape", None, "The shape of one sample, e.g. 32,32,3; default: "
                  "the config's dataset's.")
flags.DEFINE_integer("num_classes", 0, "With --data_shape: classes of a conditional config.")
flags.DEFINE_integer("depth", 2, "Levels of submodules in the tables.")
FLAGS = flags.FLAGS


def networks(config, spec: DataSpec) -> dict[str, tuple]:
  """Each network of the config's GAN, with example inputs: `{name: (module, rngs, args)}`."""
  gan = trainer.build_gan(config, spec)
  g_labels, d_labels = example_conditions(gan, spec.shape, 2)
  g_extra = () if g_labels is None else (g_labels,)
  d_extra = () if d_labels is None else (d_labels,)
  rngs = {"params": jax.random.key(0), "noise": jax.random.key(1)}
  return {"generator": (gan.generator, rngs, (jnp.zeros((2, gan.latent_dim)), *g_extra)),
          "discriminator": (gan.discriminator, rngs,
                            (jnp.zeros((2 * gan.packing, *spec.shape)), *d_extra))}


def parameter_counts(module, rngs, args) -> dict[str, int]:
  """The module's parameter count (`""`), and that of each network it holds (`networks`: a
  CycleGAN side's two)."""
  params = jax.eval_shape(lambda: module.init(rngs, *args, train=False))["params"]
  count = lambda tree: sum(x.size for x in jax.tree.leaves(tree))  # noqa: E731
  return {"": count(params)} | {name: count(params[name])
                                for name in getattr(module, "networks", ())}


def main(argv):
  del argv
  try:
    config = FLAGS.config
    if config is None:
      raise ConfigError("Give a config: --config configs/NAME.py.")
    if FLAGS.data_shape:
      spec = DataSpec(tuple(int(n) for n in FLAGS.data_shape), FLAGS.num_classes)
    else:
      try:
        spec = tasks.from_config(config).spec
      except ConfigError as e:
        spec = tasks.spec_without_data(config)
        if spec is None:
          raise
        print(f"Without its data ({e}), assuming RGB images.")
    nets = networks(config, spec)
  except ConfigError as e:
    sys.exit(f"Config error: {e}")
  print(f"{config.model} on data of shape {tuple(spec.shape)}"
        f"{f', {spec.num_classes} classes' if config.conditional else ''}:")
  for name, (module, rngs, args) in nets.items():
    for part, count in parameter_counts(module, rngs, args).items():
      print(f"{f'  {part}' if part else name}: {count:,} parameters")
  for name, (module, rngs, args) in nets.items():
    print(f"\n{name}")
    print(module.tabulate(rngs, *args, train=False, depth=FLAGS.depth,
                          console_kwargs={"width": 120, "force_terminal": False,
                                                          "color_system": None}))


if __name__ == "__main__":
  app.run(main)
