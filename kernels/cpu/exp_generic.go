//go:build !amd64

package cpu

// expRow sets x[i] = exp(x[i]*scale - bias) (expf) and returns the sum.
func expRow(x []float32, scale, bias float32) float64 {
	var sum float64
	for i, v := range x {
		e := expf(v*scale - bias)
		x[i] = e
		sum += float64(e)
	}
	return sum
}

// maxRow returns max(x) (-Inf for an empty row).
func maxRow(x []float32) float32 {
	mx := float32(negInf)
	for _, v := range x {
		mx = max(mx, v)
	}
	return mx
}
