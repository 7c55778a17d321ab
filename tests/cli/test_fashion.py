"""Fashion-MNIST: the same commands as MNIST, on small synthetic IDX files written here (no
machine here is online; the real files come with the downloader's mirrors and checksums)."""
import gzip

import numpy as np
import pytest

from ddpm_np.cli import main
from ddpm_np.data import mnist
from ddpm_np.run.checkpoint import read_meta
from ddpm_np.tasks import mnist_train
from tests.data.test_mnist import idx_bytes


@pytest.fixture
def fashion(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    folder = tmp_path / "fashion"
    folder.mkdir()
    for split, (images, labels, _) in mnist.SPLITS.items():
        n = 16
        monkeypatch.setitem(mnist.SPLITS, split, (images, labels, n))
        (folder / images).write_bytes(gzip.compress(idx_bytes(
            "images", rng.integers(0, 256, (n, 28, 28)))))
        (folder / labels).write_bytes(gzip.compress(idx_bytes("labels", np.arange(n) % 10)))
    monkeypatch.setattr(mnist_train, "sample_grid_callback", lambda out: (lambda tr: None))
    monkeypatch.setenv("DDPM_NP_OFFLINE", "1")
    return folder


def test_fashion_mnist_trains_resumes_and_samples_by_class_name(fashion, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--dataset", "fashion-mnist", "--data-dir", str(fashion), "--out",
                 str(run), "--steps", "1", "--batch-size", "2", "--no-progress"]) == 0
    meta = read_meta(run / "checkpoint.npz")
    assert meta["data"]["dataset"] == "fashion-mnist" and meta["data"]["classes"][7] == "Sneaker"
    assert meta["data"]["data_dir"] == str(fashion.resolve())
    # the resumed run finds its files without being told again
    assert main(["train", "--resume", str(run / "checkpoint.npz"), "--steps", "2",
                 "--no-progress"]) == 0
    assert main(["sample", "--checkpoint", str(run / "checkpoint.npz"), "--n", "2", "--class",
                 "Sneaker", "--sample-steps", "1", "--grid", str(tmp_path / "g.png"),
                 "--out", str(tmp_path / "x.npy"), "--no-progress"]) == 0
    assert np.load(tmp_path / "x.npy").shape == (2, 1, 28, 28)
