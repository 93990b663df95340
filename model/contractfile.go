package model

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/predictd/predictd/model/contract"
)

// A version may carry the data contract of its inputs (model/contract): the
// YAML file as written by predictd contract infer and edited by a person,
// copied verbatim into the version folder at import (predictd import
// --contract) under a name made from its checksum, and recorded in the
// manifest with its size and sha256 like the payload and the reference.
// The daemon reads it when it loads the version and enforces or counts it
// per model (serve's "contract" setting); Open never reads it.

// ErrNoContract reports a version that has no contract.
var ErrNoContract = errors.New("no contract")

// ContractFile is the manifest's record of a version's contract.
type ContractFile struct {
	// File is a plain file name in the version folder.
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	// Source is the base name of the file it was copied from.
	Source string `json:"source,omitempty"`
}

func (c *ContractFile) check() error {
	switch {
	case !plainFileName(c.File):
		return fmt.Errorf("contract file %s: want a file name in the version folder, not a path", Quote(c.File))
	case len(c.SHA256) != 64:
		return fmt.Errorf("contract sha256 %s: want 64 hex digits", Quote(c.SHA256))
	case c.Bytes <= 0 || c.Bytes > contract.MaxFileBytes:
		return fmt.Errorf("contract bytes %d is outside [1, %d]", c.Bytes, contract.MaxFileBytes)
	}
	return nil
}

// CheckContract reports whether c fits m: every column named like one of
// m's features has a type a model input can have (bool, int or float; see
// contract.NewChecker). Columns no feature has (a label, an id) are
// allowed: a contract written for the training file lists them too.
//
// A column named like a string input of a version with transforms is
// refused: the daemon checks contracts on numbers only, and a string
// input's category is not one.
func CheckContract(c *contract.Contract, m *Manifest) error {
	for _, f := range m.Features {
		if f.Type == FeatureString && c.Column(f.Name) != nil {
			return fmt.Errorf("column %q is a string input (a category) of this version, and the daemon checks contracts on numeric inputs only: drop the column from the contract, or set the model's contract to off", f.Name)
		}
	}
	_, err := contract.NewChecker(c, FeatureNames(m))
	return err
}

// FeatureNames is m's feature names in the model's order.
func FeatureNames(m *Manifest) []string {
	names := make([]string, len(m.Features))
	for i, f := range m.Features {
		names[i] = f.Name
	}
	return names
}

// contractFileName is the file a contract with this sha256 is stored in.
func contractFileName(sum []byte) string {
	return "contract-" + hex.EncodeToString(sum[:8]) + ".yaml"
}

// encodeContractFile parses data (the YAML of the file named source),
// checks it against m and returns its manifest record.
func encodeContractFile(data []byte, source string, m *Manifest) (*ContractFile, error) {
	if len(data) > contract.MaxFileBytes {
		return nil, fmt.Errorf("contract %s: %d bytes, more than %d", source, len(data), contract.MaxFileBytes)
	}
	c, err := contract.Parse(data, source)
	if err != nil {
		return nil, err
	}
	if err := CheckContract(c, m); err != nil {
		return nil, fmt.Errorf("contract %s does not fit model %s: %w", source, m.Name, err)
	}
	sum := sha256.Sum256(data)
	return &ContractFile{File: contractFileName(sum[:]), SHA256: hex.EncodeToString(sum[:]), Bytes: int64(len(data)), Source: filepath.Base(source)}, nil
}

// ReadContract reads, checks and parses the contract of the version in dir
// whose manifest is m. It returns an error wrapping ErrNoContract when m
// records none. A file of the wrong size or checksum, a contract that does
// not parse (the error names the file and line) or does not fit m's
// features is refused.
func ReadContract(dir string, m *Manifest) (*contract.Contract, error) {
	cf := m.Contract
	if cf == nil {
		return nil, fmt.Errorf("%s version %d: %w", m.Name, m.Version, ErrNoContract)
	}
	data, path, err := readSidecar(dir, "contract", cf.File, cf.Bytes, cf.SHA256)
	if err != nil {
		return nil, err
	}
	c, err := contract.Parse(data, path)
	if err != nil {
		return nil, err
	}
	if err := CheckContract(c, m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
