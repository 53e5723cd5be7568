"""Hidden tests for module 17 (quantization).

Every expected value is recomputed here by grader/testing/quant_reference.py: scales in
float32 as the lesson defines them, zero points, levels (one level of slack only at
rounding ties), exact integer sums in int64, quantized layers and whole models in
float64. Sizes in bytes are counted from the shapes the tests choose. The accuracy test
trains its own network on the real 8x8 digits here, puts the weights into the student's
layers, and computes the accuracy from the quantized model's logits on the held-out
digits: no number the student's process reports is believed.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.testing import quant_reference as ref
from grader.testing.checks import as_array, assert_array
from grader.testing.kit import is_instance, student
from grader.testing.strategies import arrays, conv_inputs
from grader.testing.trainer import Classifier, student_classifier

quantization = student.quantization
Linear, ReLU, Sequential = student.layers.Linear, student.layers.ReLU, student.layers.Sequential
Conv2d, MaxPool2d = student.spatial.Conv2d, student.spatial.MaxPool2d
BatchNorm2d, Flatten = student.spatial.BatchNorm2d, student.spatial.Flatten
Tensor = student.tensor.Tensor

F32, F64 = np.float32, np.float64
DIGITS = Path(__file__).with_name("digits.npz")  # a copy of milestones/datasets/digits.npz


def _weights(rng, shape, zero_channel=False):
    """float32 weights whose channels differ in size by up to 100x."""
    w = rng.standard_normal(shape) * 10.0 ** rng.uniform(
        -2, 0, (shape[0],) + (1,) * (len(shape) - 1)
    )
    if zero_channel:
        w[0] = 0.0
    return w.astype(F32)


def _check_per_channel(got, weight, what):
    q, scale = got
    levels, want_scale, quotient = ref.per_channel(weight)
    assert_array(scale, want_scale, f"{what}: scales", rtol=1e-6, atol=0)
    ref.assert_levels(q, levels, quotient, f"{what}: levels")


# ---- 17.1 per-channel weights ----
@pytest.mark.task("17.1")
@pytest.mark.points(3)
@given(
    shape=st.sampled_from([(1, 1), (4, 7), (16, 3), (3, 2, 3, 3), (5, 1, 1, 2)]),
    seed=st.integers(0, 2**16),
)
def test_per_channel_scales_and_levels_match_numpy(shape, seed):
    weight = _weights(np.random.default_rng(seed), shape)
    _check_per_channel(quantization.quantize_per_channel(weight), weight, f"weight {shape}")


@pytest.mark.task("17.1")
@pytest.mark.points(2)
def test_per_channel_rounds_half_to_even_and_keeps_zero_channels():
    # scale 1/64 exactly (max 127/64): the quotients are exact halves
    row = np.array([127, 0.5, 1.5, 2.5, -0.5, -2.5, -127], dtype=F32) / 64
    weight = np.stack([row, np.zeros(7, F32)])
    q, scale = quantization.quantize_per_channel(weight)
    assert_array(scale, np.array([1 / 64, ref.EPS], dtype=F32), "scales", rtol=0, atol=0)
    assert isinstance(q, np.ndarray) and q.dtype == np.int8, "levels are an int8 array"
    got = q.tolist()
    assert got[0] == [127, 0, 2, 2, 0, -2, -127], f"halves round to even: {got[0]}"
    assert got[1] == [0] * 7, f"an all-zero channel stays zero: {got[1]}"
    with pytest.raises(ValueError):
        quantization.quantize_per_channel(np.array([[1.0, np.inf]], dtype=F32))


@pytest.mark.task("17.1")
@pytest.mark.points(2)
def test_dequantize_per_channel_and_per_tensor():
    rng = np.random.default_rng(3)
    q = rng.integers(-128, 128, (4, 2, 3)).astype(np.int8)
    scale = rng.uniform(0.001, 0.1, 4).astype(F32)
    expected = q.astype(F64) * scale.astype(F64)[:, None, None]
    assert_array(quantization.dequantize(q, scale), expected, "per-channel dequantize", rtol=1e-6)
    expected = (q.astype(F64) - 7) * float(F32(0.05))
    got = quantization.dequantize(q, F32(0.05), 7)
    assert_array(got, expected, "dequantize with zero point 7", rtol=1e-6)


# ---- 17.2 per-tensor activations ----
@pytest.mark.task("17.2")
@pytest.mark.points(3)
@given(
    low=st.floats(-100, 50, width=32),
    width=st.floats(0, 200, width=32),
)
def test_affine_qparams_follow_the_rule(low, width):
    high = float(F32(low + width))
    got = quantization.affine_qparams(low, high)
    ref.assert_qparams(got, low, high, f"affine_qparams({low}, {high})")


@pytest.mark.task("17.2")
@pytest.mark.points(1)
def test_affine_qparams_of_a_zero_range():
    got = quantization.affine_qparams(0.0, 0.0)
    ref.assert_qparams(got, 0.0, 0.0, "affine_qparams(0, 0): the scale is floored at eps")
    got = quantization.affine_qparams(2.0, 3.0)
    ref.assert_qparams(got, 2.0, 3.0, "affine_qparams(2, 3): the range is stretched to hold 0")


@pytest.mark.task("17.2")
@pytest.mark.points(3)
@given(
    x=arrays(st.sampled_from([(7,), (3, 5), (2, 2, 4)]), -30, 30),
    low=st.floats(-10, 0),
    high=st.floats(0.01, 10),
)
def test_quantize_affine_levels_match_numpy(x, low, high):
    scale, zero_point, _ = ref.affine_qparams(low, high)
    levels, quotient = ref.levels(x, scale, zero_point)
    got = quantization.quantize_affine(x, float(scale), zero_point)
    ref.assert_levels(got, levels, quotient, f"quantize_affine(x, {scale}, {zero_point})")


@pytest.mark.task("17.2")
@pytest.mark.points(2)
def test_quantize_affine_rounds_half_to_even_and_clips():
    x = np.array([-1000.0, 0.125, 0.375, 0.625, -0.125, -0.375, 1000.0, 31.75], dtype=F32)
    got = quantization.quantize_affine(x, 0.25, 3)  # quotients -4000, .5, 1.5, 2.5, ...
    assert isinstance(got, np.ndarray) and got.dtype == np.int8, "levels are an int8 array"
    assert got.tolist() == [-128, 3, 5, 5, 3, 1, 127, 127], got.tolist()
    with pytest.raises(ValueError):
        quantization.quantize_affine(x, 0.0, 0)


# ---- 17.3 calibration ----
@pytest.mark.task("17.3")
@pytest.mark.points(3)
def test_minmax_observer_keeps_the_range_of_every_batch():
    rng = np.random.default_rng(5)
    batches = [rng.normal(shift, 1.0, shape).astype(F32) for shift, shape in
               ((0.5, (4, 3)), (3.0, (2, 5)), (-2.0, (6,)), (0.0, (1, 1)))]  # fmt: skip
    observer = quantization.MinMaxObserver()
    for batch in batches:
        out = observer(Tensor(batch))
        assert_array(as_array(out, "an observer's output"), batch, "the observer passes x on")
    low = min(float(b.min()) for b in batches)
    high = max(float(b.max()) for b in batches)
    seen = (observer.min_val, observer.max_val)
    assert seen == (low, high), f"min_val and max_val: {seen}, expected {(low, high)}"
    ref.assert_qparams(observer.calculate_qparams(), low, high, "MinMaxObserver")


@pytest.mark.task("17.3")
@pytest.mark.points(3)
@pytest.mark.parametrize("percentile", [99.9, 99.0, 100.0])
def test_percentile_observer_ignores_outliers(percentile):
    rng = np.random.default_rng(6)
    batches = [rng.standard_normal((50, 40)).astype(F32) for _ in range(3)]
    batches[1][3, 7] = 80.0  # one outlier among 6,000 values
    observer = quantization.PercentileObserver(percentile=percentile)
    for batch in batches:
        observer(Tensor(batch))
    values = np.concatenate([b.ravel() for b in batches])
    low, high = np.percentile(values, [100 - percentile, percentile])
    what = f"PercentileObserver({percentile})"
    scale, _ = ref.assert_qparams(observer.calculate_qparams(), low, high, what)
    if percentile < 100:
        assert scale < 10 / 255, f"{what}: the outlier at 80 set the scale ({scale})"


@pytest.mark.task("17.3")
@pytest.mark.points(1)
def test_observers_refuse_to_answer_before_calibration():
    with pytest.raises(ValueError):
        quantization.MinMaxObserver().calculate_qparams()
    with pytest.raises(ValueError):
        quantization.PercentileObserver().calculate_qparams()
    observer = quantization.PercentileObserver(percentile=100.0)
    observer(Tensor(np.array([-1.0, 4.0], dtype=F32)))
    ref.assert_qparams(observer.calculate_qparams(), -1.0, 4.0, "PercentileObserver(100)")


# ---- 17.4 the exact integer matmul ----
@pytest.mark.task("17.4")
@pytest.mark.points(3)
@given(m=st.integers(1, 6), k=st.integers(1, 40), n=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_int8_matmul_matches_integer_arithmetic(m, k, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, (m, k)).astype(np.int8)
    b = rng.integers(-128, 128, (k, n)).astype(np.int8)
    got = quantization.int8_matmul(a, b)
    assert_array(got, a.astype(np.int64) @ b.astype(np.int64), f"({m}, {k}) @ ({k}, {n})",
                 rtol=0, atol=0, dtype=np.int32)  # fmt: skip


@pytest.mark.task("17.4")
@pytest.mark.points(4)
@pytest.mark.parametrize("depth", [1025, 3000, 9000])
def test_int8_matmul_is_exact_on_deep_sums(depth):
    rng = np.random.default_rng(depth)
    # same-signed values: partial sums pass 2**24, where float32 skips odd integers
    a = rng.integers(90, 128, (4, depth)).astype(np.int8)
    b = (-rng.integers(90, 129, (depth, 3))).astype(np.int8)
    b[0, 0] = 1  # an odd term: the exact sums are not multiples of a large power of two
    exact = a.astype(np.int64) @ b.astype(np.int64)
    got = quantization.int8_matmul(a, b)
    assert_array(got, exact, f"int8_matmul with K = {depth}", rtol=0, atol=0, dtype=np.int32)


@pytest.mark.task("17.4")
@pytest.mark.points(1)
def test_int8_matmul_checks_its_inputs():
    a = np.full((2, 3), -128, dtype=np.int8)
    got = quantization.int8_matmul(a, np.full((3, 1), -128, dtype=np.int8))
    assert_array(got, np.full((2, 1), 3 * 16384), "(-128)(-128) three times", dtype=np.int32)
    with pytest.raises(TypeError):
        quantization.int8_matmul(a.astype(np.int32), np.ones((3, 1), dtype=np.int8))
    with pytest.raises(ValueError):
        quantization.int8_matmul(a, np.ones((2, 1), dtype=np.int8))


# ---- 17.5 QuantizedLinear ----
def _linear_case(seed, in_features=9, out_features=5, batch=(6,)):
    rng = np.random.default_rng(seed)
    weight = _weights(rng, (out_features, in_features), zero_channel=seed % 2 == 0)
    bias = rng.standard_normal(out_features).astype(F32)
    scale, zero_point = float(rng.uniform(0.005, 0.05)), int(rng.integers(-100, 100))
    x = ref.safe_inputs(rng, (*batch, in_features), scale, zero_point)
    return weight, bias, scale, zero_point, x


def _expected_linear(x, weight, bias, scale, zero_point):
    flat = x.reshape(-1, x.shape[-1])
    bias = None if bias is None else bias.astype(F64)
    out = ref.linear(flat, weight, bias, scale, zero_point)
    return out.reshape(*x.shape[:-1], len(weight))


def _check_buffers(layer, weight, bias, scale, zero_point, what):
    levels, want_scale, quotient = ref.per_channel(weight)
    ref.assert_levels(layer.weight.data, levels, quotient, f"{what}: weight")
    assert_array(layer.weight_scale.data, want_scale, f"{what}: weight_scale", rtol=1e-6, atol=0)
    if bias is not None:
        assert_array(layer.bias.data, bias, f"{what}: bias", rtol=0, atol=0)
    assert_array(layer.input_scale.data, np.array(scale, F32), f"{what}: input_scale", atol=0)
    assert_array(layer.input_zero_point.data, np.array(zero_point), f"{what}: input_zero_point",
                 atol=0, dtype=np.int32)  # fmt: skip


@pytest.mark.task("17.5")
@pytest.mark.points(5)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_quantized_linear_matches_integer_arithmetic(seed):
    weight, bias, scale, zero_point, x = _linear_case(seed)
    layer = quantization.QuantizedLinear(weight, bias, scale, zero_point)
    what = f"QuantizedLinear (input scale {scale:.4f}, zero point {zero_point})"
    _check_buffers(layer, weight, bias, scale, zero_point, what)
    expected = _expected_linear(x, weight, bias, scale, zero_point)
    out = as_array(layer(Tensor(x)), what)
    assert_array(out, expected, what, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


@pytest.mark.task("17.5")
@pytest.mark.points(2)
def test_quantized_linear_without_bias_on_3d_inputs():
    weight, _, scale, zero_point, x = _linear_case(4, 12, 3, batch=(2, 4))
    layer = quantization.QuantizedLinear(weight, None, scale, zero_point)
    expected = _expected_linear(x, weight, None, scale, zero_point)
    out = as_array(layer(Tensor(x)), "QuantizedLinear without bias")
    assert_array(out, expected, "(2, 4, 12) inputs, no bias", rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError):
        layer(Tensor(np.ones((2, 11), dtype=F32)))


@pytest.mark.task("17.5")
@pytest.mark.points(2)
def test_from_float_quantizes_a_trained_linear():
    weight, bias, scale, zero_point, x = _linear_case(5, 7, 4)
    linear = Linear(7, 4)
    linear.load_state_dict({"weight": weight, "bias": bias})
    layer = quantization.QuantizedLinear.from_float(linear, scale, zero_point)
    _check_buffers(layer, weight, bias, scale, zero_point, "QuantizedLinear.from_float")
    expected = _expected_linear(x, weight, bias, scale, zero_point)
    assert_array(as_array(layer(Tensor(x)), "from_float"), expected, "from_float", rtol=1e-5,
                 atol=1e-5)  # fmt: skip


# ---- 17.6 QuantizedConv2d ----
@pytest.mark.task("17.6")
@pytest.mark.points(5)
@given(case=conv_inputs(max_channels=4, max_side=7), seed=st.integers(0, 2**16))
def test_quantized_conv2d_matches_integer_arithmetic(case, seed):
    _, weight, bias, stride, padding = case
    x_shape = case[0].shape
    rng = np.random.default_rng(seed)
    scale, zero_point = float(rng.uniform(0.01, 0.1)), int(rng.integers(-128, 60))
    x = ref.safe_inputs(rng, x_shape, scale, zero_point)
    layer = quantization.QuantizedConv2d(weight, bias, scale, zero_point, stride, padding)
    expected = ref.conv(x, weight, bias.astype(F64), scale, zero_point, stride, padding)
    what = (
        f"QuantizedConv2d of {x.shape} with {weight.shape}, stride {stride}, padding "
        f"{padding}, zero point {zero_point}"
    )
    out = as_array(layer(Tensor(x)), what)
    assert_array(out, expected, what, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(expected).max()))


@pytest.mark.task("17.6")
@pytest.mark.points(3)
def test_from_float_quantizes_a_trained_conv2d():
    rng = np.random.default_rng(8)
    conv = Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 1), bias=False)
    weight = _weights(rng, (3, 2, 3, 2), zero_channel=True)
    conv.load_state_dict({"weight": weight})
    scale, zero_point = 0.02, -128  # inputs after a ReLU: padding is the zero point
    # |k + u| keeps u's distance from a rounding tie; the largest values clip at 127
    x = np.abs(ref.safe_inputs(rng, (2, 2, 6, 5), scale, 0))
    layer = quantization.QuantizedConv2d.from_float(conv, scale, zero_point)
    _check_buffers(layer, weight, None, scale, zero_point, "QuantizedConv2d.from_float")
    expected = ref.conv(x, weight, None, scale, zero_point, (2, 1), (1, 1))
    out = as_array(layer(Tensor(x)), "QuantizedConv2d.from_float")
    assert_array(out, expected, "QuantizedConv2d.from_float, stride (2, 1), padding 1",
                 rtol=1e-5, atol=1e-5)  # fmt: skip


# ---- 17.7 whole models and their size ----
@pytest.mark.task("17.7")
@pytest.mark.points(6)
@pytest.mark.parametrize("method", ["minmax", "percentile"])
def test_a_digits_mlp_keeps_its_accuracy_in_int8(method):
    x_train, _, x_test, y_test = ref.digits(DIGITS)
    params = ref.trained_digits_mlp(DIGITS)
    reference = Classifier([p.astype(F64) for p in params])
    model, _ = student_classifier(reference)
    calibration = [x_train[:200], x_train[200:400]]
    percentile = 99.9 if method == "percentile" else None
    quantized = quantization.quantize_model(
        model, calibration, method=method, **({"percentile": percentile} if percentile else {})
    )
    logits = as_array(quantized(Tensor(x_test)), f"the int8 digits model ({method})")
    expected = ref.quantized_forward(ref.mlp_layers(params), calibration, x_test, percentile)
    scale = np.abs(expected).max()
    assert_array(logits, expected, f"int8 logits on {len(x_test)} test digits ({method})",
                 rtol=1e-3, atol=2e-3 * scale)  # fmt: skip
    float_accuracy = float(np.mean(reference.logits(x_test).argmax(1) == y_test))
    accuracy = float(np.mean(logits.argmax(1) == y_test))
    assert float_accuracy > 0.95, f"the test's own network reads {float_accuracy:.1%}"
    assert accuracy >= float_accuracy - 0.01, (
        f"int8 ({method}) reads {accuracy:.2%} of the test digits, float {float_accuracy:.2%}"
    )
    float_logits = as_array(model(Tensor(x_test)), "the float model after quantize_model")
    assert_array(float_logits, reference.logits(x_test), "quantize_model left the float model",
                 rtol=1e-4, atol=1e-4)  # fmt: skip


@pytest.mark.task("17.7")
@pytest.mark.points(5)
def test_a_cnn_is_quantized_layer_by_layer():
    rng = np.random.default_rng(9)
    conv_w, conv_b = _weights(rng, (4, 1, 3, 3)), rng.standard_normal(4).astype(F32) * 0.1
    lin_w, lin_b = _weights(rng, (10, 64)), rng.standard_normal(10).astype(F32) * 0.1
    model = Sequential(Conv2d(1, 4, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(64, 10))
    model.load_state_dict({"0.weight": conv_w, "0.bias": conv_b, "4.weight": lin_w,
                           "4.bias": lin_b})  # fmt: skip
    x_train, _, x_test, _ = ref.digits(DIGITS)
    images = x_train[:120].reshape(-1, 1, 8, 8)
    test_images = x_test[:50].reshape(-1, 1, 8, 8)
    quantized = quantization.quantize_model(model, [images[:60], images[60:]])
    kinds = [quantization.QuantizedConv2d, ReLU, MaxPool2d, Flatten, quantization.QuantizedLinear]
    for index, kind in enumerate(kinds):
        right_kind = is_instance(quantized[index], kind)
        assert right_kind, f"layer {index} of the quantized model is not a {kind}"
    layers = [("conv", conv_w, conv_b.astype(F64), (1, 1), (1, 1)), ("relu",), ("maxpool", 2),
              ("flatten",), ("linear", lin_w, lin_b.astype(F64))]  # fmt: skip
    expected = ref.quantized_forward(layers, [images[:60], images[60:]], test_images)
    out = as_array(quantized(Tensor(test_images)), "the int8 CNN")
    assert_array(out, expected, "the int8 CNN's logits", rtol=1e-3,
                 atol=2e-3 * np.abs(expected).max())  # fmt: skip


def _float_bytes(*shapes):
    return 4 * sum(int(np.prod(shape)) for shape in shapes)


@pytest.mark.task("17.7")
@pytest.mark.points(4)
def test_model_size_bytes_counts_every_array_once():
    size = quantization.model_size_bytes
    mlp = Sequential(Linear(784, 128), ReLU(), Linear(128, 10))
    shared = Linear(6, 6)
    cnn = Sequential(Conv2d(3, 8, 3, bias=False), BatchNorm2d(8), Flatten(), Linear(8, 2))
    x = np.random.default_rng(10).standard_normal((4, 784)).astype(F32)
    small = quantization.quantize_model(mlp, [x])
    got = {
        "the float MLP": size(mlp),
        "a layer used twice": size(Sequential(shared, ReLU(), shared)),
        "Conv2d, BatchNorm2d (running statistics too) and Linear": size(cnn),
        "the int8 MLP": size(small),
    }
    expected = {
        "the float MLP": _float_bytes((784, 128), 128, (128, 10), 10),
        "a layer used twice": _float_bytes((6, 6), 6),
        "Conv2d, BatchNorm2d (running statistics too) and Linear": _float_bytes(
            (8, 3, 3, 3), 8, 8, 8, 8, (8, 2), 2
        ),
        "the int8 MLP": 784 * 128 + 128 * 10 + 8 * (128 + 10) + 2 * 8,
    }
    for what, want in expected.items():
        assert got[what] == want, f"model_size_bytes of {what}: {got[what]!r}, expected {want}"


@pytest.mark.task("17.7")
@pytest.mark.points(2)
def test_quantize_model_checks_its_arguments():
    reference = Classifier.draw(11, sizes=(5, 8, 3))
    model, _ = student_classifier(reference)
    x = np.random.default_rng(12).standard_normal((10, 5)).astype(F32)
    with pytest.raises(ValueError):
        quantization.quantize_model(model, [])
    with pytest.raises(ValueError):
        quantization.quantize_model(model, [x], method="median")
    with pytest.raises(ValueError):
        quantization.quantize_model(Sequential(ReLU()), [x])
    params = tuple(p.astype(F32) for p in reference.params)
    quantized = quantization.quantize_model(model, [Tensor(x)])  # Tensors are batches too
    expected = ref.quantized_forward(ref.mlp_layers(params), [x], x)
    out = as_array(quantized(Tensor(x)), "quantize_model calibrated with a Tensor")
    assert_array(out, expected, "quantize_model calibrated with a Tensor", rtol=1e-3, atol=1e-3)
