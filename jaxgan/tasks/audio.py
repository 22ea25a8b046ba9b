"""Audio: the offline spoken digits, or a folder of audio files (jaxgan.audio), as float32
clips `[length, 1]` in [-1, 1] at `task_kwargs.sample_rate` Hz, cut or padded at the end to
`task_kwargs.length` samples. A folder's subfolders are its classes.

Measured in the features of a 1-D classifier trained once on the real clips (as the WaveGAN
paper scores SC09 with a trained classifier; `eval/fd_classifier`), and by the distance
between average log-power spectra (`eval/spectrum_db`); written as WAV, drawn as
spectrograms.
"""

import functools
import os
from typing import Any

import flax.linen as nn
import jax
import ml_collections
import numpy as np

from jaxgan import audio, classifier, data, decoders, evaluation, pictures
from jaxgan.errors import ConfigError
from jaxgan.tasks.base import DataSpec, Task, data_dir, task_kwargs


def _builder(name: str, sample_rate: int, data_dir_: str | None):
  """The tfds builder of `name`: the spoken digits, or a folder stored at `sample_rate`."""
  if os.path.isdir(name):
    return audio.folder_builder(name, sample_rate, data_dir_)
  return data.builder(name, data_dir_, known=f"{audio.SPOKEN_DIGITS} or a folder of audio "
                                             f"files")


def load_clips(name: str, *, split: str, sample_rate: int, length: int,
               data_dir: str | None) -> tuple[np.ndarray, np.ndarray | None]:
  """A split of audio dataset `name` (`spoken_digits`, or a folder of audio files) as
  float32 clips `[n, length, 1]` in [-1, 1] at `sample_rate` Hz, cut or padded at the end,
  and their labels `[n]` (None for files that are not in subfolders)."""
  stored_rate = sample_rate if os.path.isdir(name) else audio.STORED_RATE
  examples = data.examples(lambda: _builder(name, sample_rate, data_dir), split=split,
                           download=False)
  clips = audio.fit_length([audio.resample(example["audio"] / np.float32(32768), stored_rate,
                                           sample_rate) for example in examples], length)
  labels = np.array([example["label"] for example in examples]) if (
      examples and "label" in examples[0]) else None
  return np.clip(clips, -1.0, 1.0).astype(np.float32)[..., None], labels


def num_classes(name: str, sample_rate: int, data_dir: str | None = None) -> int:
  """The classes of audio dataset `name`: a folder's subfolders, or the digits said."""
  if not os.path.isdir(name):
    return data.num_classes(_builder(name, sample_rate, data_dir))
  classes = audio.audio_files(name)[1]
  if not classes:
    raise ConfigError(f"The audio files in {name} are not in subfolders, so they have no "
                      f"class labels; set conditional=False, or put each class's files in "
                      f"a subfolder.")
  return len(classes)


def train_classifier(name: str, sample_rate: int, length: int, *, data_dir: str | None = None,
                     seed: int = 0, epochs: int = 20) -> classifier.Classifier:
  """AudioNet trained on the labelled `train` clips of audio dataset `name`, its accuracy
  measured on `test`."""
  split = functools.partial(load_clips, name, sample_rate=sample_rate, length=length,
                            data_dir=data_dir)
  train_split, test_split = split(split="train"), split(split="test")
  if train_split[1] is None:
    raise ConfigError(f"The audio files in {name} are not in subfolders, so they have no "
                      f"labels to train the classifier whose features measure samples; put "
                      f"each class's files in a subfolder, or set eval_every_steps=0.")
  model = AudioNet(num_classes(name, sample_rate, data_dir))
  return classifier.fit(model, train_split, test_split, name=name, seed=seed, epochs=epochs)


def feature_classifier(name: str, sample_rate: int, length: int, *, cache_dir: str,
                       data_dir: str | None = None, seed: int = 0) -> classifier.Classifier:
  """`train_classifier`'s AudioNet for audio dataset `name` (a folder: as its files are now),
  trained on first use and kept in `cache_dir`."""
  stored = _builder(name, sample_rate, data_dir).builder_config.name if os.path.isdir(
      name) else name
  return classifier.load_or_train(
      os.path.join(cache_dir, f"{stored}_{length}at{sample_rate}hz_seed{seed}"), AudioNet,
      lambda: train_classifier(name, sample_rate, length, data_dir=data_dir, seed=seed))


