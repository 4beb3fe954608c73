package kafkatest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Broker is a real Kafka broker of the test's own (deploy/kafka/broker.sh
// with a run folder in the test's temp dir), for fault tests that stop and
// start it; it is stopped and its data removed when the test ends.
type Broker struct {
	Brokers []string // the bootstrap address: the advertised port
	script  string
	env     []string
}

// BrokerOptions configure a broker of the test's own.
type BrokerOptions struct {
	// Port is the listening port ("": a free one).
	Port string
	// AdvertisedPort is the port the PLAINTEXT listener advertises (""; its
	// own port), so that clients' connections can be routed through a Proxy
	// the test controls.
	AdvertisedPort string
	// NoAutoCreate turns auto.create.topics.enable off: a topic the test has
	// not created is unavailable (UNKNOWN_TOPIC_OR_PARTITION) until it does.
	NoAutoCreate bool
}

// StartBroker starts a broker configured by o. It needs what the
// real-broker tests need (Java, the jars broker.sh fetches) and skips
// without EnvBrokers, as they do.
func StartBroker(t testing.TB, o BrokerOptions) *Broker {
	t.Helper()
	Real(t)
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b := &Broker{script: filepath.Join(root, "deploy", "kafka", "broker.sh"),
		env: append(os.Environ(), "KAFKA_RUN_DIR="+filepath.Join(t.TempDir(), "kafka"))}
	if o.Port != "" {
		b.env = append(b.env, "KAFKA_PORT="+o.Port)
	}
	if o.AdvertisedPort != "" {
		b.env = append(b.env, "KAFKA_ADVERTISED_PORT="+o.AdvertisedPort)
	}
	if o.NoAutoCreate {
		b.env = append(b.env, "KAFKA_AUTO_CREATE=false")
	}
	out, err := b.run("start")
	if err != nil {
		t.Fatalf("broker.sh start: %v", err)
	}
	t.Cleanup(func() { b.run("stop") })
	b.Brokers = []string{strings.TrimSpace(out)}
	return b
}

// Restart stops the broker process (a controlled shutdown) and starts it
// again on the same ports and data, returning once it answers.
func (b *Broker) Restart(t testing.TB) {
	t.Helper()
	if _, err := b.run("restart"); err != nil {
		t.Fatalf("broker.sh restart: %v", err)
	}
}

func (b *Broker) run(cmd string) (string, error) {
	c := exec.Command("bash", b.script, cmd)
	c.Env = b.env
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		return "", errors.New(err.Error() + ": " + errb.String())
	}
	return out.String(), nil
}

// moduleRoot is the folder above the working directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("kafkatest: no go.mod above the working directory")
		}
		dir = parent
	}
}
