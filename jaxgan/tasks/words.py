"""Words: a word list (the bundled English words, or a `.txt` file of one string a line;
jaxgan.text) as one-hot character sequences `[sequence_length, vocabulary]`.

Measured by how many generated strings are real words, and by their character n-grams
against the held-out words (`eval/js_4`; jaxgan.metrics.word_metrics); written as text.
"""

import os
from typing import Any

import jax
import ml_collections
import numpy as np

from jaxgan import data, decoders, evaluation, metrics, pictures, text
from jaxgan.errors import ConfigError
from jaxgan.tasks.base import DataSpec, Evaluator, Task, no_labels, task_kwargs


class WordEvaluator(Evaluator):
  """Generated strings against the training and held-out words."""
  main_metric = ("eval/js_4", "min")

  def __init__(self, name: str, words: text.Words, sequence_length: int):
    self.name, self.words, self.sequence_length = name, words, sequence_length
    self.word_sets = set(words.train), set(words.held_out)

  def describe(self, num_samples: int) -> str:
    return (f"{num_samples} generated strings against the {len(self.words.held_out)} "
            f"held-out words of {self.name} ({len(self.words.train)} trained on)")

  def __call__(self, gan: Any, g: Any, rng: jax.Array, num_samples: int
               ) -> tuple[dict[str, float], np.ndarray, np.ndarray | None]:
    samples, labels = evaluation.sample(gan, g, rng, num_samples)
    results = metrics.word_metrics(text.decode(samples, self.words.vocabulary),
                                   *self.word_sets, max_length=self.sequence_length)
    return {f"eval/{k}": float(v) for k, v in results.items()}, samples, labels


class Words(Task):
  """The word list `config.dataset` (see the module docstring)."""

  def __init__(self, config: ml_collections.ConfigDict, *, sequence_length: int = 8):
    no_labels(config, f"Word list {config.dataset!r}")
    if sequence_length <= 0:
      raise ConfigError(f"task_kwargs.sequence_length must be positive, got "
                        f"{sequence_length}.")
    self.name, self.sequence_length = config.dataset, sequence_length
    self.words = text.load(config.dataset, sequence_length)
    size = len(self.words.vocabulary)
    self.dataset = data.array_dataset(
        config.dataset, text.encode(self.words.train, self.words.vocabulary, sequence_length),
        config.seed, transform=lambda tokens: text.one_hot(tokens, size))
    self.spec = DataSpec(self.dataset.data_shape)

  def decode(self, samples: np.ndarray) -> list[str]:
    """Sequences `[n, length, vocabulary]` as strings."""
    return text.decode(samples, self.words.vocabulary)

  def decoder(self) -> decoders.Strings:
    return decoders.Strings(self.words.vocabulary)

  def evaluator(self, cache_dir: str) -> WordEvaluator:
    del cache_dir
    return WordEvaluator(self.name, self.words, self.sequence_length)

  def picture(self, samples: np.ndarray, cols: int | None) -> np.ndarray:
    del cols
    return pictures.text_picture(self.decode(samples))

  def write_samples(self, path: str, samples: np.ndarray) -> list[str]:
    """`path.txt`: the strings, one a line."""
    _write_lines(path + ".txt", self.decode(samples))
    return [path + ".txt"]

  def write_evaluation(self, out_dir: str, gan: Any, g: Any, samples: np.ndarray,
                       labels: np.ndarray | None, seed: int) -> dict[str, Any]:
    """`samples.txt` (every string), `samples.png` (the first 64) and the length histogram
    of the samples beside the held-out words'."""
    del gan, g, labels, seed
    strings = self.decode(samples)
    _write_lines(os.path.join(out_dir, "samples.txt"), strings)
    pictures.save_png(os.path.join(out_dir, "samples.png"), pictures.text_picture(strings[:64]))
    return {"length_histogram": {
        "generated": metrics.length_histogram(strings, self.sequence_length).tolist(),
        "held_out": metrics.length_histogram(self.words.held_out,
                                             self.sequence_length).tolist()}}

  def report(self, extras: dict[str, Any]) -> str:
    histogram = extras["length_histogram"]
    rows = [f"| {length} | {generated:.3f} | {held_out:.3f} |" for length, (generated, held_out)
            in enumerate(zip(histogram["generated"], histogram["held_out"]))]
    return "\n".join(["| length | generated | held out |", "|---|---|---|", *rows])


def _write_lines(path: str, strings: list[str]) -> None:
  with open(path, "w", encoding="utf-8") as f:
    f.write("\n".join(strings) + "\n")


def build(config: ml_collections.ConfigDict) -> Words:
  """The words task of a config."""
  return Words(config, **task_kwargs(config, Words))
