"""A tiny copy of the `ais` study (imported by the ais tests)."""

from pathlib import Path

from aisnas.search import builtin_path


def tiny_ais_study(dst: Path, **replace: str) -> Path:
    """studies/ais.toml with its smoke budget shrunk to the tiny dataset (and `replace`d text).

    Everything else is the shipped study: space, objectives, constraints, baselines.
    """
    text = builtin_path("studies", "ais").read_text()
    smoke = text.index("[budgets.smoke]")
    head, tail = text[:smoke], text[smoke:]
    tail = (tail.replace("train_size = 1000", "train_size = 100", 1).replace("val_size = 500", "val_size = 40", 1)
            .replace("batch_size = 32", "batch_size = 25", 1))
    text = head + tail
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    dst.mkdir(parents=True, exist_ok=True)
    path = dst / "ais.toml"
    path.write_text(text)
    return path
