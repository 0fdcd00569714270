package main

import (
	"bytes"
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
	var asJSON, chain, firstNonFinite bool
	var top int
	cmd := &cobra.Command{
		Use:   "explain TRACE (TARGET | --first-nonfinite)",
		Short: "Print the terms that make one element of a recorded tensor",
		Long: `explain prints the terms that sum to one element of a tensor of the step,
largest first, with their sum and the recorded value. TARGET is
layer.tensor[i,j,...], using any name an event gives the tensor
(conv1.dZ and relu1.dZ are the same tensor). In a trace of several steps,
tensors of step k > 0 are named s<k>/layer.tensor, such as s2/conv1.dW.

With --first-nonfinite it finds the target itself: the first NaN or Inf
of the trace, in execution order, and says which product, operand or sum
made it. If the trace holds none, it says so and exits with status 0.`,
		Example: `  cnndbg explain step.cnndbg 'conv1.dW[0,1,0,3]'
  cnndbg explain step.cnndbg 'conv2.dZ[0,3,4,1]' --chain
  cnndbg explain step.cnndbg 'fc1.db[0,7]' --json
  cnndbg explain blowup.cnndbg --first-nonfinite`,
		Args: explainArgs(&firstNonFinite),
		RunE: func(cmd *cobra.Command, args []string) error {
			if top < 1 {
				return badInputf("--top %d: show at least 1 term", top)
			}
			if firstNonFinite {
				return explainFirstNonFinite(stdout, args[0], top, asJSON, chain)
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
	cmd.Flags().BoolVar(&firstNonFinite, "first-nonfinite", false, "explain the first NaN or Inf of the trace instead of a TARGET")
	return cmd
}

// explainArgs requires TRACE and TARGET, or TRACE alone with --first-nonfinite.
func explainArgs(firstNonFinite *bool) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case *firstNonFinite && len(args) == 2:
			return badInputf("explain --first-nonfinite finds the target itself: give TRACE alone, without %q", args[1])
		case *firstNonFinite && len(args) != 1:
			return badInputf("explain --first-nonfinite needs TRACE, got %s (see '%s --help')", countOf(len(args), "argument"), cmd.CommandPath())
		case !*firstNonFinite && len(args) != 2:
			return badInputf("explain needs TRACE and TARGET, or TRACE and --first-nonfinite, got %s (see '%s --help')", countOf(len(args), "argument"), cmd.CommandPath())
		}
		return nil
	}
}

// explainFirstNonFinite prints where the first NaN or Inf of the trace at
// path was born and the terms that make it.
func explainFirstNonFinite(stdout io.Writer, path string, top int, asJSON, chain bool) error {
	tr, err := trace.Open(path)
	if err != nil {
		return badInput(err)
	}
	defer tr.Close()
	o, err := net.FirstNonFinite(tr)
	if err != nil {
		return badInput(err)
	}
	if o == nil {
		fmt.Fprintf(stdout, "%s holds no NaN or Inf: every value of its %d tensors is finite\n", path, len(tr.Tensors))
		return nil
	}
	var links []net.Link
	if chain && o.Explanation != nil {
		if links, err = net.Provenance(tr, o.Tensor, o.Index); err != nil {
			return badInput(err)
		}
	}
	if asJSON {
		return writeNonFiniteJSON(stdout, tr, o, links)
	}

	where := "a step input"
	if o.Event >= 0 {
		e := tr.Events[o.Event]
		where = fmt.Sprintf("event %d: step %d, %s %s %s", e.Index, e.Step, e.Layer, e.Kind, e.Phase)
	}
	fmt.Fprintf(stdout, "first non-finite value: %s%s = %v  (%s)\n", o.Name, formatIndex(o.Index), o.Value, where)
	fmt.Fprintf(stdout, "  %s holds %d NaN or Inf values; this is the first in row-major order\n", o.Name, o.Count)
	fmt.Fprintf(stdout, "  cause: %s\n\n", o.Diagnosis)
	if o.Explanation != nil {
		printExplanation(stdout, tr, o.Explanation, top)
		if chain {
			printChain(stdout, links)
		}
	}
	return nil
}

// writeNonFiniteJSON writes the origin with its explanation nested.
func writeNonFiniteJSON(w io.Writer, tr *trace.Trace, o *net.NonFiniteOrigin, links []net.Link) error {
	var explanation json.RawMessage
	if o.Explanation != nil {
		var buf bytes.Buffer
		if err := writeExplanationJSON(&buf, tr, o.Explanation, links); err != nil {
			return err
		}
		explanation = buf.Bytes()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Event       int             `json:"event"`
		Tensor      string          `json:"tensor"`
		Index       []int           `json:"index"`
		Value       jsonFloat       `json:"value"`
		Count       int             `json:"count"`
		Diagnosis   string          `json:"diagnosis"`
		FromInput   bool            `json:"from_input"`
		Explanation json.RawMessage `json:"explanation,omitempty"`
	}{o.Event, o.Name, o.Index, jsonFloat(o.Value), o.Count, o.Diagnosis, o.FromInput, explanation})
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
	fmt.Fprintf(w, "\n  Σ terms  = %.17g  (%s)\n", x.Sum, countOf(len(x.Terms), "term"))
	fmt.Fprintf(w, "  recorded = %.17g\n", x.Recorded)
	fmt.Fprintf(w, "  %s: relative error %.3g\n", verdict, x.RelErr())
}

// countOf writes n with the noun in the singular or plural: 1 term, 2 terms.
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// termText writes a term as coef · name[index] · name[index].
func termText(t net.Term) string {
	var parts []string
	if t.Coef != 1 {
		parts = append(parts, fmt.Sprintf("%.6g", t.Coef))
	}
	for _, op := range t.Operands {
		parts = append(parts, op.Label())
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
		Func   string    `json:"func,omitempty"`
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
			jt.Operands = append(jt.Operands, operand{op.Tensor, op.Index, jsonFloat(op.Value), op.Func})
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
