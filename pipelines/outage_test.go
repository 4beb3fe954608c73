package pipelines

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"dlmstream/connectors/kafka/kafkatest"

	kgo "github.com/segmentio/kafka-go"
)

// TestBrokerOutages runs the streaming extraction pipeline (a child
// process) against a broker of the test's own, reached through a proxy the
// test controls. Mid-stream the network is cut for 30 s (no byte moves, new
// connections hang), and later the broker is restarted. The pipeline must
// resume by itself after each and end with every input's result or dead
// letter: missing = 0.
func TestBrokerOutages(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test with its own broker")
	}
	brokerPort := freePort(t)
	proxy := kafkatest.NewProxy(t, "0", "127.0.0.1:"+brokerPort)
	_, proxyPort, _ := net.SplitHostPort(proxy.Addr)
	b := kafkatest.StartBroker(t, kafkatest.BrokerOptions{Port: brokerPort, AdvertisedPort: proxyPort})
	brokers := b.Brokers // the proxy's address, as the broker advertises it
	in, out, dlq, group := kafkatest.Topic(t, "oin"), kafkatest.Topic(t, "oout"), kafkatest.Topic(t, "odlq"), kafkatest.Topic(t, "og")
	for _, topic := range []string{in, out, dlq} {
		kafkatest.CreateTopic(t, brokers, topic, 4)
	}
	const inputs = 600
	msgs := make([]kgo.Message, inputs)
	for i := range msgs {
		msgs[i] = killInput(t, Extraction, i, nil, nil)
	}
	kafkatest.Produce(t, brokers, in, msgs...)

	env := strings.Join([]string{Extraction, strings.Join(brokers, ","), in, out, dlq, group, "slow"}, "|")
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), envKillChild+"="+env)
	var logs strings.Builder
	child.Stdout, child.Stderr = &logs, &logs
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	t.Cleanup(func() { child.Process.Kill() })

	// The test's own reads go through the proxy too: retried across a fault.
	count := func() int {
		for {
			ids, _, err := readFinals(brokers, out, dlq)
			if err == nil {
				return len(ids)
			}
			time.Sleep(time.Second)
		}
	}
	// waitFor polls until at least n inputs have results, and returns when
	// the count first grew past from (the pipeline's first progress).
	waitFor := func(what string, from, n int, limit time.Duration) (progress time.Time) {
		deadline := time.Now().Add(limit)
		for {
			select {
			case err := <-exited:
				t.Fatalf("%s: the pipeline exited: %v\n%s", what, err, tail(logs.String(), 3000))
			default:
			}
			c := count()
			if c > from && progress.IsZero() {
				progress = time.Now()
			}
			if c >= n {
				return progress
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d of %d inputs have results after %s\n%s", what, c, n, limit, tail(logs.String(), 3000))
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	waitFor("start", 0, 60, 2*time.Minute)

	const cut = 30 * time.Second
	atCut := count()
	proxy.Cut(cut)
	time.Sleep(cut)
	healed := time.Now()
	afterCut := count()
	resumed := waitFor("after the cut", afterCut, afterCut+60, 2*time.Minute)

	atRestart := count()
	restartAt := time.Now()
	b.Restart(t)
	back := time.Now()
	afterRestart := count()
	resumedRestart := waitFor("after the restart", afterRestart, min(afterRestart+30, inputs), 2*time.Minute)
	waitFor("the end", 0, inputs, 4*time.Minute)
	child.Process.Signal(syscall.SIGKILL)

	count()
	ids, total := finals(t, brokers, out, dlq)
	missing := 0
	for i := range inputs {
		if ids["req-"+strconv.Itoa(i)] == 0 {
			missing++
		}
	}
	t.Logf("network cut %s at %d results (%d when it healed): first new result %.1f s after it healed", cut, atCut, afterCut, resumed.Sub(healed).Seconds())
	t.Logf("broker restart at %d results, took %.1f s (%d after): first new result %.1f s after it was back", atRestart, back.Sub(restartAt).Seconds(), afterRestart, resumedRestart.Sub(back).Seconds())
	t.Logf("outages: %d inputs, %d records (%d distinct), missing %d, duplicates %d", inputs, total, len(ids), missing, total-len(ids))
	if missing != 0 {
		t.Fatalf("missing %d of %d inputs", missing, inputs)
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return fmt.Sprint(port)
}
