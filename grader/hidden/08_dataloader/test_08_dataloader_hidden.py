"""Hidden tests for module 08 (DataLoader): batching and shuffling over many sizes,
transforms against NumPy references, reproducibility from seeds.

Every call on the loader and the transforms runs in the worker; expected values are
computed here with NumPy from the inputs this file made.
PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.testing.checks import as_array, assert_array, assert_tensor, items
from grader.testing.kit import Remote, aids, student, worker_module
from grader.testing.strategies import arrays

dataloader = student.dataloader
Compose, DataLoader, TensorDataset = (
    dataloader.Compose,
    dataloader.DataLoader,
    dataloader.TensorDataset,
)
Normalize, RandomCrop, RandomHorizontalFlip = (
    dataloader.Normalize,
    dataloader.RandomCrop,
    dataloader.RandomHorizontalFlip,
)
Tensor = student.tensor.Tensor
builtins = worker_module("builtins")
length, listed = builtins.len, builtins.list  # len(...) and list(...) beside the student's code
Squares = aids.dataloader.Squares  # only __len__ and __getitem__: the loader's slow path


def _epochs(loader, count=1):
    """`count` passes over the loader (one request): each a list of batches, each batch
    the `.data` of its fields. The aid runs in the worker: its count is checked here."""
    return items(aids.dataloader.epochs(loader, count), count, "the epochs")


def _labels(loader, count=1):
    """The label field of every batch, concatenated, for each of `count` epochs."""
    result = []
    for epoch in _epochs(loader, count):
        labels = [fields[-1] for fields in epoch]
        for value in labels:
            if type(value) is not np.ndarray:
                raise AssertionError(
                    "a loader batch should hold Tensors (with a NumPy array in .data), but "
                    f"its last field's .data is {value!r}"
                )
        result.append(np.concatenate(labels))
    return result


def _values(value, what):
    """An array that came back, or the `.data` of a Tensor that stayed in the worker."""
    if isinstance(value, Remote):
        value = getattr(value, "data", value)
    if isinstance(value, Remote):
        raise AssertionError(f"{what} should be an array or a Tensor, got a {value!r}")
    return np.asarray(value)


@pytest.mark.task("08.1")
@pytest.mark.points(3)
@given(n=st.integers(1, 20), data=st.data())
def test_tensor_dataset_indexing(n, data):
    images = np.arange(n * 6, dtype=np.float32).reshape(n, 2, 3)
    labels = np.arange(n) % 3
    dataset = TensorDataset(Tensor(images), labels)
    assert length(dataset) == n
    i = data.draw(st.integers(0, n - 1))
    image, label = dataset[i]
    np.testing.assert_array_equal(_values(image, "dataset[i][0]"), images[i])
    assert int(_values(label, "dataset[i][1]")) == labels[i]
    picks = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5)))
    batch_images, batch_labels = dataset.get_batch(picks)
    for name, value in (("images", batch_images), ("labels", batch_labels)):
        assert not isinstance(value, Remote), f"get_batch should return arrays, its {name} is not"
    np.testing.assert_array_equal(np.asarray(batch_images), images[picks])
    np.testing.assert_array_equal(np.asarray(batch_labels), labels[picks])


@pytest.mark.task("08.1")
@pytest.mark.points(1)
def test_tensor_dataset_rejects_different_lengths():
    with pytest.raises(ValueError, match=r"\[4, 4, 3\]"):
        TensorDataset(np.zeros((4, 2)), np.zeros(4), np.zeros(3))
    rows = np.arange(8.0).reshape(4, 2)
    image, label = TensorDataset(rows, np.arange(4), np.zeros(4))[2][:2]  # equal lengths load
    assert_array(_values(image, "dataset[2][0]"), rows[2], "dataset[2][0]", dtype=None)
    assert int(_values(label, "dataset[2][1]")) == 2, "dataset[2][1]"


@pytest.mark.task("08.2")
@pytest.mark.points(4)
@given(n=st.integers(1, 40), batch_size=st.integers(1, 12), drop_last=st.booleans())
def test_batch_count_sizes_and_order(n, batch_size, drop_last):
    x = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    y = np.arange(n)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, drop_last=drop_last)
    expected_count = n // batch_size if drop_last else -(-n // batch_size)
    assert length(loader) == expected_count, f"len(loader) for N={n}, batch_size={batch_size}"
    (batches,) = _epochs(loader)  # the .data of each Tensor of each batch
    assert len(batches) == expected_count, "iteration must yield len(loader) batches"
    seen = expected_count * batch_size if drop_last else n
    for index, (xb, yb) in enumerate(batches):
        rows = slice(index * batch_size, min((index + 1) * batch_size, seen))
        assert_array(xb, x[rows], f"batch {index} of x (float data as float32)")
        assert_array(yb, y[rows], f"batch {index} of labels (int64)", dtype=np.int64)


@pytest.mark.task("08.2")
@pytest.mark.points(2)
def test_datasets_without_array_indexing_are_stacked():
    batches = listed(DataLoader(Squares(), batch_size=3))
    assert [tuple(x.shape) for x, _ in batches] == [(3, 2, 2), (3, 2, 2), (1, 2, 2)]
    assert_tensor(batches[1][0], np.stack([np.full((2, 2), i) for i in (3, 4, 5)]), "x")
    assert_tensor(batches[2][1], [36], "labels of the last batch", dtype=np.int64)
    assert_tensor(
        listed(DataLoader(Squares(), batch_size=7))[0][1], np.arange(7) ** 2, "y", dtype=np.int64
    )


@pytest.mark.task("08.3")
@pytest.mark.points(4)
@given(n=st.integers(2, 40), batch_size=st.integers(1, 9), seed=st.integers(0, 1000))
def test_shuffled_epochs_are_permutations_reproducible_from_the_seed(n, batch_size, seed):
    def loader():
        dataset = TensorDataset(np.arange(n))
        return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=seed)

    first_loader, second_loader = loader(), loader()
    epochs = _labels(first_loader, 3)
    for epoch in epochs:
        assert sorted(epoch.tolist()) == list(range(n)), "an epoch must visit each sample once"
    for epoch, again in zip(epochs, _labels(second_loader, 3), strict=True):
        np.testing.assert_array_equal(again, epoch, "same seed, same epochs")
    if n >= 6:
        assert not np.array_equal(epochs[0], epochs[1]), "every epoch needs a new order"


@pytest.mark.task("08.3")
@pytest.mark.points(2)
def test_shuffle_is_uniform_and_takes_a_generator():
    generator = worker_module("numpy.random").default_rng(1)
    loader = DataLoader(
        TensorDataset(np.arange(4)), batch_size=4, shuffle=True, generator=generator
    )
    firsts = np.bincount([epoch[0] for epoch in _labels(loader, 400)], minlength=4)
    assert firsts.min() > 60, f"each sample should come first about 100 times in 400: {firsts}"
    unshuffled = DataLoader(TensorDataset(np.arange(5)), batch_size=2)
    np.testing.assert_array_equal(_labels(unshuffled)[0], np.arange(5))


@pytest.mark.task("08.4")
@pytest.mark.points(3)
@given(data=st.data())
def test_normalize_matches_numpy(data):
    channels = data.draw(st.integers(1, 4))
    x = data.draw(arrays((data.draw(st.integers(1, 3)), channels, 3, 2), -5, 5))
    mean = data.draw(arrays((channels,), -2, 2))
    std = data.draw(arrays((channels,), 0.5, 3))
    out = Normalize(mean, std)(Tensor(x))
    expected = (x - mean[None, :, None, None]) / std[None, :, None, None]
    assert_tensor(out, expected, f"Normalize of {x.shape}", rtol=1e-5, atol=1e-5)


@pytest.mark.task("08.4")
@pytest.mark.points(1)
def test_normalize_checks_the_channel_count():
    normalize = Normalize([0.5, 0.5, 0.5], [0.2, 0.2, 0.2])
    with pytest.raises(ValueError, match=r"\(2, 1, 4, 4\)"):
        normalize(Tensor(np.zeros((2, 1, 4, 4))))
    # A batch of 5 images of 2 channels: the error must not mistake one size for the other.
    with pytest.raises(ValueError, match=r"\(5, 2, 4, 4\)") as error:
        normalize(Tensor(np.zeros((5, 2, 4, 4))))
    assert "5 channels" not in str(error.value), f"5 is the batch size: {error.value}"
    ones = np.ones((5, 3, 2, 2), dtype=np.float32)  # the right channel count still works
    assert_tensor(normalize(Tensor(ones)), np.full((5, 3, 2, 2), 2.5), "Normalize of ones")


@pytest.mark.task("08.5")
@pytest.mark.points(3)
@given(seed=st.integers(0, 1000))
def test_flip_mirrors_about_a_fraction_p_of_the_images(seed):
    images = np.random.default_rng(seed).standard_normal((200, 2, 3, 4)).astype(np.float32)
    out = as_array(RandomHorizontalFlip(0.3, generator=seed)(Tensor(images)), "flip")
    assert out.shape == images.shape
    mirrored = np.all(out == images[..., ::-1], axis=(1, 2, 3))
    kept = np.all(out == images, axis=(1, 2, 3))
    assert np.all(mirrored | kept), "each image must be either kept or mirrored whole"
    assert 35 <= mirrored.sum() <= 85, f"p=0.3 should mirror about 60 of 200, got {mirrored.sum()}"
    again = as_array(RandomHorizontalFlip(0.3, generator=seed)(Tensor(images)), "flip")
    np.testing.assert_array_equal(again, out, "the same seed must give the same flips")


@pytest.mark.task("08.6")
@pytest.mark.points(4)
@given(
    size=st.integers(1, 5),
    padding=st.integers(0, 2),
    seed=st.integers(0, 1000),
    n=st.integers(1, 6),
)
def test_crop_returns_windows_of_the_padded_images(size, padding, seed, n):
    side = max(size, 3)
    images = np.random.default_rng(seed).standard_normal((n, 2, side, side)).astype(np.float32)
    out = as_array(RandomCrop(size, padding=padding, generator=seed)(Tensor(images)), "crop")
    assert out.shape == (n, 2, size, size), f"RandomCrop({size}) of {images.shape}: {out.shape}"
    padded = np.pad(images, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    last = side + 2 * padding - size
    for k in range(n):
        matches = [
            np.array_equal(out[k], padded[k, :, i : i + size, j : j + size])
            for i in range(last + 1)
            for j in range(last + 1)
        ]
        assert any(matches), f"crop {k} is not a window of its padded image"


@pytest.mark.task("08.6")
@pytest.mark.points(2)
def test_a_rectangular_crop_of_rectangular_images_covers_every_offset():
    # Height and width differ everywhere (images 4 x 6, windows 2 x 3, padding 1): a crop
    # that takes one for the other is caught.
    images = np.random.default_rng(5).standard_normal((300, 2, 4, 6)).astype(np.float32)
    out = as_array(RandomCrop((2, 3), padding=1, generator=4)(Tensor(images)), "RandomCrop")
    assert out.shape == (300, 2, 2, 3), f"RandomCrop((2, 3)) of {images.shape}: {out.shape}"
    padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))
    offsets = set()
    for k in range(300):
        found = [
            (i, j)
            for i in range(5)
            for j in range(6)
            if np.array_equal(out[k], padded[k, :, i : i + 2, j : j + 3])
        ]
        assert found, f"crop {k} is not a 2 x 3 window of its padded image"
        offsets.add(found[0])
    rows, columns = {i for i, _ in offsets}, {j for _, j in offsets}
    assert rows == set(range(5)) and columns == set(range(6)), (
        f"offsets should cover rows 0..4 and columns 0..5; got rows {sorted(rows)}, "
        f"columns {sorted(columns)}"
    )


@pytest.mark.task("08.6")
@pytest.mark.points(2)
def test_crop_offsets_cover_every_position_and_compose_chains():
    image = np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2)
    crops = as_array(RandomCrop(2, padding=1, generator=3)(Tensor(np.repeat(image, 300, 0))), "c")
    padded = np.pad(image[0, 0], 1)
    counts = [
        sum(np.array_equal(c[0], padded[i : i + 2, j : j + 2]) for c in crops)
        for i in range(3)
        for j in range(3)
    ]
    assert min(counts) > 10, f"all 9 offsets should occur about 33 times in 300: {counts}"
    pipeline = Compose([RandomCrop(2, generator=0), RandomHorizontalFlip(1.0), Normalize([1], [2])])
    assert_tensor(pipeline(Tensor(image)), (image[..., ::-1] - 1) / 2, "Compose of three")
