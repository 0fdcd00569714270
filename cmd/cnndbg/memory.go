package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cnndbg/cnndbg/net"
)

// minMemoryLimit is the smallest memory limit cnndbg accepts. The largest
// built-in array, the 64 example digits as float64, takes 401 kB, and
// the built-in model's files are read through the same limit.
const minMemoryLimit = 1 << 20

// registerMemoryFlag adds --max-memory to root and every command under it,
// and applies it (or the default) before any command runs.
func registerMemoryFlag(root *cobra.Command) {
	var maxMemory string
	root.PersistentFlags().StringVar(&maxMemory, "max-memory", "",
		fmt.Sprintf("largest array cnndbg reads from a file (.npy, .npz, image, MNIST, trace tensor), in bytes with an optional unit such as 2GiB or 512MB; default a quarter of physical memory (%s here)", net.FormatBytes(net.DefaultMemoryLimit())))
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if maxMemory == "" {
			return applyDefaultMemoryLimit()
		}
		limit, err := net.ParseBytes(maxMemory)
		if err != nil {
			return badInputf("--max-memory: %v", err)
		}
		if limit < minMemoryLimit {
			return badInputf("--max-memory %s is below %s, the smallest limit cnndbg runs with: give at least 1MiB", maxMemory, net.FormatBytes(minMemoryLimit))
		}
		return net.SetMemoryLimit(limit)
	}
}

// applyDefaultMemoryLimit restores the default limit, or the one
// CNNDBG_MAX_ELEMENTS sets, and checks the latter against minMemoryLimit.
func applyDefaultMemoryLimit() error {
	if err := net.SetMemoryLimit(0); err != nil {
		return badInput(err)
	}
	limit, err := net.MemoryLimit()
	if err != nil {
		return badInput(err)
	}
	if limit < minMemoryLimit {
		return badInputf("CNNDBG_MAX_ELEMENTS=%s allows %s per array, below %s, the smallest limit cnndbg runs with: set it to at least %d or unset it",
			os.Getenv("CNNDBG_MAX_ELEMENTS"), net.FormatBytes(limit), net.FormatBytes(minMemoryLimit), minMemoryLimit/8)
	}
	return nil
}
