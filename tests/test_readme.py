"""Every command and snippet of the README and of docs/, run as printed from a copy of the
repository root, and the README's table of configs against configs/.

Commands that train are stopped with SIGTERM once training starts (the step that runs
then saves a checkpoint and logs its progress, as the README promises); bench scripts
run until their table starts, then just stop; the others run to the end. A command the
documents gain must be added to `COMMANDS`, and one they lose removed.
"""

import glob
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow  # Subprocesses or long runs: not in `make test-fast`.

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAINING = r"Training steps \d+ to \d+ on "
# A config run the way the commands around it run theirs: tests/test_configs.py trains every
# config (two steps, on the same data), which keeps this suite inside CI's time.
SAME_AS_MAKE_TRAIN = "skip: `make train ARGS=...` runs as above; tests/test_configs.py trains it"
# README command -> None (runs to the end), a regex it must print before it is
# interrupted, or "skip: why".
COMMANDS = {
    "make train": TRAINING,
    "make test": "skip: this test suite itself",
    "make test-fast": "skip: this test suite itself",
    ".venv/bin/python bench/imports.py": None,
    'make train ARGS="--config.generator.attention_resolution=8 '
    '--config.discriminator.attention_resolution=8 --workdir runs/attention"': TRAINING,
    ".venv/bin/python train.py --config configs/gaussians.py --workdir runs/gaussians":
        TRAINING,
    'make train ARGS="--config configs/conditional_digits.py"': SAME_AS_MAKE_TRAIN,
    'make train ARGS="--config configs/words_english.py"': SAME_AS_MAKE_TRAIN,
    'make train ARGS="--config configs/binary_digits.py"': SAME_AS_MAKE_TRAIN,
    ".venv/bin/python bench/words.py": r"\| strings \| steps \|",
    'make train ARGS="--config configs/tabular_anes96.py"': SAME_AS_MAKE_TRAIN,
    ".venv/bin/python bench/tabular.py": r"\| rows \| steps \|",
    'make train ARGS="--config configs/wavegan_digits.py"': SAME_AS_MAKE_TRAIN,
    ".venv/bin/python -m jaxgan.evaluate --workdir runs/default --num_samples 10000": None,
    ".venv/bin/pip install '.[datasets]'": "skip: installs TensorFlow, and needs internet",
    ".venv/bin/python train.py --config.loss=mylosses:hinge --config.loss_kwargs.margin=1.0 "
    "--workdir runs/mylosses": TRAINING,
    ".venv/bin/python train.py --config.d_penalties=\"({'name': 'r1', 'weight': 1.0, 'every': "
    "4},)\" --workdir runs/r1": TRAINING,
    "make bench-setup": "skip: installs PyTorch into the environment these tests run in",
    ".venv/bin/python train.py --config.dataset=/path/to/images --config.image_size=64":
        "skip: a folder of your images (tests/test_image_folder.py runs train.py on one)",
    ".venv/bin/python bench/streaming.py": r"\| data \| files \|",
    ".venv/bin/python train.py --config.augment=diffaugment": TRAINING,
    ".venv/bin/python bench/limited_data.py": r"27 run\(s\) of 4,000 steps",
    ".venv/bin/python bench/limited_data.py --fractions 0.1 --seeds 0 --extra=\"--config."
    "g_ema_decay=0 --config.d_penalties=()\" --out runs/limited_plain":
        r"3 run\(s\) of 4,000 steps",
    ".venv/bin/python bench/limited_data.py --fractions 1.0 --seeds 0 --steps 9000 "
    "--eval-every 1000 --augments none --out runs/limited_long": r"1 run\(s\) of 9,000 steps",
    ".venv/bin/python bench/gan_augmentation.py": r"k=5 seed=0 real: ",
    ".venv/bin/python bench/compare.py": r"\| model \| batch \|",
    ".venv/bin/python bench/compare.py --quick --json out.json": r"\| model \| batch \|",
    ".venv/bin/python bench/conv_layers.py --model dcgan32": r"\| layer \| size \|",
    ".venv/bin/python bench/mode_collapse.py": r"\| dataset \| setting \|",
    ".venv/bin/python bench/families.py": r"\| config \| steps \|",
    ".venv/bin/python -m jaxgan.generate runs/default --num 64 --truncation 0.7 --out "
    "runs/default/generated": r"Wrote 65 file\(s\)",
    ".venv/bin/python -m jaxgan.export --workdir runs/default runs/digits.jaxgan": None,
    ".venv/bin/python -m jaxgan.summary --config configs/stylegan2_digits.py": None,
    ".venv/bin/python bench/truncation.py --out docs/generation": r"psi 1\.0, 0\.9",
    ".venv/bin/python train.py --config.init_from=runs/default --config.freeze_d_layers=1 "
    "--config.task_kwargs.classes=\"(5, 6, 7, 8, 9)\" --config.task_kwargs.per_class=10 "
    "--workdir runs/fine_tuned": TRAINING,
    ".venv/bin/python bench/fine_tune.py": r"images of each of the digits",
    ".venv/bin/python bench/scaling.py": r"\| model \| batch \| devices \|",
    ".venv/bin/python train.py --config configs/pix2pix_digits_edges.py": TRAINING,
    ".venv/bin/python train.py --config configs/pix2pix_digits_inpaint.py":
        "skip: runs as the edges config above; tests/test_translation.py trains and evaluates it",
    ".venv/bin/python train.py --config configs/cyclegan_digits_thick.py": TRAINING,
    ".venv/bin/python train.py --config configs/pix2pix_facades.py --config.download=True":
        "skip: a GPU, and the facades from the internet",
    ".venv/bin/python train.py --config configs/cyclegan_horse2zebra.py --config.download=True":
        "skip: a GPU, and horse2zebra from the internet",
    ".venv/bin/python bench/translation.py": r"\| model \| steps \| wall s \|",
    ".venv/bin/python bench/compare.py --models pix2pix256 cyclegan128 --frameworks jaxgan "
    "torch --rounds 3": r"\| model \| batch \|",
    ".venv/bin/python bench/conv_layers.py --model cyclegan128 --batch_size 1":
        r"\| layer \| size \|",
    "make mutation": "skip: mutation testing, many hours",
    "make mutation ARGS='\"jaxgan.regularizers*\"'": "skip: mutation testing, about an hour",
    ".venv/bin/mutmut results": "skip: reads what make mutation left",
    ".venv/bin/python train.py --config configs/dcgan_cifar10.py --config.num_devices=1":
        "skip: a GPU, and CIFAR-10 from the internet",
    ".venv/bin/python train.py --config configs/dcgan_cifar10.py": "skip: GPUs, and CIFAR-10",
    "srun --nodes=2 --ntasks-per-node=1 .venv/bin/python train.py --multihost --config "
    "configs/dcgan_cifar10.py --workdir /shared/runs/cifar": "skip: a SLURM cluster",
    ".venv/bin/python train.py --coordinator_address=10.0.0.1:8476 --num_processes=2 "
    "--process_id=0 --config configs/dcgan_cifar10.py --workdir /shared/runs/cifar":
        "skip: two GPU hosts",
    ".venv/bin/python train.py --config configs/dcgan_cifar10.py --config.dtype=bfloat16":
        "skip: a TPU VM",
    'gcloud compute tpus tpu-vm ssh my-slice --worker=all --command="cd jaxgan && '
    '.venv/bin/python train.py --multihost --config configs/dcgan_cifar10.py '
    '--config.dtype=bfloat16 --workdir /mnt/shared/runs/cifar"': "skip: a TPU pod slice",
}
# Commands that need PyTorch (`make bench-setup`): skipped where it is not installed.
NEEDS_TORCH = (".venv/bin/python bench/conv_layers.py --model dcgan32",
               ".venv/bin/python bench/conv_layers.py --model cyclegan128 --batch_size 1")
