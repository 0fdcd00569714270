package net

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/cnndbg/cnndbg/trace"
)

// fallbackMemoryLimit is the memory limit where the machine's physical
// memory cannot be read: 2 GiB, room for 2²⁸ float64 values.
const fallbackMemoryLimit = 2 << 30

// memoryLimitSet is true once SetMemoryLimit has run. An explicit limit then
// takes precedence over CNNDBG_MAX_ELEMENTS.
var memoryLimitSet bool

// DefaultMemoryLimit returns the memory a single array read from a file may
// take by default: a quarter of the machine's physical memory as
// /proc/meminfo reports it (Linux), or 2 GiB where that file cannot be read.
func DefaultMemoryLimit() int64 {
	total, ok := physicalMemory()
	if !ok {
		return fallbackMemoryLimit
	}
	return total / 4
}

// physicalMemory reads MemTotal from /proc/meminfo, in bytes.
func physicalMemory() (int64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 2 || fields[0] != "MemTotal:" {
			continue
		}
		kB, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil || kB <= 0 || kB > math.MaxInt64/1024 {
			return 0, false
		}
		return kB * 1024, true
	}
	return 0, false
}

// SetMemoryLimit bounds the memory, in bytes, that one array read from a
// file may take: a .npy file, an .npz member (and an .npz archive in
// total), an image, an IDX file, and a tensor of a trace (through
// trace.MaxTensorBytes). It sets MaxElements to bytes/8, because every
// array becomes float64, and from then on CNNDBG_MAX_ELEMENTS is ignored.
//
// SetMemoryLimit(0) restores the default: CNNDBG_MAX_ELEMENTS·8 where that
// is set, else DefaultMemoryLimit. It returns an error only when
// CNNDBG_MAX_ELEMENTS is invalid. SetMemoryLimit panics if bytes is from 1 to 7.
func SetMemoryLimit(bytes int64) error {
	if bytes == 0 {
		MaxElements = int(DefaultMemoryLimit() / 8)
		memoryLimitSet = false
		limit, err := MemoryLimit()
		if err != nil {
			return err
		}
		trace.MaxTensorBytes = limit
		return nil
	}
	if bytes < 8 {
		panic(fmt.Sprintf("net: memory limit %d is below one float64", bytes))
	}
	MaxElements = int(min(bytes/8, math.MaxInt/8))
	trace.MaxTensorBytes = int64(MaxElements) * 8
	memoryLimitSet = true
	return nil
}

// raiseLimitHint ends every message about an array over the limit.
func raiseLimitHint() string {
	return "check that the file is the one you meant, or raise the limit with --max-memory (e.g. --max-memory 8GiB) or " + maxElementsEnv
}

// byteUnits maps the units ParseBytes accepts, in lower case, to their size.
var byteUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// ParseBytes parses a size in bytes with an optional unit: 2GiB, 512MiB,
// 1.5GB, 800M or 4096. Decimal units (kB, MB, GB, TB, and k, M, G, T) are
// powers of 1000, binary units (KiB, MiB, GiB, TiB) powers of 1024; case is
// ignored. The size must be at least 8 bytes, one float64.
func ParseBytes(s string) (int64, error) {
	text := strings.TrimSpace(s)
	split := len(text)
	for split > 0 && !strings.ContainsRune("0123456789.", rune(text[split-1])) {
		split--
	}
	number, unit := text[:split], strings.ToLower(strings.TrimSpace(text[split:]))
	scale, ok := byteUnits[unit]
	value, err := strconv.ParseFloat(number, 64)
	if !ok || err != nil || number == "" {
		return 0, fmt.Errorf("%q is not a size: give a number of bytes with an optional unit, e.g. 2GiB, 512MiB or 4GB", s)
	}
	bytes := value * scale
	if !(bytes >= 8) || bytes > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is out of range: give a size from 8 bytes to a few TiB, e.g. 2GiB", s)
	}
	return int64(bytes), nil
}

// FormatBytes formats a byte count with a binary unit, as in "2.0 GiB".
func FormatBytes(n int64) string { return formatByteCount(float64(n)) }

// formatByteCount formats a byte count as FormatBytes does, for counts past
// the range of int64 such as the size a corrupted header claims.
func formatByteCount(n float64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	value := n
	k := 0
	for value >= 1024 && k < len(units)-1 {
		value /= 1024
		k++
	}
	switch {
	case k == 0:
		return fmt.Sprintf("%.0f bytes", n)
	case value >= 1024:
		return fmt.Sprintf("%.3g bytes", n)
	}
	return fmt.Sprintf("%.1f %s", value, units[k])
}

// MemoryLimit returns the limit in force on one array read from a file, in
// bytes: the one SetMemoryLimit set, else CNNDBG_MAX_ELEMENTS·8 if that is
// set, else MaxElements·8. It returns an error only when CNNDBG_MAX_ELEMENTS
// is invalid.
func MemoryLimit() (int64, error) {
	limit, err := elementLimit()
	if err != nil {
		return 0, err
	}
	return int64(limit) * 8, nil
}
