//go:build !unix

package model

import "errors"

func mapAnon(int) ([]byte, error) { return nil, errors.New("no anonymous maps") }

func unmapAnon([]byte) {}

const unixMaps = false
