package trace

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Write saves t as a trace file at path: a zip readable by numpy.load with
// one uncompressed .npy member per tensor and a manifest.json member, as
// docs/trace-format.md describes. Tensors are stored uncompressed so a
// reader can read one member at its offset without inflating the others.
//
// The file is written to a temporary file in the same folder and renamed
// into place, so path never holds a half-written trace. A process killed
// mid-write can leave the hidden temporary file behind. Without overwrite,
// Write refuses to replace an existing file. Every error is one line that
// names path.
func Write(path string, t *Trace, overwrite bool) error {
	_, statErr := os.Lstat(path)
	if statErr == nil && !overwrite {
		return fmt.Errorf("%s already exists: pass --force to replace it", path)
	}
	err := write(path, t, overwrite)
	if err != nil && statErr == nil {
		return fmt.Errorf("%w; the existing %s is unchanged", err, path)
	}
	return err
}

// write does the work of Write once the existing file has been checked.
func write(path string, t *Trace, overwrite bool) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return fmt.Errorf("cannot write trace %s: the folder %s does not exist: create it or choose another path", path, filepath.Clean(dir))
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write trace %s: %v", path, unwrapPathError(err))
	}
	tmpName := tmp.Name()
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()

	buffered := bufio.NewWriterSize(tmp, 1<<20)
	if err := writeZip(buffered, t); err != nil {
		return fmt.Errorf("cannot write trace %s: %v", path, err)
	}
	if err := buffered.Flush(); err != nil {
		return fmt.Errorf("cannot write trace %s: %v", path, unwrapPathError(err))
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("cannot write trace %s: %v", path, unwrapPathError(err))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write trace %s: %v", path, unwrapPathError(err))
	}
	// CreateTemp makes the file readable by its owner only; a trace is a
	// document like any other.
	if err := os.Chmod(tmpName, 0o644); err != nil {
		return fmt.Errorf("cannot write trace %s: %v", path, unwrapPathError(err))
	}
	if err := commit(tmpName, path, overwrite); err != nil {
		return err
	}
	committed = true
	return nil
}

// commit moves the finished temporary file to path. Without overwrite it
// links the file into place, which fails if path exists, so a file created
// since Write's first check is never replaced.
func commit(tmpName, path string, overwrite bool) error {
	if overwrite {
		if err := os.Rename(tmpName, path); err != nil {
			return fmt.Errorf("cannot write trace %s: %v", path, unwrapPathError(err))
		}
		return nil
	}
	err := os.Link(tmpName, path)
	switch {
	case err == nil:
		os.Remove(tmpName)
		return nil
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s already exists: pass --force to replace it", path)
	}

	// Some file systems have no hard links: check and rename instead.
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s already exists: pass --force to replace it", path)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("cannot write trace %s: %v", path, unwrapPathError(err))
	}
	return nil
}

// unwrapPathError drops the file name from an *fs.PathError, so messages
// name the file the user gave once, and never the temporary file.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// writeZip writes every tensor as a stored .npy member, then the manifest.
func writeZip(w io.Writer, t *Trace) error {
	m := newManifest(t)
	zw := zip.NewWriter(w)
	modified := time.Now()
	for i, tensor := range t.Tensors {
		data, err := t.Data(tensor.ID)
		if err != nil {
			return err
		}
		if len(data) != Size(tensor.Shape) {
			return fmt.Errorf("tensor %s has shape %v but %d values", tensor.Name, tensor.Shape, len(data))
		}
		mt := m.Tensors[i]
		member, err := zw.CreateHeader(&zip.FileHeader{Name: mt.Member, Method: zip.Store, Modified: modified})
		if err != nil {
			return err
		}
		sum := crc32.NewIEEE()
		out := io.MultiWriter(member, sum)
		if _, err := out.Write(npyHeader(tensor.Shape)); err != nil {
			return unwrapPathError(err)
		}
		if err := writeNpyData(out, data); err != nil {
			return unwrapPathError(err)
		}
		mt.CRC32 = fmt.Sprintf("%08x", sum.Sum32())
	}

	text, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return fmt.Errorf("manifest does not encode: %v", err)
	}
	member, err := zw.CreateHeader(&zip.FileHeader{Name: ManifestMember, Method: zip.Deflate, Modified: modified})
	if err != nil {
		return err
	}
	if _, err := member.Write(append(text, '\n')); err != nil {
		return unwrapPathError(err)
	}
	return unwrapPathError(zw.Close())
}
