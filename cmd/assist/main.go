// Command assist is HMRC Assist: it analyses an MTD Income Tax calculation and
// returns guidance, from the command line (explain, rules) or as the Self
// Assessment Assist API (serve).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// Exit statuses: 0 success, 1 failure (rules that do not pass, a server that
// stopped with an error), 2 bad usage or bad input.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

const usage = `usage:
  assist serve [flags]                         run the Self Assessment Assist API
  assist worker [flags]                        deliver queued NRS records and events
  assist outbox list [--dead] [--db DSN]       records waiting to be delivered, or dead-lettered
  assist outbox retry [--db DSN] ID...         revive dead-lettered records
  assist agents authorise|revoke|list [flags]  which agents may act for which clients
                                               (production; see assist agents --help)
  assist bench [--duration 20s] [--clients 32] [--db postgres://...] [--json FILE]
                                               load benchmark of the service beside
                                               the machine's limit (see assist bench --help)
  assist version                               module version, VCS revision, rule set version
  assist explain [--lang en|cy] [--rules DIR] FILE|-
                                               print the guidance for one calculation
  assist rules check [--rules DIR]             compile and lint a rule catalogue
  assist rules test [--rules DIR]              run every rule's own cases
  assist rules list [--long] [--rules DIR]     one line per rule: id, severity, priority,
                                               tax years, version (--long: references)
  assist rules simulate [--rules DIR] [--against DIR] [--json] PATH...
                                               each rule's hit rate over folders of
                                               calculations; with --against, what a
                                               rule change gains and loses

Every command prints its flags with --help.
`

// run is the whole program behind main, with its surroundings passed in so
// that tests can drive it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		if err := runServe(ctx, args[1:], stdout, stderr, getenv); err != nil {
			fmt.Fprintf(stderr, "assist serve: %v\n", err)
			return exitFail
		}
		return exitOK
	case "worker":
		if err := runWorker(ctx, args[1:], stdout, stderr, getenv); err != nil {
			fmt.Fprintf(stderr, "assist worker: %v\n", err)
			return exitFail
		}
		return exitOK
	case "agents":
		return runAgents(ctx, args[1:], stdout, stderr, getenv)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		return runVersion(stdout, stderr)
	case "outbox":
		return runOutbox(ctx, args[1:], stdout, stderr, getenv)
	case "explain":
		return runExplain(ctx, args[1:], stdin, stdout, stderr)
	case "rules":
		return runRules(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "assist: unknown command %q\n%s", args[0], usage)
		return exitUsage
	}
}
