"""The model zoo and prepare_model, checked against real onnxruntime and OpenVINO."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import openvino as ov
import pytest
from onnx import TensorProto, helper, numpy_helper

from contracts.digests import file_sha256
from contracts.paths import REPO_ROOT
from tests import byo_models
from workloads.models import BUILDERS, OPSET, ModelError, PreparedModel, cnn, prepare_model, zoo
from workloads.models.graph import Builder

SMALL_BERT = {"layers": 2, "hidden": 64, "heads": 4, "ffn": 128, "seq": 16, "vocab": 500}

# (builder, params) run end to end: built, cached, converted, run on both backends.
ZOO_CASES = {
    "mlp_tiny": ("mlp_tiny", {}),
    "squeezenet11": ("squeezenet11", {}),
    "mobilenetv2": ("mobilenetv2", {}),
    "bert_encoder_small": ("bert_encoder", SMALL_BERT),
    # Full ResNet-50 (all 25.6 M parameters) at a small resolution: same graph, cheaper run.
    "resnet50_r64": ("resnet50", {"resolution": 64}),
}

# Parameter counts of the reference implementations (torchvision / BERT arithmetic).
REFERENCE_PARAMS = {
    "mlp_tiny": 64 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10,
    "squeezenet11": 1_235_496,
    "mobilenetv2": 3_504_872,
    "resnet50_r64": 25_557_032,
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="module")
def prepared(cache: Path) -> dict[str, PreparedModel]:
    return {case: prepare_model(b, p, None, None, cache) for case, (b, p) in ZOO_CASES.items()}


def random_feeds(pm: PreparedModel, seed: int, vocab: int = 500) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feeds = {}
    for t in pm.inputs:
        if t.name == "input_ids":
            feeds[t.name] = rng.integers(0, vocab, t.shape, dtype=np.int64)
        elif t.name == "attention_mask":
            mask = np.ones(t.shape, dtype=np.int64)
            mask[:, t.shape[1] * 3 // 4 :] = 0  # padded tail
            feeds[t.name] = mask
        else:
            feeds[t.name] = rng.standard_normal(t.shape).astype(np.float32)
    return feeds


def run_onnxruntime(pm: PreparedModel, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(pm.files.onnx, providers=["CPUExecutionProvider"])
    return session.run([t.name for t in pm.outputs], feeds)


def run_openvino(pm: PreparedModel, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Run the IR; feeds keyed by tensor name."""
    # f32: this CPU defaults to bf16 inference, which would not agree with onnxruntime.
    compiled = ov.Core().compile_model(pm.files.ir_xml, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    request = compiled.create_infer_request()
    for key, value in feeds.items():
        request.set_tensor(key, ov.Tensor(np.require(value, requirements="C")))  # keeps rank 0
    request.infer()
    return [request.get_tensor(t.name).data.copy() for t in pm.outputs]


def assert_agree(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.shape == y.shape and x.dtype == y.dtype
        np.testing.assert_allclose(x, y, rtol=1e-3, atol=1e-5)


# -- the zoo --------------------------------------------------------------------------


@pytest.mark.parametrize("case", ZOO_CASES)
def test_zoo_model_is_valid_and_states_its_opset(prepared, case):
    pm = prepared[case]
    model = onnx.load(pm.files.onnx)
    onnx.checker.check_model(model, full_check=True)
    assert pm.opset == pm.files.opset == OPSET == 17
    assert model.opset_import[0].version == 17 and pm.onnx_ir_version == model.ir_version == 8
    assert pm.ir_error is None and pm.openvino_ir_version == 11
    assert pm.size_bytes == Path(pm.files.onnx).stat().st_size
    if case in REFERENCE_PARAMS:
        assert zoo.parameter_count(model) == REFERENCE_PARAMS[case]


@pytest.mark.parametrize("case", ZOO_CASES)
def test_zoo_model_agrees_on_onnxruntime_and_openvino(prepared, case):
    pm = prepared[case]
    feeds = random_feeds(pm, seed=7)
    ref = run_onnxruntime(pm, feeds)
    got = run_openvino(pm, feeds)
    assert_agree(ref, got)
    for out, desc in zip(ref, pm.outputs, strict=True):
        assert list(out.shape) == desc.shape and np.isfinite(out).all()
    # A comparison only means something if the outputs depend on the input.
    other = run_onnxruntime(pm, random_feeds(pm, seed=8))
    assert max(np.abs(x - y).max() for x, y in zip(ref, other, strict=True)) > 1e-2


@pytest.mark.parametrize("case", ["squeezenet11", "mobilenetv2", "resnet50_r64"])
def test_classifier_outputs_are_spread_softmax(prepared, case):
    """Calibrated weights: probabilities sum to 1 and log-probs spread like logits of std ~3."""
    pm = prepared[case]
    probs = run_onnxruntime(pm, random_feeds(pm, seed=3))[0]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    spread = np.log(probs).std(axis=1)
    assert ((spread > 1.5) & (spread < 6.0)).all(), spread


@pytest.mark.parametrize("name", ["squeezenet11", "mobilenetv2", "resnet50"])
def test_calibration_shadow_matches_onnxruntime(name):
    """The float64 shadow that sets BatchNorm statistics computes what the graph computes."""
    params = {**zoo.DEFAULTS[name], "resolution": 64, "classes": 10}
    params["batch"] = cnn.calibration_batch(64)
    b = Builder(0, calibrate=True)
    getattr(cnn, f"build_{name}")(b, params)
    b.output("output", np.float32, [params["batch"], 10])
    session = ort.InferenceSession(
        b.model(name, "", {}).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (out,) = session.run(None, {"input": b.shadow("input").astype(np.float32)})
    np.testing.assert_allclose(out, b.shadow("output"), rtol=1e-3, atol=1e-5)


def test_build_survives_a_process_that_called_convert_model(tmp_path):
    """Regression: after ov.convert_model, numpy's threaded OpenBLAS matmul hung forever."""
    onnx.save(BUILDERS["mlp_tiny"]({}), tmp_path / "m.onnx")
    script = (
        "import openvino as ov, sys\n"
        "from workloads.models import BUILDERS\n"
        "ov.convert_model(sys.argv[1])\n"
        "for seed in range(3):\n"
        "    BUILDERS['mobilenetv2']({'resolution': 64, 'classes': 10, 'seed': seed})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "m.onnx")], timeout=240, cwd=REPO_ROOT
    )
    assert done.returncode == 0


def test_builders_are_deterministic_and_seeded():
    for name, params in [("mlp_tiny", {}), ("bert_encoder", SMALL_BERT)]:
        a = BUILDERS[name](params).SerializeToString()
        assert a == BUILDERS[name](dict(params)).SerializeToString()
        assert a != BUILDERS[name]({**params, "seed": 1}).SerializeToString()
    small = {"resolution": 64, "classes": 10}
    assert (
        BUILDERS["squeezenet11"](small).SerializeToString()
        == BUILDERS["squeezenet11"](small).SerializeToString()
    )


def test_ir_inputs_keep_the_model_names_in_onnx_order(prepared):
    """No "0", "1"... aliases: the IR's inputs are the ONNX graph's, same names, same order
    (the adapter reads them from the xml; docs/adapter.md)."""
    pm = prepared["bert_encoder_small"]
    model = ov.Core().read_model(pm.files.ir_xml)
    assert [p.get_names() for p in model.inputs] == [{"input_ids"}, {"attention_mask"}]
    assert [t.name for t in pm.inputs] == ["input_ids", "attention_mask"]


# -- the cache ------------------------------------------------------------------------


def test_second_prepare_is_a_cache_hit(tmp_path, monkeypatch):
    first = prepare_model("mlp_tiny", {"hidden": 16}, None, None, tmp_path)
    assert not first.cache_hit
    mtime = Path(first.files.onnx).stat().st_mtime_ns

    def no_rebuild(params):
        raise AssertionError("rebuilt on a cache hit")

    monkeypatch.setitem(BUILDERS, "mlp_tiny", no_rebuild)
    again = prepare_model("mlp_tiny", {"hidden": 16, "seed": 0}, None, None, tmp_path)
    assert again.cache_hit and again.files == first.files and again.sha256 == first.sha256
    assert Path(again.files.onnx).stat().st_mtime_ns == mtime
    with pytest.raises(AssertionError, match="rebuilt"):
        prepare_model("mlp_tiny", {"hidden": 17}, None, None, tmp_path)  # new recipe, new build


def test_failed_build_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken(params):
        raise RuntimeError("killed mid-build")

    monkeypatch.setitem(BUILDERS, "mlp_tiny", broken)
    with pytest.raises(RuntimeError):
        prepare_model("mlp_tiny", {}, None, None, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WASINN_BENCH_CACHE", str(tmp_path))
    pm = prepare_model("mlp_tiny", {}, None, None)
    assert Path(pm.files.onnx).parent.parent == tmp_path


def test_hand_damaged_cache_entry_is_rebuilt(tmp_path):
    pm = prepare_model("mlp_tiny", {}, None, None, tmp_path)
    Path(pm.files.ir_bin).unlink()
    again = prepare_model("mlp_tiny", {}, None, None, tmp_path)
    assert not again.cache_hit and Path(again.files.ir_bin).is_file()


# -- bring your own model ---------------------------------------------------------------


def _value(name: str, elem: int, dims: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, dims)


def save_model(path: Path, nodes, inputs, outputs, inits=()) -> Path:
    graph = helper.make_graph(nodes, "byo", inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, path)
    return path


@pytest.fixture
def embedding_model(tmp_path: Path) -> Path:
    """ids i64 [batch, seq] + features f32 [batch, 8] -> pooled [batch, 8], scores [batch, 3]."""
    rng = np.random.default_rng(0)
    table = numpy_helper.from_array(rng.standard_normal((50, 8)).astype(np.float32), "table")
    proj = numpy_helper.from_array(rng.standard_normal((8, 3)).astype(np.float32), "proj")
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["emb"]),
        helper.make_node("ReduceMean", ["emb"], ["mean"], axes=[1], keepdims=0),
        helper.make_node("Add", ["mean", "features"], ["sum"]),
        helper.make_node("Relu", ["sum"], ["pooled"]),
        helper.make_node("MatMul", ["pooled", "proj"], ["scores"]),
    ]
    inputs = [
        _value("ids", TensorProto.INT64, ["batch", "seq"]),
        _value("features", TensorProto.FLOAT, ["batch", 8]),
    ]
    outputs = [
        _value("pooled", TensorProto.FLOAT, ["batch", 8]),
        _value("scores", TensorProto.FLOAT, ["batch", None]),
    ]
    return save_model(tmp_path / "embed.onnx", nodes, inputs, outputs, [table, proj])


def test_byo_model_with_dynamic_dims_runs_and_agrees(embedding_model, tmp_path):
    shapes = {"ids": [2, 5], "features": [2, 8]}
    pm = prepare_model(None, None, embedding_model, shapes, tmp_path / "cache")
    assert [tuple(t) for t in pm.inputs] == [("ids", "i64", [2, 5]), ("features", "f32", [2, 8])]
    assert [tuple(t) for t in pm.outputs] == [("pooled", "f32", [2, 8]), ("scores", "f32", [2, 3])]
    assert pm.source == str(embedding_model) and pm.opset == 17
    # the user's file as it is: same bytes, same hash (nothing rewritten)
    assert Path(pm.files.onnx).read_bytes() == embedding_model.read_bytes()
    assert pm.sha256 == pm.files.sha256 == file_sha256(embedding_model)
    assert pm.ir_shapes == "static"  # OpenVINO's IR got the workload's shapes
    rng = np.random.default_rng(1)
    feeds = {
        "ids": rng.integers(0, 50, (2, 5), dtype=np.int64),
        "features": rng.standard_normal((2, 8)).astype(np.float32),
    }
    ref = run_onnxruntime(pm, feeds)
    assert_agree(ref, run_openvino(pm, feeds))  # by the real names: the IR has no aliases
    assert prepare_model(None, None, embedding_model, shapes, tmp_path / "cache").cache_hit
    # Other shapes are another recipe: a second cache entry, not a stale hit.
    other = prepare_model(
        None, None, embedding_model, {"ids": [1, 3], "features": [1, 8]}, tmp_path / "cache"
    )
    assert not other.cache_hit and other.inputs[0].shape == [1, 3]


def test_byo_model_with_small_dtypes_agrees(tmp_path):
    """u8, i32 and f16 inputs; f16 and i32 outputs."""
    nodes = [
        helper.make_node("Cast", ["a"], ["a16"], to=TensorProto.FLOAT16),
        helper.make_node("Cast", ["b"], ["b16"], to=TensorProto.FLOAT16),
        helper.make_node("Add", ["a16", "b16"], ["ab"]),
        helper.make_node("Mul", ["ab", "c"], ["half_out"]),
        helper.make_node("Cast", ["a"], ["a32"], to=TensorProto.INT32),
        helper.make_node("Add", ["a32", "b"], ["int_out"]),
    ]
    inputs = [
        _value("a", TensorProto.UINT8, ["n"]),
        _value("b", TensorProto.INT32, ["n"]),
        _value("c", TensorProto.FLOAT16, ["n"]),
    ]
    outputs = [
        _value("half_out", TensorProto.FLOAT16, ["n"]),
        _value("int_out", TensorProto.INT32, ["n"]),
    ]
    path = save_model(tmp_path / "dtypes.onnx", nodes, inputs, outputs)
    pm = prepare_model(None, None, path, {"a": [6], "b": [6], "c": [6]}, tmp_path)
    assert [t.dtype for t in pm.inputs] == ["u8", "i32", "f16"]
    assert [t.dtype for t in pm.outputs] == ["f16", "i32"]
    rng = np.random.default_rng(2)
    feeds = {
        "a": rng.integers(0, 255, 6, dtype=np.uint8),
        "b": rng.integers(-100, 100, 6, dtype=np.int32),
        "c": rng.standard_normal(6).astype(np.float16),
    }
    assert_agree(run_onnxruntime(pm, feeds), run_openvino(pm, feeds))


def test_ir_keeps_a_decimal_input_name_as_it_is(tmp_path):
    nodes = [helper.make_node("Add", ["1", "y"], ["out"])]
    inputs = [_value("1", TensorProto.FLOAT, [2]), _value("y", TensorProto.FLOAT, [2])]
    path = save_model(
        tmp_path / "named.onnx", nodes, inputs, [_value("out", TensorProto.FLOAT, [2])]
    )
    pm = prepare_model(None, None, path, None, tmp_path)
    model = ov.Core().read_model(pm.files.ir_xml)
    assert [p.get_names() for p in model.inputs] == [{"1"}, {"y"}]


def _byo_feeds(pm: PreparedModel) -> dict[str, np.ndarray]:
    """Inputs every path of the byo_models graphs can take (a trip count, Sqrt's domain)."""
    rng = np.random.default_rng(3)
    feeds = {}
    for t in pm.inputs:
        dtype = {"f16": np.float16, "f32": np.float32, "f64": np.float64, "u8": np.uint8,
                 "i32": np.int32, "i64": np.int64}[t.dtype]  # fmt: skip
        if t.name == "steps":
            feeds[t.name] = np.array(3, np.int64)
        elif t.dtype == "f64":
            feeds[t.name] = rng.uniform(0, 4, t.shape)
        else:
            feeds[t.name] = (rng.standard_normal(t.shape) * 50).astype(dtype)
    return feeds


@pytest.mark.parametrize("build", byo_models.BUILDERS, ids=lambda b: b.__name__)
def test_byo_model_is_taken_as_it_is_and_both_backends_agree(build, tmp_path):
    """Control flow holding recurrent ops (If/LSTM: rewriting the shapes made ONNX's strict
    inference reject it), a Loop over a GRU, run-time dims, four outputs of four dtypes."""
    path, shapes = build(tmp_path)
    pm = prepare_model(None, None, path, shapes, tmp_path / "cache")
    assert Path(pm.files.onnx).read_bytes() == path.read_bytes()
    assert pm.sha256 == file_sha256(path) and pm.files.ir_xml, pm.ir_error
    feeds = _byo_feeds(pm)
    assert_agree(run_onnxruntime(pm, feeds), run_openvino(pm, feeds))


def test_a_cached_copy_that_differs_from_the_users_file_is_rebuilt(embedding_model, tmp_path):
    shapes = {"ids": [2, 5], "features": [2, 8]}
    pm = prepare_model(None, None, embedding_model, shapes, tmp_path)
    Path(pm.files.onnx).write_bytes(Path(pm.files.onnx).read_bytes() + b"\x00")
    again = prepare_model(None, None, embedding_model, shapes, tmp_path)
    assert not again.cache_hit
    assert Path(again.files.onnx).read_bytes() == embedding_model.read_bytes()


@pytest.mark.parametrize(
    ("shapes", "message"),
    [
        ({"ids": [2, 5], "features": [2, 8], "extra": [1]}, "'extra', which the model does not"),
        ({"ids": [2, 5, 1], "features": [2, 8]}, "input 'ids': shape [2, 5, 1] has rank 3"),
        ({"ids": [2, 5], "features": [2, 9]}, "input 'features': shape [2, 9] contradicts"),
        ({"ids": [2, 5]}, "input 'features' has dynamic shape [batch, 8]"),
        ({"ids": [2, 0], "features": [2, 8]}, "input 'ids': a shape is a list of positive"),
    ],
)
def test_byo_bad_shapes_name_file_and_input(embedding_model, tmp_path, shapes, message):
    cache = tmp_path / "cache"
    with pytest.raises(ModelError) as err:
        prepare_model(None, None, embedding_model, shapes, cache)
    text = str(err.value)
    assert str(embedding_model) in text and message in text and "\n" not in text
    assert not cache.exists() or not any(cache.iterdir())  # nothing half-written


def test_byo_missing_and_corrupt_files(tmp_path):
    missing = tmp_path / "nope.onnx"
    with pytest.raises(ModelError, match=f"{missing}: model file not found"):
        prepare_model(None, None, missing, {}, tmp_path)
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07garbage that is not protobuf \xff\xfe" * 10)
    with pytest.raises(ModelError, match=f"{corrupt}: not an ONNX model"):
        prepare_model(None, None, corrupt, {}, tmp_path)


def test_byo_unsupported_dtype(tmp_path):
    nodes = [helper.make_node("Not", ["flag"], ["out"])]
    path = save_model(
        tmp_path / "bool.onnx",
        nodes,
        [_value("flag", TensorProto.BOOL, [4])],
        [_value("out", TensorProto.BOOL, [4])],
    )
    with pytest.raises(ModelError, match=r"bool.onnx: input 'flag' has dtype BOOL, unsupported"):
        prepare_model(None, None, path, {}, tmp_path)


def test_zoo_bad_requests(tmp_path):
    with pytest.raises(ModelError, match="unknown model builder 'alexnet'"):
        prepare_model("alexnet", {}, None, None, tmp_path)
    with pytest.raises(ModelError, match=r"'mobilenetv2': unknown parameter\(s\) \['depth'\]"):
        prepare_model("mobilenetv2", {"depth": 3}, None, None, tmp_path)
    with pytest.raises(ModelError, match="parameter 'layers' must be int"):
        prepare_model("bert_encoder", {"layers": "4"}, None, None, tmp_path)
    with pytest.raises(ModelError, match="exactly one of"):
        prepare_model("mlp_tiny", {}, tmp_path / "x.onnx", None, tmp_path)
    with pytest.raises(ModelError, match=r"'mlp_tiny': input 'input' is \[1, 64\], not \[1, 32\]"):
        prepare_model("mlp_tiny", {}, None, {"input": [1, 32]}, tmp_path)
    assert issubclass(ModelError, ValueError)
