"""Your own data (data/own.py, data/reading.py): each format read, normalised and back, the kind
inferred, and every bad input one DataError naming the file and what is allowed."""
import zipfile

import numpy as np
import pytest
from PIL import Image

from ddpm_np.data.own import denormalise, load, normalise
from ddpm_np.data.reading import DataError


def _png(path, a):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path)
    return path


def _folder(root, classes=("a", "b"), n=3, size=8, rng=None, mode="L"):
    rng = rng or np.random.default_rng(0)
    for c in classes:
        for i in range(n):
            shape = (size, size) if mode == "L" else (size, size, 3)
            _png(root / c / f"{i}.png", rng.integers(0, 256, shape).astype(np.uint8))
    return root


def test_points_from_csv_with_header_are_standardised_and_come_back(tmp_path, rng):
    x = rng.normal([10.0, -5.0, 0.5], [3.0, 0.1, 2.0], (200, 3))
    np.savetxt(tmp_path / "p.csv", x, delimiter=",", header="a,b,c", comments="")
    d = load(tmp_path / "p.csv")
    assert d.kind == "points" and d.shape == [3] and d.x.dtype == np.float32
    np.testing.assert_allclose(d.x.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(d.x.std(0), 1, atol=1e-5)
    np.testing.assert_allclose(d.denormalise(d.x), x, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(normalise(d.description(), x), d.x, atol=1e-5)
    assert len(d.source["sha256"]) == 64


@pytest.mark.parametrize("name,sep", [("p.tsv", "\t"), ("p.txt", " ")])
def test_points_from_tsv_and_txt(tmp_path, rng, name, sep):
    x = rng.standard_normal((20, 2))
    np.savetxt(tmp_path / name, x, delimiter=sep)
    np.testing.assert_allclose(load(tmp_path / name).denormalise(load(tmp_path / name).x), x,
                               atol=1e-5)


def test_one_column_and_npz_key(tmp_path, rng):
    np.save(tmp_path / "one.npy", rng.standard_normal(50))
    assert load(tmp_path / "one.npy").shape == [1]
    np.savez(tmp_path / "two.npz", a=rng.standard_normal((10, 4)), b=np.zeros(3))
    assert load(tmp_path / "two.npz", key="a").shape == [4]


def test_image_folder_with_classes_and_crop_rule(tmp_path, rng):
    root = _folder(tmp_path / "img", ("cat", "dog"), 3, 8, rng)
    d = load(root)
    assert d.kind == "images" and d.shape == [1, 8, 8] and d.classes == ["cat", "dog"]
    assert d.y.tolist() == [0, 0, 0, 1, 1, 1] and d.x.min() >= -1 and d.x.max() <= 1
    back = denormalise(d.description(), d.x)
    u8 = np.asarray(Image.open(root / "dog" / "2.png"))
    np.testing.assert_allclose(back[5, 0], u8, atol=1e-3)
    _png(root / "dog" / "big.png", rng.integers(0, 256, (20, 30)).astype(np.uint8))
    with pytest.raises(DataError, match="2 sizes .*--image-size S"):
        load(root)
    d = load(root, image_size=16)
    assert d.shape == [1, 16, 16] and "centre square" in d.source["crop"]


def test_colour_images_and_the_channels_rule(tmp_path, rng):
    root = _folder(tmp_path / "c", ("x",), 2, 8, rng, mode="RGB")
    assert load(root).shape == [3, 8, 8]
    _png(root / "x" / "grey.png", rng.integers(0, 256, (8, 8)).astype(np.uint8))
    with pytest.raises(DataError, match="mixes grey .* and colour .*--channels 1 or"):
        load(root)
    assert load(root, channels=1).shape == [1, 8, 8]


@pytest.mark.parametrize("shape,layout", [((5, 8, 8), "NHW"), ((5, 8, 8, 3), "NHWC"),
                                          ((5, 3, 8, 8), "NCHW")])
def test_image_arrays_in_each_layout(tmp_path, rng, shape, layout):
    np.save(tmp_path / "x.npy", rng.integers(0, 256, shape).astype(np.uint8))
    d = load(tmp_path / "x.npy")
    assert d.kind == "images" and d.shape[1:] == [8, 8] and d.shape[0] == (1 if len(shape) == 3
                                                                           else 3)


def test_float_images_state_their_range(tmp_path, rng):
    np.save(tmp_path / "f.npy", rng.uniform(0, 1, (4, 3, 8, 8)).astype(np.float32))
    with pytest.raises(DataError, match="say their range, e.g. --range 0,1"):
        load(tmp_path / "f.npy", kind="images")
    d = load(tmp_path / "f.npy", kind="images", value_range=(0, 1))
    assert d.x.min() >= -1 and d.x.max() <= 1
    with pytest.raises(DataError, match=r"values in \[.*\], outside the range 0,0.5"):
        load(tmp_path / "f.npy", kind="images", value_range=(0, 0.5))


def test_lattice_fields(tmp_path, rng):
    phi = 2.0 * rng.standard_normal((6, 4, 4))
    np.save(tmp_path / "phi.npy", phi)
    with pytest.raises(DataError, match="images or lattice fields\\? say --kind"):
        load(tmp_path / "phi.npy")
    d = load(tmp_path / "phi.npy", kind="lattice")
    assert d.shape == [1, 4, 4]
    np.testing.assert_allclose(np.mean(d.x.astype(np.float64) ** 2), 1, rtol=1e-5)
    np.testing.assert_allclose(d.denormalise(d.x), phi, rtol=1e-5, atol=1e-6)


def test_split_holds_out_within_each_class(tmp_path, rng):
    d = load(_folder(tmp_path / "img", ("a", "b", "c"), 10, 8, rng))
    train, (xv, yv) = d.split(0.2, seed=1)
    assert len(train) == 24 and sorted(yv.tolist()) == [0, 0, 1, 1, 2, 2]
    again = d.split(0.2, seed=1)[1][0]
    np.testing.assert_array_equal(again, xv)


def _bomb(path):
    Image.new("1", (5000, 4000)).save(path)          # 20 M pixels in a few kilobytes


def _bad_cases(tmp, rng):
    """(what, path, load options, fragment of the message)."""
    (tmp / "empty").mkdir()
    (tmp / "docs").mkdir()
    (tmp / "docs" / "notes.txt").write_text("hello")
    _folder(tmp / "trunc", ("a",), 2, 8, rng)
    data = (tmp / "trunc" / "a" / "1.png").read_bytes()
    (tmp / "trunc" / "a" / "1.png").write_bytes(data[:len(data) // 2])
    _folder(tmp / "bomb", ("a",), 2, 8, rng)
    _bomb(tmp / "bomb" / "a" / "big.png")
    _folder(tmp / "mixed", ("a",), 2, 8, rng)
    _folder(tmp / "mixed", ("b",), 2, 8, rng, mode="RGB")
    _folder(tmp / "lonely", ("a",), 2, 8, rng)
    _folder(tmp / "lonely", ("b",), 1, 8, rng)
    nan = rng.standard_normal((10, 2))
    nan[3, 1], nan[7, 0] = np.nan, np.inf
    np.save(tmp / "nan.npy", nan)
    np.save(tmp / "one.npy", np.zeros((1, 2)))
    np.save(tmp / "d0.npy", np.zeros((5, 0)))
    (tmp / "ragged.csv").write_text("1,2\n3,4\n5\n")
    (tmp / "word.csv").write_text("x,y\n1,2\n3,oops\n")
    np.savez(tmp / "several.npz", a=np.zeros((3, 2)), b=np.zeros((3, 2)))
    np.save(tmp / "objects.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(tmp / "pickled.npz", "w") as z:
        z.writestr("a.npy", (tmp / "objects.npy").read_bytes())
    np.save(tmp / "points.npy", np.zeros((5, 2)) + np.arange(2))
    np.save(tmp / "wide.npy", rng.standard_normal((5, 65)))
    (tmp / "const.csv").write_text("1,2\n1,3\n1,4\n")
    return [
        ("missing path", tmp / "nowhere.csv", {}, "does not exist"),
        ("empty folder", tmp / "empty", {}, "is empty"),
        ("no images", tmp / "docs", {}, "holds no images"),
        ("truncated image", tmp / "trunc", {}, r"1.png \(truncated or damaged\?\)"),
        ("bomb", tmp / "bomb", {}, "5000×4000 pixels, more than the 16777216"),
        ("mixed channels", tmp / "mixed", {}, "mixes grey"),
        ("class of one", tmp / "lonely", {}, "class folder .*b holds one image"),
        ("NaN/Inf", tmp / "nan.npy", {}, r"2 NaN or Inf values \(the first at index \(3, 1\)\)"),
        ("N < 2", tmp / "one.npy", {}, "holds 1 example; training needs at least 2"),
        ("D = 0", tmp / "d0.npy", {}, "D = 0 columns"),
        ("ragged", tmp / "ragged.csv", {}, "row 3 has 1 columns, the rows above 2"),
        ("word", tmp / "word.csv", {}, "row 3, column 2: 'oops' is not a number"),
        ("several arrays", tmp / "several.npz", {}, "holds 2 arrays .*--key NAME"),
        ("object array", tmp / "objects.npy", {}, "holds Python objects"),
        ("pickled member", tmp / "pickled.npz", {}, "holds Python objects"),
        ("kind points on a folder", tmp / "lonely", {"kind": "points"}, "is a folder"),
        ("kind lattice on points", tmp / "points.npy", {"kind": "lattice"},
         r"lattice fields are \(N, L, L\)"),
        ("kind images on points", tmp / "points.npy", {"kind": "images"}, "images are"),
        ("too wide", tmp / "wide.npy", {}, "D = 65 columns; points may have 1 to 64"),
        ("constant column", tmp / "const.csv", {}, "column 1 is constant"),
        ("image option on points", tmp / "points.npy", {"image_size": 8},
         "--image-size: an option for images, not for points"),
        ("unknown suffix", tmp / "docs" / "notes.txt", {"kind": "lattice"}, "holds no rows"),
    ]


def test_every_bad_input_is_one_data_error(tmp_path, rng):
    for what, path, options, fragment in _bad_cases(tmp_path, rng):
        with pytest.raises(DataError, match=fragment):
            load(path, **options)


def test_data_that_would_not_fit_memory_is_refused_before_reading(tmp_path, rng, monkeypatch):
    from ddpm_np import checks
    np.save(tmp_path / "big.npy", rng.standard_normal((1000, 8)))
    monkeypatch.setattr(checks, "physical_memory", lambda: 2**16)
    with pytest.raises(DataError, match="1000 points of 8 columns needs about .* GiB, more "
                                        "than this machine's .* allow"):
        load(tmp_path / "big.npy")
