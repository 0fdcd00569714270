// Package trace stores the record of one training step of a network: every
// forward operation, the loss, every backward operation and the parameter
// update, in execution order, with the tensors each event reads and writes.
//
// A tensor written by one event and read by another is the same Tensor, so
// the producer of any tensor is a lookup (Tensor.Producer), not a guess. The
// package knows nothing about layer math: explaining a value is the job of
// the package that computed it.
//
// Write saves a trace as a zip file that numpy.load reads as an .npz: one
// uncompressed .npy member per tensor and a manifest.json with the model,
// the events and the tensors. Open reads only the zip directory and the
// manifest, and reads a tensor's values on its first Trace.Data call.
// docs/trace-format.md describes the format for other tools.
package trace
