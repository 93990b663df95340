#!/usr/bin/python3
"""Generate the ONNX oracle fixtures under testdata/onnx/ for predictd.

Run from the repository root with Debian's Python (python3-onnx 1.12 and
numpy; the pyenv python3 on PATH lacks them):

    /usr/bin/python3 testdata/gen/make_onnx_fixtures.py

The graphs are built by hand with onnx.helper (no exporter, no training), from
a seeded generator, so a rerun writes byte-identical files. Every model passes
onnx.checker.check_model(full_check=True). The expected outputs are computed
in float64 numpy from the float32 weights exactly as they are stored in the
file, following the operator definitions (Operators.md, Operators-ml.md and
the ONNX reference evaluator for the ai.onnx.ml operators).

For each case NAME (listed in cases.json) it writes:
  NAME.onnx      the model
  NAME.csv       input rows; header = predictd's feature names <input>_<j>
                 (j indexes the input tensor flattened row-major)
  NAME.pred.csv  the graph's probability / value output, one column per
                 predictd output (header = predictd's output names)
  NAME.raw.csv   the last linear layer's output before the final transform
                 (predictd's margins)
plus the error fixtures listed under "errors" in cases.json. It removes the
generated files first (README.md stays). testdata/onnx/README.md describes
the cases.
"""

import json
import math
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

assert onnx.__version__ == "1.12.0", onnx.__version__

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "onnx")

PRODUCER = "predictd-fixtures"
PRODUCER_VERSION = "1"
OPSET = [helper.make_opsetid("", 13)]
OPSET_ML = [helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 1)]

# Diagnostics printed at the end.
DIAG = {}


def f64(x):
    return repr(float(x))


def write_lines(path, lines):
    with open(path, "w", newline="\n") as fh:
        for line in lines:
            fh.write(line + "\n")


def write_table(path, header, rows):
    write_lines(path, [",".join(header)] + [",".join(f64(v) for v in r) for r in rows])


