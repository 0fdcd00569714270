package tui

import (
	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

// provenanceLink is one event of the chain that made an element: the
// element that event wrote, its value and the formula that made it. Event
// is -1 for an input of the step, which ends a chain of forward values.
type provenanceLink = net.Link

// provenance returns the chain from element index of tensor id back to the
// loss (for a gradient) or to an input of the step (for a forward value),
// one link per event, starting with the element itself.
func provenance(tr *trace.Trace, id int, index []int) ([]provenanceLink, error) {
	return net.Provenance(tr, id, index)
}
