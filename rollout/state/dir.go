package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// DirStore is the folder backend: one file per key. See the package doc.
type DirStore struct {
	dir  string
	lock *os.File // holds the flock on dir/.lock

	mu     sync.Mutex // orders CAS (read, compare, write) within the process
	closed bool
}

var _ Store = (*DirStore)(nil)

// fileRecord is a record on disk. Data is the caller's bytes (base64 in
// the JSON, so any bytes round-trip).
type fileRecord struct {
	Key  string `json:"key"`
	Gen  int64  `json:"gen"`
	Data []byte `json:"data"`
}

// OpenDir opens (creating it, mode 0700) the folder dir as a store and
// takes its lock; it fails, naming dir, if another store holds it.
func OpenDir(dir string) (*DirStore, error) {
	if dir == "" {
		return nil, errors.New("state: OpenDir: the folder is empty; give the state folder (serve --state-dir)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state: folder %s: %w", dir, err)
	}
	lp := filepath.Join(dir, ".lock")
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: folder %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("state: folder %s is in use by another predictd (lock %s held); two daemons cannot share a state folder, use --state-redis for replicas", dir, lp)
		}
		return nil, fmt.Errorf("state: lock %s: %w", lp, err)
	}
	return &DirStore{dir: dir, lock: f}, nil
}

// path is key's file, KEY.json with '/' and ':' escaped as %2F and %3A
// (keys have no '%', so distinct keys have distinct files).
func (s *DirStore) path(key string) string {
	return filepath.Join(s.dir, keyFile.Replace(key)+".json")
}

var keyFile = strings.NewReplacer("/", "%2F", ":", "%3A")

// Get implements Store.
func (s *DirStore) Get(ctx context.Context, key string) (Record, error) {
	if err := checkKey(key); err != nil {
		return Record{}, fmt.Errorf("state %s: %w", s.dir, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Record{}, fmt.Errorf("state %s: get %q: %w", s.dir, key, ErrClosed)
	}
	return s.read(key)
}

func (s *DirStore) read(key string) (Record, error) {
	p := s.path(key)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return Record{}, nil
	}
	if err != nil {
		return Record{}, fmt.Errorf("state %s: get %q: %w", s.dir, key, err)
	}
	var r fileRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("state %s: key %q: file %s is corrupt: %w", s.dir, key, p, err)
	}
	if r.Gen <= 0 || r.Key != key {
		return Record{}, fmt.Errorf("state %s: key %q: file %s is corrupt: it holds key %q generation %d", s.dir, key, p, r.Key, r.Gen)
	}
	return Record{Data: r.Data, Gen: r.Gen}, nil
}

// CAS implements Store: the file is written to a temporary file, synced,
// renamed over key's file, and the folder is synced, before it returns.
func (s *DirStore) CAS(ctx context.Context, key string, gen int64, data []byte) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, fmt.Errorf("state %s: %w", s.dir, err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("state %s: write %q: %w", s.dir, key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, fmt.Errorf("state %s: write %q: %w", s.dir, key, ErrClosed)
	}
	cur, err := s.read(key)
	if err != nil {
		return 0, err
	}
	if cur.Gen != gen {
		return 0, fmt.Errorf("state %s: write %q at generation %d: stored generation is %d: %w", s.dir, key, gen, cur.Gen, ErrConflict)
	}
	b, err := json.Marshal(fileRecord{Key: key, Gen: gen + 1, Data: data})
	if err != nil {
		return 0, fmt.Errorf("state %s: write %q: %w", s.dir, key, err)
	}
	if err := writeFileSync(s.dir, s.path(key), b); err != nil {
		return 0, fmt.Errorf("state %s: write %q: %w", s.dir, key, err)
	}
	return gen + 1, nil
}

// writeFileSync replaces path with b durably: temp file, fsync, rename,
// fsync of the folder.
func writeFileSync(dir, path string, b []byte) error {
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Close implements Store: it releases the folder's lock.
func (s *DirStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("state %s: %w", s.dir, ErrClosed)
	}
	s.closed = true
	return s.lock.Close() // closing the descriptor drops the flock
}
