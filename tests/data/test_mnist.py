"""The IDX reader, validation errors, and the downloader against a local HTTP server."""
import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest

from ddpm_np.data import mnist
from ddpm_np.data.mnist import DatasetError, load_mnist, read_idx


def idx_bytes(kind, arr):
    if kind == "images":
        header = np.array([0x803, len(arr), 28, 28], ">i4").tobytes()
    else:
        header = np.array([0x801, len(arr)], ">i4").tobytes()
    return header + arr.astype(np.uint8).tobytes()


def write_split(folder, n=5, seed=0, gz=True):
    rng = np.random.default_rng(seed)
    imgs = rng.integers(0, 256, (n, 28, 28))
    lbls = rng.integers(0, 10, n)
    for name, kind, arr in (("t10k-images-idx3-ubyte.gz", "images", imgs),
                            ("t10k-labels-idx1-ubyte.gz", "labels", lbls)):
        data = idx_bytes(kind, arr)
        if gz:
            (folder / name).write_bytes(gzip.compress(data))
        else:
            (folder / name[:-3]).write_bytes(data)
    return imgs, lbls


def test_reads_shared_mnist_if_present(mnist_test):
    x, y = mnist_test
    assert x.shape == (10_000, 28, 28) and x.dtype == np.uint8 and y.shape == (10_000,)
    assert x.mean() / 255 == pytest.approx(0.13251, abs=1e-4)   # shared/data/README.md
    assert np.bincount(y).min() > 850


@pytest.mark.parametrize("gz", [True, False])
def test_reader_round_trip(tmp_path, gz, monkeypatch):
    imgs, lbls = write_split(tmp_path, gz=gz)
    monkeypatch.setitem(mnist.SPLITS, "test", ("t10k-images-idx3-ubyte.gz",
                                                "t10k-labels-idx1-ubyte.gz", 5))
    x, y = load_mnist("test", data_dir=tmp_path, download=False)
    np.testing.assert_array_equal(x, imgs)
    np.testing.assert_array_equal(y, lbls)


def test_corrupt_files_get_named(tmp_path):
    p = tmp_path / "imgs"
    p.write_bytes(idx_bytes("images", np.zeros((3, 28, 28)))[:-10])
    with pytest.raises(DatasetError, match="imgs: truncated"):
        read_idx(p, "images")
    p.write_bytes(idx_bytes("labels", np.array([1, 2, 3])))
    with pytest.raises(DatasetError, match="bad magic number"):
        read_idx(p, "images")
    p.write_bytes(idx_bytes("labels", np.array([1, 12, 3])))
    with pytest.raises(DatasetError, match="outside 0..9"):
        read_idx(p, "labels")
    with pytest.raises(DatasetError, match="holds 3 labels, expected 10000"):
        p.write_bytes(idx_bytes("labels", np.array([1, 2, 3])))
        read_idx(p, "labels", 10_000)
    (tmp_path / "x.gz").write_bytes(b"not gzip")
    with pytest.raises(DatasetError, match="cannot read"):
        read_idx(tmp_path / "x.gz", "labels")


def test_offline_error_says_what_is_missing_and_where(tmp_path):
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte\.gz is missing from"):
        load_mnist("test", data_dir=tmp_path, download=False)
    with pytest.raises(DatasetError, match="could not be downloaded.*the --data-dir you gave"):
        load_mnist("test", data_dir=tmp_path, mirrors=["http://127.0.0.1:9/"], progress=False)


def test_a_failed_download_leaves_no_folder_behind(tmp_path, monkeypatch):
    """Neither the folders it would have made nor, with empty variables, one in the working
    directory (an empty $DDPM_NP_DATA or $XDG_CACHE_HOME counts as unset)."""
    with pytest.raises(DatasetError, match="could not be downloaded"):
        load_mnist("test", data_dir=tmp_path / "a" / "b", mirrors=["http://127.0.0.1:9/"],
                   progress=False)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DDPM_NP_DATA", "")
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    from ddpm_np.data.mnist import default_folder
    assert default_folder() == tmp_path / "home" / ".cache" / "ddpm_np" / "mnist"
    with pytest.raises(DatasetError, match="could not be downloaded"):
        load_mnist("test", mirrors=["http://127.0.0.1:9/"], progress=False)
    assert list(tmp_path.iterdir()) == []


def test_the_hint_fits_where_the_folder_came_from(tmp_path, monkeypatch):
    monkeypatch.setenv("DDPM_NP_DATA", str(tmp_path))
    with pytest.raises(DatasetError, match=r"\$DDPM_NP_DATA/mnist.*--data-dir"):
        load_mnist("test", download=False)
    monkeypatch.delenv("DDPM_NP_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(DatasetError, match="give --data-dir FOLDER holding it, or set"):
        load_mnist("test", download=False)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *args):
            pass
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_download_verifies_checksums_and_falls_back(tmp_path, server, monkeypatch):
    root, url = server
    imgs, lbls = write_split(root)
    md5 = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in root.iterdir()}
    monkeypatch.setitem(mnist.DATASETS, "mnist", {"mirrors": [], "md5": md5})
    monkeypatch.setitem(mnist.SPLITS, "test", ("t10k-images-idx3-ubyte.gz",
                                                "t10k-labels-idx1-ubyte.gz", 5))
    dest = tmp_path / "cache"
    # the first mirror is dead, the second serves the files
    x, y = load_mnist("test", data_dir=dest, mirrors=["http://127.0.0.1:9/", url],
                      progress=False)
    np.testing.assert_array_equal(x, imgs)
    assert sorted(p.name for p in dest.iterdir()) == sorted(md5)   # no temp files left
    # a wrong checksum is refused and nothing is written, not even the folder
    bad = tmp_path / "bad"
    monkeypatch.setitem(mnist.DATASETS, "mnist", {"mirrors": [], "md5": dict.fromkeys(md5, "0")})
    with pytest.raises(DatasetError, match="checksum mismatch"):
        load_mnist("test", data_dir=bad, mirrors=[url], progress=False)
    assert not bad.exists()


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        load_mnist("valid")
    with pytest.raises(ValueError, match="unknown dataset"):
        load_mnist("test", dataset="cifar")
