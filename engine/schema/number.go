package schema

import (
	"math/big"
	"strings"
)

// magBound bounds a number's magnitude: int digits without leading zeros
// ("" for 0) and fraction digits without trailing zeros.
type magBound struct {
	has    bool
	in, fr string
	excl   bool
}

func newMag(dec string, excl bool) magBound {
	dec = strings.TrimPrefix(dec, "-")
	in, fr, _ := strings.Cut(dec, ".")
	return magBound{has: true, in: strings.TrimLeft(in, "0"), fr: strings.TrimRight(fr, "0"), excl: excl}
}

// number is an unquoted JSON number without exponent, within bounds and a
// multipleOf. Key: phase, neg, L (int digits, capped), F (fraction digits,
// capped), the running comparison with the upper and lower magnitude
// bound (+1), and the residue of the digits modulo p (4 bytes).
type number struct {
	integer      bool
	negOK, posOK bool
	b            [2][2]magBound // [neg][0 upper, 1 lower]
	p            int64          // multipleOf = p * 10^-d (p 0: none)
	d            int
	capL, capF   int
}

func splitMultiple(m string) (int64, int, bool) {
	in, fr, _ := strings.Cut(m, ".")
	digits := strings.TrimLeft(in+fr, "0")
	if len(fr) > 8 || len(digits) > 4 {
		return 0, 0, false
	}
	var p int64
	for _, c := range digits {
		p = p*10 + int64(c-'0')
	}
	return p, len(fr), p > 0
}

func newNumber(n *Node) *number {
	s := &number{integer: n.Integer, negOK: true, posOK: true}
	sign := func(d string) int { r, _ := new(big.Rat).SetString(d); return r.Sign() }
	if n.Min != "" {
		switch sg := sign(n.Min); {
		case sg < 0:
			s.b[1][0] = newMag(n.Min, n.ExclMin)
		case sg > 0:
			s.negOK = false
			s.b[0][1] = newMag(n.Min, n.ExclMin)
		default:
			s.negOK = false
			if n.ExclMin {
				s.b[0][1] = newMag("0", true)
			}
		}
	}
	// Negative numbers are never -0.
	s.b[1][1] = newMag("0", true)
	if n.Max != "" {
		switch sg := sign(n.Max); {
		case sg < 0:
			s.posOK = false
			s.b[1][1] = newMag(n.Max, n.ExclMax)
		default:
			s.b[0][0] = newMag(n.Max, n.ExclMax)
		}
	}
	if n.MultipleOf != "" {
		s.p, s.d, _ = splitMultiple(n.MultipleOf)
	}
	for _, bb := range s.b {
		for _, m := range bb {
			s.capL = max(s.capL, len(m.in)+1)
			s.capF = max(s.capF, len(m.fr)+1)
		}
	}
	s.capF = max(s.capF, s.d+1)
	return s
}

type numKey struct {
	phase, neg, L, F byte
	c                [2]int
	res              int64
}

func (n *number) dec(k string) numKey {
	return numKey{k[0], k[1], k[2], k[3], [2]int{int(k[4]) - 1, int(k[5]) - 1},
		int64(k[6])<<24 | int64(k[7])<<16 | int64(k[8])<<8 | int64(k[9])}
}

func (n *number) enc(s numKey) string {
	return string([]byte{s.phase, s.neg, s.L, s.F, byte(s.c[0] + 1), byte(s.c[1] + 1),
		byte(s.res >> 24), byte(s.res >> 16), byte(s.res >> 8), byte(s.res)})
}

func (n *number) start() string { return n.enc(numKey{}) }

func cmpByte(a, b byte) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// intFinal is the comparison of the whole integer part with bound j.
func (n *number) intFinal(s numKey, j int) int {
	m := n.b[s.neg][j]
	switch {
	case int(s.L) < len(m.in):
		return -1
	case int(s.L) > len(m.in):
		return 1
	}
	return s.c[j]
}

func (n *number) digit(s *numKey, d byte, frac bool) {
	for j := range 2 {
		m := n.b[s.neg][j]
		if !m.has || s.c[j] != 0 {
			continue
		}
		if frac {
			bd := byte('0')
			if int(s.F) < len(m.fr) {
				bd = m.fr[s.F]
			}
			s.c[j] = cmpByte(d, bd)
		} else if int(s.L) < len(m.in) {
			s.c[j] = cmpByte(d, m.in[s.L])
		}
	}
	if frac {
		s.F = byte(min(int(s.F)+1, n.capF))
	} else {
		s.L = byte(min(int(s.L)+1, n.capL))
	}
	if n.p > 0 {
		s.res = (s.res*10 + int64(d-'0')) % n.p
	}
}

func (n *number) step(k string, b byte) (string, int, bool) {
	s := n.dec(k)
	isDigit := b >= '0' && b <= '9'
	switch s.phase {
	case 0:
		switch {
		case b == '-' && n.negOK:
			s.phase, s.neg = 1, 1
		case b == '0' && n.posOK:
			s.phase = 2
		case isDigit && n.posOK:
			s.phase = 3
			n.digit(&s, b, false)
		default:
			return "", 0, false
		}
	case 1:
		switch {
		case b == '0':
			s.phase = 2
		case isDigit:
			s.phase = 3
			n.digit(&s, b, false)
		default:
			return "", 0, false
		}
	case 2, 3:
		switch {
		case isDigit && s.phase == 3:
			n.digit(&s, b, false)
		case b == '.' && !n.integer:
			for j := range 2 {
				s.c[j] = n.intFinal(s, j)
			}
			s.phase = 4
		default:
			return "", 0, false
		}
	case 4, 5:
		if !isDigit || n.p > 0 && int(s.F) >= n.d {
			return "", 0, false
		}
		s.phase = 5
		n.digit(&s, b, true)
	}
	return n.enc(s), 1, true
}

func (n *number) accept(k string) bool {
	s := n.dec(k)
	if s.phase != 2 && s.phase != 3 && s.phase != 5 {
		return false
	}
	for j := range 2 {
		m := n.b[s.neg][j]
		if !m.has {
			continue
		}
		c := s.c[j]
		if s.phase != 5 {
			c = n.intFinal(s, j)
		}
		// Equal so far, but the bound has (more) fraction digits: the
		// number is below it (1 < 1.5, 1.2 < 1.25).
		if c == 0 && int(s.F) < len(m.fr) {
			c = -1
		}
		if j == 0 && !(c < 0 || c == 0 && !m.excl) || j == 1 && !(c > 0 || c == 0 && !m.excl) {
			return false
		}
	}
	if n.p > 0 {
		r := s.res
		for range n.d - int(s.F) {
			r = r * 10 % n.p
		}
		if r != 0 {
			return false
		}
	}
	return true
}
