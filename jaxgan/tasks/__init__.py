"""Kinds of data, one module each, chosen by `config.task` from `TASKS`.

A kind (images, image-to-image translation, 2-D mixtures, words, tables, audio) is a
module with a `build(config) -> Task` function (jaxgan.tasks.base): the dataset and its
batches, what the models need to know of the data, the evaluator of samples, and how
samples are written and drawn. The trainer, the evaluation command and the step never ask
which kind they hold. A kind's module loads its own dependencies, and only when a config
names it; your own kind is `config.task = "package.module:build"`, or registered with
`TASKS.register`.
"""

import ml_collections

from jaxgan.errors import ConfigError
from jaxgan.registry import Registry
from jaxgan.tasks.base import Dataset, DataSpec, Evaluator, Task

TASKS = Registry("task", {
    "images": "jaxgan.tasks.images:build",
    "translation": "jaxgan.tasks.translation:build",
    "mixture": "jaxgan.tasks.mixture:build",
    "words": "jaxgan.tasks.words:build",
    "table": "jaxgan.tasks.table:build",
    "audio": "jaxgan.tasks.audio:build",
})
# The package extra that installs each kind's dependencies.
EXTRAS = {"images": "images", "translation": "images", "mixture": "mixtures", "words": "words",
          "table": "tables", "audio": "audio"}


def from_config(config: ml_collections.ConfigDict) -> Task:
  """The task `config.task` on `config.dataset`, with `config.task_kwargs`."""
  try:
    build = TASKS.get(config.task)
  except ConfigError as e:
    if config.task not in EXTRAS or not isinstance(e.__cause__, ImportError):
      raise
    raise ConfigError(f"Task {config.task!r} needs packages that are not installed "
                      f"({e.__cause__}): pip install 'jaxgan[{EXTRAS[config.task]}]', or "
                      f"run `make setup`.") from None
  return build(config)


def spec_without_data(config: ml_collections.ConfigDict) -> DataSpec | None:
  """What a config's models would see of its data, from the config alone, where the kind
  can say (translation: RGB images of `image_size`); None for the others."""
  if config.task != "translation":
    return None
  from jaxgan.tasks import translation  # Its dependencies load only when named.
  return translation.spec_without_data(config)


__all__ = ["DataSpec", "Dataset", "Evaluator", "TASKS", "Task", "from_config"]
