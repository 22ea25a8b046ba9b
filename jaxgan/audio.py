"""Audio clips as tfds datasets: spoken digits synthesised offline, and folders of WAV files.

`spoken_digits` is an SC09-like set made offline with eSpeak NG (the library and voices
that the `espeakng-loader` package ships, driven through ctypes): "zero" to "nine" said by
384 speakers (8 English accents x 12 voices, each at 4 random pitches and speeds), 16 kHz,
silence trimmed, peak-normalised. Speakers are held out: the test split's never say a
word in the training split.

A folder of WAV files (any format libsndfile reads) is stored as a tfds dataset once per
sample rate: each file mono (its channels averaged), resampled to the rate, with its label
the name of the subfolder it is in (if the files are in subfolders); 20% of the files are
held out. A changed folder is stored again.

Both read without TensorFlow (array_record files, int16 clips). `load_clips` resamples
them to a config's rate and cuts or pads them at the end to the model's length.
"""

import ctypes
import dataclasses
import functools
import hashlib
import math
import os
from typing import Iterator

import jax
import jax.numpy as jnp
import numpy as np
import scipy.signal
import soundfile
import tensorflow_datasets as tfds

from jaxgan.errors import ConfigError, DataError

SPOKEN_DIGITS = "spoken_digits"
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = ("en", "en-us", "en-us-nyc", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd", "en-029")
VOICES = tuple(f"+m{i}" for i in range(1, 8)) + tuple(f"+f{i}" for i in range(1, 6))
DRAWS_PER_VOICE = 4  # Each accent and voice at this many random pitches and speeds.
PITCHES, SPEEDS = (25, 75), (140, 260)  # eSpeak's pitch (0-100) and words per minute.
STORED_RATE = 16_000  # Hz: the spoken digits are stored at SC09's rate.
TEST_FRACTION = 0.2
PEAK = 0.9  # Spoken digits are scaled to this peak amplitude.


def to_int16(clip: np.ndarray) -> np.ndarray:
  """float samples in [-1, 1] -> int16 PCM (clipped)."""
  return np.clip(np.round(clip * 32767.0), -32768, 32767).astype(np.int16)


def resample(clip: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
  """`clip [n]` at `rate` Hz -> at `new_rate` Hz (polyphase filtering, scipy)."""
  if rate == new_rate:
    return clip
  common = math.gcd(rate, new_rate)
  return scipy.signal.resample_poly(clip.astype(np.float32), new_rate // common, rate // common)


def fit_length(clips: list[np.ndarray], length: int) -> np.ndarray:
  """Clips of any length -> `[n, length]`: longer ones cut, shorter ones padded with
  silence, both at the end."""
  out = np.zeros((len(clips), length), clips[0].dtype if clips else np.int16)
  for row, clip in zip(out, clips):
    row[:min(len(clip), length)] = clip[:length]
  return out


# ---------------------------------------------------------------- spoken digits (eSpeak NG)

class _Speaker:
  """eSpeak NG in this process, synthesising into memory (one instance: the library keeps
  global state)."""

  def __init__(self):
    try:
      import espeakng_loader  # pylint: disable=g-import-not-at-top
    except ImportError:
      raise ConfigError("The spoken digits are synthesised with eSpeak NG, which the package "
                        "espeakng-loader ships: run `.venv/bin/pip install espeakng-loader`."
                        ) from None
    self.lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
    synchronous = 2  # AUDIO_OUTPUT_SYNCHRONOUS: samples come to the callback.
    self.rate = self.lib.espeak_Initialize(synchronous, 0,
                                           espeakng_loader.get_data_path().encode(), 0)
    if self.rate <= 0:
      raise ConfigError(f"eSpeak NG did not start (espeak_Initialize returned {self.rate}).")
    self.chunks: list[np.ndarray] = []
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                     ctypes.c_void_p)
    self.callback = callback_type(self._collect)  # Kept: the library calls it later.
    self.lib.espeak_SetSynthCallback(self.callback)

  def _collect(self, samples, num, events) -> int:
    del events
    if num > 0:
      self.chunks.append(np.ctypeslib.as_array(samples, (num,)).copy())
    return 0  # Go on.

  def say(self, text: str, voice: str, pitch: int, speed: int) -> np.ndarray:
    """`text` spoken by `voice` (e.g. "en-us+f2") at `pitch` and `speed`: int16 `[n]`."""
    if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
      raise ConfigError(f"eSpeak NG has no voice {voice!r}.")
    rate_parameter, pitch_parameter = 1, 3  # espeakRATE, espeakPITCH
    self.lib.espeak_SetParameter(rate_parameter, speed, 0)
    self.lib.espeak_SetParameter(pitch_parameter, pitch, 0)
    self.chunks = []
    encoded = text.encode()
    self.lib.espeak_Synth(encoded, len(encoded) + 1, 0, 0, 0, 0, None, None)
    self.lib.espeak_Synchronize()
    return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int16)


@functools.cache
def _speaker() -> _Speaker:
  return _Speaker()


def speakers(seed: int = 0) -> list[tuple[str, int, int]]:
  """Every `(voice, pitch, speed)` of the spoken digits, drawn once from `seed`."""
  rng = np.random.default_rng(seed)
  return [(accent + voice, int(rng.integers(*PITCHES)), int(rng.integers(*SPEEDS)))
          for accent in ACCENTS for voice in VOICES for _ in range(DRAWS_PER_VOICE)]


def spoken_word(word: str, voice: str, pitch: int, speed: int) -> np.ndarray:
  """`word` said by that speaker: float32 `[n]` at `STORED_RATE`, silence trimmed from both
  ends, peak `PEAK`."""
  speaker = _speaker()
  clip = resample(speaker.say(word, voice, pitch, speed).astype(np.float32), speaker.rate,
                  STORED_RATE)
  loud = np.flatnonzero(np.abs(clip) > 0.02 * np.abs(clip).max())
  clip = clip[loud[0]:loud[-1] + 1]
  return PEAK * clip / np.abs(clip).max()


class SpokenDigits(tfds.core.GeneratorBasedBuilder):
  """`audio`: int16 `[n]` at 16 kHz; `label`: the digit said; `speaker`: its index."""

  prepared_offline = True  # Made from what is on disk (jaxgan.data).
  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "audio": tfds.features.Tensor(shape=(None,), dtype=np.int16),
            "label": tfds.features.ClassLabel(names=WORDS),
            "speaker": np.int32,
        }),
        supervised_keys=("audio", "label"),
        homepage="https://github.com/espeak-ng/espeak-ng",
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # Synthesised here.
    voices = speakers()
    order = np.random.default_rng(0).permutation(len(voices))
    num_test = int(TEST_FRACTION * len(voices))
    return {"train": self._generate_examples(voices, order[num_test:]),
            "test": self._generate_examples(voices, order[:num_test])}

  def _generate_examples(self, voices, indices):
    for i in indices:
      for label, word in enumerate(WORDS):
        clip = to_int16(spoken_word(word, *voices[i]))
        yield int(i) * len(WORDS) + label, {"audio": clip, "label": label, "speaker": int(i)}


