"""Image-to-image translation: pix2pix on paired images, CycleGAN on unpaired ones.

`config.dataset` names the data (jaxgan.image_pairs for the layouts):

- a folder in the pix2pix or CycleGAN authors' layout (`task_kwargs.paired` picks between
  the two of `trainA/` and `trainB/`);
- `"cycle_gan/horse2zebra"` or any other tfds `cycle_gan` config (unpaired; internet once);
- `"pix2pix/facades"` or another of the pix2pix authors' archives (paired; internet once,
  through tfds' download manager);
- any image dataset of the images task (the bundled digits offline) with
  `task_kwargs.derive`: `"edges"`, `"mask"` (inpainting) or `"blur"` (restoration) make each
  image the target of a source made from it; `"thick"` makes an unpaired task of two
  halves of the dataset, the second restyled.

`task_kwargs.direction="BtoA"` swaps source and target (facades: labels to photos).
`mirror` adds left-right mirror images, as the authors' default training does.

Evaluated on held-out images (the test split): paired, the L1 distance, PSNR and SSIM of
the outputs to their targets (dm-pix) and the Fréchet distance of outputs to targets;
unpaired, the Fréchet distance of each direction's outputs to the target domain and the
cycle reconstruction error. Fréchet distances are in the features of jaxgan's digits-style
classifier of the dataset (a labelled tfds dataset) or of InceptionV3 (`eval_features=
"inception"`), and left out where neither applies. Pictures are rows of source | output |
target (unpaired: source | output, and in an evaluation source | output | reconstruction).
"""

import functools
import os
from typing import Any, Callable

import dm_pix
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxgan import data, decoders, evaluation, image_pairs, inception, pictures
from jaxgan.errors import ConfigError, DataError
from jaxgan.state import sample_latents
from jaxgan.tasks import images
from jaxgan.tasks.base import Dataset, DataSpec, Evaluator, Task, data_dir, no_labels, task_kwargs
from jaxgan.translation import swap_domains

HELD_OUT = 2_000  # The most held-out images an evaluation translates.
DIRECTIONS = ("AtoB", "BtoA")


class _Derived:
  """Pairs made from one image dataset's `split`: `(derive(image), image)`; or, unpaired,
  its even rows (A) beside its odd rows restyled (B)."""

  def __init__(self, source, derive: str, paired: bool):
    self.source, self.derive, self.paired = source, image_pairs.DERIVED[derive], paired

  def __len__(self) -> int:
    return len(self.source) if self.paired else len(self.source) // 2

  def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if self.paired:
      targets, _ = self.source.read(indices)
      return self.derive(targets, indices), targets
    a, _ = self.source.read(2 * indices)
    b, _ = self.source.read(2 * indices + 1)
    return a, self.derive(b, indices)


class _Unpaired:
  """Two domains' images; example `i` is A's image `i` beside one of B's, matched by a fixed
  shuffle (no loss compares the two)."""

  def __init__(self, domain_a, domain_b):
    self.domains = (domain_a, domain_b)
    self.b_order = np.random.default_rng(0).permutation(len(domain_b))

  def __len__(self) -> int:
    return max(map(len, self.domains))

  def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, _ = self.domains[0].read(indices % len(self.domains[0]))
    b, _ = self.domains[1].read(self.b_order[indices % len(self.domains[1])])
    return a, b


def _three_channels(x: np.ndarray) -> np.ndarray:
  return np.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x


def _is_paired(dataset: str, paired: bool, derive: str) -> bool:
  """Whether a translation task's data are paired (`task_kwargs.paired` where the data
  allow both)."""
  if derive:
    return derive not in image_pairs.UNPAIRED_DERIVED
  return paired and not dataset.startswith("cycle_gan/")


def spec_without_data(config: ml_collections.ConfigDict) -> DataSpec:
  """The spec of a translation config's data, assuming RGB images, without reading them."""
  kwargs = task_kwargs(config, Translation)
  shape = (config.image_size, config.image_size, 3)
  if _is_paired(config.dataset, kwargs.get("paired", True), kwargs.get("derive", "")):
    return DataSpec(shape, translation="paired", source_shape=shape)
  return DataSpec((2, *shape), translation="unpaired")


