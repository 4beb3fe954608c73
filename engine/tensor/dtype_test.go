package tensor

import "testing"

func TestParseDType(t *testing.T) {
	for _, n := range []string{"F32", "F16", "BF16", "I8", "U8", "I32", "I64", "F64", "BOOL"} {
		d, err := ParseDType(n)
		if err != nil || d.String() != n || d.Size() == 0 {
			t.Errorf("ParseDType(%q) = %v, %v", n, d, err)
		}
	}
	if _, err := ParseDType("F8_E4M3"); err == nil {
		t.Error("F8_E4M3 accepted")
	}
}