def f32(a):
    """float32 values as float64: the model stores float32, and the test
    rows are float32-representable so a float32 runtime sees the same input."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def tensor(name, a, raw=True):
    """A float tensor initializer; raw_data (as exporters write) or float_data."""
    a = np.asarray(a, dtype=np.float32)
    if raw:
        return numpy_helper.from_array(a, name)
    return helper.make_tensor(name, TensorProto.FLOAT, a.shape, a.ravel().tolist())


def save(name, graph, opsets, full_check=True):
    """Writes NAME.onnx after onnx.checker accepts it. full_check adds strict
    shape inference, which onnx 1.12 cannot do through ZipMap's
    sequence-of-map output (an inference limitation, not a model error)."""
    model = helper.make_model(graph, producer_name=PRODUCER,
                              producer_version=PRODUCER_VERSION,
                              opset_imports=opsets)
    onnx.checker.check_model(model, full_check=full_check)
    data = model.SerializeToString()
    path = os.path.join(OUT, name + ".onnx")
    with open(path, "wb") as fh:
        fh.write(data)
    # Read back: the file decodes to the same model and still checks.
    back = onnx.load(path)
    onnx.checker.check_model(back, full_check=full_check)
    assert back.SerializeToString() == data
    return model


def relu(z):
    return np.maximum(z, 0)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def names(prefix, n):
    return ["%s%d" % (prefix, k) for k in range(n)]


def write_case(cases, name, X, pred, raw, *, input_name, kind, task, classes,
               outputs, raw_outputs, desc):
    X = np.asarray(X, dtype=np.float64)
    Xf = X.reshape(len(X), -1)
    feat = ["%s_%d" % (input_name, j) for j in range(Xf.shape[1])]
    write_table(os.path.join(OUT, name + ".csv"), feat, Xf)
    write_table(os.path.join(OUT, name + ".pred.csv"), outputs, pred)
    write_table(os.path.join(OUT, name + ".raw.csv"), raw_outputs, raw)
    assert pred.shape == (len(X), len(outputs)) and raw.shape == (len(X), len(raw_outputs))
    assert np.all(np.isfinite(pred)) and np.all(np.isfinite(raw))
    cases.append({
        "name": name,
        "description": desc,
        "kind": kind,
        "task": task,
        "classes": classes,
        "input": input_name,
        "features": Xf.shape[1],
        "outputs": outputs,
        "raw_outputs": raw_outputs,
        "rows": len(X),
    })


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

def mlp512_softmax(rng, cases):
    """64 -> 512 -> 512 -> 512 -> 10, relu, softmax: the layout PyTorch's
    exporter writes for nn.Linear (Gemm with transB=1, weight [out, in])."""
    sizes = [64, 512, 512, 512, 10]
    nodes, inits = [], []
    Ws, bs = [], []
    cur = "input"
    for i in range(4):
        fin, fout = sizes[i], sizes[i + 1]
        W = rng.normal(0, math.sqrt(2.0 / fin), size=(fout, fin))
        b = rng.normal(0, 0.1, size=fout)
        Ws.append(f32(W))
        bs.append(f32(b))
        wn, bn = "fc%d.weight" % (i + 1), "fc%d.bias" % (i + 1)
        inits += [tensor(wn, W), tensor(bn, b)]
        out = "/fc%d/Gemm_output_0" % (i + 1)
        nodes.append(helper.make_node("Gemm", [cur, wn, bn], [out], name="/fc%d/Gemm" % (i + 1),
                                      alpha=1.0, beta=1.0, transB=1))
        cur = out
        if i < 3:
            out = "/act%d/Relu_output_0" % (i + 1)
            nodes.append(helper.make_node("Relu", [cur], [out], name="/act%d/Relu" % (i + 1)))
            cur = out
    nodes.append(helper.make_node("Softmax", [cur], ["output"], name="/softmax/Softmax", axis=1))
    graph = helper.make_graph(
        nodes, "main_graph",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch_size", 64])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", 10])],
        initializer=inits)
    save("mlp512_softmax", graph, OPSET)

    X = f32(rng.normal(0, 1, size=(200, 64)))
    h = X
    for i in range(3):
        h = relu(h @ Ws[i].T + bs[i])
    z = h @ Ws[3].T + bs[3]
    write_case(cases, "mlp512_softmax", X, softmax(z), z, input_name="input", kind="mlp",
               task="multiclass", classes=10, outputs=names("p", 10), raw_outputs=names("margin", 10),
               desc="Gemm(transB=1)+Relu x3 (64->512->512->512), Gemm to 10, Softmax(axis=1); raw_data weights")


def matmul_tanh_binary(rng, cases):
    """MatMul+Add chain, tanh hidden layers, sigmoid on one unit. Weights in
    float_data (not raw_data); the second Add has the bias first."""
    sizes = [20, 16, 8, 1]
    nodes, inits, Ws, bs = [], [], [], []
    cur = "x"
    for i in range(3):
        fin, fout = sizes[i], sizes[i + 1]
        W = f32(rng.normal(0, 1 / math.sqrt(fin), size=(fin, fout)))  # [K, N]
        b = f32(rng.normal(0, 0.2, size=fout))
        Ws.append(W)
        bs.append(b)
        wn, bn = "W%d" % i, "b%d" % i
        inits += [tensor(wn, W, raw=False), tensor(bn, b, raw=False)]
        mm, ad = "mm%d" % i, "lin%d" % i
        nodes.append(helper.make_node("MatMul", [cur, wn], [mm], name="matmul%d" % i))
        add_in = [bn, mm] if i == 1 else [mm, bn]
        nodes.append(helper.make_node("Add", add_in, [ad], name="add%d" % i))
        cur = ad
        if i < 2:
            nodes.append(helper.make_node("Tanh", [cur], ["h%d" % i], name="tanh%d" % i))
            cur = "h%d" % i
    nodes.append(helper.make_node("Sigmoid", [cur], ["prob"], name="sigmoid"))
    graph = helper.make_graph(
        nodes, "tanh_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 20])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", 1])],
        initializer=inits)
    save("matmul_tanh_binary", graph, OPSET)

    X = f32(rng.normal(0, 1.5, size=(200, 20)))
    h = X
    for i in range(2):
        h = np.tanh(h @ Ws[i] + bs[i])
    z = h @ Ws[2] + bs[2]
    write_case(cases, "matmul_tanh_binary", X, sigmoid(z), z, input_name="x", kind="mlp",
               task="binary", classes=0, outputs=["p"], raw_outputs=["margin"],
               desc="MatMul+Add, Tanh x2 (20->16->8), MatMul+Add to 1, Sigmoid; float_data weights, Add(bias, y) once")


# Feature means and spreads of the scaler cases: raw, unstandardised columns
# of very different magnitudes (age, income, counts, ratios, ...), so that
# folding the Scaler into the weights is tested where it could lose digits.
SCALER_MEAN = np.array([41.0, 52000.0, 3.2, 0.48, 1210.0, -7.5])
SCALER_STD = np.array([12.0, 15500.0, 1.4, 0.21, 310.0, 2.5])


def scaler_rows(rng, n, f):
    return f32(SCALER_MEAN[:f] + SCALER_STD[:f] * rng.normal(size=(n, f)))


def scaler_attrs(f):
    offset = f32(SCALER_MEAN[:f])
    scale = f32(1 / SCALER_STD[:f])
    return offset, scale


def fold_diag(name, X, offset, scale, W, b):
    """Max relative difference between the Scaler evaluated as written,
    ((x - offset) * scale) W^T + b, and folded into the weights,
    x (W diag(scale))^T + (b - W diag(scale) offset), both in float64."""
    exact = ((X - offset) * scale) @ W.T + b
    Wf = W * scale
    folded = X @ Wf.T + (b - Wf @ offset)
    rel = np.abs(folded - exact) / np.maximum(np.abs(exact), 1e-300)
    DIAG["scaler_fold_max_rel/" + name] = float(rel.max())
    DIAG["scaler_fold_max_abs/" + name] = float(np.abs(folded - exact).max())
    return exact


def scaler_linear_softmax(rng, cases):
    """Scaler then LinearClassifier (3 classes, SOFTMAX), as a multinomial
    logistic regression on unscaled features converts."""
    f, k = 5, 3
    offset, scale = scaler_attrs(f)
    W = f32(rng.normal(0, 1.0, size=(k, f)))
    b = f32(rng.normal(0, 0.5, size=k))
    nodes = [
        helper.make_node("Scaler", ["features"], ["scaled"], name="scaler", domain="ai.onnx.ml",
                         offset=offset.tolist(), scale=scale.tolist()),
        helper.make_node("LinearClassifier", ["scaled"], ["label", "probabilities"], name="linear_classifier",
                         domain="ai.onnx.ml", coefficients=W.ravel().tolist(), intercepts=b.tolist(),
                         classlabels_ints=[0, 1, 2], multi_class=1, post_transform="SOFTMAX"),
    ]
    graph = helper.make_graph(
        nodes, "scaled_logreg",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, f])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, k])])
    save("scaler_linear_softmax", graph, OPSET_ML)

    X = scaler_rows(rng, 200, f)
    z = fold_diag("scaler_linear_softmax", X, offset, scale, W, b)
    write_case(cases, "scaler_linear_softmax", X, softmax(z), z, input_name="features", kind="linear",
               task="multiclass", classes=k, outputs=names("p", k), raw_outputs=names("margin", k),
               desc="Scaler (unstandardised columns) + LinearClassifier 3 classes, post_transform SOFTMAX")


def scaler_linreg(rng, cases):
    """Scaler then LinearRegressor with 2 targets, double input."""
    f, t = 6, 2
    offset, scale = scaler_attrs(f)
    W = f32(rng.normal(0, 2.0, size=(t, f)))
    b = f32(rng.normal(0, 3.0, size=t))
    nodes = [
        helper.make_node("Scaler", ["X"], ["Xs"], name="scaler", domain="ai.onnx.ml",
                         offset=offset.tolist(), scale=scale.tolist()),
        helper.make_node("LinearRegressor", ["Xs"], ["variable"], name="linear_regressor", domain="ai.onnx.ml",
                         coefficients=W.ravel().tolist(), intercepts=b.tolist(), targets=t),
    ]
    graph = helper.make_graph(
        nodes, "scaled_linreg",
        [helper.make_tensor_value_info("X", TensorProto.DOUBLE, ["N", f])],
        [helper.make_tensor_value_info("variable", TensorProto.FLOAT, ["N", t])])
    save("scaler_linreg", graph, OPSET_ML)

    X = scaler_rows(rng, 200, f)
    z = fold_diag("scaler_linreg", X, offset, scale, W, b)
    write_case(cases, "scaler_linreg", X, z, z, input_name="X", kind="linear",
               task="regression", classes=0, outputs=names("value", t), raw_outputs=names("margin", t),
               desc="Scaler + LinearRegressor with targets=2 on a double input")


def flatten_gemm_sigmoid(rng, cases):
    """Rank-3 input [N, 3, 4], Flatten(axis=1), Gemm(alpha=0.5, beta=2,
    transA=0, transB=0) with a [1] bias, Sigmoid."""
    W = f32(rng.normal(0, 0.8, size=(12, 1)))  # [K, N]
    c = f32([0.375])
    nodes = [
        helper.make_node("Flatten", ["img"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "W", "C"], ["logit"], name="gemm", alpha=0.5, beta=2.0, transA=0, transB=0),
        helper.make_node("Sigmoid", ["logit"], ["p"], name="sigmoid"),
    ]
    graph = helper.make_graph(
        nodes, "flatten_gemm",
        [helper.make_tensor_value_info("img", TensorProto.FLOAT, ["N", 3, 4])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, ["N", 1])],
        initializer=[tensor("W", W), tensor("C", c)])
    save("flatten_gemm_sigmoid", graph, OPSET)

    X = f32(rng.normal(0, 1, size=(100, 3, 4)))
    z = 0.5 * (X.reshape(100, 12) @ W) + 2.0 * c
    write_case(cases, "flatten_gemm_sigmoid", X, sigmoid(z), z, input_name="img", kind="linear",
               task="binary", classes=0, outputs=["p"], raw_outputs=["margin"],
               desc="input [N,3,4], Flatten(axis=1), Gemm(alpha=0.5, beta=2, transB=0, C [1]), Sigmoid")


def double_mlp_regression(rng, cases):
    """Double-precision MLP with Identity ops and 3 regression outputs."""
    f, hdim, t = 7, 9, 3
    W1 = rng.normal(0, 0.6, size=(f, hdim))
    b1 = rng.normal(0, 0.2, size=hdim)
    W2 = rng.normal(0, 0.6, size=(hdim, t))
    b2 = rng.normal(0, 0.2, size=t)
    inits = [numpy_helper.from_array(a, n) for a, n in [(W1, "W1"), (b1, "b1"), (W2, "W2"), (b2, "b2")]]
    nodes = [
        helper.make_node("Identity", ["x"], ["x_id"], name="identity_in"),
        helper.make_node("MatMul", ["x_id", "W1"], ["m1"], name="mm1"),
        helper.make_node("Add", ["m1", "b1"], ["a1"], name="add1"),
        helper.make_node("Relu", ["a1"], ["h1"], name="relu1"),
        helper.make_node("MatMul", ["h1", "W2"], ["m2"], name="mm2"),
        helper.make_node("Add", ["m2", "b2"], ["a2"], name="add2"),
        helper.make_node("Identity", ["a2"], ["y"], name="identity_out"),
    ]
    graph = helper.make_graph(
        nodes, "double_mlp",
        [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["N", f])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["N", t])],
        initializer=inits)
    save("double_mlp_regression", graph, OPSET)

    X = rng.normal(0, 1, size=(150, f))  # double input: any float64
    z = relu(X @ W1 + b1) @ W2 + b2
    write_case(cases, "double_mlp_regression", X, z, z, input_name="x", kind="mlp",
               task="regression", classes=0, outputs=names("value", t), raw_outputs=names("margin", t),
               desc="double tensors (raw_data), Identity, MatMul+Add, Relu, MatMul+Add to 3 outputs")


def sklearn_binary_logistic(rng, cases):
    """The skl2onnx layout of a binary LogisticRegression: Scaler, then
    LinearClassifier with two mirrored rows [-w; w], [-b, b] and LOGISTIC,
    string labels, scores through ZipMap. predictd keeps p = Z[:, 1]."""
    f = 4
    offset, scale = scaler_attrs(f)
    w = f32(rng.normal(0, 1.0, size=f))
    b = f32(rng.normal(0, 0.5))
    coef = np.concatenate([-w, w])
    nodes = [
        helper.make_node("Scaler", ["float_input"], ["variable"], name="Scaler", domain="ai.onnx.ml",
                         offset=offset.tolist(), scale=scale.tolist()),
        helper.make_node("LinearClassifier", ["variable"], ["label", "probability_tensor"], name="LinearClassifier",
                         domain="ai.onnx.ml", coefficients=coef.tolist(), intercepts=[-float(b), float(b)],
                         classlabels_strings=["no", "yes"], multi_class=0, post_transform="LOGISTIC"),
        helper.make_node("ZipMap", ["probability_tensor"], ["output_probability"], name="ZipMap",
                         domain="ai.onnx.ml", classlabels_strings=["no", "yes"]),
    ]
    seq_map = onnx.TypeProto()
    seq_map.sequence_type.elem_type.map_type.key_type = TensorProto.STRING
    seq_map.sequence_type.elem_type.map_type.value_type.tensor_type.elem_type = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes, "sklearn_pipeline",
        [helper.make_tensor_value_info("float_input", TensorProto.FLOAT, [None, f])],
        [helper.make_tensor_value_info("label", TensorProto.STRING, [None]),
         helper.make_value_info("output_probability", seq_map)])
    save("sklearn_binary_logistic", graph, OPSET_ML, full_check=False)

    X = scaler_rows(rng, 200, f)
    z = fold_diag("sklearn_binary_logistic", X, offset, scale, w.reshape(1, f), np.array([b]))
    # The ONNX output is [sigmoid(-z), sigmoid(z)]; predictd keeps column 1.
    write_case(cases, "sklearn_binary_logistic", X, sigmoid(z), z, input_name="float_input", kind="linear",
               task="binary", classes=0, outputs=["p"], raw_outputs=["margin"],
               desc="skl2onnx layout: Scaler + LinearClassifier rows [-w; w] LOGISTIC + ZipMap; p = Z[:,1]")


def unsupported_conv(rng):
    """A Conv in front of the dense part: refused, naming node and op."""
    nodes = [
        helper.make_node("Conv", ["signal", "K"], ["conv_out"], name="conv1", kernel_shape=[3]),
        helper.make_node("Flatten", ["conv_out"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "W", "b"], ["out"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "conv_net",
        [helper.make_tensor_value_info("signal", TensorProto.FLOAT, ["N", 1, 8])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 2])],
        initializer=[tensor("K", rng.normal(size=(2, 1, 3))), tensor("W", rng.normal(size=(2, 12))),
                     tensor("b", rng.normal(size=2))])
    save("unsupported_conv", graph, OPSET)
    return {"name": "unsupported_conv",
            "error": 'node "conv1" (op Conv): operator not supported'}


def main():
    # Rewrite every generated file; README.md stays.
    os.makedirs(OUT, exist_ok=True)
    for fn in os.listdir(OUT):
        if fn.endswith((".onnx", ".csv", ".json")):
            os.remove(os.path.join(OUT, fn))
    rng = np.random.default_rng(20240611)
    cases = []
    mlp512_softmax(rng, cases)
    matmul_tanh_binary(rng, cases)
    scaler_linear_softmax(rng, cases)
    scaler_linreg(rng, cases)
    flatten_gemm_sigmoid(rng, cases)
    double_mlp_regression(rng, cases)
    sklearn_binary_logistic(rng, cases)
    errors = [unsupported_conv(rng)]
    with open(os.path.join(OUT, "cases.json"), "w", newline="\n") as fh:
        json.dump({"cases": cases, "errors": errors}, fh, indent=1)
        fh.write("\n")
    for k, v in sorted(DIAG.items()):
        print("%-50s %.3g" % (k, v))
    for c in cases:
        size = os.path.getsize(os.path.join(OUT, c["name"] + ".onnx"))
        print("%-25s %8d bytes  %s" % (c["name"], size, c["description"]))


if __name__ == "__main__":
    main()
