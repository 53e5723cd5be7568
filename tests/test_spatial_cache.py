"""The buffer cache (`_empty`, given in module 01, used by modules 02 and 09): a big array
is handed out again only once nothing refers to it, and CNN results with recycled buffers
equal results with fresh ones."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from grader.package import ModuleSource, build_package
from tinytorch.core import spatial, tensor

from .conftest import COURSE, LAYOUT

BIG = (512, 1024)  # 2 MiB of float32: above the cache's 1 MiB threshold


@pytest.fixture(autouse=True)
def empty_cache():
    spatial._CACHE.clear()
    yield
    spatial._CACHE.clear()


def test_a_buffer_in_use_is_never_handed_out_again():
    first = spatial._empty(BIG, np.float32)
    view = first[::2].T  # a view keeps the memory busy, even after `first` is gone
    del first
    second = spatial._empty(BIG, np.float32)
    assert not np.shares_memory(view, second)
    del view
    third = spatial._empty(BIG, np.float32)
    assert not np.shares_memory(second, third), "second is still alive"


def test_a_released_buffer_is_recycled_with_its_new_shape():
    address = spatial._empty(BIG, np.float32).__array_interface__["data"][0]
    again = spatial._empty((1024, 512), np.float32)
    assert again.__array_interface__["data"][0] == address and again.shape == (1024, 512)
    assert spatial._zeros((2, 256, 1024), np.float32).any() == 0
    small = spatial._empty((10, 10), np.float32)
    assert all(b.nbytes != small.nbytes for b in spatial._CACHE), "small arrays are not kept"


def test_the_cache_stops_growing_at_its_limit_and_free_buffers_make_room(monkeypatch):
    monkeypatch.setattr(tensor, "_CACHE_MAX_BYTES", 3 * (1 << 21))
    held = [spatial._empty(BIG, np.float32) for _ in range(5)]
    assert len(spatial._CACHE) == 3 and len({id(a.base) for a in held}) == 5
    del held[:2]  # frees two cached buffers
    other = spatial._empty((2, 512, 1024), np.float32)  # 4 MiB: evicts both free ones
    assert [b.nbytes for b in spatial._CACHE] == [1 << 21, 1 << 22]
    assert np.shares_memory(other, spatial._CACHE[1]), "the new buffer is the cached one"


def test_empty_like_keeps_the_memory_order_and_recycles_big_buffers():
    nhwc = np.zeros((2, 512, 64, 16), np.float32)  # 4 MiB, channels-last
    nchw = nhwc.transpose(0, 3, 1, 2)
    like = tensor._empty_like(nchw)
    assert like.shape == nchw.shape and like.strides == nchw.strides, "channels-last kept"
    address = like.__array_interface__["data"][0]
    del like
    again = tensor._empty_like(nchw)
    assert again.__array_interface__["data"][0] == address, "the free buffer is reused"
    small = np.zeros((3, 4), np.float32).T
    assert tensor._empty_like(small).strides == small.strides and len(spatial._CACHE) == 1


CNN_STEPS = textwrap.dedent(
    """
    import numpy as np
    import tinytorch
    from tinytorch.core import spatial
    from tinytorch.core.tensor import Tensor

    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((32, 3, 32, 32)).astype(np.float32))
    weight = Tensor(rng.standard_normal((16, 3, 3, 3)).astype(np.float32), requires_grad=True)

    def gradient():
        weight.grad = None
        hidden = spatial.max_pool2d(spatial.conv2d(x, weight, padding=1), 2)
        (spatial.avg_pool2d(hidden, 2) * hidden[:, :, ::2, ::2]).sum().backward()
        return weight.grad.data.copy(), hidden.data.copy()

    first_grad, first_hidden = gradient()
    assert len(spatial._CACHE) >= 3, "the big arrays of a conv step should be cached"
    for _ in range(3):
        grad, hidden = gradient()
        np.testing.assert_array_equal(grad, first_grad)
        np.testing.assert_array_equal(hidden, first_hidden)
    print("same")
    """
)


def test_cnn_steps_with_recycled_buffers_give_the_same_gradients(tmp_path):
    modules = [COURSE.module(n) for n in range(1, 10)]
    sources = [ModuleSource.in_tree(m, LAYOUT.solutions, "solutions") for m in modules]
    build_package(tmp_path, sources)
    result = subprocess.run(
        [sys.executable, "-c", CNN_STEPS],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(tmp_path), "OPENBLAS_NUM_THREADS": "1"},
    )
    assert result.stdout.strip() == "same", result.stderr[-2000:]
