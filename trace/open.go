package trace

import (
	"archive/zip"
	"container/list"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"sync"
)

// DefaultCacheBytes is the default bound on tensor values an opened trace
// keeps in memory.
const DefaultCacheBytes = 256 << 20

// MaxTensorBytes bounds the memory, in bytes, that the values of one tensor
// read from a trace file may take; 0 leaves only the format's limit of 2³³
// elements. A tensor over the limit fails to load with an error that names
// it, and the rest of the trace stays readable.
var MaxTensorBytes int64

// maxManifestBytes bounds the manifest a reader accepts. A trace of a few
// hundred events needs well under a megabyte.
const maxManifestBytes = 64 << 20

// Open reads the trace file at path with a cache of DefaultCacheBytes.
func Open(path string) (*Trace, error) {
	return OpenWithCache(path, DefaultCacheBytes)
}

// OpenWithCache reads and checks the zip directory and the manifest of the
// trace file at path. Trace.Data reads a tensor's values on first use and
// keeps them in a least-recently-used cache of at most cacheBytes bytes. A
// tensor larger than the cache is read from the file on every request.
//
// The trace keeps the file open until Trace.Close. Every error is one line
// that names path and the next step to take.
func OpenWithCache(path string, cacheBytes int64) (*Trace, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("trace %s not found: check the path, or record one with 'cnndbg record -o %s'", path, path)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open trace %s: %v", path, unwrapPathError(err))
	}
	t, err := openFile(path, f, cacheBytes)
	if err != nil {
		f.Close()
		return nil, err
	}
	return t, nil
}

func openFile(path string, f *os.File, cacheBytes int64) (*Trace, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot open trace %s: %v", path, unwrapPathError(err))
	}
	if info.IsDir() {
		return nil, fmt.Errorf("%s is a folder, not a trace file", path)
	}
	size := info.Size()
	if size == 0 {
		return nil, fmt.Errorf("%s is empty, not a trace: record one with cnndbg record -o FILE", path)
	}
	var magic [4]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil || (string(magic[:]) != "PK\x03\x04" && string(magic[:]) != "PK\x05\x06") {
		return nil, fmt.Errorf("%s is not a trace: it is not a zip file (a trace is the .npz file cnndbg record writes)", path)
	}
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return nil, fmt.Errorf("%s is truncated or damaged: its zip directory cannot be read (%v); copy or record it again", path, err)
	}

	members := make(map[string]*zip.File, len(zr.File))
	for _, zf := range zr.File {
		members[zf.Name] = zf
	}
	m, err := readManifest(path, members[ManifestMember])
	if err != nil {
		return nil, err
	}

	l := &fileLoader{
		path: path, file: f, meta: m.Tensors, members: make([]*zip.File, len(m.Tensors)),
		cacheBytes: cacheBytes, cache: list.New(), cached: map[int]*list.Element{}, loading: map[int]*load{},
	}
	for i, mt := range m.Tensors {
		zf, err := checkMember(path, size, members[mt.Member], mt)
		if err != nil {
			return nil, err
		}
		l.members[i] = zf
	}
	t := m.trace()
	t.loader = l
	return t, nil
}

// readManifest reads, decodes and validates manifest.json.
func readManifest(path string, zf *zip.File) (*manifest, error) {
	if zf == nil {
		return nil, fmt.Errorf("%s has no %s: it is a zip or .npz file but not a cnndbg trace", path, ManifestMember)
	}
	if zf.UncompressedSize64 > maxManifestBytes {
		return nil, fmt.Errorf("%s: %s is %d bytes, more than the %d a trace manifest may have", path, ManifestMember, zf.UncompressedSize64, maxManifestBytes)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %s cannot be read (%v); copy or record the trace again", path, ManifestMember, err)
	}
	defer rc.Close()
	text, err := io.ReadAll(io.LimitReader(rc, maxManifestBytes+1))
	if errors.Is(err, zip.ErrChecksum) {
		return nil, fmt.Errorf("%s: %s is corrupted: its CRC-32 does not match the zip directory; copy or record the trace again", path, ManifestMember)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s is corrupted (%v); copy or record the trace again", path, ManifestMember, unwrapPathError(err))
	}

	var m manifest
	if err := json.Unmarshal(text, &m); err != nil {
		return nil, fmt.Errorf("%s: %s is not a valid trace manifest: %v", path, ManifestMember, err)
	}
	if m.Format == FormatName && m.Version > FormatVersion {
		return nil, fmt.Errorf("%s was written by format version %d; this cnndbg reads up to %d: upgrade cnndbg", path, m.Version, FormatVersion)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%s: invalid %s: %v", path, ManifestMember, err)
	}
	return &m, nil
}

