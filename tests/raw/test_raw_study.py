"""The raw study and `aisnas data preview`: wiring from study file to trials and pictures."""

import optuna
import pytest
from PIL import Image

from aisnas.cli import main
from aisnas.data import write_synthetic_image_folder
from aisnas.raw import PAPER_VARIANTS
from aisnas.search import load_study, run_search



@pytest.fixture
def tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("AISNAS_CACHE", str(tmp_path / "cache"))
    return write_synthetic_image_folder(tmp_path / "data", train=10, test=3)


def test_raw_study_covers_the_paper_variants():
    rs = load_study("raw", "smoke")
    variants = [rs.space.variant(label).args["input_variant"] for label in rs.space.labels]
    assert variants == list(PAPER_VARIANTS)


def test_variant_trials_train_on_the_transformed_inputs_and_price_the_isp(tiny, tmp_path):
    space = tmp_path / "space.toml"
    space.write_text('kind = "variants"\n'
                     '[[variants]]\nlabel = "rgb"\narch = "cnn3"\nargs = { input_variant = "N/A" }\n'
                     '[[variants]]\nlabel = "mosaic"\narch = "cnn3"\nargs = { input_variant = "M" }\n')
    study = tmp_path / "rawtiny.toml"
    study.write_text('description = "tiny raw"\nspace = "./space.toml"\nwidth = 0.25\n'
                     '[data]\ntrain_size = 60\nval_size = 30\n[train]\nepochs = 1\nbatch_size = 20\n'
                     '[eval]\nsigmas = [0.0, 0.4]\nrepeats = 1\n')
    url = f"sqlite:///{tmp_path / 'r.db'}"
    s = run_search(str(study), storage=url, data=str(tiny), quiet=True)
    assert s.complete == 2
    trials = {t.params["variant"]: t for t in optuna.load_study(study_name="rawtiny", storage=url).trials}
    assert trials["mosaic"].user_attrs["input_variant"] == "M"
    # A processed-RGB input pays for the ISP (demosaic, colour, tone); the raw mosaic does less.
    isp = {k: t.user_attrs["ppa"]["energy_by_component_pj"]["isp"] for k, t in trials.items()}
    assert isp["rgb"] > isp["mosaic"]


def test_data_preview_writes_a_grid_of_the_documented_size(tiny, tmp_path, capsys):
    out = tmp_path / "grid.png"
    code = main(["data", "preview", "--variant", "U+C+M", "--variant", "N/A,M+RM", "--out", str(out),
                 "--data", str(tiny), "--images", "2", "--scale", "2"])
    assert code == 0 and "3 variants" in capsys.readouterr().out
    w, h = Image.open(out).size
    assert w > 3 * 32 * 2 and h > 2 * 32 * 2  # 3 columns, 2 rows of 64 px images plus gaps and labels


def test_data_preview_rejects_unknown_codes_in_one_line(tiny, tmp_path, capsys):
    code = main(["data", "preview", "--variant", "U+X", "--out", str(tmp_path / "x.png"), "--data", str(tiny)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "allowed codes" in err
    assert not (tmp_path / "x.png").exists()
