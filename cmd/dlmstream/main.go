// Command dlmstream is the project's one CLI.
//
//	dlmstream infer --model DIR --prompt TEXT   top-5 next tokens, or a greedy continuation
//	dlmstream bench [--model DIR]               forward-pass latency, weight GB/s vs the machine's read bandwidth
//
// Each command lives in its own file and adds itself to the table in init.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand of the CLI.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(name, summary string, run func(args []string, stdout, stderr io.Writer) error) {
	if _, dup := commands[name]; dup {
		panic("dlmstream: duplicate command " + name)
	}
	commands[name] = command{summary: summary, run: run}
}

func init() {
	register("infer", "run one prompt through a checkpoint (no Beam, no Kafka)", runInfer)
	register("bench", "measure forward passes on random SDAR-1.7B weights or a checkpoint", runBench)
}

func usage(w io.Writer) {
	fmt.Fprint(w, "usage: dlmstream <command> [flags]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, "\nRun \"dlmstream <command> -h\" for the flags of a command.\n")
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	name := os.Args[1]
	if name == "-h" || name == "--help" || name == "help" {
		usage(os.Stdout)
		return
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "dlmstream: unknown command %q\n\n", name)
		usage(os.Stderr)
		os.Exit(2)
	}
	if err := c.run(os.Args[2:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "dlmstream:", err)
		os.Exit(1)
	}
}