// checkMember checks, from the zip directory alone, that the member of
// tensor mt exists and has the size and checksum the manifest gives.
func checkMember(path string, fileSize int64, zf *zip.File, mt *manifestTensor) (*zip.File, error) {
	if zf == nil {
		return nil, fmt.Errorf("%s: member %s of tensor %s is missing; copy or record the trace again", path, mt.Member, mt.Name)
	}
	if int64(zf.UncompressedSize64) != mt.Size {
		return nil, fmt.Errorf("%s: member %s is %d bytes but the manifest gives %d; copy or record the trace again", path, mt.Member, zf.UncompressedSize64, mt.Size)
	}
	if zf.Method == zip.Store && zf.CompressedSize64 != zf.UncompressedSize64 || int64(zf.CompressedSize64) > fileSize {
		return nil, fmt.Errorf("%s: member %s has sizes that do not fit the file; copy or record the trace again", path, mt.Member)
	}
	if zf.Method != zip.Store && zf.Method != zip.Deflate {
		return nil, fmt.Errorf("%s: member %s uses zip method %d; store it uncompressed or deflated", path, mt.Member, zf.Method)
	}
	if zf.Method == zip.Deflate && zf.UncompressedSize64 > 1100*zf.CompressedSize64+1024 {
		// Deflate expands at most about 1032:1; more is a crafted size.
		return nil, fmt.Errorf("%s: member %s claims %d bytes from %d compressed; copy or record the trace again", path, mt.Member, zf.UncompressedSize64, zf.CompressedSize64)
	}
	want, _ := parseCRC(mt.CRC32)
	if zf.CRC32 != want {
		return nil, fmt.Errorf("%s: member %s is corrupted: zip directory checksum %08x ≠ manifest %08x; copy or record the trace again", path, mt.Member, zf.CRC32, want)
	}
	return zf, nil
}

// fileLoader reads tensor values from an open trace file on demand. It is
// safe for concurrent use: the file is read with ReadAt, the cache is under
// mu, and concurrent requests for one tensor share a single read.
type fileLoader struct {
	path    string
	file    *os.File
	meta    []*manifestTensor
	members []*zip.File

	mu         sync.Mutex
	closed     bool
	cacheBytes int64
	usedBytes  int64
	// cache lists cachedTensor values, most recently used first.
	cache   *list.List
	cached  map[int]*list.Element
	loading map[int]*load
}

type cachedTensor struct {
	id   int
	data []float64
}

// load is one read in progress; done closes when data and err are set.
type load struct {
	done chan struct{}
	data []float64
	err  error
}

// Load returns the values of tensor t, from the cache or from the file.
func (l *fileLoader) Load(t *Tensor) ([]float64, error) {
	if t.ID < 0 || t.ID >= len(l.meta) {
		return nil, fmt.Errorf("%s: no tensor with ID %d", l.path, t.ID)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, fmt.Errorf("%s: the trace is closed; open it again to read %s", l.path, t.Name)
	}
	if el, ok := l.cached[t.ID]; ok {
		l.cache.MoveToFront(el)
		l.mu.Unlock()
		return el.Value.(*cachedTensor).data, nil
	}
	if pending, ok := l.loading[t.ID]; ok {
		l.mu.Unlock()
		<-pending.done
		return pending.data, pending.err
	}
	pending := &load{done: make(chan struct{})}
	l.loading[t.ID] = pending
	l.mu.Unlock()

	pending.data, pending.err = l.read(t.ID)

	l.mu.Lock()
	delete(l.loading, t.ID)
	if pending.err == nil && !l.closed {
		l.store(t.ID, pending.data)
	}
	l.mu.Unlock()
	close(pending.done)
	return pending.data, pending.err
}

// Ready reports whether tensor id is in the cache.
func (l *fileLoader) Ready(id int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.cached[id]
	return ok
}

