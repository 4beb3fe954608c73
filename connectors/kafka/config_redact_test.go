package kafka

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestConfigRedactsPassword: neither fmt nor slog prints the SASL password.
func TestConfigRedactsPassword(t *testing.T) {
	c := Config{Brokers: []string{"b:9092"}, SASLMechanism: "PLAIN", SASLUser: "u", SASLPassword: "hunter2-secret"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("connect", "kafka", c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%v", &c), logs.String()} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("password printed: %s", out)
		}
		if !strings.Contains(out, redacted) || !strings.Contains(out, "b:9092") {
			t.Errorf("want the brokers and %s in %s", redacted, out)
		}
	}
	if s := fmt.Sprint(Config{Brokers: []string{"b:9092"}}); strings.Contains(s, redacted) {
		t.Errorf("no password, yet %s", s)
	}
}
