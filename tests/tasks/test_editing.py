"""Masks and pictures for the editing commands."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

from ddpm_np.tasks.editing import EditError, load_digit, make_mask


@pytest.mark.parametrize("kind,hidden", [("bottom", 14 * 28), ("top", 14 * 28),
                                         ("left", 14 * 28), ("right", 14 * 28),
                                         ("center", 144)])
def test_named_masks(kind, hidden):
    m = make_mask(kind)
    assert m.shape == (1, 1, 28, 28) and int((m == 0).sum()) == hidden


def test_pictures_as_masks_and_digits(tmp_path):
    a = np.zeros((28, 28))
    a[:, :10] = 1
    plt.imsave(tmp_path / "m.png", a, cmap="gray")
    m = make_mask(str(tmp_path / "m.png"))
    assert m[0, 0, :, :10].all() and not m[0, 0, :, 10:].any()
    x, label = load_digit(image=str(tmp_path / "m.png"))
    assert x.shape == (1, 1, 28, 28) and label is None and x.min() == -1 and x.max() == 1
    plt.imsave(tmp_path / "big.png", np.zeros((30, 28)), cmap="gray")
    with pytest.raises(EditError, match="is 28×30 pixels; it must be 28×28"):
        load_digit(image=str(tmp_path / "big.png"))
    plt.imsave(tmp_path / "all.png", np.ones((28, 28)), cmap="gray", vmin=0, vmax=1)
    with pytest.raises(EditError, match="hides nothing"):
        make_mask(str(tmp_path / "all.png"))
    with pytest.raises(EditError, match="mask must be one of bottom, top"):
        make_mask("middle")
    with pytest.raises(EditError, match="image .*none.png does not exist"):
        load_digit(image=str(tmp_path / "none.png"))
