"""`import tinytorch` works at every point of the course.

For every k, a student has finished modules 1..k (the solutions) while k+1.. are unlocked
but untouched (the starters). The student's package, built as `make package` builds it,
must run the code of modules 1..k: forward only while module 05 is unfinished, with
gradients once it is done. Each k runs in a fresh interpreter, as a notebook kernel would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import load_course
from grader.layout import Layout
from grader.package import ModuleSource, build_package

LAYOUT = Layout()
COURSE = load_course(LAYOUT.manifest)
BUILT = [m for m in COURSE.modules if LAYOUT.module_file(LAYOUT.solutions, m).is_file()]

# What a student at module k runs of each finished module; `grad` is True once 05 is done.
USES = {
    1: "t = tt.Tensor([[1.0, 2.0], [3.0, 4.0]]); assert (t @ t).sum().item() == 54.0",
    2: "assert tt.relu(tt.Tensor([-1.0, 2.0])).numpy().tolist() == [0.0, 2.0]",
    3: "layer = tt.Linear(3, 2); out = layer(tt.randn(4, 3)); assert out.shape == (4, 2)",
    4: "loss = tt.cross_entropy(out, tt.Tensor([0, 1, 1, 0], dtype=np.int64)); "
    "assert loss.shape == ()",
    5: "loss.backward(); assert layer.weight.grad.shape == (2, 3)",
    6: "opt = tt.SGD(layer.parameters(), lr=0.1); before = layer.weight.numpy().copy(); "
    "opt.step(); assert not np.array_equal(before, layer.weight.numpy())",
    7: "tt.clip_grad_norm_(layer.parameters(), 1.0); tt.StepLR(opt, step_size=1).step()",
    8: "data = tt.TensorDataset(np.ones((5, 3)), np.zeros(5, dtype=np.int64)); "
    "assert [len(x) for x, _ in tt.DataLoader(data, batch_size=2)] == [2, 2, 1]",
    9: "image = tt.randn(1, 1, 5, 5, requires_grad=grad); y = tt.Conv2d(1, 2, 3)(image); "
    "assert y.shape == (1, 2, 3, 3)\nif grad: y.sum().backward(); assert image.grad.shape == "
    "(1, 1, 5, 5)",
    10: "bpe = tt.BPETokenizer.train('low lower lowest ' * 20, 262); "
    "assert bpe.decode(bpe.encode('lowest low')) == 'lowest low'",
    11: "ids = tt.Tensor([[1, 2, 2]], dtype=np.int64); vectors = tt.Embedding(5, 4)(ids); "
    "vectors = tt.SinusoidalPositionalEncoding(4, max_len=8)(vectors); "
    "assert vectors.shape == (1, 3, 4)",
    12: "attend = tt.MultiheadAttention(4, 2, batch_first=True); "
    "out, weights = attend(vectors, vectors, vectors, is_causal=True); "
    "assert out.shape == (1, 3, 4) and weights.shape == (1, 3, 3)\nif grad: out.sum().backward()",
    13: "assert tt.LayerNorm(4)(vectors).shape == (1, 3, 4); gpt = tt.GPT(11, 8, 8, 2, 1); "
    "logits = gpt(ids); assert logits.shape == (1, 3, 11); "
    "assert gpt.generate(ids, 2, seed=0).shape == (1, 5)\nif grad: logits.sum().backward()",
    14: "cache = tt.KVCache.for_model(gpt, 1); assert cache.nbytes == 2 * 1 * 2 * 8 * 4 * 4; "
    "assert tt.generate(gpt, ids, 3, seed=1).numpy().tolist() == "
    "tt.generate(gpt, ids, 3, seed=1, use_cache=False).numpy().tolist()",
    16: "m = np.arange(6.0).reshape(2, 3); assert np.allclose(tt.blocked_matmul(m, m.T, 2), "
    "m @ m.T); assert tt.race({'BLAS': lambda: m @ m.T}, m @ m.T, repeats=2)[0].speedup == 1",
    15: "stats = tt.measure_latency(lambda: gpt(ids), warmup=1, repeats=3); "
    "assert len(stats.samples) == 3 and stats.q1 <= stats.median <= stats.q3; "
    "assert tt.count_flops(layer, tt.randn(4, 3)) == 2 * 4 * 3 * 2\n"
    "with tt.profile(gpt) as prof: gpt(ids)\n"
    "assert {row.name for row in prof.key_averages()} >= {'GPT', 'head: Linear', 'MatMulFn'}",
    19: "report = tt.benchmark({'gpt': lambda: gpt(ids), 'layer': lambda: layer(tt.randn(4, 3))}, "
    "warmup=1, windows=5, min_window_seconds=1e-4, resamples=50, threads=1); "
    "assert report.order[:2] == ('gpt', 'layer'); "
    "assert report.variants['gpt'].ci_low <= report.variants['gpt'].ci_high; "
    "assert tt.BenchmarkReport.from_json(report.to_json()) == report",
    17: "small = tt.quantize_model(tt.Sequential(tt.Linear(3, 2), tt.ReLU()), [np.ones((4, 3))]); "
    "assert tt.model_size_bytes(small) == 6 + 2 * 4 + 2 * 4 + 4 + 4; "
    "assert small(tt.randn(5, 3)).shape == (5, 2)",
    18: "small = tt.magnitude_prune(tt.Linear(4, 3), 'weight', 0.5); "
    "assert tt.model_size(small).nonzero == 6 + 3\nif grad: "
    "small(tt.randn(2, 4)).sum().backward(); assert small.weight_orig.grad.shape == (3, 4)",
    20: "mlp = tt.Sequential(tt.Linear(6, 8), tt.ReLU(), tt.Linear(8, 3)); "
    "x = np.random.default_rng(0).random((20, 6)).astype(np.float32); "
    "thin = tt.factorize(mlp, (2,)); assert tt.predict(thin, x, batch_size=7).shape == (20,); "
    "assert 0.0 <= tt.agreement(thin, mlp, x) <= 1.0; assert tt.build(mlp, x, None) is not mlp",
}

PROGRAM = """
import json, sys, warnings
import numpy as np
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import tinytorch as tt
k = {k}
grad = k >= 5
{uses}
backward_error = None
if 1 <= k < 5:
    try:
        (tt.Tensor([1.0], requires_grad=True) * 2.0).sum().backward()
    except RuntimeError as error:
        backward_error = str(error)
