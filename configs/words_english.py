"""Character-level GAN on English words (offline: the word list the english-words package
ships), after the WGAN-GP language model of Gulrajani et al. 2017: residual 1-D
convolutions, WGAN loss with gradient penalty, 5 D updates per G update, Adam (0.5, 0.9).

  .venv/bin/python train.py --config configs/words_english.py
  .venv/bin/python train.py --config configs/words_english.py \\
      --config.generator.output=gumbel_softmax
  .venv/bin/python train.py --config configs/words_english.py --config.dataset=names.txt

G emits one-hot characters through the straight-through estimator (hard one-hot forward,
softmax gradient backward): D sees exactly what a sample is, never a soft distribution
that would give fakes away. Words of 2 to 8 letters; samples and evaluations are text
(`samples/step_<n>.txt`), measured by how many are words and by character n-grams.
"""

import ml_collections

from configs import default


def get_config():
  config = default.base_config()
  config.task = "words"
  config.dataset = "english_words"
  config.task_kwargs.sequence_length = 8
  config.model = "char_resnet"
  config.latent_dim = 128
  config.generator = ml_collections.ConfigDict(
      {"features": 64, "num_blocks": 4, "output": "straight_through", "temperature": 1.0})
  config.discriminator = ml_collections.ConfigDict({"features": 64, "num_blocks": 4})
  default.wgan_gp(config, learning_rate=1e-4, n_critic=5)
  config.num_train_steps = 3000
  config.num_samples = 64
  config.eval_num_samples = 5000
  return config
