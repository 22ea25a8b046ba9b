"""Words as fixed-length one-hot sequences, for the character-level GAN.

The bundled set, `english_words`, is the GNU Collaborative International Dictionary of
English word list that the `english-words` package ships (offline): lower-case words
of letters only. Any other word list is a UTF-8 text file, one word or short phrase per
line, named as the dataset (`--config.dataset=names.txt`). Strings are right-padded
with spaces to `sequence_length`; longer ones are left out. The vocabulary is the pad
(index 0) and the characters of the list. A fixed tenth of the strings (by a hash of
each, the same for every seed) is held out for evaluation.
"""

import logging
import os
import re
import zlib
from typing import NamedTuple

import numpy as np

from jaxgan.errors import ConfigError, DataError

log = logging.getLogger(__name__)

ENGLISH_WORDS = "english_words"
PAD = " "
HELD_OUT_PERCENT = 10


class Words(NamedTuple):
  """A word list split into `train` and `held_out` strings, and its `vocabulary` (the pad
  first, then the characters in order)."""
  train: list[str]
  held_out: list[str]
  vocabulary: str


def _english_words(max_length: int) -> tuple[str, ...]:
  from english_words import get_english_words_set  # pylint: disable=import-outside-toplevel
  words = get_english_words_set(["gcide"], lower=True, alpha=True)
  return tuple(sorted(w for w in words
                      if re.fullmatch(r"[a-z]+", w) and 2 <= len(w) <= max_length))


def _read_word_file(path: str, max_length: int) -> list[str]:
  """The distinct non-empty lines of a UTF-8 file (stripped), those of at most `max_length`
  characters; ConfigError naming the file and line for bytes that are not UTF-8."""
  if not os.path.isfile(path):
    raise ConfigError(f"Word list {path!r} is not a file. Give a UTF-8 text file with one "
                      f"word or phrase per line, or dataset={ENGLISH_WORDS!r}.")
  lines = []
  with open(path, "rb") as f:
    for number, raw in enumerate(f, start=1):
      try:
        lines.append(raw.decode("utf-8").strip())
      except UnicodeDecodeError as e:
        raise DataError(f"{path}, line {number}: not UTF-8 ({e.reason} at byte {e.start}). "
                          f"Save the word list as UTF-8.") from None
  strings = sorted({line for line in lines if line})
  kept = [s for s in strings if len(s) <= max_length]
  if len(kept) < len(strings):
    log.info("%s: left out %d of %d strings longer than sequence_length=%d.", path,
             len(strings) - len(kept), len(strings), max_length)
  return kept


def _held_out(word: str) -> bool:
  return zlib.crc32(word.encode("utf-8")) % 100 < HELD_OUT_PERCENT


def load(name: str, max_length: int) -> Words:
  """The word list `name` (`english_words`, or a path to a `.txt` file), strings of at most
  `max_length` characters, split into train and held-out parts."""
  strings = _english_words(max_length) if name == ENGLISH_WORDS else _read_word_file(
      name, max_length)
  train = [s for s in strings if not _held_out(s)]
  held_out = [s for s in strings if _held_out(s)]
  if not train or not held_out:
    raise ConfigError(f"{name}: {len(strings)} strings of at most {max_length} characters "
                      f"leave {len(train)} to train on and {len(held_out)} held out; a word "
                      f"list needs some of each (tens of strings at least).")
  vocabulary = PAD + "".join(sorted(set("".join(strings)) - {PAD}))
  return Words(train, held_out, vocabulary)


def encode(strings: list[str], vocabulary: str, length: int) -> np.ndarray:
  """Character indices `[n, length]` (int32) of `strings`, right-padded with the pad (0)."""
  index = {c: i for i, c in enumerate(vocabulary)}
  tokens = np.zeros((len(strings), length), np.int32)
  for row, string in enumerate(strings):
    tokens[row, :len(string)] = [index[c] for c in string]
  return tokens


def one_hot(tokens: np.ndarray, vocabulary_size: int) -> np.ndarray:
  """Character indices `[n, length]` as float32 one-hot `[n, length, vocabulary_size]`."""
  return np.eye(vocabulary_size, dtype=np.float32)[tokens]


def decode(sequences: np.ndarray, vocabulary: str) -> list[str]:
  """Sequences `[n, length, vocabulary_size]` (one-hot or scores: the largest counts) as
  strings, trailing pads removed."""
  tokens = np.argmax(sequences, axis=-1)
  return ["".join(vocabulary[t] for t in row).rstrip(PAD) for row in tokens]
