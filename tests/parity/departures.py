"""Where tinytorch departs from PyTorch on purpose, and what has no PyTorch twin.

Every public name of every module (each solution's `__all__`) is compared with PyTorch in
a parity test file (`COVERED`), or has no PyTorch twin (`NOT_COMPARABLE`).
`test_coverage.py` fails on a name that is in neither, so a new function cannot escape
the suite. Each departure is repeated for students in its module's README ("Where
tinytorch differs from PyTorch"), and `test_coverage.py` checks that too.
"""

from __future__ import annotations

DEPARTURES: dict[str, list[str]] = {
    "01_tensor": [
        "`Tensor([1, 2])` is float32 (PyTorch: int64); pass `dtype=np.int64` for labels "
        "and index tensors.",
        "`max(dim)` and `min(dim)` return the values only (PyTorch: values and indices); "
        "use `argmax` for the indices. Ties share the gradient, as `torch.amax`.",
        "A wrong shape or argument raises `ValueError` (PyTorch: `RuntimeError`); a dim out "
        "of range raises `IndexError`, as in PyTorch.",
        "An exponent is a number: `x ** tensor` is not supported.",
        "`arange`, `full` and the other factories make float32 tensors (PyTorch: int64 for "
        "integer arguments); `zeros(2, 3)` takes the sizes as arguments, not a tuple.",
        "`randn` and `rand` take a NumPy `rng` (PyTorch: a `generator`); the distributions "
        "are the same, the numbers are not.",
        "Comparisons are the operators only (`x > 0`, `x == y`, bool tensors without a "
        "gradient, as in PyTorch): no `gt`, `eq` or other methods, no `torch.equal`.",
        "Only a one-element tensor has a truth value: `bool(x)`, `if x == y:` and "
        "`x in tensors` raise `ValueError` on bigger tensors (PyTorch: `RuntimeError`).",
        "CPU and NumPy dtypes only: no devices, no float16.",
    ],
    "02_activations": [
        "`gelu` (exact) uses an erf accurate to about 1e-7, so float64 results agree with "
        "PyTorch to about 1e-7, not to the last digit.",
        'A bad argument such as `gelu(x, approximate="bad")` raises `ValueError` '
        "(PyTorch: `RuntimeError`).",
    ],
    "03_layers": [
        "A `Parameter` is always float32 (PyTorch keeps float64 data as float64).",
        "`Linear(..., rng=)` and `Dropout(p, rng=)` take a NumPy generator: the "
        "distributions are PyTorch's, the numbers are not. `Dropout` has no `inplace`.",
        "`register_module_forward_pre_hook` and `register_module_forward_hook` (PyTorch's "
        "global hooks) only watch: a value a hook returns is ignored (PyTorch's may replace "
        "the input or the output), and there are no per-module `register_forward_hook` "
        "methods.",
        "`Softmax()` normalises the last dim by default (PyTorch: an implicit, deprecated "
        "choice); `zero_grad()` always sets `.grad` to None; a module registered under two "
        "names is listed under each.",
    ],
    "04_losses": [
        "`cross_entropy` takes `(N, C)` logits and integer class indices only: no "
        "probabilities as targets, no `weight`, `ignore_index` or `label_smoothing`.",
        "The target of `mse_loss` and the binary losses must have the input's shape "
        "(`ValueError`; PyTorch broadcasts `mse_loss` with a warning). Loss modules check "
        "`reduction` when they are made.",
    ],
    "06_optimizers": [
        "`state_dict()` is flat: NumPy arrays under dotted keys (PyTorch nests dicts of "
        "tensors); the numbers are the same.",
        "A parameter listed twice raises `ValueError` (PyTorch warns); `momentum` must be in "
        "[0, 1) and `dampening` in [0, 1].",
        "`SGD` needs `lr`; there is no `amsgrad`, `maximize`, `foreach` or `fused`, and "
        "`zero_grad()` always sets `.grad` to None.",
    ],
    "07_training": [
        "`clip_grad_norm_` refuses a negative `max_norm` or a `norm_type` <= 0 with "
        "`ValueError`, and sums the norm in float64.",
        "`CosineWarmupLR` has no PyTorch class: it equals `SequentialLR(LinearLR, "
        "CosineAnnealingLR)` during training and stays at `eta_min` after `total_steps`.",
        "Schedulers compute the rate from a closed formula and take no `last_epoch` argument.",
    ],
    "08_dataloader": [
        "Transforms take whole batches `(N, C, H, W)` (torchvision: one image); `RandomCrop` "
        "pads with zeros.",
        "Batches are float32 (data) and int64 (labels) whatever the stored dtype; "
        "`TensorDataset` items are NumPy arrays; there is no `num_workers`, `sampler` or "
        "`collate_fn`.",
        "Random draws come from NumPy: shuffles, crops and flips differ from PyTorch's.",
    ],
    "09_spatial": [
        "`Conv2d` has no `dilation`, `groups` or `padding_mode`; pooling has no padding, "
        "`ceil_mode` or `return_indices`.",
        "`BatchNorm2d` always has weights and running statistics (no `affine`, "
        "`track_running_stats` or `momentum=None`).",
    ],
    "10_tokenization": [
        "Special tokens given to a `BPETokenizer` are always recognised by `encode` (tiktoken "
        "raises unless they are in `allowed_special`).",
        "`encode` returns a plain list of ints for one string: no tensors, attention masks, "
        "padding or batch encoding.",
        "Training breaks ties between equally frequent pairs by taking the greater pair of "
        "bytes (as Stanford's CS336), so its merges can differ from those of Hugging Face's "
        "trainer.",
        "The pre-tokenizer uses Python's Unicode database (Unicode 14 on Python 3.11): "
        "characters added to Unicode later may be split differently from tiktoken.",
        "`save` writes the course's own JSON format (the vocabulary as in GPT-2's "
        "`encoder.json`), not Hugging Face's `tokenizer.json`.",
    ],
    "11_embeddings": [
        "Float ids raise `TypeError` and ids outside the table raise `IndexError` before any "
        "work (PyTorch: `RuntimeError` and `IndexError`); `Embedding(..., rng=)` takes a "
        "NumPy generator.",
        "`Embedding` has no `max_norm`, `scale_grad_by_freq`, `sparse` or `from_pretrained`.",
        "`PositionalEmbedding` and `SinusoidalPositionalEncoding` have no PyTorch class: they "
        "add positions `start .. start + L - 1` to an input of shape `(*, L, d)` (batch "
        "first), and have no dropout.",
    ],
    "12_attention": [
        "`scaled_dot_product_attention` combines `attn_mask` and `is_causal` when both are "
        "given (PyTorch 2.13: the same on float32 CPU inputs, an error for float64); dropout "
        "draws from a NumPy `rng` argument, and the attention runs in NumPy only (no "
        "`enable_gqa`).",
        "`MultiheadAttention` gives a query that may attend to no key a zero output and zero "
        "weights (PyTorch: NaN when `need_weights=True`); `is_causal=True` without "
        "`attn_mask` applies the causal mask (PyTorch requires the mask as well).",
        "`MultiheadAttention` returns its attention weights as a constant tensor (no gradient "
        "flows through them), before dropout; it has no `kdim`, `vdim`, `add_bias_kv` or "
        "`add_zero_attn`, and takes a NumPy `rng` for its initialization and dropout.",
    ],
    "13_transformers": [
        "`LayerNorm` has no `device` or `dtype` arguments; its parameters are float32, and "
        "`layer_norm` refuses a `normalized_shape` that is not the input's last dims with "
        "`ValueError` (PyTorch: `RuntimeError`).",
        "PyTorch has no GPT class: `GPT` follows GPT-2's layout and initial values (nanoGPT's "
        "convention), with `nn.TransformerEncoderLayer`'s names inside each block (`norm1`, "
        "`self_attn`, `norm2`) and the MLP's layers under `mlp` (`mlp.linear1`, `mlp.linear2`),"
        " where PyTorch's encoder layer keeps `linear1` and `linear2` directly.",
        "`TransformerBlock` is `nn.TransformerEncoderLayer(norm_first=True, activation="
        'partial(F.gelu, approximate="tanh"), batch_first=True, dim_feedforward=4 * d_model)` '
        "with a causal mask, except for "
        "dropout: the MLP drops after `linear2` only (GPT-2; PyTorch also drops after the "
        "activation). In evaluation mode both are the same function.",
        "`generate` switches the model to evaluation mode while it runs and restores the mode; "
        "it draws from a NumPy generator with a fixed rule (`sample_next_token`), so the same "
        "seed gives the same tokens on any correct implementation, but not PyTorch's "
        "`torch.multinomial` stream.",
    ],
    "14_kv_caching": [
        "PyTorch has no KV cache class: `KVCache` follows the layout of Hugging Face's static "
        "cache (one preallocated `(batch, heads, max_len, head_dim)` array per layer for keys "
        "and one for values), with NumPy arrays and no gradient through past positions.",
        "Past `context_length`, cached generation re-reads the window of the last "
        "`context_length` tokens at every step (learned positions start at 0 again), so it "
        "gives the uncached tokens at the uncached speed; a model with rotary or relative "
        "positions could shift its cache instead.",
    ],
    "15_profiling": [
        "`count_flops` counts what `torch.utils.flop_counter.FlopCounterMode` counts (matrix "
        "products, convolutions, attention; 2 FLOPs per multiply-add), for the forward pass "
        "only, from the ops tinytorch runs.",
        "`profile` is a small cousin of `torch.profiler.profile`: CPU time only, rows per op "
        'class (backward rules as `"<Op>.backward"`) and per module path, bytes counted as the '
        "memory of the arrays an op returns (views are free), no traces or schedules.",
        "`measure_latency` is a small cousin of `torch.utils.benchmark.Timer`: it reports the "
        "median and quartiles of single calls after a warm-up, without Timer's adaptive run "
        "counts, and takes the clock as an argument.",
    ],
    "16_acceleration": [
        "The functions of this module take and return NumPy arrays and record no graph: they "
        "are the inner loops an op's forward or backward runs (`torch.nn.functional` works on "
        "tensors).",
        "`softmax_cross_entropy` returns the mean loss and its gradient together, as the fused "
        "kernel computes them (PyTorch: `F.cross_entropy`, then `backward()`).",
        "`race` checks each candidate against a reference before timing it and reports "
        "speed-ups over the first one (`torch.utils.benchmark.Compare` only prints timings).",
    ],
    "19_benchmarking": [
        "`benchmark` chooses the calls per window by doubling until a window lasts "
        "`min_window_seconds` (`Timer.blocked_autorange` grows its block tenfold until the"
        " timer's overhead is negligible) and times variants in interleaved windows in one"
        " process (`Compare` tabulates measurements taken one after the other).",
        'The median gets a seeded bootstrap interval and `compare` may answer "cannot '
        'rank" (`Measurement` reports the median and IQR and flags a large IQR as a '
        "warning, without an interval or a verdict).",
        "`pin_threads` sets the thread variables and resizes OpenBLAS's pool through "
        "`ctypes` (`torch.set_num_threads` resizes PyTorch's own pool; threadpoolctl does "
        "the rest).",
    ],
    "17_quantization": [
        "Weights are symmetric per channel over `[-127, 127]` with `scale = max|w| / 127`, "
        "as PyTorch's `PerChannelMinMaxObserver(qscheme=torch.per_channel_symmetric, "
        "quant_min=-127, quant_max=127)`; PyTorch's default `qint8` range is `[-128, 127]` "
        "with `scale = max|w| / 127.5`.",
        "Quantized layers take and return float tensors: they quantize their input and "
        "dequantize their output (PyTorch's quantized modules pass quantized tensors "
        "between layers, with an output scale and zero point of their own), and they run "
        "inference only.",
        "Levels are plain int8 NumPy arrays and scales float32 (PyTorch has quantized "
        "tensor types, with float64 scales and int64 zero points).",
        "`PercentileObserver` has no PyTorch twin (PyTorch's `HistogramObserver` searches a "
        "histogram for the range with the least error instead).",
        "`quantize_model` does what PyTorch's `prepare`, calibration and `convert` do "
        "together, on a copy, for every `Linear` and `Conv2d`; there is no fusion of a "
        "convolution with its ReLU or batch norm.",
    ],
    "18_compression": [
        "Pruning follows `torch.nn.utils.prune` (`weight_orig`, the buffer `weight_mask`, "
        "`weight` recomputed before every forward) with other names: `magnitude_prune` is "
        "`l1_unstructured`, `channel_prune` is `ln_structured`, `global_magnitude_prune` is "
        "`global_unstructured` with L1, `apply_mask` is `custom_from_mask`, `remove_pruning` "
        "is `remove`. Ties go to the lower flat index (PyTorch's `topk` leaves their order "
        "open).",
        "Pruning a pruned tensor again ranks the current masked weight and takes `amount` of "
        "all its entries (PyTorch counts a float `amount` of unstructured pruning among the "
        "entries still left).",
        "PyTorch has no `model_size`, `low_rank_linear`, `rank_for_energy` or "
        "`distillation_loss`: the distillation loss is `F.kl_div(F.log_softmax(s / T, 1), "
        'F.softmax(t / T, 1), reduction="batchmean") * T**2` weighted by `alpha`, plus `(1 - '
        "alpha) * F.cross_entropy(s, y)`.",
    ],
    "20_capstone": [
        "The closed track allows post-training transformations without labels (MLPerf Tiny's "
        "closed division fixes the model and allows quantization calibration); `agreement` "
        "with the baseline stands in for accuracy where there are no labels.",
        "`predict`, `agreement`, `factorize`, `build` and `write_submission` have no "
        "PyTorch twins: `factorize` applies module 18's `low_rank_linear` (PyTorch's "
        "nearest is `torch.svd_lowrank` on a weight) to the first Linear layers of a copy.",
    ],
}

