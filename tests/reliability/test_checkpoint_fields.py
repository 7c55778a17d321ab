"""A checkpoint is checked field by field before use (run/schema.py): well-formed JSON of
the wrong type, arrays of the wrong kind and metadata that disagrees with the arrays are each a
one-line error (exit 2) naming the file and the field, on every command that reads one; and
save_checkpoint refuses what load_checkpoint would refuse."""
import json

import numpy as np
import pytest

from ddpm_np.run.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ddpm_np.cli import main
from ddpm_np.tasks.runs import train_run


def write_raw(path, arrays, meta):
    """A checkpoint written without save_checkpoint's checks (as a damaged or foreign file)."""
    payload = dict(arrays)
    payload["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **payload)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "r"
    train_run("moons", out=out, steps=4, hidden=8, blocks=1, T=30, progress=False,
              log=lambda *a: None)
    return load_checkpoint(out / "checkpoint.npz")


def _meta(meta, **change):
    m = json.loads(json.dumps(meta))
    for k, v in change.items():
        if v is KeyError:
            m.pop(k, None)
        else:
            m[k] = v
    return m


META_CASES = [
    (dict(version="2"), "field version must be a whole number ≥ 0, got '2'"),
    (dict(version=None), "field version must be a whole number ≥ 0, got None"),
    (dict(version=1.5), "field version must be a whole number"),
    (dict(step=-3), "field step must be a whole number ≥ 0, got -3"),
    (dict(step=True), "field step must be a whole number ≥ 0, got True"),
    (dict(data=["moons"]), "field data must be a JSON object, got list"),
    (dict(train_config="fast"), "field train_config must be a JSON object, got str"),
    (dict(rng_state=7), "field rng_state must be a JSON object, got int"),
    (dict(schedule=None), "field schedule is null, but a mlp model is a diffusion model"),
    (dict(schedule={"betas": "0.1"}), "field schedule must be null or"),
    (dict(schedule={"betas": [0.1, None]}), "field schedule must be null or"),
    (dict(model={"kind": "mlp"}), "field model must be"),
    (dict(model="mlp"), "field model must be"),
    (dict(sample_shape="abc"), "field sample_shape must be a list of positive whole numbers"),
    (dict(sample_shape=[0, 2]), "field sample_shape must be a list of positive whole numbers"),
    (dict(sample_shape=[1, 28, 28]), "field sample_shape is [1, 28, 28] but the model (mlp) "
                                     "takes examples of shape [2]"),
    (dict(sampling_only="yes"), "field sampling_only must be true or false"),
    (dict(step=3), "the loss log holds one number a step (step 3): not loaded"),
]


@pytest.mark.parametrize("change,message", META_CASES)
def test_metadata_of_the_wrong_type_or_disagreeing_is_one_line(tmp_path, capsys, run, change,
                                                               message):
    arrays, meta = run
    path = write_raw(tmp_path / "c.npz", arrays, _meta(meta, **change))
    with pytest.raises(CheckpointError, match="field"):
        load_checkpoint(path)
    for argv in (["sample", "--checkpoint", str(path), "--n", "2", "--out",
                  str(tmp_path / "s.npy")],
                 ["train", "--resume", str(path), "--steps", "9", "--no-progress"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err and str(path) in err, err
        assert "internal error" not in err


ARRAY_CASES = [
    ("ema/out.W", lambda a: a.astype(bool), "must hold floating-point numbers, got dtype bool"),
    ("model/out.W", lambda a: a.astype(np.int32), "got dtype int32 (a damaged or foreign file"),
    ("ema/out.W", lambda a: a.astype(np.complex64), "got dtype complex64"),
    ("buffer/B", lambda a: np.full_like(a, np.nan), "field buffer/B holds NaN or Inf: the state"),
    ("opt/m.0", lambda a: np.full_like(a, np.nan), "field opt/m.0 holds NaN or Inf"),
    ("opt/v.0", lambda a: -np.abs(a) - 1, "field opt/v.0 holds a negative second moment"),
    ("opt/step_count", lambda a: np.array(-1), "field opt/step_count must be a whole number ≥ 0"),
    ("log/loss", lambda a: a.astype("U8"), "field log/loss must hold numbers"),
]


@pytest.mark.parametrize("name,damage,message", ARRAY_CASES)
def test_arrays_of_the_wrong_kind_are_refused_not_cast(tmp_path, run, name, damage, message):
    arrays, meta = run
    arrays = dict(arrays, **{name: damage(arrays[name])})
    path = write_raw(tmp_path / "c.npz", arrays, meta)
    with pytest.raises(CheckpointError, match="field") as e:
        load_checkpoint(path)
    assert message in str(e.value) and str(path) in str(e.value)


def test_a_linear_models_schedule_and_an_importance_history_must_agree(tmp_path):
    from ddpm_np.run.schema import SchemaError, check_agreement
    meta = {"model": {"kind": "linear", "config": {"dim": 2, "T": 200}},
            "schedule": {"betas": [0.1]}}
    with pytest.raises(SchemaError, match="has T = 1 steps but the model was made for T = 200"):
        check_agreement("c.npz", {}, meta)
    meta = {"model": {"kind": "unet", "config": {}}, "schedule": {"betas": [0.1] * 9}}
    with pytest.raises(SchemaError, match=r"history of L_t \(objective/values\) has 10"):
        check_agreement("c.npz", {"objective/values": np.zeros((11, 3))}, meta)


def test_unknown_members_are_refused_before_anything_is_loaded(tmp_path, run):
    arrays, meta = run
    junk = dict(arrays, junk=np.zeros(10**6, np.uint8))      # 1 MB of zeros compresses well
    with pytest.raises(CheckpointError, match="holds a member this library does not write, "
                                              "'junk': not loaded"):
        load_checkpoint(write_raw(tmp_path / "c.npz", junk, meta))


def test_a_known_member_larger_than_the_metadata_implies_is_not_loaded(tmp_path, run):
    arrays, meta = run
    bloated = dict(arrays, **{"log/loss": np.zeros(10**7)})     # 80 MB of zeros, compressed
    with pytest.raises(CheckpointError, match=r"field log/loss has shape \(10000000,\), but the "
                                              r"loss log holds one number a step \(step 4\)"):
        load_checkpoint(write_raw(tmp_path / "c.npz", bloated, meta))
    with pytest.raises(CheckpointError, match="field step is 4 but the optimizer has taken 5"):
        load_checkpoint(write_raw(tmp_path / "d.npz", dict(arrays, **{
            "opt/step_count": np.array(5)}), meta))


def test_save_checkpoint_refuses_what_load_would_refuse(tmp_path):
    ok = {"model/W": np.zeros(2, np.float32)}
    with pytest.raises(CheckpointError, match="a checkpoint holds NumPy arrays of numbers"):
        save_checkpoint(tmp_path / "c.npz", {"model/W": np.array([object()])}, {})
    for name in ("model/../x", "/model/W", "x", "__meta__", "model//W"):
        with pytest.raises(CheckpointError, match="checkpoint members are named"):
            save_checkpoint(tmp_path / "c.npz", {name: np.zeros(1)}, {})
    with pytest.raises(CheckpointError, match="must end in .npz"):
        save_checkpoint(tmp_path / "c.json", ok, {})
    assert not list(tmp_path.iterdir())                        # nothing written on refusal
    save_checkpoint(tmp_path / "c.npz", ok, {"step": 0})
    assert load_checkpoint(tmp_path / "c.npz")[1]["step"] == 0


@pytest.mark.parametrize("attention,message", [
    ([5], r"c.npz describes no model this version can build \(attention_resolutions \[5\] "
          "are not feature-map sizes of this UNet"),
    ([14], "c.npz: its weights do not fit the model"),
])
def test_a_unets_attention_must_agree_with_its_weights(tmp_path, tiny_checkpoint, attention,
                                                       message):
    from ddpm_np.run.loading import load_for_sampling
    arrays, meta = load_checkpoint(tiny_checkpoint)
    meta["model"]["config"]["attention_resolutions"] = attention
    path = write_raw(tmp_path / "c.npz", arrays, meta)
    with pytest.raises(CheckpointError, match=message):
        load_for_sampling(path)
