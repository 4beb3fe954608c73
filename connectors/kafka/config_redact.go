package kafka

import (
	"fmt"
	"log/slog"
)

// redacted stands in for a secret in logs and errors.
const redacted = "[redacted]"

// String prints the config for logs and errors with the SASL password
// redacted (fmt's %v and %+v use it).
func (c Config) String() string {
	c.SASLPassword = redactSecret(c.SASLPassword)
	type plain Config // without the String method
	return fmt.Sprintf("%+v", plain(c))
}

// LogValue keeps the password out of structured logs (log/slog).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("brokers", c.Brokers), slog.String("client_id", c.ClientID), slog.Bool("tls", c.TLS),
		slog.String("sasl_mechanism", c.SASLMechanism), slog.String("sasl_user", c.SASLUser),
		slog.String("sasl_password", redactSecret(c.SASLPassword)))
}

func redactSecret(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}
