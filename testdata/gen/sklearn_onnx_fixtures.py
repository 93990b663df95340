#!/usr/bin/python3
"""Generate testdata/onnx/sklearn/: scikit-learn models in the ONNX layout
skl2onnx writes, with scikit-learn's own predictions as the oracle.

Run from the repository root with Debian's Python (python3-onnx 1.12,
scikit-learn 1.2.1, numpy, pandas; the pyenv python3 on PATH lacks onnx):

    apt-get install -y python3-onnx
    /usr/bin/python3 testdata/gen/sklearn_onnx_fixtures.py

skl2onnx itself is not installable here. Each case therefore FITS a real
scikit-learn estimator (seeded, small synthetic data) and then builds, node
by node with onnx.helper, the graph skl2onnx 1.16 writes for that fitted
estimator with target_opset=15 and its defaults (ZipMap on, Identity nodes
removed): the same operators, attributes, initializers, node order (see
Graph.final_nodes), opset imports (Graph.opsets), and the variable and node
names its naming scheme gives (a name already taken gets 1, 2, ...
appended). Each builder cites the skl2onnx converter it follows. No
skl2onnx code is copied.

A rerun writes byte-identical files. For each case NAME (listed in
cases.json) it writes:
  NAME.onnx          the model (onnx.checker; full_check where onnx 1.12 can
                     infer the shapes, i.e. no ZipMap)
  NAME.csv           test input rows, float32-representable; blank = NaN
  NAME.expected.csv  scikit-learn's float64 predictions on exactly those rows
"""

import json
import math
import os
import warnings

import numpy as np
import onnx
import pandas as pd
import sklearn
from onnx import TensorProto, helper
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.ensemble import (ExtraTreesClassifier, GradientBoostingClassifier,
                              GradientBoostingRegressor,
                              HistGradientBoostingClassifier,
                              HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (MinMaxScaler, Normalizer, OneHotEncoder,
                                   StandardScaler)

assert onnx.__version__ == "1.12.0", onnx.__version__
assert sklearn.__version__ == "1.2.1", sklearn.__version__

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "onnx", "sklearn")

PRODUCER = "predictd-fixtures"
PRODUCER_VERSION = "1"
TARGET_OPSET = 15
ML = "ai.onnx.ml"
N_TEST = 100


# --------------------------------------------------------------------------
# Graph building with skl2onnx's naming scheme


class Graph:
    """Nodes, initializers and names for one model.

    skl2onnx keeps one set of variable names (inputs, parser variables,
    converter temporaries and initializers) and one of node names per
    scope; a seed already taken gets the first free suffix 1, 2, ...
    (skl2onnx/common/_topology.py, Scope.get_unique_variable_name and
    get_unique_operator_name)."""

    def __init__(self):
        self.var_names = set()
        self.op_names = set()
        self.nodes = []
        self.inits = []
        self.inputs = []
        self.outputs = []

    @staticmethod
    def _unique(seed, taken):
        name, i = seed, 1
        while name in taken:
            name = "%s%d" % (seed, i)
            i += 1
        taken.add(name)
        return name

    def var(self, seed):
        return self._unique(seed, self.var_names)

    def op_name(self, seed):
        return self._unique(seed, self.op_names)

    def node(self, op_type, inputs, outputs, domain="", name=None, **attrs):
        name = self.op_name(name or op_type)
        self.add(helper.make_node(op_type, inputs, outputs, name=name, domain=domain, **attrs))

    def add(self, node):
        self.nodes.append(node)

    def opsets(self):
        """skl2onnx/common/_topology.py, convert_topology and
        _update_domain_version: a model imports, per domain, the highest
        version of the operators its converters added (each the newest
        schema <= target_opset, found in common/_container.py
        _get_op_version; the tree converters pass op_version=1), Identity
        nodes removed later included. Without any ai.onnx operator the main
        opset is added at target_opset, after ai.onnx.ml. Every
        ai.onnx.ml operator used here is at version 1."""
        versions = {}
        for n in self.nodes:
            v = 1 if n.domain == ML else onnx.defs.get_schema(n.op_type, TARGET_OPSET, n.domain).since_version
            versions[n.domain] = max(versions.get(n.domain, 0), v)
        assert versions.get(ML, 1) == 1, versions
        if "" in versions:
            return [helper.make_opsetid("", versions[""]), helper.make_opsetid(ML, 1)]
        return [helper.make_opsetid(ML, 1), helper.make_opsetid("", TARGET_OPSET)]

    def final_nodes(self):
        """The node list as skl2onnx writes it: first
        ModelComponentContainer.ensure_topological_order (common/_container.py),
        which sorts the nodes by depth (graph inputs and initializers 0, a
        node one more than its deepest input, its outputs one more again);
        skl2onnx breaks ties by the nodes' memory addresses, here by the
        order the converters added them. Then onnx_remove_node_identity
        (common/onnx_optimisation_identity.py), which convert_sklearn runs
        by default: an Identity whose output is not a graph output is
        dropped and its readers read its input; one whose output is a graph
        output is dropped and its input's producer writes that output."""
        depth = {v.name: 0 for v in self.inputs}
        depth.update({t.name: 0 for t in self.inits})
        order = {}
        for k, n in enumerate(self.nodes):
            d = max(depth[i] for i in n.input) + 1
            order[k] = d
            for o in n.output:
                depth[o] = d + 1
        nodes = [self.nodes[k] for k in sorted(range(len(self.nodes)), key=lambda k: (order[k], k))]
        outputs = {o.name for o in self.outputs}
        inputs = {i.name for i in self.inputs}
        while any(n.op_type == "Identity" for n in nodes):
            k = next(k for k, n in enumerate(nodes) if n.op_type == "Identity")
            inp, out = nodes[k].input[0], nodes[k].output[0]
            assert not (inp in inputs and out in outputs)
            del nodes[k]
            if out not in outputs:
                nodes = [rename(n, ins={out: inp}) for n in nodes]
            else:
                assert inp not in inputs and inp not in outputs
                nodes = [rename(n, ins={inp: out}, outs={inp: out}) for n in nodes]
        return nodes

    def init(self, seed, dtype, dims, values):
        name = self.var(seed)
        values = np.asarray(values).ravel().tolist()
        self.inits.append(helper.make_tensor(name, dtype, list(dims), values))
        return name

    def input(self, name, elem, shape):
        self.var_names.add(name)
        self.inputs.append(helper.make_tensor_value_info(name, elem, shape))
        return name


def rename(node, ins=None, outs=None):
    """A copy of node with inputs and outputs renamed by the given maps."""
    ins, outs = ins or {}, outs or {}
    n = onnx.NodeProto()
    n.CopyFrom(node)
    n.input[:] = [ins.get(x, x) for x in node.input]
    n.output[:] = [outs.get(x, x) for x in node.output]
    return n


