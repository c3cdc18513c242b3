"""Security rules over the package source: no code runs from loaded files; the dashboard
stays on this machine unless told otherwise."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import aisnas
from aisnas.cli import build_parser

PACKAGE = Path(aisnas.__file__).parent

# Calls that execute code from what they load (or from a string), by dotted name.
UNSAFE = {"pickle.load", "pickle.loads", "pickle.Unpickler", "cPickle.load", "cPickle.loads", "dill.load",
          "dill.loads", "joblib.load", "marshal.load", "marshal.loads", "shelve.open", "pd.read_pickle",
          "pandas.read_pickle", "yaml.unsafe_load", "eval", "exec", "torch.jit.load"}
# The one reviewed exception: CIFAR-10's own batches are pickles, read by an unpickler
# that resolves only the globals a numpy array needs (aisnas/data/_cifar.py).
ALLOWED = {("data/_cifar.py", "pickle.Unpickler")}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _kw(call: ast.Call, name: str):
    for k in call.keywords:
        if k.arg == name:
            return k.value.value if isinstance(k.value, ast.Constant) else "dynamic"
    return None


def unsafe_calls(source: str, where: str) -> list[str]:
    """`where:line: what` for every call in `source` that may run code from a loaded file."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):  # subclassing an unpickler is using it
            names = [_dotted(b) for b in node.bases]
        elif isinstance(node, ast.Call):
            names = [_dotted(node.func)]
        else:
            continue
        for name in names:
            bad = None
            if name in UNSAFE and (where, name) not in ALLOWED:
                bad = name
            elif name == "torch.load" and _kw(node, "weights_only") is not True:
                bad = "torch.load without weights_only=True"
            elif name in ("np.load", "numpy.load") and _kw(node, "allow_pickle") not in (None, False):
                bad = f"{name} with allow_pickle"
            elif name == "yaml.load" and "Safe" not in ast.unparse(node):
                bad = "yaml.load without a safe loader"
            if bad:
                found.append((node.lineno, f"{where}:{node.lineno}: {bad}"))
    return [f for _, f in sorted(found)]


def test_the_scanner_finds_each_kind_of_unsafe_load():
    src = "\n".join([
        "import torch, pickle, numpy as np",
        "torch.load(p)",
        "torch.load(p, weights_only=False)",
        "torch.load(p, weights_only=True)",  # fine
        "pickle.loads(b)",
        "class U(pickle.Unpickler): pass",
        "np.load(f, allow_pickle=True)",
        "np.load(f)",  # fine: numpy refuses pickles by default
        "eval(text)",
    ])
    assert [f.split(": ", 1)[1] for f in unsafe_calls(src, "x.py")] == [
        "torch.load without weights_only=True", "torch.load without weights_only=True", "pickle.loads",
        "pickle.Unpickler", "np.load with allow_pickle", "eval"]
    assert unsafe_calls("class U(pickle.Unpickler): pass", "data/_cifar.py") == []


def test_no_package_code_loads_files_in_a_way_that_can_run_code():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 30
    found = [f for p in files for f in unsafe_calls(p.read_text(), p.relative_to(PACKAGE).as_posix())]
    assert found == []


def test_the_cifar_unpickler_resolves_only_what_it_allows():
    tree = ast.parse((PACKAGE / "data" / "_cifar.py").read_text())
    (cls,) = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and "pickle.Unpickler" in map(_dotted, n.bases)]
    assert "find_class" in {f.name for f in cls.body if isinstance(f, ast.FunctionDef)}


def test_the_dashboard_listens_on_localhost_unless_told_otherwise():
    from aisnas.report import serve_dashboard

    assert build_parser().parse_args(["dashboard"]).host == "127.0.0.1"
    assert inspect.signature(serve_dashboard).parameters["host"].default == "127.0.0.1"
    assert build_parser().parse_args(["dashboard", "--host", "0.0.0.0"]).host == "0.0.0.0"