class Translation(Task):
  """A translation task on `config.dataset` at `config.image_size` (see the module
  docstring)."""

  def __init__(self, config: ml_collections.ConfigDict, *, paired: bool = True,
               derive: str = "", direction: str = "AtoB", mirror: bool = False):
    no_labels(config, "Image-to-image translation")
    if direction not in DIRECTIONS:
      raise ConfigError(f"task_kwargs.direction must be one of {', '.join(DIRECTIONS)}, got "
                        f"{direction!r}.")
    if derive and derive not in image_pairs.DERIVED:
      raise ConfigError(f"Unknown task_kwargs.derive {derive!r}. Known: "
                        f"{', '.join(image_pairs.DERIVED)}.")
    self.config, self.derive = config, derive
    self.paired = _is_paired(config.dataset, paired, derive)
    self.swap = direction == "BtoA"
    self.train = train = self._open("train")
    self.held_out = self._open("test") or train
    self.held_out_is_train = self.held_out is train
    example = self._stacked(np.zeros(1, np.int64), train)
    self.dataset = self._dataset(train, example, mirror)
    if self.paired:
      self.spec = DataSpec(example.shape[2:], translation="paired",
                           source_shape=example.shape[2:])
    else:
      self.spec = DataSpec(example.shape[1:], translation="unpaired")

  def _open(self, split: str):
    """A reader of `split` ("train" or "test"): `read(indices) -> (a, b)` uint8 images; None
    for a test split the data does not have."""
    config, size = self.config, self.config.image_size
    root = images.prepared_root(config)
    if self.derive:
      if images.is_folder(config.dataset) and split != "train":
        return None
      try:
        return _Derived(images.open_source(config, split), self.derive, self.paired)
      except ConfigError:
        if split == "train":
          raise
        return None  # A tfds dataset without a test split.
    name = config.dataset
    if name.startswith("cycle_gan/"):
      return _Unpaired(*(images.open_tfds(name, split=split + domain, size=size,
                                          data_dir_=data_dir(config), download=config.download,
                                          prepared_root=root) for domain in "AB"))
    if name.startswith("pix2pix/"):
      downloads = os.path.join(root, "downloads")
      name = image_pairs.pix2pix_folder(name.split("/", 1)[1], downloads,
                                        download=config.download)
      if name is None:
        raise ConfigError(f"Dataset {config.dataset!r} is not prepared in {downloads}: it comes "
                          f"from the pix2pix authors' site; run once with "
                          f"--config.download=True (internet).")
    if not os.path.isdir(name):
      raise DataError(f"{name!r} is neither a folder nor a known dataset: give a folder in the "
                      f"pix2pix or CycleGAN layout, cycle_gan/NAME, pix2pix/NAME, or an image "
                      f"dataset with task_kwargs.derive.")
    splits = (split,) if split == "train" else ("test", "val")
    for name_of_split in splits:
      if self.paired:
        reader = image_pairs.paired_folder(name, name_of_split, size=size, prepared_root=root)
      else:
        domains = image_pairs.unpaired_folders(name, name_of_split, size=size,
                                               prepared_root=root)
        reader = domains and _Unpaired(*domains)
      if reader is not None:
        return reader
    if split == "train":
      layout = ("train/ (A|B side by side) or trainA/ and trainB/ (same file names)"
                if self.paired else "trainA/ and trainB/")
      raise DataError(f"{name} holds no {'paired' if self.paired else 'unpaired'} training "
                      f"images: it needs {layout}.")
    return None

  @property
  def classes(self) -> tuple[str, ...]:
    """The class names of a derived task's dataset, whose classifier measures it; none for
    the others."""
    return self.train.source.prepared.classes if self.derive else ()

  def _stacked(self, indices: np.ndarray, reader) -> np.ndarray:
    """uint8 `[k, 2, size, size, c]`: source (A) and target (B) of each example."""
    a, b = reader.read(indices)
    if self.swap:
      a, b = b, a
    if a.shape[-1] != b.shape[-1]:
      a, b = _three_channels(a), _three_channels(b)
    return np.stack([a, b], axis=1)

  def _dataset(self, train, example: np.ndarray, mirror: bool) -> Dataset:
    stream = data.streamed_dataset(
        self.config.dataset, lambda indices: (self._stacked(indices, train), None), len(train),
        self.config.seed, mirror=mirror)
    if not self.paired:
      return stream
    return Dataset(stream.name, example.shape[2:],
                   lambda *args: _targets_and_sources(stream.batch(*args)))

  @functools.cached_property
  def reference(self) -> np.ndarray:
    """Up to `HELD_OUT` held-out examples, `[n, 2, size, size, c]` in [-1, 1]: source (A),
    target (B)."""
    count = min(HELD_OUT, len(self.held_out))
    return data.to_model_range(self._stacked(np.arange(count), self.held_out))

  def grid_inputs(self, gan: Any, rng: jax.Array, num: int) -> tuple[jax.Array, jax.Array]:
    """The first `num` held-out examples' sources (unpaired: both domains), with latents."""
    return sample_latents(gan, rng, num), jnp.asarray(self.conditions(self.reference[:num]))

  def conditions(self, examples: np.ndarray) -> np.ndarray:
    """What G is given for held-out `examples [n, 2, ...]`: their sources (unpaired: both
    domains)."""
    return examples[:, 0] if self.paired else examples

  def evaluator(self, cache_dir: str) -> "TranslationEvaluator":
    config = self.config
    extractor = None
    if config.eval_features == "inception":
      extractor = inception.InceptionFeatures(inception.load(config.eval_inception_weights))
    elif self.derive and not images.is_folder(config.dataset) and self.classes:
      extractor = images.feature_classifier(config.dataset, config.image_size,
                                            cache_dir=cache_dir, data_dir=data_dir(config))
    where = "the training images (no test split)" if self.held_out_is_train else "test split"
    return TranslationEvaluator(self, extractor, f"{config.dataset} {where}")

  def decoder(self) -> decoders.Images:
    return decoders.Images()

  def picture(self, samples: np.ndarray, cols: int | None) -> np.ndarray:
    """Rows of source | output | target (unpaired: a | G(a) | b | F(b)) for the held-out
    examples that `grid_inputs` gave, two examples a row."""
    del cols
    examples = self.reference[:len(samples)]
    if self.paired:
      columns = [examples[:, 0], samples, examples[:, 1]]
    else:
      columns = [examples[:, 0], samples[:, 1], examples[:, 1], samples[:, 0]]
    return _rows(columns, per_row=1 if self.paired and len(samples) < 8 else 2)

  def write_evaluation(self, out_dir: str, gan: Any, g: Any, samples: np.ndarray,
                       labels: np.ndarray | None, seed: int) -> dict[str, Any]:
    """`samples.png` (source | output | target rows) and, unpaired, `cycle.png` (source |
    output | reconstruction rows)."""
    del labels, seed
    shown = samples[:16]
    pictures.save_png(os.path.join(out_dir, "samples.png"), self.picture(shown, None))
    if not self.paired:
      reconstructions = _translate(gan, g, shown)
      examples = self.reference[:len(shown)]
      pictures.save_png(os.path.join(out_dir, "cycle.png"), _rows(
          [examples[:, 0], shown[:, 1], reconstructions[:, 0],
           examples[:, 1], shown[:, 0], reconstructions[:, 1]], per_row=1))
    return {}


