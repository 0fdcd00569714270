package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cnndbg/cnndbg/net"
)

// registerMemoryFlag adds --max-memory to root and every command under it,
// and applies it (or the default) before any command runs.
func registerMemoryFlag(root *cobra.Command) {
	var maxMemory string
	root.PersistentFlags().StringVar(&maxMemory, "max-memory", "",
		fmt.Sprintf("largest array cnndbg reads from a file (.npy, .npz, image, MNIST, trace tensor), in bytes with an optional unit such as 2GiB or 512MB; default a quarter of physical memory (%s here)", net.FormatBytes(net.DefaultMemoryLimit())))
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if maxMemory == "" {
			if err := net.SetMemoryLimit(0); err != nil {
				return badInput(err)
			}
			return nil
		}
		limit, err := net.ParseBytes(maxMemory)
		if err != nil {
			return badInputf("--max-memory: %v", err)
		}
		return net.SetMemoryLimit(limit)
	}
}
