// Package xgboost imports XGBoost models (gbtree and dart boosters, the
// objectives Parse lists) as a model.Imported holding a *model.Trees.
//
// Formats, told apart by the file's content, not its name:
//   - JSON, Booster.save_model("m.json") (XGBoost 1.6 and later). NaN and
//     Infinity, which XGBoost writes as bare words, read as null.
//   - UBJSON, Booster.save_model("m.ubj") (the default format of recent
//     XGBoost releases): a file that starts with '{' and a UBJSON length marker.
//     It is decoded into the JSON text the JSON path reads (ubjsonToJSON:
//     the same keys in order; floats in the shortest form that reads back
//     exactly; NaN and infinities as null), so a model imports from UBJSON
//     as from its JSON twin: the same payload byte for byte, features and
//     outputs, with Source.Format "xgboost-ubjson" instead of
//     "xgboost-json". The decoder is bounded: a count or length larger
//     than the bytes left is refused before anything is allocated for it,
//     nesting deeper than 1000 is refused, and the JSON it writes is at
//     most ten times the file's size plus 16 bytes. Its errors name the
//     byte offset ("byte 1234: invalid UBJSON: array count
//     9223372036854775807 exceeds the 2000 bytes left"), as do schema
//     errors found in a UBJSON file (a string field holding a number).
//   - XGBoost's legacy binary format (what XGBoost 1.7 writes for
//     save_model to a name ending in neither .json nor .ubj; it starts with
//     "binf", or "bs64" in its base64 form) is not read: Parse returns a
//     *LegacyBinaryError whose message gives the Python command that
//     converts the file to JSON. A file whose first non-blank byte is not
//     '{' gets an error naming that byte and the formats read.
//
// Predictions match XGBoost 1.7.4's: thresholds and leaves are float32,
// a value goes left when it is less than the float32 threshold
// (kernels.LessFloat32), trees are summed in float32, and base_score
// becomes the starting margin through the objective's link.
package xgboost
