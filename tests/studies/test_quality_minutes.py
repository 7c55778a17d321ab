"""The quality-against-minutes table and figure, from evaluated runs laid out as the command
expects (NAME/checkpoint.json, NAME.eval.json, NAME.train.log)."""
import json

from ddpm_np.studies import quality_minutes


def _run(folder, name, step, seconds, ratio, bpd=None):
    (folder / name).mkdir()
    m = {"checkpoint_step": step, "frechet_ratio": ratio, "share_as_requested": 0.9}
    if bpd is not None:
        m.update(test_bits_per_dim=bpd, test_bits_per_dim_stderr=0.05)
    (folder / f"{name}.eval.json").write_text(json.dumps(m))
    if seconds is not None:
        (folder / f"{name}.train.log").write_text(f"trained to step {step}\n{seconds} s\n")


def test_collect_and_plot(tmp_path):
    _run(tmp_path, "a-600", 600, 330.0, 4.0, 2.5)
    _run(tmp_path, "a-1800", 1800, 990.0, 2.6, 2.0)
    _run(tmp_path, "shipped", 6000, None, 2.15, 1.8)
    _run(tmp_path, "b-600", 600, 320.0, 3.0)
    table_path, fig = tmp_path / "t.json", tmp_path / "q.png"
    assert quality_minutes.main(["collect", str(tmp_path), "--recipe",
                                 "today's=a-1800,shipped:52.5,a-600", "--recipe", "b=b-600",
                                 "--out", str(table_path)]) == 0
    table = json.loads(table_path.read_text())
    assert [r["run"] for r in table["today's"]] == ["a-600", "a-1800", "shipped"]
    assert table["today's"][0]["minutes"] == 5.5 and table["today's"][2]["minutes"] == 52.5
    assert table["b"][0]["bits_per_dim"] is None
    assert quality_minutes.main(["plot", str(table_path), "--out", str(fig)]) == 0
    assert fig.stat().st_size > 10_000


def test_a_run_without_its_figures_is_one_line(tmp_path, capsys):
    _run(tmp_path, "a", 600, None, 4.0)
    assert quality_minutes.main(["collect", str(tmp_path), "--recipe", "x=a",
                                 "--out", str(tmp_path / "t.json")]) == 2
    assert "a.train.log" in capsys.readouterr().err
    assert quality_minutes.main(["collect", str(tmp_path), "--recipe", "x=none",
                                 "--out", str(tmp_path / "t.json")]) == 2
    assert "none.eval.json does not exist" in capsys.readouterr().err
