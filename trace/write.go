package trace

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// Write saves t as a trace file at path: a zip readable by numpy.load with
// one uncompressed .npy member per tensor and a manifest.json member, as
// docs/trace-format.md describes. Tensors are stored uncompressed so a
// reader can read one member at its offset without inflating the others.
// The file is written as WriteFileAtomic does, so path never holds a
// half-written trace.
func Write(path string, t *Trace, overwrite bool) error {
	return WriteFileAtomic(path, overwrite, func(w io.Writer) error { return writeZip(w, t) })
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