LINKED = (".venv", "Makefile", "train.py", "configs", "jaxgan", "bench", "examples", "docs")
# Copied and dated to the epoch: make then never rebuilds the environment the tests run in.
DATED = ("pyproject.toml", "constraints.txt")


DOCUMENTS = ["README.md", *sorted(os.path.relpath(path, ROOT)
                                  for path in glob.glob(os.path.join(ROOT, "docs", "*.md")))]


def readme_blocks() -> list[tuple[str, str]]:
  """The fenced code blocks of the README and then of each page of docs/, as (language,
  text), in order."""
  blocks = []
  for document in DOCUMENTS:
    text = open(os.path.join(ROOT, document), encoding="utf-8").read()
    blocks += re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M)
  return blocks


def readme_commands() -> list[str]:
  """Each line of the README's bash blocks, without its trailing comment."""
  return [re.sub(r"\s+#.*$", "", line).strip() for language, block in readme_blocks()
          if language == "bash" for line in block.splitlines() if line.strip()]


def test_every_readme_command_is_covered_here():
  commands = readme_commands()
  assert sorted(set(commands)) == sorted(COMMANDS), (
      "The documents' commands differ from COMMANDS in tests/test_readme.py")
  assert all(language in ("bash", "python", "text") for language, _ in readme_blocks())


