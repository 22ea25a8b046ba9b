"""Words: the word lists and their loader, the character model, the word metrics against
independent computations, and training and evaluating end to end."""

import collections
import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.spatial import distance

import jaxgan
from configs import words_english
from jaxgan import evaluate, metrics, models, tasks, text, trainer
from jaxgan.errors import ConfigError
from jaxgan.state import init_state
from jaxgan.step import generate, train_step


def test_english_words_are_split_once_into_disjoint_parts():
  words = text.load(text.ENGLISH_WORDS, 8)
  assert words.vocabulary == " abcdefghijklmnopqrstuvwxyz"
  every = words.train + words.held_out
  assert len(every) > 40_000 and len(set(every)) == len(every)
  assert all(2 <= len(w) <= 8 and w.isalpha() and w.islower() for w in every)
  assert not set(words.train) & set(words.held_out)
  assert 0.08 < len(words.held_out) / len(every) < 0.12
  assert text.load(text.ENGLISH_WORDS, 8) == words  # Deterministic.
  assert {"house", "river"} <= set(every)


def test_encode_decode_round_trip():
  strings = ["ab", "ice tea", "z"]
  vocabulary = " abceitz"
  tokens = text.encode(strings, vocabulary, 8)
  assert tokens.shape == (3, 8) and tokens[0, 2:].sum() == 0
  sequences = text.one_hot(tokens, len(vocabulary))
  assert sequences.shape == (3, 8, 8)
  np.testing.assert_array_equal(sequences.sum(-1), 1.0)
  assert text.decode(sequences, vocabulary) == strings


def _word_file(tmp_path, lines: list[bytes]) -> str:
  path = tmp_path / "words.txt"
  path.write_bytes(b"\n".join(lines))
  return str(path)


def test_a_word_file_of_your_own(tmp_path, make_task):
  names = [f"name{i:03d}".encode() for i in range(200)] + [b"  Ana Lu ", b"", b"toolongname123"]
  words = text.load(_word_file(tmp_path, names), 10)
  every = set(words.train) | set(words.held_out)
  assert "Ana Lu" in every and "toolongname123" not in every and "" not in every
  assert words.vocabulary == " " + "".join(sorted(set("".join(every)) - {" "}))
  task = make_task(task="words", dataset=_word_file(tmp_path, names),
                   task_kwargs={"sequence_length": 10})
  dataset = task.dataset
  batch = dataset.batch(3, 16)
  assert batch.shape == (16, 10, len(words.vocabulary))
  np.testing.assert_array_equal(batch.sum(-1), 1.0)
  np.testing.assert_array_equal(batch, dataset.batch(3, 16))
  assert set(task.decode(batch)) <= set(words.train)


def test_bad_word_files_say_which_file_and_line(tmp_path, make_task):
  bad = _word_file(tmp_path, [b"fine", b"also fine", b"caf\xe9"])
  with pytest.raises(ConfigError, match=r"words\.txt, line 3: not UTF-8"):
    text.load(bad, 8)
  with pytest.raises(ConfigError, match="is not a file"):
    text.load(str(tmp_path / "missing.txt"), 8)
  with pytest.raises(ConfigError, match="needs some of each"):
    text.load(_word_file(tmp_path, [b"one", b"two"]), 8)
  with pytest.raises(ConfigError, match="no class labels"):
    make_task(task="words", dataset=text.ENGLISH_WORDS, conditional=True)


def test_ngram_counts_and_js_divergence_match_independent_computations():
  strings = ["banana", "bandana", "an"]
  assert metrics.ngram_counts(strings, 2) == collections.Counter(
      "".join(pair) for s in strings for pair in zip(s, s[1:]))
  p = collections.Counter({"a": 5, "b": 1, "c": 2})
  q = collections.Counter({"a": 1, "b": 4, "d": 3})
  keys = ["a", "b", "c", "d"]
  expected = distance.jensenshannon([p[k] for k in keys], [q[k] for k in keys], base=2) ** 2
  assert metrics.js_divergence(p, q) == pytest.approx(expected, rel=1e-9)
  assert metrics.js_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
  assert metrics.js_divergence(collections.Counter({"x": 1}), collections.Counter({"y": 1})) \
      == pytest.approx(1.0)


def test_word_metrics():
  train, held_out = {"cat", "dog", "bird"}, {"cow", "owl"}
  generated = ["cat", "cat", "cow", "xqz", "owls", "dog"]
  results = metrics.word_metrics(generated, train, held_out, max_length=4, max_n=2)
  assert results["valid_words"] == pytest.approx(4 / 6)
  assert results["novel_words"] == pytest.approx(1 / 6)
  assert results["unique"] == pytest.approx(5 / 6)
  # Lengths: generated five of 3, one of 4; held out two of 3.
  assert results["length_tv"] == pytest.approx(1 / 6)
  characters = sorted(set("".join(generated + sorted(held_out))))
  expected_js1 = distance.jensenshannon(
      *[[collections.Counter("".join(words))[c] for c in characters]
        for words in (generated, sorted(held_out))], base=2) ** 2
  assert results["js_1"] == pytest.approx(expected_js1, rel=1e-9)
  np.testing.assert_allclose(metrics.length_histogram(generated, 4), [0, 0, 0, 5 / 6, 1 / 6])


