"""Audio: the spoken digits and WAV folders as tfds datasets and their errors, WaveGAN's
shapes and phase shuffle, the 1-D convolutions against Flax's, the audio metrics against
independent computations, and a conditional run on a folder end to end."""

import json
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import soundfile

import jaxgan
from configs import wavegan_digits
from jaxgan import audio, data, layers
from jaxgan.errors import ConfigError, DataError
from jaxgan.evaluate import evaluate_workdir
from jaxgan.models import wavegan
from jaxgan.tasks import audio as audio_task
from jaxgan.trainer import train_and_evaluate

RATE = 4000  # Hz: the test folder's clips, 4,096 samples (about a second) each.


def _tone(frequency: float, rate: int, seconds: float, rng: np.random.Generator) -> np.ndarray:
  """A decaying sine with a random phase and a little noise."""
  t = np.arange(int(rate * seconds)) / rate
  return (0.6 * np.sin(2 * np.pi * frequency * t + rng.uniform(0, 6.3)) * np.exp(-2 * t)
          + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def tone_folder(tmp_path_factory) -> str:
  """`low/` and `high/`: 20 tones each (300 and 1,200 Hz), as 16-bit WAVs at 8 kHz, some
  stereo, some at 11,025 Hz."""
  folder = tmp_path_factory.mktemp("tones")
  rng = np.random.default_rng(0)
  for name, frequency in (("low", 300.0), ("high", 1200.0)):
    os.makedirs(folder / name)
    for i in range(20):
      rate = 11025 if i % 4 == 0 else 8000
      clip = _tone(frequency * rng.uniform(0.95, 1.05), rate, rng.uniform(0.5, 1.2), rng)
      if i % 3 == 0:
        clip = np.stack([clip, clip], axis=1)
      soundfile.write(str(folder / name / f"{i:02d}.wav"), clip, rate, subtype="PCM_16")
  return str(folder)


def _dominant_frequency(clip: np.ndarray, rate: int) -> float:
  spectrum = np.abs(np.fft.rfft(clip.reshape(-1)))
  return float(np.fft.rfftfreq(clip.size, 1 / rate)[np.argmax(spectrum)])


def test_a_wav_folder_is_stored_as_tfds_with_labels_rate_and_length(tone_folder, tmp_path):
  clips, labels = audio_task.load_clips(tone_folder, split="train", sample_rate=RATE, length=4096,
                                  data_dir=str(tmp_path))
  test_clips, test_labels = audio_task.load_clips(tone_folder, split="test", sample_rate=RATE,
                                            length=4096, data_dir=str(tmp_path))
  assert clips.shape == (32, 4096, 1) and test_clips.shape == (8, 4096, 1)
  assert clips.dtype == np.float32 and np.abs(clips).max() <= 1.0
  # Labels are the subfolders (sorted: high 0, low 1), and each clip still has its tone
  # after mono mixing and resampling from 8,000 or 11,025 Hz.
  assert audio_task.num_classes(tone_folder, RATE) == 2
  for clip, label in zip(np.concatenate([clips, test_clips]), np.concatenate([labels,
                                                                              test_labels])):
    assert _dominant_frequency(clip, RATE) == pytest.approx((1200, 300)[label], rel=0.08)
  # Cut or padded at the end: clips shorter than 4,096 samples end in silence, others don't.
  silent_ends = np.all(clips[:, -400:, 0] == 0, axis=1)
  assert 0 < silent_ends.sum() < len(clips)
  assert audio.folder_builder(tone_folder, RATE, str(tmp_path)).is_prepared()
  # A changed folder is a new dataset, stored again.
  soundfile.write(os.path.join(tone_folder, "low", "new.wav"),
                  _tone(300, 8000, 0.5, np.random.default_rng(1)), 8000)
  try:
    assert not audio.folder_builder(tone_folder, RATE, str(tmp_path)).is_prepared()
    more = audio_task.load_clips(tone_folder, split="train", sample_rate=RATE, length=4096,
                           data_dir=str(tmp_path))[0]
    assert len(more) == 33  # 41 files, a fifth of them (8) held out.
  finally:
    os.remove(os.path.join(tone_folder, "low", "new.wav"))


def test_fit_length_cuts_and_pads_at_the_end():
  clips = audio.fit_length([np.arange(1, 6), np.arange(1, 3)], 4)
  np.testing.assert_array_equal(clips, [[1, 2, 3, 4], [1, 2, 0, 0]])


def test_resampling_keeps_a_tone_and_the_length_in_seconds():
  tone = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)
  resampled = audio.resample(tone, 22050, 8000)
  assert len(resampled) == 8000
  assert _dominant_frequency(resampled, 8000) == pytest.approx(440, abs=2)


