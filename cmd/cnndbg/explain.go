package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

func newExplainCommand(stdout, stderr io.Writer) *cobra.Command {
	var asJSON, chain bool
	var top int
	cmd := &cobra.Command{
		Use:   "explain TRACE TARGET",
		Short: "Print the terms that make one element of a recorded tensor",
		Long: `explain prints the terms that sum to one element of a tensor of the step,
largest first, with their sum and the recorded value. TARGET is
layer.tensor[i,j,...], using any name an event gives the tensor
(conv1.dZ and relu1.dZ are the same tensor).`,
		Example: `  cnndbg explain step.cnndbg 'conv1.dW[0,1,0,3]'
  cnndbg explain step.cnndbg 'conv2.dZ[0,3,4,1]' --chain
  cnndbg explain step.cnndbg 'fc1.db[0,7]' --json`,
		Args: exactArgs("TRACE", "TARGET"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if top < 1 {
				return badInputf("--top %d: show at least 1 term", top)
			}
			tr, err := trace.Open(args[0])
			if err != nil {
				return badInput(err)
			}
			defer tr.Close()
			id, index, err := net.Resolve(tr, args[1])
			if err != nil {
				return badInput(err)
			}
			x, err := net.Explain(tr, id, index)
			if err != nil {
				return badInput(err)
			}
			var links []net.Link
			if chain {
				if links, err = net.Provenance(tr, id, index); err != nil {
					return badInput(err)
				}
			}
			if asJSON {
				return writeExplanationJSON(stdout, tr, x, links)
			}
			printExplanation(stdout, tr, x, top)
			if chain {
				printChain(stdout, links)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the explanation as JSON, with every term")
	cmd.Flags().BoolVar(&chain, "chain", false, "also print the provenance chain back to the loss")
	cmd.Flags().IntVar(&top, "top", 12, "how many of the largest terms to list; the rest are counted")
	return cmd
}

// formatIndex writes an index as [i,j,k].
func formatIndex(index []int) string {
	parts := make([]string, len(index))
	for k, v := range index {
		parts[k] = fmt.Sprint(v)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// printExplanation writes the explanation as a table: the largest terms,
// a count of the rest, the sum and the recorded value.
func printExplanation(w io.Writer, tr *trace.Trace, x *net.Explanation, top int) {
	e := tr.Events[x.Event]
	fmt.Fprintf(w, "%s%s = %.17g\n", x.Tensor, formatIndex(x.Index), x.Recorded)
	fmt.Fprintf(w, "  written by event %d: %s %s (%s)\n", e.Index, e.Layer, e.Kind, e.Phase)
	fmt.Fprintf(w, "  %s\n\n", x.Formula)
	fmt.Fprintf(w, "  %5s  %-58s %24s %24s\n", "#", "term", "value", "running sum")
	running := 0.0
	for k, term := range x.Terms {
		running += term.Value
		if k >= top {
			continue
		}
		fmt.Fprintf(w, "  %5d  %-58s %24.17g %24.17g\n", k+1, termText(term), term.Value, running)
		if term.Note != "" {
			fmt.Fprintf(w, "  %5s  (%s)\n", "", term.Note)
		}
	}
	if rest := len(x.Terms) - top; rest > 0 {
		restSum := 0.0
		for _, term := range x.Terms[top:] {
			restSum += term.Value
		}
		fmt.Fprintf(w, "  %5s  %-58s %24.17g\n", "…", fmt.Sprintf("%d more terms, summing to", rest), restSum)
	}
	for _, note := range x.Notes {
		fmt.Fprintf(w, "  note: %s\n", note)
	}
	verdict := "agree"
	if !x.Agrees() {
		verdict = "DIFFER"
	}
	fmt.Fprintf(w, "\n  Σ terms  = %.17g  (%d terms)\n", x.Sum, len(x.Terms))
	fmt.Fprintf(w, "  recorded = %.17g\n", x.Recorded)
	fmt.Fprintf(w, "  %s: relative error %.3g\n", verdict, x.RelErr())
}

// termText writes a term as coef · name[index] · name[index].
func termText(t net.Term) string {
	var parts []string
	if t.Coef != 1 {
		parts = append(parts, fmt.Sprintf("%.6g", t.Coef))
	}
	for _, op := range t.Operands {
		parts = append(parts, fmt.Sprintf("%s%s", op.Tensor, formatIndex(op.Index)))
	}
	return strings.Join(parts, " · ")
}

// printChain writes the provenance chain, one link per line.
func printChain(w io.Writer, links []net.Link) {
	fmt.Fprintf(w, "\nprovenance, back to the loss:\n")
	for k, link := range links {
		arrow := "  "
		if k > 0 {
			arrow = "← "
		}
		fmt.Fprintf(w, "  %s%s%s = %.10g   [event %d]  %s\n", arrow, link.Tensor, formatIndex(link.Index), link.Value, link.Event, link.Formula)
	}
}

// jsonFloat writes NaN and infinities as strings, which JSON cannot hold as numbers.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return json.Marshal(fmt.Sprint(v))
	}
	return json.Marshal(v)
}

func writeExplanationJSON(w io.Writer, tr *trace.Trace, x *net.Explanation, links []net.Link) error {
	type operand struct {
		Tensor string    `json:"tensor"`
		Index  []int     `json:"index"`
		Value  jsonFloat `json:"value"`
	}
	type term struct {
		Coef     jsonFloat `json:"coef"`
		Operands []operand `json:"operands"`
		Value    jsonFloat `json:"value"`
		Note     string    `json:"note,omitempty"`
	}
	type link struct {
		Event   int       `json:"event"`
		Tensor  string    `json:"tensor"`
		Index   []int     `json:"index"`
		Value   jsonFloat `json:"value"`
		Formula string    `json:"formula"`
	}
	out := struct {
		Tensor   string    `json:"tensor"`
		Index    []int     `json:"index"`
		Event    int       `json:"event"`
		Layer    string    `json:"layer"`
		Phase    string    `json:"phase"`
		Formula  string    `json:"formula"`
		Terms    []term    `json:"terms"`
		Sum      jsonFloat `json:"sum"`
		Recorded jsonFloat `json:"recorded"`
		Agrees   bool      `json:"agrees"`
		Notes    []string  `json:"notes,omitempty"`
		Chain    []link    `json:"chain,omitempty"`
	}{
		Tensor: x.Tensor, Index: x.Index, Event: x.Event,
		Layer: tr.Events[x.Event].Layer, Phase: tr.Events[x.Event].Phase.String(),
		Formula: x.Formula, Sum: jsonFloat(x.Sum), Recorded: jsonFloat(x.Recorded), Agrees: x.Agrees(), Notes: x.Notes,
	}
	for _, t := range x.Terms {
		jt := term{Coef: jsonFloat(t.Coef), Value: jsonFloat(t.Value), Note: t.Note}
		for _, op := range t.Operands {
			jt.Operands = append(jt.Operands, operand{op.Tensor, op.Index, jsonFloat(op.Value)})
		}
		out.Terms = append(out.Terms, jt)
	}
	for _, l := range links {
		out.Chain = append(out.Chain, link{l.Event, l.Tensor, l.Index, jsonFloat(l.Value), l.Formula})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