// store adds data to the cache, evicting the least recently used tensors
// to stay within cacheBytes. l.mu must be held.
func (l *fileLoader) store(id int, data []float64) {
	n := 8 * int64(len(data))
	if n > l.cacheBytes {
		return
	}
	for l.usedBytes+n > l.cacheBytes {
		oldest := l.cache.Back()
		evicted := l.cache.Remove(oldest).(*cachedTensor)
		delete(l.cached, evicted.id)
		l.usedBytes -= 8 * int64(len(evicted.data))
	}
	l.cached[id] = l.cache.PushFront(&cachedTensor{id: id, data: data})
	l.usedBytes += n
}

// read reads and checks the member of tensor id: its .npy header against
// the manifest's shape and dtype, its length and its CRC-32.
func (l *fileLoader) read(id int) ([]float64, error) {
	mt, zf := l.meta[id], l.members[id]
	if n := Size(mt.Shape); MaxTensorBytes > 0 && int64(n) > MaxTensorBytes/8 {
		return nil, fmt.Errorf("%s: tensor %s of shape %s needs %d bytes, more than the memory limit of %d bytes: raise the limit (cnndbg --max-memory) if the machine has the memory",
			l.path, mt.Name, FormatShape(mt.Shape), 8*int64(n), MaxTensorBytes)
	}
	var r io.Reader
	if zf.Method == zip.Store {
		offset, err := zf.DataOffset()
		if err != nil {
			return nil, fmt.Errorf("%s: member %s cannot be read (%v); copy or record the trace again", l.path, mt.Member, err)
		}
		r = io.NewSectionReader(l.file, offset, int64(zf.CompressedSize64))
	} else {
		rc, err := zf.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: member %s cannot be read (%v); copy or record the trace again", l.path, mt.Member, err)
		}
		defer rc.Close()
		r = rc
	}
	sum := crc32.NewIEEE()
	r = io.TeeReader(io.LimitReader(r, mt.Size+1), sum)

	info, headerLen, err := readNpyHeader(r)
	if err != nil {
		return nil, fmt.Errorf("%s: member %s has a bad .npy header: %v", l.path, mt.Member, err)
	}
	if info.descr != "<f8" || info.fortranOrder || !slices.Equal(info.shape, mt.Shape) {
		return nil, fmt.Errorf("%s: member %s holds a %q array of shape %s (Fortran order %v) but the manifest gives \"<f8\" %s in C order",
			l.path, mt.Member, info.descr, FormatShape(info.shape), info.fortranOrder, FormatShape(mt.Shape))
	}
	n := Size(mt.Shape)
	if headerLen+8*int64(n) != mt.Size {
		return nil, fmt.Errorf("%s: member %s is %d bytes but its header and %d values need %d; copy or record the trace again", l.path, mt.Member, mt.Size, n, headerLen+8*int64(n))
	}

	data := make([]float64, n)
	if err := readFloats(r, data); err != nil {
		return nil, fmt.Errorf("%s: member %s is truncated (%v); copy or record the trace again", l.path, mt.Member, err)
	}
	if extra, _ := io.Copy(io.Discard, r); extra > 0 {
		return nil, fmt.Errorf("%s: member %s is longer than the manifest's %d bytes; copy or record the trace again", l.path, mt.Member, mt.Size)
	}
	want, _ := parseCRC(mt.CRC32)
	if got := sum.Sum32(); got != want {
		return nil, fmt.Errorf("%s: member %s is corrupted: checksum %08x ≠ manifest %08x; copy or record the trace again", l.path, mt.Member, got, want)
	}
	return data, nil
}

// readFloats fills data with little-endian float64 values from r.
func readFloats(r io.Reader, data []float64) error {
	var buf [64 << 10]byte
	for len(data) > 0 {
		n := min(len(data), len(buf)/8)
		if _, err := io.ReadFull(r, buf[:8*n]); err != nil {
			return err
		}
		for k := range data[:n] {
			data[k] = math.Float64frombits(binary.LittleEndian.Uint64(buf[8*k:]))
		}
		data = data[n:]
	}
	return nil
}

// Close closes the file and drops the cache. Loads in progress finish.
func (l *fileLoader) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.cache.Init()
	clear(l.cached)
	l.usedBytes = 0
	return l.file.Close()
}