NOT_COMPARABLE: dict[str, str] = {
    "Function": "tinytorch's base class for ops (PyTorch's autograd.Function differs by design)",
    "Context": "what an op saves for its backward rule; internal to Function",
    "AutogradEngine": "the protocol module 05 implements; no user-facing twin",
    "install_autograd": "the one extension point by which module 05 plugs into module 01",
    "backward_rule": "registers a backward rule for a Function (tinygrad-style table)",
    "Node": "the autograd graph's node type; internal",
    "Engine": "module 05's engine; compared through .backward() everywhere",
    "Trainer": "tinytorch's training loop (PyTorch leaves the loop to the user)",
    "EpochStats": "what Trainer reports per epoch",
    "batches": "a plain generator of index batches for Trainer",
    "save_checkpoint": "writes NumPy .npz checkpoints (PyTorch pickles with torch.save)",
    "load_checkpoint": "reads them back; pickle-free by design",
    "CharTokenizer": "a character vocabulary; neither PyTorch nor tiktoken has one",
    "sinusoidal_positional_encoding": "no PyTorch twin; the hidden tests check Vaswani et "
    "al.'s formula entry by entry",
    "SinusoidalPositionalEncoding": "no PyTorch twin (the PyTorch tutorial's class); adds "
    "sinusoidal_positional_encoding's table",
    "GPT": "no PyTorch class; built from parts compared here (LayerNorm, TransformerBlock), "
    "and the hidden tests compare it with a NumPy GPT",
    "sample_next_token": "a fixed sampling rule on a NumPy generator (PyTorch: "
    "torch.multinomial's stream); the hidden tests recompute it",
    "project_heads": "the block's head split (in_proj on rows); compared through "
    "TransformerBlock against nn.TransformerEncoderLayer",
    "merge_heads": "the block's head merge (out_proj on rows); compared through TransformerBlock",
    "KVCache": "no PyTorch class (Hugging Face's static cache is the closest); the hidden "
    "tests compare cached logits with the uncached model and a NumPy GPT",
    "generate": "GPT.generate with a fresh KVCache; the hidden tests recompute its tokens",
    "OpHook": "what module 01's register_op_hook takes (PyTorch's RecordFunction callbacks "
    "live in C++)",
    "RemovableHandle": "torch.utils.hooks.RemovableHandle's twin: remove() unregisters a hook",
    "register_op_hook": "module 01's hook point for profilers; PyTorch's is the C++ "
    "RecordFunction machinery behind torch.profiler",
    "op_flops": "the FLOPs of one recorded tinytorch op; compared through count_flops",
    "memory_block": "the ndarray that owns a view's memory (NumPy's .base, followed); no "
    "PyTorch twin (untyped_storage() is the closest)",
    "allocated_bytes": "bytes of the arrays an op made (views free); the hidden tests check "
    "it on views, copies and fresh arrays",
    "MemoryReport": "what memory_footprint returns; no PyTorch twin",
    "memory_footprint": "exact bytes of parameters, gradients, optimizer state and activations;"
    " no PyTorch twin (torchinfo's summary is the closest)",
    "ProfileRow": "one row of key_averages() (torch.profiler's FunctionEventAvg is the closest)",
    "profile": "torch.profiler.profile's small cousin; its times are the machine's, checked on "
    "a scripted clock",
    "LatencyStats": "median and quartiles of timed calls (torch.utils.benchmark.Measurement "
    "is the closest); the hidden tests time a scripted clock",
    "measure_latency": "a warm-up-then-repeat timer (torch.utils.benchmark.Timer is the "
    "closest); the hidden tests check its statistics on a scripted clock",
    "tile_matmul": "a kernel for blocked_matmul (out += a @ b on one tile); compared through "
    "blocked_matmul",
    "tile_broadcast": "a broadcasting kernel for blocked_matmul; compared through blocked_matmul",
    "Measured": "one candidate of a race (torch.utils.benchmark.Measurement is the closest)",
    "race": "checks candidates against a reference, then times them; the hidden tests use a "
    "scripted clock",
    "report": "prints this machine's measurements of module 16; not a library function",
    "time_window": "module 19's timed window of repeated calls (timeit.Timer.timeit's twin); "
    "the hidden tests read it on a scripted clock",
    "calibrate": "chooses calls per window by doubling (Timer.blocked_autorange grows tenfold);"
    " the hidden tests recompute the count from scripted durations",
    "median_interval": "a seeded bootstrap interval of the median (no PyTorch twin); the hidden "
    "tests redo the bootstrap with the same seed",
    "VariantStats": "one variant's samples, median, quartiles and interval "
    "(torch.utils.benchmark.Measurement is the closest)",
    "BenchmarkReport": "what benchmark returns, with its JSON form; no PyTorch twin",
    "Comparison": "compare's verdict, possibly 'cannot rank'; no PyTorch twin",
    "compare": "ranks two variants only when their intervals are apart and their IQRs small; "
    "no PyTorch twin",
    "THREAD_VARIABLES": "the thread variables pin_threads sets (OMP, OpenBLAS, MKL)",
    "pin_threads": "sets the thread variables and OpenBLAS's pool for a block "
    "(torch.set_num_threads sets PyTorch's own pool)",
    "thread_settings": "the thread variables and OpenBLAS's live thread count; no PyTorch twin",
    "machine_info": "CPU, cores, Python, NumPy and its BLAS build (torch.__config__.show is the "
    "closest)",
    "PercentileObserver": "no PyTorch twin (its HistogramObserver searches a histogram "
    "instead); the hidden tests recompute its range with np.percentile",
    "quantize_model": "PyTorch's prepare, calibrate and convert in one call; the hidden tests "
    "compare its models with a NumPy int8 reference, on real digits too",
    "model_size_bytes": "no PyTorch function; the hidden tests count the bytes of known models",
    "magnitude_mask": "the mask of torch.nn.utils.prune's L1Unstructured as an array; the hidden "
    "tests recompute it from magnitudes they choose",
    "channel_mask": "the mask of LnStructured as an array; the hidden tests recompute the norms",
    "SizeReport": "exact counts and bytes of a model's parameters; no PyTorch twin",
    "model_size": "no PyTorch twin; the hidden tests count values, non-zeros and bytes exactly",
    "low_rank_linear": "no PyTorch twin; the hidden tests compare with their own truncated SVD",
    "rank_for_energy": "no PyTorch twin; the hidden tests recompute the squared singular values",
    "TASKS": "the names of TinyMLPerf's tasks (grader/tinymlperf/tasks.py)",
    "TRACKS": "the closed and open tracks of TinyMLPerf",
    "CANDIDATE_RANKS": "the ranks module 20's build tries",
    "predict": "batched argmax of a model's logits without gradients; checked against NumPy",
    "agreement": "no PyTorch twin; the share of equal predictions, recounted by the tests",
    "factorize": "no PyTorch twin; the hidden tests compare with their own truncated SVD",
    "build": "TinyMLPerf's entry point; the hidden tests redo its choice of rank in NumPy",
    "write_submission": "TinyMLPerf's submission file, read back by the grader's checker",
}