@pytest.fixture(scope="module")
def checkout(tmp_path_factory, data_dir, cache_dir):
  """A folder that looks like the repository root (its files linked), and the environment
  the commands run in: the session's tfds data and classifier cache."""
  root = tmp_path_factory.mktemp("checkout")
  for name in LINKED:
    os.symlink(os.path.join(ROOT, name), root / name)
  for name in DATED:
    shutil.copy(os.path.join(ROOT, name), root / name)
    os.utime(root / name, (0, 0))
  # As a user runs them: one CPU device, no PYTHONPATH, and none of the variables of a
  # `make test ARGS=...` that ran these tests. The training commands run one step, so they
  # keep the session's quicker compiles (conftest.py).
  env = {k: v for k, v in os.environ.items()
         if k not in ("PYTHONPATH", "ARGS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
  env |= {"TFDS_DATA_DIR": data_dir, "JAXGAN_CACHE": cache_dir, "PYTHONUNBUFFERED": "1",
          "XLA_FLAGS": re.sub(r"--xla_force_host_platform_device_count=\d+", "",
                              os.environ.get("XLA_FLAGS", ""))}
  return root, env


def _run(command: str, expect: str | None, cwd, env) -> str:
  """Runs `command` in bash; with `expect`, until a line matches it, then SIGTERM."""
  process = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
  output, deadline = [], time.monotonic() + 420
  try:
    for line in process.stdout:
      output.append(line)
      if expect and re.search(expect, line):
        os.killpg(process.pid, signal.SIGTERM)
        break
      assert time.monotonic() < deadline, "".join(output[-20:])
    output += process.stdout.readlines()
    process.wait(timeout=120)
  finally:
    if process.poll() is None:
      os.killpg(process.pid, signal.SIGKILL)
  text = "".join(output)
  assert "Traceback" not in text, text[-3000:]
  if expect:
    assert re.search(expect, text), text[-3000:]
  else:
    assert process.returncode == 0, text[-3000:]
  return text


def test_readme_commands_and_snippets_run_as_printed(checkout):
  root, env = checkout
  commands = iter(readme_commands())
  for language, block in readme_blocks():
    first_line = block.splitlines()[0]
    if language == "python" and re.fullmatch(r"# [\w/]+\.py", first_line):
      path = root / first_line[2:]  # A file the next commands import.
      path.parent.mkdir(parents=True, exist_ok=True)
      path.write_text(block)
    elif language == "python":  # A snippet, run from the repository root as it says.
      (root / "snippet.py").write_text(block)
      _run(f"{sys.executable} snippet.py", None, root, env)
    elif language == "bash":
      for line in block.splitlines():
        if not line.strip():
          continue
        command = next(commands)
        expect = COMMANDS[command]
        if expect and expect.startswith("skip:") or (
            command in NEEDS_TORCH and importlib.util.find_spec("torch") is None):
          continue
        text = _run(line, expect, root, env)
        if expect == TRAINING:
          assert re.search(r"step \d+/\d+ \|", text), text[-3000:]
          assert "Stopped by SIGTERM at step" in text, text[-3000:]


def test_every_config_is_in_the_readme_table():
  readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
  listed = set(re.findall(r"^\| `(\w+\.py)` \|", readme, flags=re.M))
  configs = {os.path.basename(path) for path in glob.glob(os.path.join(ROOT, "configs", "*.py"))
             if not path.endswith("__init__.py")}
  assert listed == configs


def test_the_readme_is_a_few_screens_and_counts_no_tests():
  readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
  assert len(readme.splitlines()) <= 300
  assert not re.search(r"\d+ tests", readme)