def test_bad_folders_and_files_name_the_problem(tmp_path):
  with pytest.raises(ConfigError, match="no audio files"):
    audio.audio_files(str(tmp_path))
  os.makedirs(tmp_path / "yes")
  soundfile.write(str(tmp_path / "yes" / "a.wav"), np.zeros(100, np.float32), 8000)
  soundfile.write(str(tmp_path / "loose.wav"), np.zeros(100, np.float32), 8000)
  with pytest.raises(ConfigError, match="both at the top .*loose.wav"):
    audio.audio_files(str(tmp_path))
  os.remove(tmp_path / "loose.wav")
  corrupt = tmp_path / "yes" / "broken.wav"
  corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
  with pytest.raises(DataError, match=f"Cannot read the audio file {corrupt}.*Replace or") as e:
    audio_task.load_clips(str(tmp_path), split="train", sample_rate=8000, length=4096,
                          data_dir=str(tmp_path / "tfds"))
  assert ".." not in str(e.value)
  assert not os.path.exists(tmp_path / "tfds" / "wav_folder")  # Nothing half-written is kept.
  unlabelled = tmp_path / "flat"
  os.makedirs(unlabelled)
  soundfile.write(str(unlabelled / "a.wav"), np.zeros(100, np.float32), 8000)
  with pytest.raises(ConfigError, match="not in subfolders.*conditional=False"):
    audio_task.num_classes(str(unlabelled), 8000)


def test_spoken_digits_are_synthesised_offline_with_many_speakers():
  voices = audio.speakers()
  assert len(voices) == len(set(voices)) == 384
  clips = [audio.spoken_word("seven", *voice) for voice in voices[:3]]
  for clip in clips:  # Trimmed, peak-normalised, a word long.
    assert 0.2 < len(clip) / audio.STORED_RATE < 0.8
    assert np.abs(clip).max() == pytest.approx(audio.PEAK)
  assert len({len(clip) for clip in clips}) == 3  # Each speaker says it differently.


@pytest.mark.slow
def test_spoken_digits_hold_out_speakers_and_a_classifier_recognises_them(data_dir):
  builder = data.builder(audio.SPOKEN_DIGITS, data_dir, known=audio.SPOKEN_DIGITS)
  splits = {split: data.examples(lambda: builder, split=split, download=False)
            for split in ("train", "test")}
  speakers = {split: {int(e["speaker"]) for e in examples} for split, examples in splits.items()}
  assert not speakers["train"] & speakers["test"]
  assert len(splits["test"]) == 10 * len(speakers["test"])  # Every digit, every speaker.
  trained = audio_task.train_classifier(audio.SPOKEN_DIGITS, 8000, 4096, data_dir=data_dir,
                                        epochs=3)
  assert trained.test_accuracy > 0.9  # Speakers it never heard.