# fmt: off
COMPARED_IN: dict[str, tuple[str, ...]] = {
    "test_tensor_parity.py": (
        "Tensor", "zeros", "ones", "full", "arange", "randn", "rand", "cat", "stack", "where",
        "no_grad", "is_grad_enabled",
    ),
    "test_nn_parity.py": (
        "relu", "sigmoid", "tanh", "gelu", "softmax", "Parameter", "Module", "Linear",
        "Dropout", "Sequential", "ReLU", "Sigmoid", "Tanh", "GELU", "Softmax", "log_softmax",
        "cross_entropy", "mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
        "MSELoss", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss",
    ),
    "test_optim_parity.py": (
        "Optimizer", "SGD", "Adam", "AdamW", "clip_grad_norm_", "LRScheduler", "StepLR",
        "CosineWarmupLR",
    ),
    "test_spatial_data_parity.py": (
        "Dataset", "TensorDataset", "DataLoader", "Compose", "Normalize", "RandomCrop",
        "RandomHorizontalFlip", "conv2d", "max_pool2d", "avg_pool2d", "batch_norm", "Conv2d",
        "MaxPool2d", "AvgPool2d", "BatchNorm2d", "Flatten",
    ),
    # PyTorch has no tokenizer: module 10 is compared with OpenAI's tiktoken.
    "test_tokenizer_parity.py": ("BPETokenizer", "bytes_to_unicode", "gpt2_pattern"),
    "test_language_parity.py": (
        "embedding", "Embedding", "PositionalEmbedding", "scaled_dot_product_attention",
        "MultiheadAttention",
    ),
    "test_transformer_parity.py": ("layer_norm", "LayerNorm", "MLP", "TransformerBlock"),
    "test_acceleration_parity.py": (
        "matmul_loops", "matmul_vectorized", "blocked_matmul", "gelu_tanh_naive", "gelu_tanh",
        "sgd_momentum_", "softmax_cross_entropy_unfused", "softmax_cross_entropy",
        "conv2d_direct", "conv2d_im2col",
    ),
    "test_profiling_parity.py": (
        "register_module_forward_pre_hook", "register_module_forward_hook", "count_parameters",
        "matmul_flops", "linear_flops", "conv2d_flops", "attention_flops", "count_flops",
        "optimizer_state_bytes",
    ),
    "test_benchmarking_parity.py": ("summarize", "benchmark"),
    "test_quantization_parity.py": (
        "quantize_per_channel", "dequantize", "affine_qparams", "quantize_affine",
        "MinMaxObserver", "int8_matmul", "QuantizedLinear", "QuantizedConv2d",
    ),
    "test_compression_parity.py": (
        "magnitude_prune", "channel_prune", "global_magnitude_prune", "apply_mask",
        "remove_pruning", "is_pruned", "distillation_loss",
    ),
}
# fmt: on
COVERED = {name: file for file, names in COMPARED_IN.items() for name in names}
"""Public name -> the parity test file that compares it with PyTorch."""