# ---------------------------------------------------------------- a folder of WAV files

@dataclasses.dataclass
class FolderConfig(tfds.core.BuilderConfig):
  """A folder of audio files at one sample rate: its absolute path, the rate, and the
  class names (subfolders), if any."""
  folder: str = ""
  sample_rate: int = STORED_RATE
  classes: tuple[str, ...] = ()


AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".aiff", ".aif")


def audio_files(folder: str) -> tuple[list[str], tuple[str, ...]]:
  """The audio files under `folder` (sorted relative paths) and the class names: the
  subfolders that hold them, or none if all are at the top. ConfigError if there are
  none, or if some are at the top and some in subfolders."""
  files = sorted(os.path.relpath(os.path.join(root, name), folder)
                 for root, _, names in os.walk(folder) for name in names
                 if name.lower().endswith(AUDIO_EXTENSIONS))
  if not files:
    raise ConfigError(f"{folder} has no audio files ({', '.join(AUDIO_EXTENSIONS)}), at the "
                      f"top or in subfolders.")
  top = [f for f in files if os.sep not in f]
  if top and len(top) < len(files):
    raise ConfigError(
        f"{folder} has audio files both at the top ({top[0]}, ...) and in subfolders, whose "
        f"names are the labels; put every file in a subfolder, or none.")
  classes = () if top else tuple(sorted({f.split(os.sep)[0] for f in files}))
  return files, classes


def read_clip(path: str, sample_rate: int) -> np.ndarray:
  """The audio file at `path` as mono float32 `[n]` at `sample_rate` Hz; ConfigError naming
  the file if it cannot be read."""
  try:
    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
  except (soundfile.LibsndfileError, RuntimeError, ValueError) as e:
    reason = str(e).rstrip(". ")
    raise DataError(f"Cannot read the audio file {path}: {reason}. Replace or remove it.") from None
  if not len(samples):
    raise DataError(f"The audio file {path} has no samples. Replace or remove it.")
  return resample(samples.mean(axis=1), rate, sample_rate)


