"""The character-level GAN on English words: each discrete output against two references.

  .venv/bin/python bench/words.py                                  # 3 outputs, seed 0 (~13 min)
  .venv/bin/python bench/words.py --outputs straight_through --seeds 0 1 2 --steps 6000

Trains configs/words_english.py once per generator output and seed, and prints the
evaluation at the last step (5,000 strings against the held-out words) as mean ± std over
the seeds, beside two references measured the same way: 5,000 training words (the floor:
real words, all valid, whose n-grams differ from the held-out words' only by sampling)
and strings of letters drawn independently with the training words' letter frequencies
and lengths (a unigram model: what a GAN that learnt nothing about spelling would get).
"""

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import families  # noqa: E402
from configs import words_english  # noqa: E402
from jaxgan import metrics, text, trainer  # noqa: E402

OUTPUTS = ("straight_through", "gumbel_softmax", "softmax")
COLUMNS = ("valid_words", "novel_words", "unique", "js_1", "js_2", "js_3", "js_4", "length_tv")


def references(num: int, seed: int = 0) -> dict[str, dict[str, float]]:
  """The metrics of `num` training words, and of `num` unigram strings."""
  config = words_english.get_config()
  length = config.task_kwargs.sequence_length
  words = text.load(config.dataset, length)
  rng = np.random.default_rng(seed)
  lengths = rng.choice([len(w) for w in words.train], num)
  letters = np.array(list("".join(words.train)))
  unigram = ["".join(rng.choice(letters, n)) for n in lengths]
  measure = lambda strings: metrics.word_metrics(  # noqa: E731
      strings, set(words.train), set(words.held_out), max_length=length)
  return {"training words (floor)": measure(rng.choice(words.train, num, False).tolist()),
          "unigram letters": measure(unigram)}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--outputs", nargs="+", default=list(OUTPUTS))
  parser.add_argument("--seeds", nargs="+", type=int, default=[0])
  parser.add_argument("--steps", type=int, default=None, help="default: the config's")
  args = parser.parse_args()
  trainer.log_to_console()
  num = words_english.get_config().eval_num_samples
  print(f"English words of 2-8 letters, {num:,} strings at the last step against the "
        f"held-out words; seeds {args.seeds}, mean ± std.\n")
  print("| strings | steps | wall s | " + " | ".join(COLUMNS) + " |")
  print("|---|---|---|" + "---|" * len(COLUMNS))
  for name, results in references(num).items():
    print(f"| {name} | | | " + " | ".join(f"{results[c]:.3f}" for c in COLUMNS) + " |",
          flush=True)
  for output in args.outputs:
    runs = [families.run("words_english.py", seed, args.steps,
                         overrides={"generator.output": output},
                         metrics=tuple(f"eval/{c}" for c in COLUMNS)) for seed in args.seeds]
    print(f"| GAN, {output} | {runs[0]['steps']:,} | "
          f"{families.mean_std([r['seconds'] for r in runs], 0)} | "
          + " | ".join(families.mean_std([r[f"eval/{c}"] for r in runs], 3) for c in COLUMNS)
          + " |", flush=True)


if __name__ == "__main__":
  main()
