package net

import (
	"fmt"

	"github.com/cnndbg/cnndbg/trace"
)

// Tensor is a dense float64 array in row-major order. Activations are NHWC.
type Tensor struct {
	Shape []int
	Data  []float64
}

// NewTensor returns a zero tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float64, trace.Size(shape))}
}

// FromData returns a tensor of the given shape over data. It panics if the
// length of data does not match the shape.
func FromData(data []float64, shape ...int) *Tensor {
	if trace.Size(shape) != len(data) {
		panic(fmt.Sprintf("net: %d values do not fill shape %v", len(data), shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float64(nil), t.Data...)}
}

// Size returns the number of elements.
func (t *Tensor) Size() int { return len(t.Data) }

// dims4 returns the four dimensions of an NHWC tensor, panicking on another rank.
func (t *Tensor) dims4() (m, h, w, c int) {
	if len(t.Shape) != 4 {
		panic(fmt.Sprintf("net: want a 4-D NHWC tensor, have shape %v", t.Shape))
	}
	return t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
}

// dims2 returns the dimensions of a 2-D tensor, panicking on another rank.
func (t *Tensor) dims2() (rows, cols int) {
	if len(t.Shape) != 2 {
		panic(fmt.Sprintf("net: want a 2-D tensor, have shape %v", t.Shape))
	}
	return t.Shape[0], t.Shape[1]
}

// OutputSize returns floor((n + 2·pad − f)/stride) + 1, the number of window
// positions along one axis of a conv or pool layer.
func OutputSize(n, f, stride, pad int) int {
	return (n+2*pad-f)/stride + 1
}