def seq_map_type(key_elem):
    t = onnx.TypeProto()
    t.sequence_type.elem_type.map_type.key_type = key_elem
    t.sequence_type.elem_type.map_type.value_type.tensor_type.elem_type = TensorProto.FLOAT
    return t


def label_elem(classes):
    return TensorProto.STRING if isinstance(classes[0], str) else TensorProto.INT64


def classifier_outputs(g, classes, out_label, out_prob):
    g.outputs = [helper.make_tensor_value_info(out_label, label_elem(classes), [None]),
                 helper.make_value_info(out_prob, seq_map_type(label_elem(classes)))]


def regressor_outputs(g, out):
    g.outputs = [helper.make_tensor_value_info(out, TensorProto.FLOAT, [None, 1])]


def f32list(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).ravel()]


def linear_class_attrs(classes):
    """LinearClassifier's labels as the converter picks them:
    classlabels_strings if every class is a string, else classlabels_ints
    (the tree ensembles and ZipMap spell the integer form *_int64s)."""
    if isinstance(classes[0], str):
        return {"classlabels_strings": [str(c) for c in classes]}
    return {"classlabels_ints": [int(c) for c in classes]}


# --------------------------------------------------------------------------
# Converters, each following one skl2onnx converter


def conv_scaler(g, est, inp, out):
    """skl2onnx/operator_converters/scaler_op.py, convert_sklearn_scaler
    (default option div='std'): one ai.onnx.ml Scaler. StandardScaler:
    offset=mean_, scale=1/scale_. MinMaxScaler: scale=scale_,
    offset=-min_/(scale_+1e-8)."""
    if isinstance(est, StandardScaler):
        offset, scale = est.mean_, 1.0 / est.scale_
    elif isinstance(est, MinMaxScaler):
        scale, offset = est.scale_, -est.min_ / (est.scale_ + 1e-8)
    else:
        raise TypeError(est)
    g.node("Scaler", [inp], [out], domain=ML, offset=f32list(offset), scale=f32list(scale))


def conv_imputer(g, est, inp, out):
    """skl2onnx/operator_converters/imputer_op.py, convert_sklearn_imputer:
    ai.onnx.ml Imputer, imputed_value_floats=statistics_,
    replaced_value_float=NaN (missing_values=np.nan)."""
    assert isinstance(est, SimpleImputer) and math.isnan(est.missing_values)
    g.node("Imputer", [inp], [out], domain=ML, imputed_value_floats=f32list(est.statistics_),
           replaced_value_float=float("nan"))


def conv_normalizer(g, est, inp, out):
    """skl2onnx/operator_converters/normaliser.py, convert_sklearn_normalizer:
    ai.onnx.ml Normalizer with norm 'L1' | 'L2' | 'MAX'."""
    g.node("Normalizer", [inp], [out], domain=ML, norm={"l1": "L1", "l2": "L2", "max": "MAX"}[est.norm])


def conv_linear_classifier(g, est, inp, label, probs):
    """skl2onnx/operator_converters/linear_classifier.py (1.16),
    convert_sklearn_linear_classifier, float input, LogisticRegression:
    binary coefficients become two rows [-w; w] and intercepts [-b, b].
    multi_class (the converter's) is 1 for multi_class='ovr', else 2; the
    node's multi_class attribute is 1 if that is 2 else 0.
    post_transform is LOGISTIC for ovr, or 'auto' with <= 2 classes or
    solver liblinear, else SOFTMAX. Since multi_class > 0 always holds for
    LogisticRegression, the scores go to a 'probability_tensor' and an
    L1 Normalizer writes the probabilities (common/_apply_operation.py,
    apply_normalizer with use_float=True)."""
    assert isinstance(est, LogisticRegression)
    classes = list(est.classes_)
    coef = est.coef_.astype(np.float64).ravel()
    icpt = est.intercept_.astype(np.float64).ravel()
    if len(classes) == 2:
        coef = np.concatenate([-coef, coef])
        icpt = np.concatenate([-icpt, icpt])
    mc = 1 if est.multi_class == "ovr" else 2
    ovr = est.multi_class in ("ovr", "warn") or (
        est.multi_class == "auto" and (len(classes) <= 2 or est.solver == "liblinear"))
    attrs = dict(coefficients=f32list(coef), intercepts=f32list(icpt),
                 multi_class=1 if mc == 2 else 0, post_transform="LOGISTIC" if ovr else "SOFTMAX")
    attrs.update(linear_class_attrs([c if isinstance(c, str) else int(c) for c in classes]))
    name = g.op_name("LinearClassifier")
    ptensor = g.var("probability_tensor")
    g.add(helper.make_node("LinearClassifier", [inp], [label, ptensor], name=name, domain=ML, **attrs))
    g.node("Normalizer", [ptensor], [probs], domain=ML, norm="L1")


def conv_zipmap(g, classes, label, probs, out_label, out_prob):
    """skl2onnx/operator_converters/zip_map.py, convert_sklearn_zipmap: the
    label passes through Cast(to=INT64) for integer classes or Identity for
    strings, then ZipMap turns the probabilities into a sequence of maps."""
    if isinstance(classes[0], str):
        g.node("Identity", [label], [out_label])
        g.node("ZipMap", [probs], [out_prob], domain=ML, classlabels_strings=list(classes))
    else:
        g.node("Cast", [label], [out_label], to=TensorProto.INT64)
        g.node("ZipMap", [probs], [out_prob], domain=ML, classlabels_int64s=[int(c) for c in classes])


def conv_linear_regressor(g, est, inp, out):
    """skl2onnx/operator_converters/linear_regressor.py,
    convert_sklearn_linear_regressor, float input: ai.onnx.ml
    LinearRegressor, coefficients=coef_, intercepts=[intercept_]."""
    g.node("LinearRegressor", [inp], [out], domain=ML, coefficients=f32list(est.coef_),
           intercepts=f32list(np.atleast_1d(est.intercept_)))


def conv_afe(g, inp, indices, out):
    """skl2onnx/operator_converters/array_feature_extractor.py: an INT64
    'column_indices' initializer and ai.onnx.ml ArrayFeatureExtractor."""
    idx = g.init("column_indices", TensorProto.INT64, [len(indices)], indices)
    g.node("ArrayFeatureExtractor", [inp, idx], [out], domain=ML)


def conv_concat(g, inputs, out):
    """skl2onnx/operator_converters/concat_op.py, convert_sklearn_concat:
    inputs of the output's type go straight into Concat(axis=1)."""
    g.node("Concat", inputs, [out], axis=1)


def apply_reshape(g, inp, out, shape):
    """common/_apply_operation.py, apply_reshape (opset >= 5): an INT64
    'shape_tensor' initializer and Reshape."""
    st = g.init("shape_tensor", TensorProto.INT64, [len(shape)], shape)
    g.node("Reshape", [inp, st], [out])


