"""One process of a run over several processes, for test_multihost.py.

  python tests/multihost_worker.py PORT PROCESS_ID NUM_PROCESSES WORKDIR OUT STEPS

Joins the run through jax.distributed (coordinator on localhost:PORT, a short heartbeat
timeout), trains the tiny ring GAN of conftest.py for STEPS steps (a checkpoint every 10,
an evaluation every 50) on every device of every process, and saves the final parameters
it holds to OUT (.npz). Each process has the devices XLA_FLAGS gives it.
"""

import os
import sys

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from configs import gaussians  # noqa: E402
from jaxgan import trainer  # noqa: E402

CHECKPOINT_EVERY = 10


def tiny_ring_config(steps: int):
  config = gaussians.base_config()
  config.generator.hidden_dims = (16,)
  config.discriminator.hidden_dims = (16,)
  config.batch_size = 16
  config.num_train_steps = steps
  config.log_every_steps = config.sample_every_steps = 50
  config.checkpoint_every_steps = CHECKPOINT_EVERY
  config.num_samples = 16
  config.eval_every_steps = 50  # Mode metrics in every process; a collective best checkpoint.
  return config


def main(port: str, process_id: str, num_processes: str, workdir: str, out: str, steps: str):
  jax.distributed.initialize(f"localhost:{port}", int(num_processes), int(process_id),
                             heartbeat_timeout_seconds=10)
  trainer.log_to_console()
  state = trainer.train_and_evaluate(tiny_ring_config(int(steps)), workdir)
  np.savez(out, *jax.tree.leaves(jax.device_get((state.g.params, state.d.params))))


if __name__ == "__main__":
  main(*sys.argv[1:])
