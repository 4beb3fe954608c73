//go:build !amd64

package cpu

func detect() *impl { return &generic }
