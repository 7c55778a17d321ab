"""Every read is bounded by what the format says it holds (inputs.py): only regular files are
opened, an image's size comes from its header before a pixel is decoded, an IDX file is read
to the length its header implies, an archive's members are checked before any is loaded, and
every number a user gives that sets an allocation is checked against memory before work."""
import gzip
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from ddpm_np.cli import main
from ddpm_np.data.mnist import DatasetError, read_idx
from ddpm_np.inputs import InputError, read_image, read_npz, regular_file

from ..processes import WAIT


def _err(capsys):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory):
    """30000×30000 black pixels: under a megabyte on disk, 900 MB decoded."""
    path = tmp_path_factory.mktemp("png") / "huge.png"
    Image.new("L", (30000, 30000)).save(path)
    return path


def test_an_image_is_checked_by_its_header_before_it_is_decoded(huge_png, tmp_path):
    tracemalloc.start()
    with pytest.raises(InputError, match="is 30000×30000 pixels; it must be 28×28"):
        read_image(huge_png, "mask", size=(28, 28))
    with pytest.raises(InputError, match="more than the 16777216 this library reads"):
        read_image(huge_png, "picture")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20, peak                      # nothing near the 900 MB of pixels
    truncated = tmp_path / "cut.png"
    Image.new("L", (28, 28), 255).save(tmp_path / "whole.png")
    truncated.write_bytes((tmp_path / "whole.png").read_bytes()[:40])
    with pytest.raises(InputError, match="cannot read the image"):
        read_image(truncated, "image")


@pytest.mark.parametrize("flag", ["--image", "--mask"])
def test_the_command_line_refuses_a_huge_picture_in_one_line(capsys, tmp_path, huge_png, flag,
                                                             tiny_checkpoint):
    argv = ["inpaint", "--checkpoint", str(tiny_checkpoint), "--grid", str(tmp_path / "g.png"),
            "--steps", "2"]
    argv += ["--image", str(huge_png), "--mask", "bottom"] if flag == "--image" else \
        ["--test-index", "0", "--mask", str(huge_png)]
    assert main(argv) == 2
    assert "is 30000×30000 pixels; it must be 28×28" in _err(capsys)


def test_a_gzipped_idx_file_is_read_no_further_than_its_header_says(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    header = np.array([0x801, 10], ">i4").tobytes()
    with gzip.open(path, "wb") as f:                  # 10 labels, then 200 MB of zeros
        f.write(header + bytes(10))
        for _ in range(200):
            f.write(bytes(2**20))
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    with pytest.raises(DatasetError, match="truncated or padded: more than 10 data bytes"):
        read_idx(path, "labels")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 2**20, peak
    with pytest.raises(DatasetError, match="holds 10 labels, expected 10000"):
        read_idx(path, "labels", 10000)               # the count is checked before any data


def test_devices_fifos_and_folders_are_refused_without_being_opened(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    link = tmp_path / "zero.npz"
    link.symlink_to("/dev/zero")
    for path, kind in ((fifo, "a named pipe"), (link, "a character device"),
                       (tmp_path, "a folder")):
        with pytest.raises(InputError, match=kind):
            regular_file(path, "checkpoint")


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_a_checkpoint_that_is_a_device_or_a_fifo_is_one_line_at_once(tmp_path, target):
    path = tmp_path / "c.npz"
    if target == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(target)
    done = subprocess.run([sys.executable, "-m", "ddpm_np", "sample", "--checkpoint", str(path),
                           "--n", "2", "--out", str(tmp_path / "s.npy")], capture_output=True,
                          text=True, timeout=WAIT)
    assert done.returncode == 2
    assert "not a regular file" in done.stderr and len(done.stderr.splitlines()) == 1


def test_a_data_file_linked_to_a_device_is_refused(tmp_path):
    (tmp_path / "train-labels-idx1-ubyte.gz").symlink_to("/dev/zero")
    with pytest.raises(DatasetError, match="a character device, not a regular file"):
        read_idx(tmp_path / "train-labels-idx1-ubyte.gz", "labels")


def _npz_with_header(path, shape, data: bytes):
    """An .npz whose one member's .npy header claims `shape` of float64 over `data`."""
    import zipfile
    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
    with zipfile.ZipFile(path, "w") as z, z.open("a.npy", "w") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(data)
    return path


def test_an_archive_member_that_claims_more_than_it_holds_is_not_allocated(tmp_path):
    path = _npz_with_header(tmp_path / "a.npz", (10**12,), bytes(80))
    with pytest.raises(InputError, match=r"claims \(1000000000000,\) of float64 .* holds"):
        read_npz(path)
    np.savez(tmp_path / "obj.npz", a=np.array([1, "x"], dtype=object))
    with pytest.raises(InputError, match="holds Python objects"):
        read_npz(tmp_path / "obj.npz")
    np.savez(tmp_path / "ok.npz", a=np.arange(3.0))
    np.testing.assert_array_equal(read_npz(tmp_path / "ok.npz")["a"], np.arange(3.0))


@pytest.mark.parametrize("argv,message", [
    ("bench train --batch 100000", "not enough memory"),
    ("bench profile --batch 100000", "not enough memory"),
    ("bench calibrate --batch 100000", "not enough memory"),
    ("bench unet --batch 100000", "not enough memory"),
    ("bench conv --repeats 100000", "repeats must be an integer in 1..1000"),
    ("bench busy --batch 3", "--batch applies to bench conv, unet, profile, train, calibrate, "
                             "not busy"),
    ("bench calibrate --repeats 3", "--repeats does not apply to bench calibrate"),
    ("train --dataset moons --T 100000000 --out {tmp}/r", "T must be an integer in 21..100000"),
    ("inpaint --checkpoint {tiny} --test-index 0 --mask bottom --resample 1000000 "
     "--grid {tmp}/g.png", "resample must be an integer in 1..100"),
    ("phi4 --quick --L 4 --proposals 1 --out {tmp}/p", "proposals must be an integer ≥ 16"),
    ("phi4 --quick --L 4 --sampler-steps 1000000 --out {tmp}/p",
     "sampler_steps must be an integer in 1..1000"),
    ("phi4 --quick --L 4 --m2 1e6 --lam 1 --out {tmp}/p", "m2 must be a finite number ≥ -100"),
    ("phi4 --quick --L 4 --lam 1e9 --out {tmp}/p", "lam (λ) must be a finite number ≥ 0"),
    ("sample --checkpoint {tiny} --n 4 --guidance 1e30 --out {tmp}/s.npy",
     "guidance must be a finite number ≥ 0 and ≤ 100"),
])
def test_numbers_that_set_an_allocation_or_the_work_are_checked_first(capsys, tmp_path, argv,
                                                                      message, tiny_checkpoint):
    argv = argv.format(tmp=tmp_path, tiny=tiny_checkpoint).split()
    assert main(argv) == 2
    assert message in _err(capsys)
    assert not (tmp_path / "p").exists() and not (tmp_path / "r").exists()
