package trace

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkOnlyFile asserts that dir contains exactly one entry, name, with content.
func checkOnlyFile(t *testing.T, dir, name, content string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != name {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("folder contains %v, want only %s", names, name)
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != content {
		t.Errorf("%s contains %q, want %q", name, data, content)
	}
}

func TestWriteFileAtomicFailedWriteKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.npy")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	diskFull := errors.New("no space left on device")
	err := WriteFileAtomic(path, true, func(w io.Writer) error {
		w.Write(make([]byte, 1<<17))
		return diskFull
	})
	checkOneLineError(t, err, path, "no space left on device")
	if !errors.Is(err, diskFull) {
		t.Errorf("error %v does not wrap the write's error", err)
	}
	if !strings.Contains(err.Error(), "the existing "+path+" is unchanged") {
		t.Errorf("error %q does not say the old file is unchanged", err)
	}
	checkOnlyFile(t, dir, "out.npy", "old")
}

func TestWriteFileAtomicPanicKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.npy")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not propagate")
			}
		}()
		WriteFileAtomic(path, true, func(w io.Writer) error {
			w.Write([]byte("half"))
			panic("write failed")
		})
	}()
	checkOnlyFile(t, dir, "out.npy", "old")
}

func TestWriteFileAtomicWithoutOverwrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.npz")
	write := func(content string) func(io.Writer) error {
		return func(w io.Writer) error {
			_, err := io.WriteString(w, content)
			return err
		}
	}
	if err := WriteFileAtomic(path, false, write("first")); err != nil {
		t.Fatal(err)
	}
	checkOnlyFile(t, dir, "out.npz", "first")

	err := WriteFileAtomic(path, false, write("second"))
	checkOneLineError(t, err, path, "already exists", "pass --force")
	checkOnlyFile(t, dir, "out.npz", "first")

	if err := WriteFileAtomic(path, true, write("second")); err != nil {
		t.Fatal(err)
	}
	checkOnlyFile(t, dir, "out.npz", "second")
}

func TestWriteFileAtomicKeepsPermissions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "private.npz")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, true, func(w io.Writer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want -rw-------", info.Mode().Perm())
	}

	fresh := filepath.Join(dir, "new.npz")
	if err := WriteFileAtomic(fresh, false, func(w io.Writer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(fresh); err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("new file: %v %v, want -rw-r--r--", info.Mode().Perm(), err)
	}
}

func TestWriteFileAtomicBadTarget(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "folder", "out.npy")
	err := WriteFileAtomic(missing, false, func(w io.Writer) error { return nil })
	checkOneLineError(t, err, missing, "does not exist: create it or choose another path")

	err = WriteFileAtomic(dir, true, func(w io.Writer) error { return nil })
	checkOneLineError(t, err, dir, "not a regular file")
}
