"""The offline default: DCGAN on scikit-learn's bundled digits at 16x16.

  .venv/bin/python train.py                      # same as --config configs/default.py

Trains on the 1,437 training digits, upsampled from 8x8, with an EMA generator
(decay 0.99, sampled and evaluated) and R1 on D every 4 steps: FID ~8 in the digits
classifier's features at 3,000 steps, where the plain DCGAN of `base_config` stays at
~31 and overfits the small set past ~5,000 steps. The textbook DCGAN discriminator
(bias-free convolutions, BatchNorm) draws digits on a fading grey background on this
data; D with biases and no BatchNorm fixes it.

`base_config()` holds every field with every trick off: the other configs build on it.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = base_config()
  config.g_ema_decay = 0.99
  config.d_penalties = ({"name": "r1", "weight": 1.0, "every": 4},)
  return config


def base_config() -> ml_collections.ConfigDict:
  """The plain DCGAN on the digits: every config field, every trick off."""
  config = ml_collections.ConfigDict()
  config.seed = 0

  # Data: the kind of data (jaxgan.tasks: images, translation, mixture, words, table, audio), its
  # dataset, and the kind's own settings (keyword arguments of its task, e.g. images:
  # binarized; words: sequence_length; table: categorical_columns, target; audio:
  # sample_rate, length).
  config.task = "images"
  config.dataset = "sklearn_digits"
  config.task_kwargs = ml_collections.ConfigDict()
  config.image_size = 16  # Images: the side they are resized to.
  config.data_dir = ""  # tfds data dir; "" is tfds' default (~/tensorflow_datasets).
  config.download = False  # Let tfds download datasets that are not prepared yet.
  # Class-conditional G and D on the dataset's labels (configs/conditional_digits.py).
  config.conditional = False

  # Model.
  config.model = "dcgan"
  config.latent_dim = 100
  config.generator = ml_collections.ConfigDict({"features": (128, 64)})
  config.discriminator = ml_collections.ConfigDict(
      {"features": (64, 128), "batch_norm": False, "use_bias": True})

  # Game and optimisation.
  config.loss = "non_saturating"
  config.loss_kwargs = ml_collections.ConfigDict()
  config.schedule = "alternating"
  config.n_critic = 1
  # Any optax optimizer by name with its arguments; `decay`: the learning rate stays
  # "constant", or falls to 0 by the last step ("cosine", "linear").
  config.g_optimizer = ml_collections.ConfigDict(
      {"name": "adam", "learning_rate": 2e-4, "b1": 0.5, "b2": 0.999, "decay": "constant"})
  config.d_optimizer = ml_collections.ConfigDict(
      {"name": "adam", "learning_rate": 2e-4, "b1": 0.5, "b2": 0.999, "decay": "constant"})
  config.batch_size = 64  # Global: split across devices.

  # Regularisers and tricks (jaxgan.regularizers), all off here.
  config.d_penalties = ()  # e.g. ({"name": "r1", "weight": 10.0, "every": 16},)
  # G penalties, for a generator with a mapping network (stylegan2), e.g.
  # ({"name": "path_length", "weight": 2.0, "every": 4},).
  config.g_penalties = ()
  # Image-to-image translation (task="translation"): G's losses besides the adversarial one
  # (jaxgan.translation), e.g. pix2pix's ({"name": "l1", "weight": 100.0},).
  config.translation_terms = ()
  config.d_weight_clip = 0.0  # WGAN weight clipping of D's parameters to [-c, c].
  config.instance_noise = ml_collections.ConfigDict({"std": 0.0, "anneal_steps": 0})
  config.label_flip_fraction = 0.0
  config.historical_averaging_weight = 0.0
  config.replay = ml_collections.ConfigDict({"size": 0, "fraction": 0.5})
  config.g_ema_decay = 0.0  # e.g. 0.999; samples are then also drawn from the EMA generator.
  # Mode-collapse remedies (jaxgan.regularizers). PacGAN: D judges this many samples at once.
  config.packing = 1
  # Unrolled GAN: G's loss judged by D after this many more updates (gradient: through them;
  # with Adam that needs d_optimizer.eps_root=1e-8).
  config.unrolled = ml_collections.ConfigDict({"steps": 0, "gradient": True})
  # G also trains against `count` past snapshots of D, one taken every `every` steps.
  config.past_discriminators = ml_collections.ConfigDict({"count": 0, "every": 100})
  # Differentiable augmentation of every image D sees (jaxgan.augment): "none",
  # "diffaugment" or "ada"; ADA's settings (p, adaptive, target, speed_images, interval) in
  # augment_kwargs.
  config.augment = "none"
  config.augment_kwargs = ml_collections.ConfigDict()
  config.num_train_steps = 3000
  # Fine-tuning: start from the G and D of this workdir's best (else newest) checkpoint, with
  # new optimizer states (jaxgan.fine_tune); FreezeD: D's first layers stay as trained.
  config.init_from = ""
  config.freeze_d_layers = 0
  config.num_devices = 0  # 0: all local devices.
  # Several devices: "sharded" (jit over a device mesh; spans hosts, takes compiler options)
  # or "pmap" (this host's devices). See README, "Many devices and hosts".
  config.parallelism = "sharded"
  # BatchNorm over several devices: "per_device" batch statistics, or "cross_replica" (those
  # of the whole global batch, one more all-reduce per BatchNorm layer).
  config.batch_norm_statistics = "per_device"
  config.dtype = "float32"  # "bfloat16": G and D computed in bfloat16, parameters float32.
  # A non-finite loss or gradient stops training (keeping the last good checkpoint);
  # True instead drops that step's update and counts it.
  config.skip_nonfinite_updates = False

  # Logs, pictures and checkpoints.
  config.log_every_steps = 100
  config.sample_every_steps = 500
  config.num_samples = 64
  config.checkpoint_every_steps = 500
  config.max_checkpoints_to_keep = 3

  # Evaluation (jaxgan.evaluation): FID/KID/precision-recall in the features of a
  # classifier trained once on the real digits, or mode metrics for 2-D mixtures.
  # The best checkpoint by FID (or modes) is kept in WORKDIR/best/checkpoints.
  config.eval_every_steps = 1000  # 0: never.
  config.eval_num_samples = 2000
  config.eval_cache_dir = ""  # Trained classifiers; "" is $JAXGAN_CACHE or ~/.cache/jaxgan.
  # "classifier" (above), or "inception" for standard FID in InceptionV3 features, from
  # pytorch-fid's weights file (jaxgan.inception.WEIGHTS_URL) saved at eval_inception_weights.
  config.eval_features = "classifier"
  config.eval_inception_weights = ""
  return config


def wgan_gp(config: ml_collections.ConfigDict, *, learning_rate: float, n_critic: int,
            betas: tuple[float, float] = (0.5, 0.9)) -> None:
  """Sets `config` to WGAN-GP (Gulrajani et al. 2017): the Wasserstein loss, a gradient
  penalty of weight 10, `n_critic` D updates per G update, Adam with `betas` for both."""
  config.loss = "wasserstein"
  config.d_penalties = ({"name": "gradient_penalty", "weight": 10.0},)
  config.n_critic = n_critic
  for optimizer in (config.g_optimizer, config.d_optimizer):
    optimizer.learning_rate, (optimizer.b1, optimizer.b2) = learning_rate, betas


def for_cifar10(config: ml_collections.ConfigDict, num_train_steps: int) -> None:
  """Sets `config` to CIFAR-10 at 32x32 for a long run (on a GPU or TPU): samples every 2,500
  steps, checkpoints and evaluations every 5,000."""
  config.dataset = "cifar10"
  config.image_size = 32
  config.num_train_steps = num_train_steps
  config.sample_every_steps = 2500
  config.checkpoint_every_steps = 5000
  config.eval_every_steps = 5000