print(json.dumps({{"warnings": [str(w.message) for w in caught], "backward": backward_error}}))
"""


def _student_package(tmp_path: Path, k: int) -> Path:
    """tinytorch/ of a student who finished modules 1..k, the later ones unlocked as stubs."""
    sources = []
    for module in BUILT:
        tree = LAYOUT.solutions if module.number <= k else LAYOUT.starter
        copy = tmp_path / "assignments" / module.dirname / module.filename
        copy.parent.mkdir(parents=True)
        shutil.copy(LAYOUT.module_file(tree, module), copy)
        sources.append(ModuleSource.in_tree(module, tmp_path / "assignments", "assignments"))
    build_package(tmp_path, sources, forward_only_until_autograd=True)
    return tmp_path


def _python(root: Path, code: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter that finds the package under `root`."""
    return subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(root)!r})\n{code}"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
    )


def _run(root: Path, k: int) -> dict:
    uses = "\n".join(USES[m.number] for m in BUILT if m.number <= k)
    result = _python(root, PROGRAM.format(k=k, uses=uses))
    assert result.returncode == 0, f"with modules 1..{k} done:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_number_of_finished_modules_is_walked():
    assert set(USES) == {m.number for m in BUILT}, "add a use of each built module to USES"


@pytest.mark.parametrize("k", [0, *(m.number for m in BUILT)])
def test_finished_modules_run_while_later_ones_are_stubs(tmp_path, k):
    outcome = _run(_student_package(tmp_path, k), k)
    forward_only = [w for w in outcome["warnings"] if "forward only" in w]
    if 1 <= k < 5:
        assert forward_only, f"k={k}: importing tinytorch should say gradients are off"
        assert "Task 05.1" in forward_only[0]
        assert "module 05" in outcome["backward"]
    if k >= 5:
        assert outcome["warnings"] == [], f"k={k}: no warning once module 05 works"


def test_a_broken_later_module_does_not_break_an_earlier_one(tmp_path):
    root = _student_package(tmp_path, 9)
    broken = root / "tinytorch" / "core" / "optimizers.py"
    broken.write_text("def broken(:\n", encoding="utf-8")
    outcome = _python(
        root,
        "import numpy as np, tinytorch as tt\n"
        "data = tt.TensorDataset(np.ones((2, 3)), np.zeros(2, dtype=np.int64))\n"
        "print(len(list(tt.DataLoader(data, batch_size=1))))\n"
        "try:\n    tt.SGD\nexcept SyntaxError as error:\n    print('SyntaxError', error.lineno)\n",
    )
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.stdout.split() == ["2", "SyntaxError", "1"]


def test_grading_packages_keep_stub_errors(tmp_path):
    """The grader stages strictly: an unfinished Engine.record fails where it is used."""
    sources = []
    for module in BUILT[:5]:
        tree = LAYOUT.solutions if module.number < 5 else LAYOUT.starter
        sources.append(ModuleSource(module, LAYOUT.module_file(tree, module), module.filename))
    build_package(tmp_path, sources)
    program = "import tinytorch as tt\ntt.Tensor([1.0], requires_grad=True) * 2.0"
    outcome = _python(tmp_path, program)
    assert "NotImplementedError: Task 05.1" in outcome.stderr
