package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

func newExportCommand(stdout, stderr io.Writer) *cobra.Command {
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "export TRACE -o OUT.npz",
		Short: "Write every tensor of a step to one .npz file",
		Long: `export writes every tensor of the step to an .npz file that numpy.load
opens, keyed <layer>.<name> under every name an event gives the tensor
(conv1.Z, relu1.A, conv1.dZ and relu1.dZ, conv1.dW, ...), plus "loss".`,
		Example: "  cnndbg export step.cnndbg -o step.npz",
		Args:    exactArgs("TRACE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return badInputf("export needs -o OUT.npz: the file to write")
			}
			tr, err := trace.Open(args[0])
			if err != nil {
				return badInput(err)
			}
			defer tr.Close()
			arrays, order, err := exportArrays(tr)
			if err != nil {
				return badInput(err)
			}
			if err := net.WriteNPZ(out, arrays, order, force); err != nil {
				return badInput(err)
			}
			fmt.Fprintf(stdout, "wrote %d arrays (%d tensors) to %s\n", len(order), len(tr.Tensors), out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "`FILE` to write (.npz)")
	cmd.Flags().BoolVar(&force, "force", false, "replace the output file if it exists")
	return cmd
}

// exportArrays returns each tensor under its canonical name and each alias,
// in the order the tensors were recorded.
func exportArrays(tr *trace.Trace) (map[string]*net.Tensor, []string, error) {
	arrays := map[string]*net.Tensor{}
	var order []string
	for _, t := range tr.Tensors {
		data, err := tr.Data(t.ID)
		if err != nil {
			return nil, nil, err
		}
		tensor := net.FromData(data, t.Shape...)
		for _, name := range append([]string{t.Name}, t.Aliases...) {
			if _, dup := arrays[name]; dup {
				continue
			}
			arrays[name] = tensor
			order = append(order, name)
		}
	}
	return arrays, order, nil
}
