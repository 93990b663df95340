// Package linear fits linear models offline: ridge and ordinary least
// squares regression (Ridge), and L2-penalized logistic regression, binary
// and multinomial (LogisticL2), and L1 or elastic-net logistic regression
// (LogisticElasticNet), each equal to scikit-learn 1.2.1 on the committed
// oracle cases in testdata/train/linear (ridge within 1e-8; the logistic
// objectives no higher than scikit-learn's lbfgs and saga, L2
// coefficients within 1e-4 of the optimum, see LogisticL2).
//
// A Fit holds the coefficients and predicts through the same model.Dense
// code the daemon serves with, so (*Fit).Imported gives an artifact for
// model.Write whose predictions equal the Fit's own bit for bit.
//
// Fitting is deterministic: the same inputs and options give bit-identical
// coefficients, whatever GOMAXPROCS (every sum runs in a fixed order; the
// logistic gradient's row chunks run in parallel but add up in chunk
// order).
// Functions here only read their inputs; a Fit is immutable once returned
// and safe for concurrent Predict calls.
package linear