class WavFolder(tfds.core.GeneratorBasedBuilder):
  """A folder of audio files (`FolderConfig`): `audio` int16 `[n]` at the config's rate,
  `label` the subfolder (if any)."""

  prepared_offline = True  # Made from what is on disk (jaxgan.data).
  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}

  def _info(self) -> tfds.core.DatasetInfo:
    features = {"audio": tfds.features.Tensor(shape=(None,), dtype=np.int16)}
    if self.builder_config.classes:
      features["label"] = tfds.features.ClassLabel(names=self.builder_config.classes)
    return self.dataset_info_from_configs(features=tfds.features.FeaturesDict(features),
                                          description=f"The audio files in "
                                                      f"{self.builder_config.folder}.")

  def _split_generators(self, dl_manager):
    del dl_manager
    config = self.builder_config
    files, classes = audio_files(config.folder)
    # Every file is read (and checked) before anything is written.
    examples = []
    for name in files:
      example = {"audio": to_int16(read_clip(os.path.join(config.folder, name),
                                             config.sample_rate))}
      if classes:
        example["label"] = classes.index(name.split(os.sep)[0])
      examples.append((name, example))
    order = np.random.default_rng(0).permutation(len(examples))
    num_test = int(TEST_FRACTION * len(examples))
    return {"train": self._generate_examples([examples[i] for i in order[num_test:]]),
            "test": self._generate_examples([examples[i] for i in order[:num_test]])}

  def _generate_examples(self, examples) -> Iterator[tuple[str, dict]]:
    yield from examples


def folder_builder(folder: str, sample_rate: int, data_dir: str | None) -> WavFolder:
  """The tfds builder of `folder` at `sample_rate`: named after the folder and a hash of its
  files' names, sizes and times, so a changed folder is stored again."""
  folder = os.path.abspath(folder)
  files, classes = audio_files(folder)
  digest = hashlib.sha256()
  for name in files:
    stat = os.stat(os.path.join(folder, name))
    digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
  slug = "".join(c if c.isalnum() else "_" for c in os.path.basename(folder)).lower() or "root"
  config = FolderConfig(name=f"{slug}_{digest.hexdigest()[:10]}_{sample_rate}hz", folder=folder,
                        sample_rate=sample_rate, classes=classes)
  return WavFolder(config=config, data_dir=data_dir, file_format="array_record")


def log_spectrogram(clips: jax.Array, window: int = 256) -> jax.Array:
  """Clips `[n, length, 1]` in [-1, 1] -> log-power spectrograms `[n, frames, window / 2 + 1]`
  (Hann windows of `window` samples, half overlapping), scaled to about [-1, 1] (-100 to 0
  dB of a full-scale sine)."""
  _, _, stft = jax.scipy.signal.stft(clips[..., 0], nperseg=window, noverlap=window // 2)
  power = jnp.real(stft * jnp.conj(stft))
  return jnp.swapaxes((jnp.log10(power + 1e-10) + 5.0) / 5.0, -1, -2)


def write_wav(path: str, clips: np.ndarray, sample_rate: int, gap_s: float = 0.25) -> None:
  """Clips `[n, length, 1]` in [-1, 1] as one 16-bit WAV file, one after another with
  `gap_s` seconds of silence between them."""
  gap = np.zeros((int(gap_s * sample_rate), 1), np.float32)
  joined = np.concatenate([part for clip in clips for part in (clip, gap)][:-1])
  soundfile.write(path, np.clip(joined, -1.0, 1.0), sample_rate, subtype="PCM_16")


def mean_log_spectrum(clips: np.ndarray, window: int = 256) -> np.ndarray:
  """The average power spectrum of clips `[n, length(, 1)]` in dB, `[window / 2 + 1]` bins
  (Welch's method: Hann windows of `window` samples, half overlapping)."""
  _, power = scipy.signal.welch(clips.reshape(len(clips), -1), nperseg=window, axis=-1)
  return 10.0 * np.log10(power.mean(axis=0) + 1e-12)


def spectrum_distance(real: np.ndarray, fake: np.ndarray, window: int = 256) -> float:
  """How far the average log-power spectra of two sets of clips are apart: the root mean
  square, over frequency bins, of their difference in dB (0 for the same spectrum; 6.02
  for clips twice as loud at every frequency)."""
  difference = mean_log_spectrum(real, window) - mean_log_spectrum(fake, window)
  return float(np.sqrt(np.mean(difference ** 2)))
