// Package lightgbm imports LightGBM's text model format (the file
// Booster.save_model and the CLI write, versions v2, v3 and v4) as a
// model.Imported holding a *model.Trees.
//
// What the import keeps, so that predictions match LightGBM's own:
//   - Trees are summed in file order in float64, tree t into output group
//     t % num_tree_per_iteration, from a base of zero (LightGBM bakes the
//     initial score into the first trees, and shrinkage and DART weights
//     into the leaf values).
//   - Numerical splits compare the float64 value with the float64
//     threshold, value <= threshold going left; the decision_type bits map
//     to kernels.Flag* as LightGBM's Tree::NumericalDecision reads them.
//   - Categorical splits keep LightGBM's bitsets word for word, appended to
//     the forest's category sets, so Tree::CategoricalDecision's rules hold
//     (NaN and negatives go right, other values truncate toward zero).
//   - random forests (average_output) divide the summed margins by the
//     number of iterations before the link, as LightGBM 2.2.3 and later
//     do. A format-v2 binary forest whose leaves all lie in [0, 1] was
//     written by LightGBM 2.2.2 or earlier, which stored probabilities in
//     the leaves and returned their plain average: it gets
//     model.LinkProbability (no sigmoid). A v2 forest with another
//     transforming objective is refused, the writer being unknowable (see
//     rfLink).
//   - Linear trees (is_linear=1, from linear_tree=true) keep each leaf's
//     model as a kernels linear leaf, so Tree::Predict's rules hold: the
//     leaf outputs leaf_const plus leaf_coeff times the raw feature value,
//     added term by term in file order; a NaN in any of its features makes
//     it output its leaf_value instead; a leaf without features outputs
//     leaf_const; a single-leaf tree is evaluated the same way.
//
// What it refuses with an error naming the line, the Tree=N block and the
// field: anything malformed, truncated or out of range (a linear tree
// needs all of leaf_const, num_features, leaf_features and leaf_coeff, with
// as many values as num_leaves and the sum of num_features say), a header
// the trees contradict (tree_sizes that are not the blocks' sizes in bytes,
// counting CRLF line ends as LF or not; Tree=N blocks not numbered 0, 1, 2,
// ... in file order; more classes per iteration than trees; num_class other
// than 1 for a one-output objective), and what predictd cannot evaluate
// exactly (custom or unknown objectives). Nothing is allocated per class
// before the trees are read, and values quoted in errors go through
// model.Quote, so a hostile header costs neither memory nor a flooded
// terminal.
// Parse never panics on any input; FuzzParse guards that.
//
// Parse is a pure function of its input and safe for concurrent use. It
// does not read files; the caller (model/importer) does, and records the
// file's name and checksum.
package lightgbm