def conv_onehot_single(g, est, inp, out):
    """skl2onnx/operator_converters/one_hot_encoder.py,
    convert_sklearn_one_hot_encoder, one string input of shape [None, 1]:
    Gather(axis=1) of column 0 (index initializer named <input>0, output
    <input>01), OneHotEncoder(cats_strings, zeros=1 for
    handle_unknown='ignore') to <...>out, Concat(axis=-1) of the per-column
    results to 'concat_result', Reshape to [-1, n_categories]."""
    assert len(est.categories_) == 1 and est.drop_idx_ is None
    cats = [str(c) for c in est.categories_[0]]
    idx = g.init(inp + "0", TensorProto.INT64, [1], [0])
    col = g.var(inp + "0")
    g.node("Gather", [inp, idx], [col], axis=1)
    ohe_out = g.var(col + "out")
    g.node("OneHotEncoder", [col], [ohe_out], domain=ML, cats_strings=cats,
           zeros=1 if est.handle_unknown == "ignore" else 0)
    cres = g.var("concat_result")
    g.node("Concat", [ohe_out], [cres], axis=-1)
    apply_reshape(g, cres, out, [-1, len(cats)])


ACT = {"identity": "Identity", "tanh": "Tanh", "logistic": "Sigmoid", "relu": "Relu", "softmax": "Softmax"}


def mlp_forward(g, est, inp):
    """skl2onnx/operator_converters/multilayer_perceptron.py, _predict and
    _forward_pass: Cast(to=FLOAT) of the input to 'cast_input', then per
    layer MatMul with 'coefficient' [in, out] and Add of 'intercepts'
    [1, out]; hidden layers get the activation; the output activation
    node (out_activation_) is named after the hidden activation, as the
    converter names it."""
    cast = g.var("cast_input")
    g.node("Cast", [inp], [cast], to=TensorProto.FLOAT)
    out = g.var("out_activations_result")
    act = cast
    for i in range(est.n_layers_ - 1):
        W, b = est.coefs_[i], est.intercepts_[i]
        wn = g.var("coefficient")
        bn = g.var("intercepts")
        mul = g.var("mul_result")
        add = g.var("add_result")
        g.inits.append(helper.make_tensor(wn, TensorProto.FLOAT, list(W.shape), f32list(W)))
        g.inits.append(helper.make_tensor(bn, TensorProto.FLOAT, [1, len(b)], f32list(b)))
        g.node("MatMul", [act, wn], [mul])
        g.node("Add", [mul, bn], [add])
        if i + 1 != est.n_layers_ - 1:
            nxt = g.var("next_activations")
            g.node(ACT[est.activation], [add], [nxt])
            act = nxt
    g.node(ACT[est.out_activation_], [add], [out], name=ACT[est.activation])
    return out


def conv_mlp_classifier(g, est, inp, label, probs):
    """multilayer_perceptron.py, convert_sklearn_mlp_classifier: binary
    networks end in one Sigmoid unit p; the converter makes
    Sub(unity=1, p) and Concat([1-p, p], axis=1). Multiclass ones end in
    Softmax, passed on by Identity. The label is ArgMax(axis=1) over the
    probabilities, ArrayFeatureExtractor into a 'classes' initializer
    (INT32 for integer classes, STRING otherwise), Reshape to [-1], and
    for integer classes Cast to INT64."""
    classes = est.classes_
    argmax = g.var("argmax_output")
    afe = g.var("array_feature_extractor_result")
    y = mlp_forward(g, est, inp)
    if len(classes) == 2:
        unity = g.init("unity", TensorProto.FLOAT, [], [1.0])
        neg = g.var("negative_class_proba")
        g.node("Sub", [unity, y], [neg])
        g.node("Concat", [neg, y], [probs], axis=1)
    else:
        g.node("Identity", [y], [probs])
    if isinstance(classes[0], str):
        cn = g.init("classes", TensorProto.STRING, [len(classes)], [c.encode() for c in classes])
    else:
        cn = g.init("classes", TensorProto.INT32, [len(classes)], [int(c) for c in classes])
    g.node("ArgMax", [probs], [argmax], axis=1)
    g.node("ArrayFeatureExtractor", [cn, argmax], [afe], domain=ML)
    if isinstance(classes[0], str):
        apply_reshape(g, afe, label, [-1])
    else:
        rr = g.var("reshaped_result")
        apply_reshape(g, afe, rr, [-1])
        g.node("Cast", [rr], [label], to=TensorProto.INT64)


def conv_mlp_regressor(g, est, inp, out):
    """multilayer_perceptron.py, convert_sklearn_mlp_regressor: the forward
    pass (Identity output activation), then Reshape to [-1, 1]."""
    y = mlp_forward(g, est, inp)
    apply_reshape(g, y, out, [-1, 1])


def sklearn_threshold(dy):
    """common/tree_ensemble.py, sklearn_threshold for BRANCH_LEQ and float32:
    scikit-learn compares float32(x) <= double t, so the float32 threshold
    is the largest float32 w <= t: float32(t) if that is not above t, else
    the next float32 below it."""
    fy = np.float32(dy)
    if float(fy) <= dy:
        return float(fy)
    return float(np.nextafter(fy, np.float32(-np.inf)))


