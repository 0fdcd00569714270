package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/cnndbg/cnndbg/trace"
)

// tensorLoadedMsg reports that a background read of a tensor's values from
// the trace file finished.
type tensorLoadedMsg struct {
	tr  *trace.Trace
	id  int
	err error
}

// loadKey names a tensor of a trace: the screen can switch traces.
type loadKey struct {
	tr *trace.Trace
	id int
}

// loadSelected returns a command that reads the tensor view's selected
// tensor from the trace file, or nil when its values are in memory or a
// read is already under way. Reading in the background keeps keys
// responsive on a slow disk, and the tensor view shows "loading" meanwhile.
func (m Model) loadSelected() tea.Cmd {
	id := m.tensors.Tensor()
	k := loadKey{m.tr, id}
	if id < 0 || m.tr.Ready(id) || m.loading[k] || m.tensors.failed[id] != nil {
		return nil
	}
	m.loading[k] = true
	tr := m.tr
	return func() tea.Msg {
		_, err := tr.Data(id)
		return tensorLoadedMsg{tr: tr, id: id, err: err}
	}
}

// handleLoaded shows a tensor whose values just arrived. If it is still the
// selected one, its element goes to the inspector as if just chosen. A read
// error (a corrupted member) stays in the tensor view in place of the map.
func (m Model) handleLoaded(msg tensorLoadedMsg) (tea.Model, tea.Cmd) {
	delete(m.loading, loadKey{msg.tr, msg.id})
	if msg.tr != m.tr {
		return m, nil
	}
	if msg.err != nil {
		m.tensors.failed[msg.id] = msg.err
		return m, nil
	}
	if msg.id != m.tensors.Tensor() {
		return m, nil
	}
	return m.handle(m.tensors.Chosen())
}
