"""GAN samples as data augmentation: jaxgan's digits classifier (LeNet) trained on k real
images per class, tested on the held-out digits, three ways:

  real       the k x 10 real images alone;
  classical  those and shifted, slightly rotated copies of them;
  + GAN      those and samples of a class-conditional GAN trained (with ADA) on the same
             k images per class.

  .venv/bin/python bench/gan_augmentation.py                   # k = 5, 10, 20; seeds 0, 1, 2
  .venv/bin/python bench/gan_augmentation.py --ks 5 --seeds 0 --gan-steps 500

The seed picks the k images of each class, the GAN's and the classifier's initialisation;
every classifier takes the same number of Adam steps (`--updates`), whatever its data.
Each GAN is configs/default.py made conditional, with ADA, `--gan-steps` long, in
`--out/k<k>_seed<seed>`; one already trained is reused.
"""

import argparse
import functools
import math
import os
import sys

import dm_pix as pix
import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from configs import default  # noqa: E402
from jaxgan import augment, classifier, evaluation, tasks, trainer  # noqa: E402
from jaxgan.tasks import images  # noqa: E402


@functools.partial(jax.jit, static_argnums=2)
def classical(rng: jax.Array, x: jax.Array, copies: int) -> jax.Array:
  """`copies` copies of each image `[n, h, w, c]` (in [-1, 1], background -1), each moved by
  up to 2 pixels and rotated by up to 10 degrees: `[copies * n, h, w, c]`."""
  x = jax.numpy.tile(x, (copies, 1, 1, 1))
  shift_rng, angle_rng = jax.random.split(rng)
  x = augment.translation(shift_rng, x, 2 / x.shape[1], mode="edge")
  angles = jax.random.uniform(angle_rng, (x.shape[0],), minval=-0.175, maxval=0.175)
  return jax.vmap(lambda image, angle: pix.rotate(image, angle, cval=-1.0, mode="constant"))(
      x, angles)


def gan_config(k: int, seed: int, args: argparse.Namespace):
  config = default.get_config()
  config.conditional = True
  config.augment = "ada"
  config.augment_kwargs.speed_images = 100_000
  config.task_kwargs.per_class = k
  config.task_kwargs.subset_seed = seed
  config.seed = seed
  config.num_train_steps = args.gan_steps
  config.eval_every_steps = 0
  config.log_every_steps = config.sample_every_steps = args.gan_steps // 4
  config.checkpoint_every_steps = args.gan_steps
  config.data_dir = args.data_dir
  return config


def gan_samples(k: int, seed: int, args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
  """`args.gan_per_class` samples of each class from the GAN trained on k images a class."""
  config = gan_config(k, seed, args)
  workdir = os.path.join(args.out, f"k{k}_seed{seed}")
  state = trainer.train_and_evaluate(config, workdir)  # Restored if trained already.
  gan = trainer.build_gan(config, tasks.from_config(config).spec)
  return evaluation.sample(gan, state.sampler, jax.random.key(seed + 100),
                           10 * args.gan_per_class)


def accuracy(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
             seed: int, updates: int) -> float:
  """Test accuracy of LeNet trained with `updates` Adam steps (batches of up to 64) on
  `train`, whatever its size."""
  batch_size = min(64, len(train[0]))
  epochs = math.ceil(updates / (len(train[0]) // batch_size))
  return classifier.fit(classifier.LeNet(), train, test, name="digits", seed=seed,
                        epochs=epochs, batch_size=batch_size).test_accuracy


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--ks", type=int, nargs="+", default=[5, 10, 20])
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
  parser.add_argument("--gan-steps", type=int, default=2000)
  parser.add_argument("--copies", type=int, default=20, help="classical copies of each image")
  parser.add_argument("--gan-per-class", type=int, default=200)
  parser.add_argument("--updates", type=int, default=1500, help="the classifier's Adam steps")
  parser.add_argument("--out", default="runs/gan_augmentation")
  parser.add_argument("--data-dir", default="", help="tfds data dir ('' : tfds' default)")
  args = parser.parse_args()
  test = images.load_split("sklearn_digits", split="test", image_size=16,
                           data_dir=args.data_dir or None)
  results = {}
  for k in args.ks:
    for seed in args.seeds:
      task = tasks.from_config(gan_config(k, seed, args))
      rows = images.rows_per_class(task.source.prepared.labels, k, seed)
      real_images, labels = task.source.read(rows)
      real = (real_images.astype(np.float32) / 127.5 - 1.0, labels)
      shifted = (np.asarray(classical(jax.random.key(seed), real[0], args.copies)),
                 np.tile(labels, args.copies))
      with_classical = tuple(np.concatenate(parts) for parts in zip(real, shifted))
      with_gan = tuple(np.concatenate(parts) for parts in zip(with_classical,
                                                              gan_samples(k, seed, args)))
      for name, train in (("real", real), ("classical", with_classical), ("+ GAN", with_gan)):
        results[k, seed, name] = accuracy(train, test, seed, args.updates)
        print(f"k={k} seed={seed} {name}: {results[k, seed, name]:.3f}", flush=True)
  print("\n| real images per class | real | + classical | + classical + GAN samples |\n"
        "|---|---|---|---|")
  for k in args.ks:
    cells = [np.array([results[k, seed, name] for seed in args.seeds])
             for name in ("real", "classical", "+ GAN")]
    print(f"| {k} | " + " | ".join(f"{c.mean():.3f} ± {c.std():.3f}" for c in cells) + " |")


if __name__ == "__main__":
  main()