class TreeAttrs:
    """common/tree_ensemble.py: get_default_tree_{classifier,regressor}_
    attribute_pairs and add_node. Every node gets a hitrate of 1.0 and a
    missing-value track; a leaf's weights are multiplied by the tree weight
    (and divided by their sum when they are class counts); a binary
    classifier leaf keeps only the last of two weights."""

    def __init__(self, classifier):
        self.classifier = classifier
        self.a = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes",
                                  "nodes_values", "nodes_truenodeids", "nodes_falsenodeids",
                                  "nodes_missing_value_tracks_true", "nodes_hitrates")}
        pre = "class" if classifier else "target"
        self.pre = pre
        for k in ("treeids", "nodeids", "ids", "weights"):
            self.a["%s_%s" % (pre, k)] = []

    def add(self, tree_id, node_id, feat, mode, value, t, f, missing, weights, tree_weight, bias, counts):
        a = self.a
        a["nodes_treeids"].append(tree_id)
        a["nodes_nodeids"].append(node_id)
        a["nodes_featureids"].append(int(feat))
        a["nodes_modes"].append(mode)
        a["nodes_values"].append(value)
        a["nodes_truenodeids"].append(int(t))
        a["nodes_falsenodeids"].append(int(f))
        a["nodes_missing_value_tracks_true"].append(int(missing))
        a["nodes_hitrates"].append(1.0)
        if mode != "LEAF":
            return
        w = np.asarray(weights, dtype=np.float64).ravel()
        factor = tree_weight
        if counts:
            s = w.sum()
            factor /= s if s != 0 else 1.0
        w = [x * factor for x in w]
        if len(w) == 2 and self.classifier:
            w = [w[1]]
        for i, x in enumerate(w):
            a[self.pre + "_treeids"].append(tree_id)
            a[self.pre + "_nodeids"].append(node_id)
            a[self.pre + "_ids"].append(i + bias)
            a[self.pre + "_weights"].append(x)

    def add_sklearn_tree(self, tree, tree_id, tree_weight, bias, counts):
        """add_tree_to_attribute_pairs with adjust_threshold_for_sklearn=True."""
        for i in range(tree.node_count):
            if tree.children_left[i] > i or tree.children_right[i] > i:
                self.add(tree_id, i, tree.feature[i], "BRANCH_LEQ", sklearn_threshold(tree.threshold[i]),
                         tree.children_left[i], tree.children_right[i], False, tree.value[i],
                         tree_weight, bias, counts)
            else:
                self.add(tree_id, i, 0, "LEAF", 0.0, 0, 0, False, tree.value[i], tree_weight, bias, counts)

    def add_hgb_tree(self, pred, tree_id, bias):
        """add_tree_to_attribute_pairs_hist_gradient_boosting: thresholds are
        num_threshold as is (no adjustment), the missing-value track is the
        node's missing_go_to_left, tree weight 1, values are not counts."""
        for i, node in enumerate(pred.nodes):
            if node["is_leaf"]:
                self.add(tree_id, i, 0, "LEAF", 0.0, 0, 0, False, [node["value"]], 1.0, bias, False)
            else:
                self.add(tree_id, i, node["feature_idx"], "BRANCH_LEQ", float(node["num_threshold"]),
                         node["left"], node["right"], bool(node["missing_go_to_left"]), None, 1.0, bias, False)

    def attrs(self):
        out = dict(self.a)
        for k in ("nodes_values", "nodes_hitrates", self.pre + "_weights"):
            out[k] = f32list(out[k])
        return out


def conv_forest_classifier(g, est, inp, label, probs):
    """skl2onnx/operator_converters/random_forest.py,
    convert_sklearn_random_forest_classifier (RandomForestClassifier,
    ExtraTreesClassifier, HistGradientBoostingClassifier).
    Forests: tree weight 1/n_estimators, leaf class counts normalised,
    thresholds adjusted, post_transform NONE. HGB: one tree per class and
    iteration (tree id iteration*K + class, class id = class), base_values
    = _baseline_prediction, post_transform LOGISTIC (HalfBinomialLoss) or
    SOFTMAX (HalfMultinomialLoss)."""
    ta = TreeAttrs(True)
    extra = {}
    if hasattr(est, "estimators_"):
        n = len(est.estimators_)
        for t, e in enumerate(est.estimators_):
            ta.add_sklearn_tree(e.tree_, t, 1.0 / n, 0, True)
        post = "NONE"
    else:
        k = est.n_trees_per_iteration_
        for t, preds in enumerate(est._predictors):
            if len(preds) == 1:
                ta.add_hgb_tree(preds[0], t, 0)
            else:
                for c, p in enumerate(preds):
                    ta.add_hgb_tree(p, t * k + c, c)
        extra["base_values"] = f32list(np.asarray(est._baseline_prediction).ravel())
        post = {"HalfBinomialLoss": "LOGISTIC", "HalfMultinomialLoss": "SOFTMAX"}[type(est._loss).__name__]
    attrs = ta.attrs()
    attrs["post_transform"] = post
    attrs.update(extra)
    attrs["classlabels_int64s"] = [int(c) for c in est.classes_]
    g.node("TreeEnsembleClassifier", [inp], [label, probs], domain=ML, **attrs)


def conv_gb_classifier(g, est, inp, label, probs):
    """skl2onnx/operator_converters/gradient_boosting.py,
    convert_sklearn_gradient_boosting_classifier: tree weight =
    learning_rate, leaf values not counts, thresholds adjusted; binary:
    tree id = iteration, class id 0; multiclass: tree id = iteration*K + c,
    class id c. base_values = _raw_predict_init of a zero row (init=None);
    post_transform LOGISTIC for 2 classes, else SOFTMAX."""
    ta = TreeAttrs(True)
    K = est.n_classes_
    for i in range(est.n_estimators_):
        if K == 2:
            ta.add_sklearn_tree(est.estimators_[i][0].tree_, i, est.learning_rate, 0, False)
        else:
            for c in range(K):
                ta.add_sklearn_tree(est.estimators_[i][c].tree_, i * K + c, est.learning_rate, c, False)
    attrs = ta.attrs()
    base = est._raw_predict_init(np.zeros((1, est.n_features_in_))).ravel()
    attrs["base_values"] = f32list(base)
    attrs["post_transform"] = "LOGISTIC" if K == 2 else "SOFTMAX"
    attrs["classlabels_int64s"] = [int(c) for c in est.classes_]
    g.node("TreeEnsembleClassifier", [inp], [label, probs], domain=ML, **attrs)


def conv_tree_regressor(g, est, inp, out):
    """random_forest.py, convert_sklearn_random_forest_regressor_converter
    (forests: tree weight 1/n, thresholds adjusted; HGB: tree weight 1,
    base_values = _baseline_prediction, missing tracks from the nodes) and
    gradient_boosting.py, convert_sklearn_gradient_boosting_regressor (tree
    weight learning_rate, base_values = init_.constant_). n_targets 1,
    post_transform NONE."""
    ta = TreeAttrs(False)
    extra = {}
    if isinstance(est, GradientBoostingRegressor):
        for i in range(est.n_estimators_):
            ta.add_sklearn_tree(est.estimators_[i][0].tree_, i, est.learning_rate, 0, False)
        extra["base_values"] = f32list(np.asarray(est.init_.constant_).ravel())
    elif hasattr(est, "estimators_"):
        n = len(est.estimators_)
        for t, e in enumerate(est.estimators_):
            ta.add_sklearn_tree(e.tree_, t, 1.0 / n, 0, False)
    else:
        for t, preds in enumerate(est._predictors):
            assert len(preds) == 1
            ta.add_hgb_tree(preds[0], t, 0)
        extra["base_values"] = f32list(np.asarray(est._baseline_prediction).ravel())
    attrs = ta.attrs()
    attrs["n_targets"] = 1
    attrs["post_transform"] = "NONE"
    attrs.update(extra)
    g.node("TreeEnsembleRegressor", [inp], [out], domain=ML, **attrs)


# --------------------------------------------------------------------------
# Output files


def f64(x):
    return repr(float(x))


def cell(v):
    if isinstance(v, str):
        assert "," not in v and "\n" not in v and v != ""
        return v
    return "" if math.isnan(v) else f64(v)


def write_lines(path, lines):
    with open(path, "w", newline="\n") as fh:
        for line in lines:
            fh.write(line + "\n")


