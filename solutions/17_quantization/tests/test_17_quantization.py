"""Visible tests for module 17 (quantization). Run them with `make grade MODULE=17`.

Each test names its task. Expected values are worked out here from the test's own
numbers; the hidden tests recompute every scale, zero point, level and integer sum with
NumPy, and measure the accuracy of a quantized model trained on real digits.
Your code runs in a separate process: `quantization.int8_matmul` is your function there.
"""

import numpy as np
import pytest

from grader.testing.checks import as_array, assert_array
from grader.testing.kit import student
from grader.testing.quant_reference import mlp_layers, quantized_forward
from grader.testing.trainer import Classifier, student_classifier

quantization = student.quantization
Tensor = student.tensor.Tensor


@pytest.mark.task("17.1")
@pytest.mark.points(3)
def test_weights_get_one_scale_per_output_channel():
    weight = np.array([[0.5, -1.27, 0.0], [0.0254, 0.01, -0.0052]], dtype=np.float32)
    q, scale = quantization.quantize_per_channel(weight)
    assert_array(scale, np.array([0.01, 0.0002], dtype=np.float32), "scales", rtol=1e-6)
    assert q.dtype == np.int8, f"levels are int8, got {q.dtype}"
    assert q.tolist() == [[50, -127, 0], [127, 50, -26]], q.tolist()
    back = quantization.dequantize(q, scale)
    assert_array(back, q * scale[:, None], "dequantize", rtol=1e-6)


@pytest.mark.task("17.2")
@pytest.mark.points(3)
def test_activations_map_their_range_onto_int8_with_a_zero_point():
    scale, zero_point = quantization.affine_qparams(0.0, 2.55)
    assert abs(scale - 0.01) < 1e-8 and zero_point == -128, (scale, zero_point)
    scale, zero_point = quantization.affine_qparams(-1.0, 1.55)
    assert abs(scale - 0.01) < 1e-8 and zero_point == -28, (scale, zero_point)
    x = np.array([-100.0, -50.0, 0.0, 0.25, 0.75, 1.25, 10.0, 100.0])
    q = quantization.quantize_affine(x, 0.5, -28)
    assert q.dtype == np.int8, q.dtype
    # x / 0.5 - 28; ties round to even (0.5 -> 0, 1.5 -> 2, 2.5 -> 2); past the range: clipped
    assert q.tolist() == [-128, -128, -28, -28, -26, -26, -8, 127], q.tolist()


@pytest.mark.task("17.3")
@pytest.mark.points(3)
def test_observers_calibrate_on_every_batch_they_see():
    observer = quantization.MinMaxObserver()
    for batch in ([0.5, 1.0], [-0.5, 2.0], [0.0, 0.25]):
        observer(Tensor(np.array(batch, dtype=np.float32)))
    scale, zero_point = observer.calculate_qparams()
    assert abs(scale - 2.5 / 255) < 1e-8 and zero_point == -77, (scale, zero_point)
    percentile = quantization.PercentileObserver(percentile=90.0)
    percentile(Tensor(np.arange(11, dtype=np.float32)))  # percentiles 10 and 90: 1 and 9
    scale, zero_point = percentile.calculate_qparams()
    assert abs(scale - 9 / 255) < 1e-7 and zero_point == -128, (scale, zero_point)
    with pytest.raises(ValueError, match="calibrat"):
        quantization.MinMaxObserver().calculate_qparams()


@pytest.mark.task("17.4")
@pytest.mark.points(4)
def test_int8_matmul_is_exact_where_float32_is_not():
    rng = np.random.default_rng(0)
    a = rng.integers(100, 128, (3, 2500)).astype(np.int8)
    b = rng.integers(100, 128, (2500, 2)).astype(np.int8)
    exact = a.astype(np.int64) @ b.astype(np.int64)
    assert np.any(a.astype(np.float32) @ b.astype(np.float32) != exact), "float32 rounds here"
    got = quantization.int8_matmul(a, b)
    assert got.dtype == np.int32, f"int32 sums, got {got.dtype}"
    assert np.array_equal(got, exact), "int8_matmul must give the exact integer sums"


@pytest.mark.task("17.5")
@pytest.mark.points(4)
def test_quantized_linear_computes_with_integers():
    weight = np.array([[1.27, -0.5], [0.0, 0.254]], dtype=np.float32)  # scales 0.01, 0.002
    layer = quantization.QuantizedLinear(weight, np.array([0.5, -1.0]), 0.1, 10)
    # x / 0.1 + 10 = [20, 0] and [-10, 13]; minus the zero point: [10, -10] and [-20, 3]
    out = as_array(layer(Tensor(np.array([[1.0, -1.0], [-2.0, 0.3]]))), "QuantizedLinear")
    expected = np.array(
        [[(127 * 10 + 50 * 10) * 0.001 + 0.5, -127 * 10 * 0.0002 - 1.0],
         [(-127 * 20 - 50 * 3) * 0.001 + 0.5, 127 * 3 * 0.0002 - 1.0]]
    )  # fmt: skip
    assert_array(out, expected, "QuantizedLinear of two rows", rtol=1e-5, atol=1e-5)
    stored = layer.weight.data
    assert stored.dtype == np.int8, f"weights are stored as int8, got {stored.dtype}"


@pytest.mark.task("17.6")
@pytest.mark.points(4)
def test_quantized_conv_pads_with_the_zero_point():
    weight = np.ones((1, 1, 3, 3), dtype=np.float32)  # scale 1/127, levels 127
    layer = quantization.QuantizedConv2d(weight, None, 0.5, -28, padding=(1, 1))
    x = np.full((1, 1, 2, 2), 1.0, dtype=np.float32)  # level -26: 2 above the zero point
    out = as_array(layer(Tensor(x)), "QuantizedConv2d")
    # each output sees the 4 pixels (padding adds nothing): 4 * 2 * 127 * 0.5 / 127 = 4
    assert_array(out, np.full((1, 1, 2, 2), 4.0), "a 3x3 conv of ones, padding 1", rtol=1e-5)


@pytest.mark.task("17.7")
@pytest.mark.points(4)
def test_quantize_model_stays_close_and_shrinks_the_model():
    reference = Classifier.draw(3, sizes=(16, 32, 4))
    model, _ = student_classifier(reference)  # the student's layers, holding these weights
    x = np.random.default_rng(2).standard_normal((64, 16)).astype(np.float32)
    quantized = quantization.quantize_model(model, [x[:32], x[32:]])
    after = as_array(quantized(Tensor(x)), "the quantized model")
    params = tuple(p.astype(np.float32) for p in reference.params)
    expected = quantized_forward(mlp_layers(params), [x[:32], x[32:]], x)
    assert_array(after, expected, "the int8 model's logits", rtol=1e-3, atol=1e-2)
    assert np.abs(after - reference.logits(x)).max() < 0.05, "int8 stays close to float"
    sizes = quantization.model_size_bytes(model), quantization.model_size_bytes(quantized)
    # float32 weights and biases; then int8 weights, float32 scales and biases per output
    # channel, and a float32 scale and an int32 zero point per layer
    expected = (16 * 32 + 32 + 32 * 4 + 4) * 4, 16 * 32 + 32 * 4 + (32 + 4) * 4 * 2 + 2 * (4 + 4)
    assert sizes == expected, f"model_size_bytes of the float and int8 models: {sizes}"
