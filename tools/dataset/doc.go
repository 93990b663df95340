// Package dataset builds point-in-time training sets (predictd dataset).
package dataset