@pytest.mark.parametrize("output", ["straight_through", "gumbel_softmax", "softmax"])
def test_char_model_shapes(output):
  pair = models.get("char_resnet")
  g = pair.generator(data_shape=(8, 27), features=16, num_blocks=1, output=output)
  d = pair.discriminator(features=16, num_blocks=1)
  latents = jax.random.normal(jax.random.key(0), (5, 12))
  rngs = {"params": jax.random.key(1), "noise": jax.random.key(2)}
  g_vars = g.init(rngs, latents)
  sequences = g.apply(g_vars, latents, rngs={"noise": jax.random.key(3)})
  assert sequences.shape == (5, 8, 27)
  np.testing.assert_allclose(sequences.sum(-1), 1.0, rtol=1e-5)
  assert (output == "softmax") != bool(set(np.unique(sequences)) <= {0.0, 1.0})
  assert d.apply(d.init(jax.random.key(4), sequences), sequences).shape == (5,)


def test_char_model_errors():
  with pytest.raises(ConfigError, match="Known: straight_through, gumbel_softmax"):
    models.get("char_resnet").generator(data_shape=(8, 27), output="argmax").init(
        jax.random.key(0), jnp.zeros((1, 4)))
  with pytest.raises(ConfigError, match="makes sequences"):
    models.get("char_resnet").check_data_shape((16, 16, 1), {})


def _tiny_words_config(tmp_path, **generator):
  config = words_english.get_config()
  config.generator.update(features=16, num_blocks=1, **generator)
  config.discriminator.update(features=16, num_blocks=1)
  config.latent_dim, config.n_critic, config.batch_size = 8, 2, 8
  config.num_train_steps = 4
  config.log_every_steps = config.sample_every_steps = config.checkpoint_every_steps = 2
  config.eval_every_steps, config.eval_num_samples = 4, 200
  config.num_samples = 8
  config.num_devices = 1
  config.eval_cache_dir = str(tmp_path / "cache")
  return config


@pytest.mark.slow
def test_words_train_evaluate_and_write_text(tmp_path):
  config = _tiny_words_config(tmp_path)
  trainer.train_and_evaluate(config, str(tmp_path))
  lines = (tmp_path / "samples" / "step_0000004.txt").read_text().splitlines()
  assert len(lines) == 8 and all(len(line) <= 8 for line in lines)
  rows = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  last = [row for row in rows if "eval/js_4" in row][-1]
  assert last["step"] == 4 and 0 <= last["eval/valid_words"] <= 1 and last["eval/js_1"] > 0
  results = evaluate.evaluate_workdir(str(tmp_path), num_samples=300)
  out = tmp_path / "eval" / "step_0000004"
  assert len((out / "samples.txt").read_text().splitlines()) == 300
  written = json.loads((out / "metrics.json").read_text())
  histogram = written["length_histogram"]
  assert len(histogram["generated"]) == 9 and sum(histogram["held_out"]) == pytest.approx(1)
  assert written["eval/unique"] == results["eval/unique"]
  strings = jaxgan.load(str(tmp_path)).sample(20, seed=1)  # Without the task.
  assert strings.shape == (20,) and all(isinstance(s, str) and len(s) <= 8 for s in strings)


def test_gumbel_generator_draws_its_own_noise_in_training_and_sampling(tmp_path):
  config = _tiny_words_config(tmp_path, output="gumbel_softmax", temperature=0.5)
  task = tasks.from_config(config)
  dataset = task.dataset
  gan = trainer.build_gan(config, task.spec)
  state = init_state(gan, jax.random.key(0), dataset.data_shape)
  latents = jnp.zeros((64, config.latent_dim))  # One latent: only G's noise varies.
  first = generate(gan, state.g, latents, noise_rng=jax.random.key(1))
  assert len(set(task.decode(np.asarray(first)))) > 1
  np.testing.assert_array_equal(first, generate(gan, state.g, latents, noise_rng=jax.random.key(1)))
  assert not np.array_equal(first, generate(gan, state.g, latents, noise_rng=jax.random.key(2)))
  batch = dataset.batch(0, config.n_critic * config.batch_size)
  new_state, step_metrics = jax.jit(functools.partial(train_step, gan))(
      state, batch, jax.random.key(5))
  assert all(np.isfinite(float(v)) for v in step_metrics.values())
  moved = jax.tree.map(lambda a, b: bool(np.any(a != b)), new_state.g.params, state.g.params)
  assert all(jax.tree.leaves(moved))  # G's gradient came back through the hard samples.
