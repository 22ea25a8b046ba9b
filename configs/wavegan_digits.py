"""WaveGAN (Donahue et al. 2019) on spoken digits: "zero" to "nine" said by 384 eSpeak NG
speakers, synthesised offline (jaxgan.audio), as clips of 4,096 samples at 8 kHz (0.51 s).
The paper's game: WGAN-GP, 5 D updates per G update, Adam 1e-4 (0.5, 0.9), phase shuffle 2;
a smaller model (d=16 against its 64) and shorter clips, which train on a CPU.

  .venv/bin/python train.py --config configs/wavegan_digits.py
  .venv/bin/python train.py --config configs/wavegan_digits.py --config.dataset=my/wavs  # yours
  .venv/bin/python train.py --config configs/wavegan_digits.py --config.conditional=True

Samples are WAV files (`samples/step_<n>.wav`, the grid's clips one after another) with a
picture of their spectrograms. Measured in the features of a 1-D classifier trained once
on the real clips (FID, class accuracy when conditional) and by the distance between the
average log-power spectra of generated and real clips (`eval/spectrum_db`, in dB).
"""

import ml_collections

from configs import default


def get_config():
  config = default.base_config()
  config.task = "audio"
  config.dataset = "spoken_digits"
  config.task_kwargs.sample_rate, config.task_kwargs.length = 8000, 4096
  config.model = "wavegan"
  config.generator = ml_collections.ConfigDict({"dim": 16})
  config.discriminator = ml_collections.ConfigDict({"dim": 16, "phase_shuffle": 2})
  default.wgan_gp(config, learning_rate=1e-4, n_critic=5)
  config.batch_size = 64
  config.num_train_steps = 2000
  config.log_every_steps = 20  # About a step a second on a 2-core CPU.
  config.num_samples = 16
  config.eval_every_steps = 1000
  config.eval_num_samples = 1000
  return config
