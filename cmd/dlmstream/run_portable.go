//go:build !nobeam

package main

// Worker entry points for portable runners, besides --worker (run.go), so that this one
// binary is every worker a Beam job server asks for:
//
//	PROCESS environment   --environment_type PROCESS --environment_config '{"command":"/abs/path/dlmstream"}'
//	    The job server starts the command with --id=ID --provision_endpoint=HOST:PORT, the
//	    arguments of Beam's container boot loader. The binary does the boot loader's part
//	    itself: it asks the provision service for the logging and control endpoints and
//	    the pipeline options, then serves as the Go SDK harness in this process (the staged
//	    worker binary is not fetched: it is this binary).
//	EXTERNAL environment  dlmstream --worker_pool [--worker_pool_port=50000]
//	    Serves Beam's external worker pool service on localhost (port 50000 like the Go
//	    boot loader's --worker_pool, 0 for a free one), prints "worker pool: localhost:PORT",
//	    and starts a harness in this process for each worker the job server asks for,
//	    until SIGINT or SIGTERM. Jobs then run with --environment_type EXTERNAL
//	    --environment_config localhost:PORT.
//
// Both environments run the worker outside the submitting process: paths in the job
// (--model, --input-glob, --output-path) resolve against the worker's working directory,
// so give them absolute. Submitting still stages a worker binary: pass
// --worker_binary /abs/path/dlmstream after "--", or Beam compiles one from source.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/container/tools"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal/extworker"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/util/grpcx"
)

// defaultWorkerPoolPort is the port of the Go boot loader's worker pool (--worker_pool).
const defaultWorkerPoolPort = 50000

func init() {
	args := os.Args[1:]
	if len(args) == 0 || !strings.HasPrefix(args[0], "-") || hasFlag(args, "worker") {
		return // a subcommand, or --worker (run.go)
	}
	switch {
	case hasFlag(args, "provision_endpoint"):
		if err := bootProcessWorker(args); err != nil {
			fmt.Fprintln(os.Stderr, "dlmstream: process worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	case hasFlag(args, "worker_pool"):
		port := defaultWorkerPoolPort
		if v, ok := flagValue(args, "worker_pool_port"); ok {
			p, err := strconv.Atoi(v)
			if err != nil {
				fmt.Fprintln(os.Stderr, "dlmstream: --worker_pool_port:", err)
				os.Exit(2)
			}
			port = p
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := serveWorkerPool(ctx, port, os.Stdout)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "dlmstream: worker pool:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// bootProcessWorker serves as the Go SDK harness for a PROCESS environment: args are
// the boot loader's (--id, --provision_endpoint, optionally --logging_endpoint and
// --control_endpoint, which the provision info overrides). It returns only on error;
// the harness exits the process when the runner is done with it.
func bootProcessWorker(args []string) error {
	id, _ := flagValue(args, "id")
	id = strings.Trim(id, `'"`) // prism passes --id='ID', quoted as for a shell
	endpoint, _ := flagValue(args, "provision_endpoint")
	if id == "" || endpoint == "" {
		return fmt.Errorf("need --id and --provision_endpoint, got %q", args)
	}
	ctx := grpcx.WriteWorkerID(context.Background(), id)
	info, err := tools.ProvisionInfo(ctx, endpoint)
	if err != nil {
		return fmt.Errorf("provision info from %s: %w", endpoint, err)
	}
	logging, _ := flagValue(args, "logging_endpoint")
	control, _ := flagValue(args, "control_endpoint")
	if u := info.GetLoggingEndpoint().GetUrl(); u != "" {
		logging = u
	}
	if u := info.GetControlEndpoint().GetUrl(); u != "" {
		control = u
	}
	if logging == "" || control == "" {
		return fmt.Errorf("provision info from %s has no logging or control endpoint", endpoint)
	}
	options, err := tools.ProtoToJSON(info.GetPipelineOptions())
	if err != nil {
		return fmt.Errorf("pipeline options: %w", err)
	}
	if u := info.GetStatusEndpoint().GetUrl(); u != "" {
		os.Setenv("STATUS_ENDPOINT", u)
	}
	if caps := info.GetRunnerCapabilities(); len(caps) > 0 {
		os.Setenv("RUNNER_CAPABILITIES", strings.Join(caps, " "))
	}
	// The harness's own flags (core/runtime/harness/init), as the boot loader passes them.
	for name, v := range map[string]string{
		"worker": "true", "id": id, "logging_endpoint": logging, "control_endpoint": control, "options": options,
	} {
		if err := flag.Set(name, v); err != nil {
			return fmt.Errorf("harness flag --%s: %w", name, err)
		}
	}
	beam.Init() // serves the worker and exits
	return fmt.Errorf("the Beam harness returned")
}

// serveWorkerPool serves Beam's external worker pool service on localhost:port until
// ctx ends; each StartWorker request runs a harness in this process. It prints the
// pool's address on w once it listens.
func serveWorkerPool(ctx context.Context, port int, w io.Writer) error {
	beam.Init()
	pool, err := extworker.StartLoopback(ctx, port)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "worker pool: %s\n", pool.EnvironmentConfig(ctx))
	<-ctx.Done()
	return pool.Stop(context.Background())
}

// flagValue returns the value of --name=V or -name=V (or --name V) in args.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
		if a == name && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			return args[i+1], true
		}
	}
	return "", false
}

// hasFlag reports whether args hold --name, -name or --name=V.
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}
