// Package net runs a small convolutional network forward and backward in
// float64 and records every operation into a trace.
//
// Notation follows the deep-learning course most learners know: activations
// are NHWC (m, n_H, n_W, n_C); conv weights W are (f, f, n_C_prev, n_C) with
// bias b (1, 1, 1, n_C); dense weights W are (n_in, n_out) with Z = A_prev·W + b
// and b (1, n_out). dX means ∂L/∂X.
//
// Each layer kind keeps its forward, backward and explain code in one file,
// so the math that computes a gradient and the math that explains it are read
// side by side.
package net