class AudioNet(nn.Module):
  """A clip's log-power spectrogram (jaxgan.audio), then two 1-D convolution + max-pool
  blocks over time (the frequencies as channels), a 128-wide feature layer, and class
  logits."""
  num_classes: int = 10

  @nn.compact
  def __call__(self, clips: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`clips [n, length, 1]` in [-1, 1] -> `(features [n, 128], logits [n, classes])`."""
    x = audio.log_spectrogram(clips)
    for width in (64, 128):
      x = nn.relu(nn.Conv(width, (3,))(x))
      x = nn.max_pool(x, (2,), (2,))
    features = nn.relu(nn.Dense(128)(x.reshape(x.shape[0], -1)))
    return features, nn.Dense(self.num_classes)(features)


def spectrogram_grid(clips: np.ndarray, cols: int | None = None) -> np.ndarray:
  """Clips `[n, length, 1]` as a grid of their log-power spectrograms (windows of 128
  samples; time across, stretched to at least square, low frequencies at the bottom, -100 dB
  black to 0 dB white)."""
  spectrograms = np.asarray(audio.log_spectrogram(clips, window=128))  # [n, frames, bins]
  stretch = max(1, round(spectrograms.shape[2] / spectrograms.shape[1]))
  images = np.repeat(np.swapaxes(spectrograms, 1, 2)[:, ::-1, :, None], stretch, axis=2)
  return pictures.image_grid(np.clip(images, -1.0, 1.0), cols)


class Audio(Task):
  """The audio dataset `config.dataset` (see the module docstring)."""

  def __init__(self, config: ml_collections.ConfigDict, *, sample_rate: int = 16000,
               length: int = 16384):
    if config.eval_features == "inception":
      raise ConfigError("InceptionV3 measures images; audio is measured in the features of "
                        "jaxgan's audio classifier: set eval_features='classifier'.")
    self.config, self.sample_rate, self.length = config, sample_rate, length
    self.clips, labels = load_clips(config.dataset, split="train", sample_rate=sample_rate,
                                    length=length, data_dir=data_dir(config))
    classes = num_classes(config.dataset, sample_rate, data_dir(config)) if (
        config.conditional) else 0
    self.dataset = data.array_dataset(config.dataset, self.clips, config.seed,
                                      labels if classes else None, classes,
                                      transform=lambda x: x)
    self.spec = DataSpec(self.dataset.data_shape, classes)

  def evaluator(self, cache_dir: str) -> evaluation.FeatureEvaluator:
    config = self.config
    clip_format = {"sample_rate": self.sample_rate, "length": self.length}
    extractor = feature_classifier(config.dataset, **clip_format, cache_dir=cache_dir,
                                   data_dir=data_dir(config))
    return evaluation.FeatureEvaluator(
        extractor, self.clips, inception=False,
        extra=lambda real, fake: {"spectrum_db": audio.spectrum_distance(real, fake)},
        description=f"({config.dataset} train split) in the features of jaxgan's audio "
                    f"classifier (test accuracy {extractor.test_accuracy:.3f}); spectrum_db: "
                    f"the RMS difference of the average log-power spectra")

  def decoder(self) -> decoders.Clips:
    return decoders.Clips(self.sample_rate)

  def picture(self, samples: np.ndarray, cols: int | None) -> np.ndarray:
    return spectrogram_grid(samples, cols)

  def write_samples(self, path: str, samples: np.ndarray) -> list[str]:
    """`path.wav`: the clips one after another."""
    audio.write_wav(path + ".wav", samples, self.sample_rate)
    return [path + ".wav"]

  def write_evaluation(self, out_dir: str, gan: Any, g: Any, samples: np.ndarray,
                       labels: np.ndarray | None, seed: int) -> dict[str, Any]:
    """`samples.wav` and `samples.png` (32 clips, or 4 a class when conditional), and the
    first 100 samples alone in `clips/` (`_class<k>` when conditional)."""
    num = 4 * gan.num_classes or 32
    grid = evaluation.grid_samples(gan, g, jax.random.key(seed + 2), num)
    self.write_samples(os.path.join(out_dir, "samples"), grid)
    pictures.save_png(os.path.join(out_dir, "samples.png"),
                      self.picture(grid, evaluation.grid_columns(gan, num)))
    os.makedirs(os.path.join(out_dir, "clips"), exist_ok=True)
    for i, clip in enumerate(samples[:100]):
      label = "" if labels is None else f"_class{labels[i]}"
      audio.write_wav(os.path.join(out_dir, "clips", f"{i:05d}{label}.wav"), clip[None],
                      self.sample_rate)
    return {}


def build(config: ml_collections.ConfigDict) -> Audio:
  """The audio task of a config."""
  return Audio(config, **task_kwargs(config, Audio))
