package tui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

// explainKey names one element of one tensor.
type explainKey struct {
	tensor int
	index  string
}

func keyOf(tensor int, index []int) explainKey {
	return explainKey{tensor: tensor, index: fmt.Sprint(index)}
}

// explained is everything the inspector shows about an element that takes
// time to compute: its terms with their running sums, and its provenance.
type explained struct {
	// tr is the trace the element belongs to, so a screen that switched
	// traces can drop an explanation of the other one.
	tr     *trace.Trace
	key    explainKey
	tensor int
	index  []int
	x      *net.Explanation
	err    error
	// running[k] is Σ terms[0..k] summed the way net sums the terms, so the
	// last running sum is exactly x.Sum.
	running  []float64
	links    []provenanceLink
	linksErr error
}

// explainedMsg carries a finished explanation back to the root model.
type explainedMsg struct{ result *explained }

// explainCmd explains an element in the background: conv1.dW of the
// built-in example has about 43,000 terms per element.
func explainCmd(tr *trace.Trace, tensor int, index []int) tea.Cmd {
	index = append([]int(nil), index...)
	return func() tea.Msg {
		return explainedMsg{result: explainElement(tr, tensor, index)}
	}
}

func explainElement(tr *trace.Trace, tensor int, index []int) *explained {
	r := &explained{tr: tr, key: keyOf(tensor, index), tensor: tensor, index: index}
	r.x, r.err = net.Explain(tr, tensor, index)
	if r.err == nil {
		r.running = runningSums(r.x.Terms)
	}
	r.links, r.linksErr = provenance(tr, tensor, index)
	return r
}

// runningSums returns the prefix sums of the terms' values, computed by
// net so the last one is exactly the explanation's Sum.
func runningSums(terms []net.Term) []float64 {
	values := make([]float64, len(terms))
	for k, term := range terms {
		values[k] = term.Value
	}
	return net.RunningSums(values)
}

// cacheTermBudget bounds the terms the explanation cache holds: about 250
// bytes each, so the cache stays under roughly 75 MB.
const cacheTermBudget = 300_000

// explainCache keeps finished explanations, dropping the oldest when the
// terms they hold exceed cacheTermBudget. The newest entry always stays.
type explainCache struct {
	entries map[explainKey]*explained
	order   []explainKey
	terms   int
}

func (c *explainCache) get(k explainKey) (*explained, bool) {
	r, ok := c.entries[k]
	return r, ok
}

func (c *explainCache) put(r *explained) {
	if c.entries == nil {
		c.entries = map[explainKey]*explained{}
	}
	if _, ok := c.entries[r.key]; ok {
		return
	}
	c.entries[r.key] = r
	c.order = append(c.order, r.key)
	c.terms += r.size()
	for c.terms > cacheTermBudget && len(c.order) > 1 {
		oldest := c.entries[c.order[0]]
		c.terms -= oldest.size()
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
}

func (r *explained) size() int {
	if r.x == nil {
		return 1
	}
	return len(r.x.Terms) + 1
}
