package trace

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes a file at path with write, through a temporary file
// in the same folder that is synced and then renamed into place, so readers
// see the old file or the complete new one and never a half-written file.
// If write returns an error or panics, the temporary file is removed and any
// existing file at path is left as it was. Without overwrite, an existing
// file at path is an error whose message suggests --force. A replaced file
// keeps its permission bits, and a new file gets 0644 whatever the umask.
// A process killed mid-write can leave the hidden temporary file
// (.NAME.tmp-*) behind.
func WriteFileAtomic(path string, overwrite bool, write func(io.Writer) error) error {
	info, statErr := os.Stat(path)
	err := writeFileAtomic(path, overwrite, write, info, statErr)
	if err != nil && statErr == nil && overwrite && info.Mode().IsRegular() {
		return fmt.Errorf("%w; the existing %s is unchanged", err, path)
	}
	return err
}

// writeFileAtomic is WriteFileAtomic with the result of os.Stat(path).
func writeFileAtomic(path string, overwrite bool, write func(io.Writer) error, info fs.FileInfo, statErr error) error {
	mode := fs.FileMode(0o644)
	switch {
	case statErr == nil && !overwrite:
		return existsError(path)
	case statErr == nil && !info.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file: choose another name", path)
	case statErr == nil:
		mode = info.Mode().Perm()
	case !errors.Is(statErr, fs.ErrNotExist):
		return fmt.Errorf("%s: cannot check the output file: %v", path, unwrapPathError(statErr))
	}

	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return fmt.Errorf("cannot write %s: the folder %s does not exist: create it or choose another path", path, filepath.Clean(dir))
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("%s: cannot create a temporary file in %s: %v", path, dir, unwrapPathError(err))
	}
	tmpPath := tmp.Name()
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close()
			os.Remove(tmpPath)
		}
	}()

	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		return fmt.Errorf("writing %s failed: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing %s failed: %v", path, unwrapPathError(err))
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("writing %s failed: %v", path, unwrapPathError(err))
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s failed: %v", path, unwrapPathError(err))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s failed: %v", path, unwrapPathError(err))
	}

	if err := moveIntoPlace(tmpPath, path, overwrite); err != nil {
		return err
	}
	renamed = true
	syncDir(dir)
	return nil
}

// moveIntoPlace renames tmpPath to path. Without overwrite it links instead,
// which fails if path appeared since WriteFileAtomic checked, and falls back
// to a rename where the file system has no hard links.
func moveIntoPlace(tmpPath, path string, overwrite bool) error {
	if !overwrite {
		err := os.Link(tmpPath, path)
		if err == nil {
			os.Remove(tmpPath)
			return nil
		}
		if errors.Is(err, fs.ErrExist) {
			return existsError(path)
		}
		// The file system has no hard links: check again, then rename.
		if _, err := os.Lstat(path); err == nil {
			return existsError(path)
		}
	}
	if err := os.Rename(tmpPath, path); err != nil {
		return fmt.Errorf("%s: cannot move the written file into place: %v", path, unwrapPathError(err))
	}
	return nil
}

// existsError is the error for an output file that exists when the caller
// did not ask to replace it.
func existsError(path string) error {
	return fmt.Errorf("%s already exists: pass --force to replace it, or choose another name", path)
}

// syncDir flushes a folder's entries so that a rename survives a crash. Not
// every system can sync a folder, and the file is complete either way, so
// errors are ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}

// unwrapPathError drops the operation and path that os errors repeat, for
// messages that already name the file.
func unwrapPathError(err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err
	}
	var linkErr *os.LinkError
	if errors.As(err, &linkErr) {
		return linkErr.Err
	}
	return err
}