def _targets_and_sources(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  return batch[:, 1], batch[:, 0]


def _rows(columns: list[np.ndarray], per_row: int) -> np.ndarray:
  """A grid whose rows are `per_row` examples, each shown as its `columns` side by side."""
  cells = np.stack([_three_channels(np.asarray(c)) for c in columns], axis=1)  # [n, cols, ...]
  return pictures.image_grid(cells.reshape(-1, *cells.shape[2:]), cols=per_row * len(columns))


def _translate(gan: Any, g: Any, conditions: np.ndarray, rng: jax.Array | None = None,
               batch_size: int = 500) -> np.ndarray:
  """G's outputs for `conditions` (sources, or unpaired both domains), in batches."""
  rng = jax.random.key(0) if rng is None else rng
  run = evaluation.generate_fn(gan)
  latents = sample_latents(gan, rng, len(conditions))
  return np.concatenate([
      np.asarray(run(g, latents[i:i + batch_size], jnp.asarray(conditions[i:i + batch_size]),
                     jax.random.fold_in(rng, i)))
      for i in range(0, len(conditions), batch_size)])


class TranslationEvaluator(Evaluator):
  """The metrics of a translation task's held-out examples (see the module docstring)."""

  def __init__(self, task: Translation, extractor: evaluation.Extractor | None,
               description: str):
    self.task, self.description = task, description
    reference = task.reference
    inception_features = isinstance(extractor, inception.InceptionFeatures)
    fd = "fid" if inception_features else "fd_classifier"
    self.features = {}
    if extractor is not None:
      targets = {"": reference[:, 1]} if task.paired else {
          "_to_a": reference[:, 0], "_to_b": reference[:, 1]}
      self.features = {suffix: evaluation.FeatureEvaluator(
          extractor, real, description="", inception=inception_features)
          for suffix, real in targets.items()}
    fallback = "l1" if task.paired else "cycle_l1"
    self.fd_name = fd
    self.main_metric = (f"eval/{fd if self.features else fallback}", "min")

  def describe(self, num_samples: int) -> str:
    count = min(num_samples, len(self.task.reference))
    fd = f", {self.fd_name} to the targets" if self.features else ""
    return f"{count} held-out examples of {self.description}{fd}"

  def __call__(self, gan: Any, g: Any, rng: jax.Array, num_samples: int
               ) -> tuple[dict[str, float], np.ndarray, None]:
    results, outputs = self.measure(
        self.task.reference[:num_samples],
        lambda conditions: _translate(gan, g, conditions, rng))
    return results, outputs, None

  def measure(self, examples: np.ndarray, translate: Callable[[np.ndarray], np.ndarray]
              ) -> tuple[dict[str, float], np.ndarray]:
    """The metrics of `translate` (conditions -> outputs, `[n, ...]` arrays) on held-out
    `examples [n, 2, ...]`, and its outputs."""
    outputs = translate(self.task.conditions(examples))
    if self.task.paired:
      results = _paired_metrics(outputs, examples[:, 1])
      outputs_by_target = {"": outputs}
    else:
      results = {"cycle_l1": float(np.mean(np.abs(translate(outputs) - examples)))}
      outputs_by_target = {"_to_a": outputs[:, 0], "_to_b": outputs[:, 1]}
    for suffix, evaluator in self.features.items():
      measured = evaluator.measure(outputs_by_target[suffix])
      results[self.fd_name + suffix] = measured[f"eval/{self.fd_name}"]
    if len(self.features) > 1:
      results[self.fd_name] = float(np.mean([results[self.fd_name + s] for s in self.features]))
    return {f"eval/{name}": float(value) for name, value in results.items()}, outputs

  def identity_baseline(self, num_samples: int) -> dict[str, float]:
    """The metrics of leaving each held-out image as it is: each source for its target
    (paired), each domain's image for the other's (unpaired)."""
    unchanged = (lambda sources: sources) if self.task.paired else swap_domains
    return self.measure(self.task.reference[:num_samples], unchanged)[0]


def _paired_metrics(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
  """L1 in [-1, 1], and PSNR and SSIM of images in [0, 1] (dm-pix), means over the images."""
  unit = lambda x: (jnp.asarray(x) + 1.0) / 2.0  # noqa: E731
  return {"l1": float(np.mean(np.abs(outputs - targets))),
          "psnr": float(jnp.mean(dm_pix.psnr(unit(outputs), unit(targets)))),
          "ssim": float(jnp.mean(dm_pix.ssim(unit(outputs), unit(targets),
                                             filter_size=min(11, targets.shape[1]))))}


def build(config: ml_collections.ConfigDict) -> Translation:
  """The translation task of a config."""
  return Translation(config, **task_kwargs(config, Translation))
