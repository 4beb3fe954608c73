package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	kgo "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Field names of [Config], as they appear in JSON and in [ConfigSpec].
const (
	FieldBrokers               = "brokers"
	FieldClientID              = "client_id"
	FieldTLS                   = "tls"
	FieldTLSCAFile             = "tls_ca_file"
	FieldTLSInsecureSkipVerify = "tls_insecure_skip_verify"
	FieldSASLMechanism         = "sasl_mechanism"
	FieldSASLUser              = "sasl_user"
	FieldSASLPassword          = "sasl_password"
	FieldDialTimeout           = "dial_timeout"
)

// SASL mechanisms accepted in Config.SASLMechanism.
const (
	SASLNone        = ""
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// Config is how a connector reaches a Kafka cluster. The zero value plus Brokers works
// for a local plaintext broker. It is serialized into the DoFns (JSON), so it holds only
// plain values; secrets given here travel with the pipeline graph.
type Config struct {
	// Brokers are the bootstrap addresses, host:port. Required.
	Brokers []string `json:"brokers"`
	// ClientID names this client in broker logs and quotas. Default "dlmstream".
	ClientID string `json:"client_id,omitempty"`
	// TLS turns on TLS with the system roots (plus TLSCAFile). Default off.
	TLS bool `json:"tls,omitempty"`
	// TLSCAFile is a PEM file of extra CA certificates trusted for the brokers. Default none.
	TLSCAFile string `json:"tls_ca_file,omitempty"`
	// TLSInsecureSkipVerify skips verification of the broker certificates (tests only). Default false.
	TLSInsecureSkipVerify bool `json:"tls_insecure_skip_verify,omitempty"`
	// SASLMechanism is "", "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512". Default "" (no SASL).
	SASLMechanism string `json:"sasl_mechanism,omitempty"`
	// SASLUser is the SASL user name. Required with a SASL mechanism.
	SASLUser string `json:"sasl_user,omitempty"`
	// SASLPassword is the SASL password. Required with a SASL mechanism.
	SASLPassword string `json:"sasl_password,omitempty"`
	// DialTimeout bounds each connection attempt. Default 10s.
	DialTimeout time.Duration `json:"dial_timeout,omitempty"`
}

// SpecField documents one configuration field: its name, what it does, its default and an example.
type SpecField struct {
	Name, Description, Default, Example string
}

// ConfigSpec documents every field of [Config]; [ConfigDoc] renders it.
var ConfigSpec = []SpecField{
	{FieldBrokers, "bootstrap broker addresses (host:port), comma-separated on the command line", "(required)", "127.0.0.1:9092"},
	{FieldClientID, "client id sent to the brokers", "dlmstream", "caption-job-1"},
	{FieldTLS, "connect with TLS (system roots plus tls_ca_file)", "false", "true"},
	{FieldTLSCAFile, "PEM file with extra CA certificates for the brokers", "", "/etc/kafka/ca.pem"},
	{FieldTLSInsecureSkipVerify, "do not verify broker certificates (tests only)", "false", "true"},
	{FieldSASLMechanism, "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty for none", "", "SCRAM-SHA-512"},
	{FieldSASLUser, "SASL user name", "", "pipeline"},
	{FieldSASLPassword, "SASL password", "", "secret"},
	{FieldDialTimeout, "timeout of one connection attempt", "10s", "5s"},
}

// ConfigDoc renders a spec as a Markdown table.
func ConfigDoc(spec []SpecField) string {
	var b strings.Builder
	b.WriteString("| field | description | default | example |\n|---|---|---|---|\n")
	for _, f := range spec {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", f.Name, f.Description, f.Default, f.Example)
	}
	return b.String()
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("kafka: no brokers")
	}
	for _, b := range c.Brokers {
		if !strings.Contains(b, ":") {
			return fmt.Errorf("kafka: broker %q is not host:port", b)
		}
	}
	switch c.SASLMechanism {
	case SASLNone:
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if c.SASLUser == "" {
			return fmt.Errorf("kafka: %s needs a user", c.SASLMechanism)
		}
	default:
		return fmt.Errorf("kafka: unknown SASL mechanism %q (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", c.SASLMechanism)
	}
	return nil
}

func (c Config) clientID() string {
	if c.ClientID == "" {
		return "dlmstream"
	}
	return c.ClientID
}

func (c Config) dialTimeout() time.Duration {
	if c.DialTimeout <= 0 {
		return 10 * time.Second
	}
	return c.DialTimeout
}

func (c Config) tlsConfig() (*tls.Config, error) {
	if !c.TLS {
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: c.TLSInsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in for tests
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka: no certificates in %s", c.TLSCAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func (c Config) mechanism() (sasl.Mechanism, error) {
	switch c.SASLMechanism {
	case SASLNone:
		return nil, nil
	case SASLPlain:
		return plain.Mechanism{Username: c.SASLUser, Password: c.SASLPassword}, nil
	case SASLScramSHA256:
		return scram.Mechanism(scram.SHA256, c.SASLUser, c.SASLPassword)
	case SASLScramSHA512:
		return scram.Mechanism(scram.SHA512, c.SASLUser, c.SASLPassword)
	}
	return nil, fmt.Errorf("kafka: unknown SASL mechanism %q", c.SASLMechanism)
}

// dialer is used by readers.
func (c Config) dialer() (*kgo.Dialer, error) {
	t, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	m, err := c.mechanism()
	if err != nil {
		return nil, err
	}
	return &kgo.Dialer{ClientID: c.clientID(), Timeout: c.dialTimeout(), DualStack: true, TLS: t, SASLMechanism: m}, nil
}

// transport is used by writers and admin/offset clients.
func (c Config) transport() (*kgo.Transport, error) {
	t, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	m, err := c.mechanism()
	if err != nil {
		return nil, err
	}
	return &kgo.Transport{ClientID: c.clientID(), DialTimeout: c.dialTimeout(), TLS: t, SASL: m, IdleTimeout: 30 * time.Second}, nil
}

// client returns a kafka-go client for metadata, offsets and commits.
func (c Config) client() (*kgo.Client, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	tr, err := c.transport()
	if err != nil {
		return nil, err
	}
	return &kgo.Client{Addr: kgo.TCP(c.Brokers...), Transport: tr, Timeout: 30 * time.Second}, nil
}
