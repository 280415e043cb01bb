package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/open-assist/assist/internal/config"
	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/store"
)

const agentsUsage = `usage:
  assist agents authorise --arn ARN --nino NINO --type main|supporting [--db DSN]
                                         record a client's authorisation of an agent
  assist agents revoke --arn ARN --nino NINO [--db DSN]
                                         withdraw it
  assist agents list [--arn ARN | --nino NINO] [--db DSN]
                                         authorisations of an agent, of a client, or all
`

// runAgents is the operator's record of which agents act for which clients:
// the same authorisations the API checks before an agent's request.
func runAgents(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 1 && isHelp(args[0]) {
		fmt.Fprint(stdout, agentsUsage)
		return exitOK
	}
	if len(args) == 0 || (args[0] != "authorise" && args[0] != "revoke" && args[0] != "list") {
		fmt.Fprint(stderr, agentsUsage)
		return exitUsage
	}
	cmd := args[0]
	synopsis := map[string]string{
		"authorise": "agents authorise --arn ARN --nino NINO --type main|supporting [--db DSN]",
		"revoke":    "agents revoke --arn ARN --nino NINO [--db DSN]",
		"list":      "agents list [--arn ARN | --nino NINO] [--db DSN]",
	}[cmd]
	prefix := "assist agents " + cmd
	fl := config.NewFlagSet("agents "+cmd, synopsis)
	dsn := dbFlag(fl)
	arn := fl.String("arn", "", "agent reference number, such as AARN1234567")
	nino := fl.String("nino", "", "the client's National Insurance number, such as AA123456A")
	kind := new(string)
	if cmd == "authorise" {
		fl.StringVar(kind, "type", "", "main or supporting")
	}
	if err := config.Parse(fl, args[1:], stdout, stderr); err != nil {
		return parseExit(err, stderr, prefix)
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", prefix, fl.Args())
		return exitUsage
	}
	if problem := checkAgentFlags(cmd, *arn, *nino, *kind); problem != "" {
		fmt.Fprintf(stderr, "%s: %s\n", prefix, problem)
		return exitUsage
	}
	cfg, err := config.Load(dbArgs(*dsn), getenv, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: configuration: %v\n", prefix, err)
		return exitUsage
	}
	db, err := store.OpenExisting(ctx, cfg.DB)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
		return exitFail
	}
	defer db.Close()
	switch cmd {
	case "authorise":
		err = db.PutRelationship(ctx, *arn, *nino, *kind)
		if err == nil {
			fmt.Fprintf(stdout, "%s may act for %s as %s agent\n", *arn, *nino, *kind)
		}
	case "revoke":
		_, err = db.Relationship(ctx, *arn, *nino)
		if errors.Is(err, store.ErrNotFound) {
			fmt.Fprintf(stderr, "%s: %s has no authorisation from %s to revoke\n", prefix, *arn, *nino)
			return exitFail
		}
		if err == nil {
			if err = db.DeleteRelationship(ctx, *arn, *nino); err == nil {
				fmt.Fprintf(stdout, "%s may no longer act for %s\n", *arn, *nino)
			}
		}
	case "list":
		var as []store.Authorisation
		if as, err = db.Authorisations(ctx, *arn, *nino); err == nil {
			printAuthorisations(stdout, as)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
		return exitFail
	}
	return exitOK
}

// checkAgentFlags returns what is wrong with the flags of an agents
// command, or "".
func checkAgentFlags(cmd, arn, nino, kind string) string {
	if arn != "" && !hmrc.ValidARN(arn) {
		return fmt.Sprintf("--arn: %q is not an agent reference number such as AARN1234567", arn)
	}
	if nino != "" && !hmrc.ValidNINO(nino) {
		return fmt.Sprintf("--nino: %q is not a National Insurance number such as AA123456A (capitals, no spaces)", nino)
	}
	switch cmd {
	case "list":
		if arn != "" && nino != "" {
			return "give --arn or --nino, not both"
		}
		return ""
	case "authorise":
		if kind != store.Main && kind != store.Supporting {
			return fmt.Sprintf("--type: %q is neither main nor supporting", kind)
		}
	}
	if arn == "" || nino == "" {
		return "--arn and --nino are required"
	}
	return ""
}

func printAuthorisations(w io.Writer, as []store.Authorisation) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ARN\tNINO\tTYPE\tSINCE")
	for _, a := range as {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.ARN, a.NINO, a.Type, a.CreatedAt.Format(time.RFC3339))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d authorisations\n", len(as))
}