def f32(a):
    """Rounds through float32 so a float32 runtime sees the same input."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def save(name, g, graph_name, doc, full_check):
    graph = helper.make_graph(g.final_nodes(), graph_name, g.inputs, g.outputs, initializer=g.inits)
    # skl2onnx sets ir_version from the target opset (15 -> IR 8), domain
    # "ai.onnx" and model_version 0.
    model = helper.make_model(graph, producer_name=PRODUCER, producer_version=PRODUCER_VERSION,
                              opset_imports=g.opsets(), doc_string=doc, domain="ai.onnx", model_version=0)
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=full_check)
    data = model.SerializeToString()
    path = os.path.join(OUT, name + ".onnx")
    with open(path, "wb") as fh:
        fh.write(data)
    back = onnx.load(path)
    onnx.checker.check_model(back, full_check=full_check)
    assert back.SerializeToString() == data
    assert len(data) < 300_000, (name, len(data))
    return model


CASES = []


def emit(name, model, g, *, inputs, frame, task, converter, notes, graph_name):
    """Writes NAME.onnx, NAME.csv (the frame: one column per input of shape
    [None,1], <input>_<j> for wider ones) and NAME.expected.csv (the fitted
    scikit-learn model on the same values in float64), and records the
    case."""
    columns = list(frame.columns)
    classifier = task != "regression"
    full_check = not classifier
    doc = "scikit-learn %s; layout of skl2onnx 1.16 at target_opset 15: %s" % (sklearn.__version__, converter)
    onx = save(name, g, graph_name, doc, full_check)
    rows = frame.values.tolist()
    write_lines(os.path.join(OUT, name + ".csv"), [",".join(columns)] + [",".join(cell(v) for v in r) for r in rows])
    X = model_input(frame, inputs)
    if classifier:
        pred = model.predict(X)
        proba = model.predict_proba(X)
        classes = [str(c) for c in model.classes_]
        assert proba.shape == (len(rows), len(classes))
        header = ["label"] + ["proba_%d" % k for k in range(len(classes))]
        body = [",".join([str(p)] + [f64(v) for v in pr]) for p, pr in zip(pred, proba)]
    else:
        pred = model.predict(X)
        classes = None
        header = ["value"]
        body = [f64(v) for v in np.asarray(pred, dtype=np.float64).ravel()]
    write_lines(os.path.join(OUT, name + ".expected.csv"), [",".join(header)] + body)
    case = {"name": name, "estimator": repr(model), "task": task}
    if classes is not None:
        case["classes"] = classes
    case.update({"inputs": inputs, "columns": columns, "expected": header, "rows": len(rows),
                 "outputs": [o.name for o in g.outputs],
                 "probability_tensor": zipmap_input(onx),
                 "opsets": {o.domain or "ai.onnx": o.version for o in onx.opset_import},
                 "nodes": [n.op_type for n in onx.graph.node],
                 "converter": converter, "notes": notes})
    CASES.append(case)


def zipmap_input(onx):
    """The float [N, K] tensor the ZipMap reads (None without a ZipMap)."""
    for n in onx.graph.node:
        if n.op_type == "ZipMap":
            return n.input[0]
    return None


def model_input(frame, inputs):
    """What scikit-learn is given: the float64 matrix for a single tensor
    input, the DataFrame (named columns) for one input per column."""
    if len(inputs) == 1 and inputs[0]["shape"][1] > 1:
        return frame.values.astype(np.float64)
    return frame


def float_frame(name, X):
    X = f32(X)
    return pd.DataFrame(X, columns=["%s_%d" % (name, j) for j in range(X.shape[1])])


def float_input(g, k, name="float_input"):
    g.input(name, TensorProto.FLOAT, [None, k])
    return [{"name": name, "type": "float", "shape": [None, k]}]


def shifted(X, rng):
    """Columns on unequal scales and offsets, so a scaler matters."""
    k = X.shape[1]
    return X * rng.uniform(0.5, 20, size=k) + rng.uniform(-50, 50, size=k)


# --------------------------------------------------------------------------
# Pipelines of a transformer chain and a final estimator


def linear_pipeline(g, steps, inp):
    """Pipeline parsing (skl2onnx/_parse.py, _parse_sklearn_pipeline): each
    step's output variable is 'variable' (made unique), declared in step
    order before any converter runs."""
    outs = [g.var("variable") for _ in steps]
    cur = inp
    for (kind, est), out in zip(steps, outs):
        {"scaler": conv_scaler, "imputer": conv_imputer, "normalizer": conv_normalizer}[kind](g, est, cur, out)
        cur = out
    return cur


def classifier_names(g):
    """_parse_sklearn_classifier: the classifier declares 'label' and
    'probabilities', then _apply_zipmap declares 'output_label' and
    'output_probability', all before any converter runs."""
    label, probs = g.var("label"), g.var("probabilities")
    out_label, out_prob = g.var("output_label"), g.var("output_probability")
    return (label, probs, out_label, out_prob)


def finish_classifier(g, est, inp, conv, names):
    label, probs, out_label, out_prob = names
    conv(g, est, inp, label, probs)
    classes = [c if isinstance(c, str) else int(c) for c in est.classes_]
    conv_zipmap(g, classes, label, probs, out_label, out_prob)
    classifier_outputs(g, classes, out_label, out_prob)


# --------------------------------------------------------------------------
# Cases


def binary_data(rng, n, k, seed, informative=None, weights=None):
    X, y = make_classification(n_samples=n, n_features=k, n_informative=informative or min(k, 3),
                               n_redundant=0, n_classes=2, random_state=seed, flip_y=0.05, weights=weights)
    return f32(shifted(X, rng)), y


def split(X, y):
    return X[:-N_TEST], y[:-N_TEST], X[-N_TEST:]


def case_std_logreg_binary(rng):
    X, y = binary_data(rng, 400, 4, 11)
    Xtr, ytr, Xte = split(X, y)
    model = Pipeline([("scaler", StandardScaler()), ("clf", LogisticRegression())]).fit(Xtr, ytr)
    g = Graph()
    inputs = float_input(g, 4)
    outs = [g.var("variable")]
    names = classifier_names(g)
    conv_scaler(g, model[0], "float_input", outs[0])
    finish_classifier(g, model[-1], outs[0], conv_linear_classifier, names)
    emit("std_logreg_binary", model, g, inputs=inputs, frame=float_frame("float_input", Xte), task="binary",
         converter="scaler_op.py convert_sklearn_scaler; linear_classifier.py convert_sklearn_linear_classifier; "
                   "zip_map.py convert_sklearn_zipmap",
         notes="binary LinearClassifier: rows [-w; w], intercepts [-b, b], LOGISTIC, multi_class=1, then "
               "Normalizer L1 (a no-op here: sigmoid(-z)+sigmoid(z)=1); integer labels 0/1",
         graph_name="Pipeline")


def case_logreg_multinomial(rng):
    iris = load_iris()
    names = np.array(iris.target_names)
    X = f32(iris.data)
    y = names[iris.target]
    model = LogisticRegression(max_iter=1000).fit(X, y)
    idx = rng.choice(len(X), N_TEST, replace=False)
    Xte = f32(X[idx] + rng.normal(0, 0.3, size=(N_TEST, 4)))
    g = Graph()
    inputs = float_input(g, 4)
    tail = classifier_names(g)
    finish_classifier(g, model, "float_input", conv_linear_classifier, tail)
    emit("logreg_multinomial", model, g, inputs=inputs, frame=float_frame("float_input", Xte), task="multiclass",
         converter="linear_classifier.py convert_sklearn_linear_classifier; zip_map.py convert_sklearn_zipmap",
         notes="iris, string labels (classlabels_strings; the ZipMap converter's Identity for the label is "
               "removed, so LinearClassifier writes output_label itself); lbfgs "
               "multinomial: SOFTMAX, multi_class=1, then Normalizer L1",
         graph_name="LogisticRegression")


def case_logreg_ovr(rng):
    X, y = make_classification(n_samples=400, n_features=4, n_informative=3, n_redundant=0, n_classes=3,
                               n_clusters_per_class=1, random_state=12)
    X = f32(shifted(X, rng))
    Xtr, ytr, Xte = split(X, y)
    model = LogisticRegression(solver="liblinear").fit(Xtr, ytr)
    g = Graph()
    inputs = float_input(g, 4)
    tail = classifier_names(g)
    finish_classifier(g, model, "float_input", conv_linear_classifier, tail)
    emit("logreg_ovr", model, g, inputs=inputs, frame=float_frame("float_input", Xte), task="multiclass",
         converter="linear_classifier.py convert_sklearn_linear_classifier; zip_map.py convert_sklearn_zipmap",
         notes="liblinear one-vs-rest: LOGISTIC per class, then Normalizer L1 divides by the row sum "
               "(scikit-learn's ovr probabilities); multi_class attribute 1 (multi_class='auto')",
         graph_name="LogisticRegression")


def case_minmax_ridge(rng):
    X, y = make_regression(n_samples=400, n_features=5, noise=5.0, random_state=13)
    X = f32(shifted(X, rng))
    Xtr, ytr, Xte = split(X, y)
    model = Pipeline([("scaler", MinMaxScaler()), ("reg", Ridge(alpha=0.5))]).fit(Xtr, ytr)
    g = Graph()
    inputs = float_input(g, 5)
    v0, v1 = g.var("variable"), g.var("variable")
    conv_scaler(g, model[0], "float_input", v0)
    conv_linear_regressor(g, model[-1], v0, v1)
    regressor_outputs(g, v1)
    emit("minmax_ridge", model, g, inputs=inputs, frame=float_frame("float_input", Xte), task="regression",
         converter="scaler_op.py convert_sklearn_scaler (MinMaxScaler); linear_regressor.py "
                   "convert_sklearn_linear_regressor",
         notes="MinMaxScaler as Scaler(offset=-min_/(scale_+1e-8), scale=scale_); the output is 'variable1' "
               "(the scaler took 'variable')",
         graph_name="Pipeline")


def case_linreg(rng):
    X, y = make_regression(n_samples=300, n_features=3, noise=2.0, random_state=14)
    X = f32(shifted(X, rng))
    Xtr, ytr, Xte = split(X, y)
    model = LinearRegression().fit(Xtr, ytr)
    g = Graph()
    inputs = float_input(g, 3)
    v = g.var("variable")
    conv_linear_regressor(g, model, "float_input", v)
    regressor_outputs(g, v)
    emit("linreg", model, g, inputs=inputs, frame=float_frame("float_input", Xte), task="regression",
         converter="linear_regressor.py convert_sklearn_linear_regressor",
         notes="one LinearRegressor node", graph_name="LinearRegression")


def with_nan(X, rng, frac):
    X = X.copy()
    X[rng.random(X.shape) < frac] = np.nan
    return X


def case_imputer_logreg(rng):
    X, y = binary_data(rng, 400, 4, 15)
    X = with_nan(X, rng, 0.12)
    Xtr, ytr, Xte = split(X, y)
    Xte[0, :] = np.nan  # a row with every value missing
    model = Pipeline([("imputer", SimpleImputer(strategy="mean")), ("scaler", StandardScaler()),
                      ("clf", LogisticRegression())]).fit(Xtr, ytr)
    g = Graph()
    inputs = float_input(g, 4)
    cur = linear_pipeline(g, [("imputer", model[0]), ("scaler", model[1])], "float_input")
    tail = classifier_names(g)
    finish_classifier(g, model[-1], cur, conv_linear_classifier, tail)
    emit("imputer_logreg", model, g, inputs=inputs, frame=float_frame("float_input", Xte), task="binary",
         converter="imputer_op.py convert_sklearn_imputer; scaler_op.py; linear_classifier.py; zip_map.py",
         notes="about 12% of values are NaN (blank cells), row 0 entirely; Imputer replaced_value_float=NaN",
         graph_name="Pipeline")


def case_normalizer_logreg(rng):
    X, y = binary_data(rng, 400, 4, 16)
    Xtr, ytr, Xte = split(X, y)
    model = Pipeline([("norm", Normalizer(norm="l2")), ("clf", LogisticRegression(C=10.0))]).fit(Xtr, ytr)
    g = Graph()
    inputs = float_input(g, 4)
    cur = linear_pipeline(g, [("normalizer", model[0])], "float_input")
    tail = classifier_names(g)
    finish_classifier(g, model[-1], cur, conv_linear_classifier, tail)
    emit("normalizer_logreg", model, g, inputs=inputs, frame=float_frame("float_input", Xte), task="binary",
         converter="normaliser.py convert_sklearn_normalizer; linear_classifier.py; zip_map.py",
         notes="row-wise L2 Normalizer before the classifier (the classifier's own L1 Normalizer follows it)",
         graph_name="Pipeline")


def case_coltrans_onehot(rng):
    n = 400
    a = f32(rng.normal(10, 3, size=n))
    b = f32(rng.normal(-200, 50, size=n))
    palette = np.array(["red", "green", "blue", "yellow"])
    color = palette[rng.integers(0, 4, size=n)]
    z = 0.6 * (a - 10) / 3 - 0.8 * (b + 200) / 50 + np.select(
        [color == "red", color == "green", color == "blue"], [1.2, -0.7, 0.3], -0.5)
    y = (z + rng.normal(0, 0.7, size=n) > 0).astype(np.int64)
    frame = pd.DataFrame({"a": a, "b": b, "color": color})
    tr, te = frame.iloc[:-N_TEST].reset_index(drop=True), frame.iloc[-N_TEST:].reset_index(drop=True)
    te.loc[[3, 17, 58], "color"] = "purple"  # never seen in training
    ct = ColumnTransformer([("num", StandardScaler(), ["a", "b"]),
                            ("cat", OneHotEncoder(handle_unknown="ignore"), ["color"])])
    model = Pipeline([("prep", ct), ("clf", LogisticRegression())]).fit(tr, y[:-N_TEST])
    g = Graph()
    inputs = []
    for name, elem, typ in (("a", TensorProto.FLOAT, "float"), ("b", TensorProto.FLOAT, "float"),
                            ("color", TensorProto.STRING, "string")):
        g.input(name, elem, [None, 1])
        inputs.append({"name": name, "type": typ, "shape": [None, 1]})
    # _parse_sklearn_column_transformer: 'num' takes two inputs, so they are
    # merged by a Concat ('merged_columns'); the scaler writes 'variable'; the
    # encoder 'variable1'; the outer Concat 'transformed_column'.
    merged = g.var("merged_columns")
    v_num = g.var("variable")
    v_cat = g.var("variable")
    tcol = g.var("transformed_column")
    tail = classifier_names(g)
    conv_concat(g, ["a", "b"], merged)
    conv_scaler(g, model[0].named_transformers_["num"], merged, v_num)
    conv_onehot_single(g, model[0].named_transformers_["cat"], "color", v_cat)
    conv_concat(g, [v_num, v_cat], tcol)
    finish_classifier(g, model[-1], tcol, conv_linear_classifier, tail)
    emit("coltrans_onehot", model, g, inputs=inputs, frame=te, task="binary",
         converter="_parse.py _parse_sklearn_column_transformer; concat_op.py; scaler_op.py; "
                   "one_hot_encoder.py convert_sklearn_one_hot_encoder; linear_classifier.py; zip_map.py",
         notes="one input per DataFrame column (a, b FloatTensorType([None,1]); color StringTensorType([None,1])); "
               "rows 3, 17 and 58 have the unseen color 'purple' (one-hot all zeros, OneHotEncoder zeros=1)",
         graph_name="Pipeline")


def case_coltrans_select(rng):
    X, y = binary_data(rng, 400, 5, 17, informative=4)
    Xtr, ytr, Xte = split(X, y)
    ct = ColumnTransformer([("num", StandardScaler(), [0, 2]), ("pass", "passthrough", [4])])
    model = Pipeline([("prep", ct), ("clf", LogisticRegression())]).fit(Xtr, ytr)
    g = Graph()
    inputs = float_input(g, 5)
    # _parse_sklearn_column_transformer with integer columns: each block's
    # columns are extracted by _fetch_input_slice ('extracted_feature_columns'),
    # 'passthrough' hands the extracted columns on; the remainder is dropped.
    e0 = g.var("extracted_feature_columns")
    v = g.var("variable")
    e1 = g.var("extracted_feature_columns")
    tcol = g.var("transformed_column")
    tail = classifier_names(g)
    conv_afe(g, "float_input", [0, 2], e0)
    conv_scaler(g, model[0].named_transformers_["num"], e0, v)
    conv_afe(g, "float_input", [4], e1)
    conv_concat(g, [v, e1], tcol)
    finish_classifier(g, model[-1], tcol, conv_linear_classifier, tail)
    emit("coltrans_select", model, g, inputs=inputs, frame=float_frame("float_input", Xte), task="binary",
         converter="_parse.py _parse_sklearn_column_transformer/_fetch_input_slice; array_feature_extractor.py; "
                   "scaler_op.py; concat_op.py; linear_classifier.py; zip_map.py",
         notes="columns 1 and 3 are dropped (remainder='drop'); column 4 passes through unscaled",
         graph_name="Pipeline")


def quiet_fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def case_mlp_classifier(rng):
    X, y = make_classification(n_samples=400, n_features=5, n_informative=4, n_redundant=0, n_classes=3,
                               n_clusters_per_class=1, random_state=18)
    X = f32(X)
    Xtr, ytr, Xte = split(X, y)
    model = quiet_fit(MLPClassifier(hidden_layer_sizes=(8, 6), activation="relu", max_iter=600,
                                    random_state=18), Xtr, ytr)
    g = Graph()
    inputs = float_input(g, 5)
    tail = classifier_names(g)
    finish_classifier(g, model, "float_input", conv_mlp_classifier, tail)
    emit("mlp_classifier", model, g, inputs=inputs, frame=float_frame("float_input", Xte), task="multiclass",
         converter="multilayer_perceptron.py convert_sklearn_mlp_classifier; zip_map.py",
         notes="relu hidden layers (8, 6), Softmax output (node named Relu2 as the converter names it), "
               "the converter's Identity to 'probabilities' is removed, so the ZipMap reads out_activations_result; "
               "label = ArrayFeatureExtractor(INT32 classes, ArgMax) + Reshape + "
               "Cast to INT64",
         graph_name="MLPClassifier")


def case_mlp_binary(rng):
    X, y = binary_data(rng, 400, 4, 19)
    X = f32((X - X.mean(axis=0)) / X.std(axis=0))
    Xtr, ytr, Xte = split(X, y)
    labels = np.array(["neg", "pos"])
    model = quiet_fit(MLPClassifier(hidden_layer_sizes=(6,), activation="tanh", max_iter=800, random_state=19),
                      Xtr, labels[ytr])
    g = Graph()
    inputs = float_input(g, 4)
    tail = classifier_names(g)
    finish_classifier(g, model, "float_input", conv_mlp_classifier, tail)
    emit("mlp_binary", model, g, inputs=inputs, frame=float_frame("float_input", Xte), task="binary",
         converter="multilayer_perceptron.py convert_sklearn_mlp_classifier; zip_map.py",
         notes="tanh hidden layer (6), one Sigmoid output unit p (node named Tanh1); probabilities = "
               "Concat([Sub(1, p), p]); string labels neg/pos (STRING classes initializer; the Reshape writes "
               "output_label, its Identity removed)",
         graph_name="MLPClassifier")


def case_mlp_regressor(rng):
    X, y = make_regression(n_samples=400, n_features=4, noise=3.0, random_state=20)
    X = f32(X)
    Xtr, ytr, Xte = split(X, y)
    model = quiet_fit(MLPRegressor(hidden_layer_sizes=(10,), activation="relu", max_iter=2000, random_state=20),
                      Xtr, ytr)
    g = Graph()
    inputs = float_input(g, 4)
    v = g.var("variable")
    conv_mlp_regressor(g, model, "float_input", v)
    regressor_outputs(g, v)
    emit("mlp_regressor", model, g, inputs=inputs, frame=float_frame("float_input", Xte), task="regression",
         converter="multilayer_perceptron.py convert_sklearn_mlp_regressor",
         notes="relu hidden layer (10), identity output activation (an Identity node, removed), Reshape to [-1, 1]",
         graph_name="MLPRegressor")


def tree_classifier_case(rng, name, model, X, y, conv, converter, notes, task):
    Xtr, ytr, Xte = split(X, y)
    model.fit(Xtr, ytr)
    g = Graph()
    inputs = float_input(g, X.shape[1])
    tail = classifier_names(g)
    finish_classifier(g, model, "float_input", conv, tail)
    emit(name, model, g, inputs=inputs, frame=float_frame("float_input", Xte), task=task,
         converter=converter, notes=notes, graph_name=type(model).__name__)


def tree_regressor_case(rng, name, model, X, y, converter, notes):
    Xtr, ytr, Xte = split(X, y)
    model.fit(Xtr, ytr)
    g = Graph()
    inputs = float_input(g, X.shape[1])
    v = g.var("variable")
    conv_tree_regressor(g, model, "float_input", v)
    regressor_outputs(g, v)
    emit(name, model, g, inputs=inputs, frame=float_frame("float_input", Xte), task="regression",
         converter=converter, notes=notes, graph_name=type(model).__name__)


def multi_data(rng, seed, k=5):
    X, y = make_classification(n_samples=400, n_features=k, n_informative=4, n_redundant=0, n_classes=3,
                               n_clusters_per_class=1, random_state=seed)
    return f32(shifted(X, rng)), y


def reg_data(rng, seed, k=5):
    X, y = make_regression(n_samples=400, n_features=k, n_informative=4, noise=5.0, random_state=seed)
    return f32(shifted(X, rng)), y


RF = "random_forest.py convert_sklearn_random_forest_classifier; common/tree_ensemble.py; zip_map.py"
RFR = "random_forest.py convert_sklearn_random_forest_regressor_converter; common/tree_ensemble.py"
GB = "gradient_boosting.py convert_sklearn_gradient_boosting_classifier; common/tree_ensemble.py; zip_map.py"


def tree_cases(rng):
    X, y = binary_data(rng, 400, 5, 21, informative=4)
    tree_classifier_case(rng, "rf_classifier_binary",
                         RandomForestClassifier(n_estimators=15, max_depth=5, random_state=21), X, y,
                         conv_forest_classifier, RF,
                         "binary: each leaf keeps one weight, P(class 1)/n_trees, class id 0; post_transform "
                         "NONE (the runtime returns [1-s, s]); thresholds = largest float32 <= sklearn's",
                         "binary")
    X, y = multi_data(rng, 22)
    tree_classifier_case(rng, "rf_classifier_multi",
                         RandomForestClassifier(n_estimators=12, max_depth=5, random_state=22), X, y,
                         conv_forest_classifier, RF,
                         "3 classes: leaf class fractions / n_trees, class ids 0..2, post_transform NONE",
                         "multiclass")
    X, y = reg_data(rng, 23)
    tree_regressor_case(rng, "rf_regressor", RandomForestRegressor(n_estimators=12, max_depth=5, random_state=23),
                        X, y, RFR, "leaf value / n_trees, post_transform NONE")
    X, y = multi_data(rng, 24)
    tree_classifier_case(rng, "extra_trees_classifier",
                         ExtraTreesClassifier(n_estimators=12, max_depth=5, random_state=24), X, y,
                         conv_forest_classifier, RF, "ExtraTreesClassifier, same layout as the random forest",
                         "multiclass")
    X, y = binary_data(rng, 400, 5, 25, informative=4)
    tree_classifier_case(rng, "gb_classifier_binary",
                         GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=25), X, y,
                         conv_gb_classifier, GB,
                         "one tree per iteration, class id 0, weight = learning_rate * leaf value; base_values "
                         "[log-odds prior]; post_transform LOGISTIC (runtime returns [1-p, p])", "binary")
    X, y = multi_data(rng, 26)
    tree_classifier_case(rng, "gb_classifier_multi",
                         GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=26), X, y,
                         conv_gb_classifier, GB,
                         "3 trees per iteration (tree id = iteration*3 + class, class id = class); base_values "
                         "= log priors; SOFTMAX", "multiclass")
    X, y = reg_data(rng, 27)
    tree_regressor_case(rng, "gb_regressor",
                        GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=27), X, y,
                        "gradient_boosting.py convert_sklearn_gradient_boosting_regressor; common/tree_ensemble.py",
                        "weight = learning_rate * leaf value, base_values = [mean of y]")
    # Unbalanced classes (about 37% positive), so base_values is not 0.
    X, y = binary_data(rng, 500, 5, 28, informative=4, weights=[0.65])
    X = with_nan(X, rng, 0.1)
    tree_classifier_case(rng, "hgb_classifier_binary",
                         HistGradientBoostingClassifier(max_iter=15, max_depth=4, random_state=28), X, y,
                         conv_forest_classifier, RF.replace("common/tree_ensemble.py",
                                                           "common/tree_ensemble.py (hist_gradient_boosting)"),
                         "about 10% NaN in training and test rows; nodes_missing_value_tracks_true = "
                         "missing_go_to_left; thresholds are float32(num_threshold), not adjusted; tree weight 1; "
                         "base_values = _baseline_prediction (the training log-odds); LOGISTIC", "binary")
    X, y = reg_data(rng, 29)
    X = with_nan(X, rng, 0.1)
    tree_regressor_case(rng, "hgb_regressor", HistGradientBoostingRegressor(max_iter=20, max_depth=4,
                                                                            random_state=29), X, y,
                        RFR.replace("common/tree_ensemble.py", "common/tree_ensemble.py (hist_gradient_boosting)"),
                        "about 10% NaN in training and test rows; missing tracks as hgb_classifier_binary; "
                        "base_values = _baseline_prediction (mean of y)")


def main():
    os.makedirs(OUT, exist_ok=True)
    for fn in os.listdir(OUT):
        if fn.endswith((".onnx", ".csv", ".json")) and not fn.endswith(".ort.csv"):
            os.remove(os.path.join(OUT, fn))
    rng = np.random.default_rng(20261203)
    case_std_logreg_binary(rng)
    case_logreg_multinomial(rng)
    case_logreg_ovr(rng)
    case_minmax_ridge(rng)
    case_linreg(rng)
    case_imputer_logreg(rng)
    case_normalizer_logreg(rng)
    case_coltrans_onehot(rng)
    case_coltrans_select(rng)
    case_mlp_classifier(rng)
    case_mlp_binary(rng)
    case_mlp_regressor(rng)
    tree_cases(rng)
    with open(os.path.join(OUT, "cases.json"), "w", newline="\n") as fh:
        json.dump({"cases": CASES}, fh, indent=1)
        fh.write("\n")
    for c in CASES:
        size = os.path.getsize(os.path.join(OUT, c["name"] + ".onnx"))
        print("%-24s %7d bytes  %s" % (c["name"], size, " ".join(c["nodes"])))


if __name__ == "__main__":
    main()