@pytest.mark.parametrize("length", [4096, 8192, 16384])
def test_wavegan_makes_each_length_and_judges_it(length):
  g = wavegan.WaveGANGenerator(data_shape=(length, 1), dim=2)
  latents = jnp.zeros((3, 100))
  g_vars = jax.eval_shape(g.init, jax.random.key(0), latents)
  assert jax.eval_shape(g.apply, g_vars, latents).shape == (3, length, 1)
  d = wavegan.WaveGANDiscriminator(dim=2)
  clips = jnp.zeros((3, length, 1))
  d_vars = jax.eval_shape(d.init, jax.random.key(0), clips)
  assert jax.eval_shape(d.apply, d_vars, clips).shape == (3,)
  layers_used = wavegan.NUM_LAYERS[length]
  assert len(d_vars["params"]) == layers_used + 1  # Convolutions and the dense logit.
  assert g_vars["params"]["Dense_0"]["kernel"].shape[1] == (
      length // 4 ** layers_used * 2 * 2 ** (layers_used - 1))


def test_wavegan_rejects_other_lengths():
  with pytest.raises(ConfigError, match="4096, 8192, 16384.*task_kwargs.length"):
    wavegan.check_data_shape((2048, 1), {})


def test_phase_shuffle_shifts_each_clip_by_its_own_amount_with_reflection():
  x = jnp.arange(2 * 10 * 3, dtype=jnp.float32).reshape(2, 10, 3) ** 1.5
  rng = jax.random.key(3)
  for clip, out in zip(np.asarray(x), np.asarray(wavegan.phase_shuffle(x, rng, 2))):
    padded = np.pad(clip, ((2, 2), (0, 0)), mode="reflect")  # out[t] = clip[t - shift]
    matches = [shift for shift in range(-2, 3)
               if np.allclose(out, padded[2 - shift:12 - shift])]
    assert len(matches) == 1
  many = wavegan.phase_shuffle(jnp.tile(x[:1], (64, 1, 1)), rng, 2)
  assert len({tuple(np.asarray(clip[:, 0])) for clip in many}) == 5  # Every shift, -2..2.
  np.testing.assert_array_equal(wavegan.phase_shuffle(x, rng, 0), x)


def test_the_discriminator_shuffles_phase_only_in_training_with_a_key():
  d = wavegan.WaveGANDiscriminator(dim=2)
  clips = jax.random.normal(jax.random.key(0), (4, 4096, 1))
  variables = d.init(jax.random.key(1), clips)
  plain = d.apply(variables, clips)
  np.testing.assert_array_equal(plain, d.apply(variables, clips, train=False,
                                               rngs={"noise": jax.random.key(2)}))
  shuffled = [d.apply(variables, clips, rngs={"noise": jax.random.key(k)}) for k in (2, 3)]
  assert not np.allclose(shuffled[0], shuffled[1]) and not np.allclose(shuffled[0], plain)


@pytest.mark.parametrize("kernel_size, stride, length", [(25, 4, 64), (5, 2, 12), (3, 4, 8)])
def test_strided_1d_convolutions_equal_flax_in_values_and_gradients(kernel_size, stride, length):
  x = jax.random.normal(jax.random.key(0), (2, length, 3))
  for transposed, flax_layer in ((False, nn.Conv), (True, nn.ConvTranspose)):
    if not transposed and length % stride:
      continue
    reference = flax_layer(5, (kernel_size,), strides=(stride,), padding="SAME")
    ours = layers.StridedConv1D(5, kernel_size, stride, transposed=transposed)
    params = reference.init(jax.random.key(1), x)
    assert jax.tree.map(jnp.shape, params) == jax.tree.map(
        jnp.shape, ours.init(jax.random.key(1), x))

    def loss(params, x, layer):
      return jnp.sum(jnp.sin(layer.apply(params, x)))

    np.testing.assert_allclose(ours.apply(params, x), reference.apply(params, x), atol=1e-5)
    for ours_grad, reference_grad in zip(jax.grad(loss, (0, 1))(params, x, ours),
                                         jax.grad(loss, (0, 1))(params, x, reference)):
      jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-4), ours_grad,
                   reference_grad)


def test_spectrum_distance_is_zero_for_the_same_clips_and_6_db_for_twice_as_loud():
  rng = np.random.default_rng(0)
  noise = rng.standard_normal((50, 4096, 1)).astype(np.float32) * 0.1
  assert audio.spectrum_distance(noise, noise) == 0.0
  assert audio.spectrum_distance(noise, 2 * noise) == pytest.approx(20 * np.log10(2))
  tones = np.stack([_tone(1000, 8000, 0.512, rng) for _ in range(10)])
  spectrum = audio.mean_log_spectrum(tones)  # 129 bins of 31.25 Hz at 8 kHz.
  assert np.argmax(spectrum) == 32
  assert audio.spectrum_distance(tones, noise) > 10


@pytest.mark.slow
def test_a_conditional_wavegan_trains_and_evaluates_end_to_end(tone_folder, data_dir,
                                                              cache_dir, tmp_path):
  config = wavegan_digits.get_config()
  config.dataset, config.conditional = tone_folder, True
  config.task_kwargs.sample_rate = RATE
  config.data_dir, config.eval_cache_dir = data_dir, cache_dir
  config.latent_dim, config.generator.dim, config.discriminator.dim = 8, 2, 2
  config.batch_size, config.num_devices, config.n_critic = 8, 1, 1
  config.num_train_steps = config.eval_every_steps = 2
  config.num_samples, config.eval_num_samples = 4, 40
  workdir = str(tmp_path / "run")
  train_and_evaluate(config, workdir)
  written, rate = soundfile.read(os.path.join(workdir, "samples", "step_0000002.wav"))
  gap = int(0.25 * RATE)
  assert rate == RATE and len(written) == 4 * 4096 + 3 * gap  # 2 classes x 2, with gaps.
  logged = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
  evaluated = [row for row in logged if "eval/fd_classifier" in row][-1]
  assert {"eval/spectrum_db", "eval/class_accuracy", "eval/classes_covered"} <= set(evaluated)
  results = evaluate_workdir(workdir, num_samples=40)
  out = os.path.join(workdir, "eval", "step_0000002")
  assert len(os.listdir(os.path.join(out, "clips"))) == 40
  assert sorted(os.listdir(os.path.join(out, "clips")))[1].endswith("_class1.wav")
  assert soundfile.info(os.path.join(out, "samples.wav")).samplerate == RATE
  assert results["eval/spectrum_db"] > 0 and os.path.isfile(os.path.join(out, "samples.png"))
  clips = jaxgan.load(workdir).sample(3, labels=1)  # Without the task.
  assert clips.shape == (3, 4096) and clips.dtype == np.float32
  assert float(np.max(np.abs(clips))) <= 1.0
