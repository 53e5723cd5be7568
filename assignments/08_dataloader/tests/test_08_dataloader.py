"""Visible tests for module 08 (DataLoader). Run them with `make grade MODULE=08`.

Each test names its task; the hidden tests check the same tasks on many more sizes.
Your code runs in a separate process: `student.dataloader.DataLoader` is your class there,
and `assert_tensor` fetches a returned Tensor's `.data` and compares it with an array.
"""

import numpy as np
import pytest

from grader.testing.checks import as_array, assert_tensor
from grader.testing.kit import Remote, student, worker_module

dataloader = student.dataloader
DataLoader, TensorDataset = dataloader.DataLoader, dataloader.TensorDataset
Normalize, RandomCrop = dataloader.Normalize, dataloader.RandomCrop
RandomHorizontalFlip = dataloader.RandomHorizontalFlip
Tensor = student.tensor.Tensor
builtins = worker_module("builtins")
length, listed = builtins.len, builtins.list  # len(...) and list(...) beside your code

X = np.arange(20, dtype=np.float32).reshape(10, 2)
Y = np.arange(10)


@pytest.mark.task("08.1")
@pytest.mark.points(2)
def test_tensor_dataset_rows():
    data = TensorDataset(X, Tensor(Y, dtype=np.int64))
    assert length(data) == 10
    row, label = data[3]
    for name, value in (("row", row), ("label", label)):
        assert not isinstance(value, Remote), f"data[3] should hold arrays, its {name} is not one"
    np.testing.assert_array_equal(row, [6, 7])
    assert label == 3
    with pytest.raises(ValueError, match=r"\[10, 9\]"):
        TensorDataset(X, Y[:9])


@pytest.mark.task("08.2")
@pytest.mark.points(3)
def test_batches_in_order_with_a_short_last_batch():
    loader = DataLoader(TensorDataset(X, Y), batch_size=4)
    assert length(loader) == 3
    batches = listed(loader)
    assert [tuple(x.shape) for x, _ in batches] == [(4, 2), (4, 2), (2, 2)]
    assert_tensor(batches[1][0], X[4:8], "second batch of x")
    assert_tensor(batches[2][1], Y[8:], "last batch of labels", dtype=np.int64)
    assert length(DataLoader(TensorDataset(X, Y), batch_size=4, drop_last=True)) == 2


@pytest.mark.task("08.3")
@pytest.mark.points(3)
def test_shuffle_is_a_seeded_permutation_per_epoch():
    loader = DataLoader(TensorDataset(Y), batch_size=3, shuffle=True, generator=0)
    first = np.concatenate([y.data for (y,) in loader])
    second = np.concatenate([y.data for (y,) in loader])
    assert sorted(first) == list(range(10)), "each epoch visits every sample once"
    assert not np.array_equal(first, second), "each epoch has a new order"
    again = DataLoader(TensorDataset(Y), batch_size=3, shuffle=True, generator=0)
    np.testing.assert_array_equal(np.concatenate([y.data for (y,) in again]), first)


@pytest.mark.task("08.4")
@pytest.mark.points(2)
def test_normalize_each_channel():
    batch = Tensor(np.stack([np.full((2, 2), 3.0), np.full((2, 2), 10.0)])[None])
    out = Normalize(mean=[1.0, 4.0], std=[2.0, 3.0])(batch)
    assert_tensor(out, np.stack([np.ones((2, 2)), np.full((2, 2), 2.0)])[None], "Normalize")


@pytest.mark.task("08.5")
@pytest.mark.points(2)
def test_flip_mirrors_left_right():
    values = np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)
    batch = Tensor(values)
    assert_tensor(RandomHorizontalFlip(p=1.0)(batch), [[[[2, 1, 0], [5, 4, 3]]]], "p=1 flip")
    assert_tensor(RandomHorizontalFlip(p=0.0)(batch), values, "p=0 flip")


@pytest.mark.task("08.6")
@pytest.mark.points(3)
def test_crop_cuts_a_window_of_the_padded_image():
    image = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    out = RandomCrop(4, padding=1, generator=0)(Tensor(np.repeat(image, 50, axis=0)))
    assert out.shape == (50, 1, 4, 4)
    crops = as_array(out, "RandomCrop(4, padding=1)")
    padded = np.pad(image[0, 0], 1)
    windows = {padded[i : i + 4, j : j + 4].tobytes() for i in range(3) for j in range(3)}
    assert all(crop[0].tobytes() in windows for crop in crops), "a crop is not a window"
    assert len({crop[0].tobytes() for crop in crops}) > 3, "offsets must vary per image"
