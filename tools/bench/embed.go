// Package bench carries the PyTorch peer of `dlmstream bench --peer`
// (peer.py, see README.md), built into the binary so that the command runs
// from any directory.
package bench

import _ "embed"

// PeerPy is the source of peer.py.
//
//go:embed peer.py
var PeerPy []byte
