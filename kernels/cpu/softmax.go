package cpu

import "math"

// Softmax replaces x (one row) by softmax(x) in place, in fp32 with the
// maximum subtracted first. exp is expf (float32, ≤ 2 ulp from correctly rounded)
// and the sum is accumulated in float64. Entries equal to -Inf get 0. An empty
// row is left alone; a row that is all -Inf becomes all zeros.
func Softmax(x []float32) { active.softmax(x) }

// softmaxGeneric is Softmax with scalar expf.
func softmaxGeneric(x []float32) {
	if len(x) == 0 {
		return
	}
	mx := float32(math.Inf(-1))
	for _, v := range x {
		if v > mx {
			mx = v
		}
	}
	if math.IsInf(float64(mx), -1) {
		clear(x)
		return
	}
	var sum float64
	for i, v := range x {
		e := expf(v - mx)
		x[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// softmaxRow is Softmax on the given row max and exp.
func softmaxRow(x []float32, maxRow func([]float32) float32, expRow func([]float32, float32, float32) float64) {
	if len(x) == 0 {
		return
	}
	mx := maxRow(x)
	if math.IsInf(float64(mx), -1) {
		clear(x)
		return
	}
	inv := float32(1 / expRow(x, 1, mx))
	for i := range x {
		x[i] *= inv
	}
}
