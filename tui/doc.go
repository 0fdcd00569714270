// Package tui is the debugger screen of cnndbg, a bubbletea program that
// steps through one recorded training step.
//
// The screen has three panes. The timeline lists every event of the step
// (forward, loss, backward, update). The tensor view draws the tensors the
// current event reads and writes as heatmaps with an element cursor. The
// inspector shows the chosen element: its value, the events that wrote and
// read it, the terms that sum to it with a running sum and a check against
// the recorded value, and its provenance chain. At 100×30 and wider the
// panes sit side by side. From 80×24 the timeline and the tensor view share
// the left column as tabs. Smaller windows get a message asking for more room.
//
// The package computes none of the numbers it shows: values come from the
// trace, and terms and provenance from net.Explain and net.Provenance,
// which run in the background so large explanations do not block keys.
//
// Run opens the screen on a terminal; Summary writes a plain-text account
// for pipes and dumb terminals.
package tui
