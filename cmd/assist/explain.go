package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/open-assist/assist/internal/calc"
	"github.com/open-assist/assist/internal/config"
	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/rules"
	rulefiles "github.com/open-assist/assist/rules"
)

// loadCatalogue loads the rules in dir, or the embedded catalogue when dir is "".
func loadCatalogue(dir string) (*rules.Catalogue, error) {
	if dir == "" {
		return rules.Load(rulefiles.FS, rules.Reviewed())
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("rules directory %q: not a readable directory", dir)
	}
	return rules.Load(os.DirFS(dir))
}

// runExplain prints the guidance for one calculation as JSON.
func runExplain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fl := config.NewFlagSet("explain", "explain [--lang en|cy] [--rules DIR] FILE|-")
	lang := fl.String("lang", "en", "language of the guidance: en or cy")
	dir := fl.String("rules", "", "rule catalogue directory (default: the built-in one)")
	maxBytes := fl.Int("max-calculation-bytes", report.DefaultMaxCalculationBytes, "largest calculation read")
	if err := config.Parse(fl, args, stdout, stderr); err != nil {
		return parseExit(err, stderr, "assist explain")
	}
	if fl.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: assist explain [--lang en|cy] [--rules DIR] FILE|-")
		return exitUsage
	}
	l, ok := rules.ParseLang(*lang)
	if !ok {
		fmt.Fprintf(stderr, "assist explain: --lang must be en or cy, not %q\n", *lang)
		return exitUsage
	}
	name := fl.Arg(0)
	data, err := readCapped(name, stdin, *maxBytes)
	if err != nil {
		fmt.Fprintf(stderr, "assist explain: %v\n", err)
		return exitUsage
	}
	doc, err := calc.Decode(data)
	if err != nil {
		fmt.Fprintf(stderr, "assist explain: %v\n", err)
		return exitUsage
	}
	cat, err := loadCatalogue(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "assist explain: %v\n", err)
		return exitFail
	}
	res, err := cat.Evaluate(ctx, doc, l)
	if err != nil {
		fmt.Fprintf(stderr, "assist explain: %v\n", err)
		return exitFail
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		fmt.Fprintf(stderr, "assist explain: %v\n", err)
		return exitFail
	}
	return exitOK
}

// readCapped reads the file name ("-": in) up to max bytes; a larger one is
// an error, read no further: analysis costs grow with the size.
func readCapped(name string, in io.Reader, max int) ([]byte, error) {
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(io.LimitReader(in, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes (--max-calculation-bytes)", name, max)
	}
	return data, nil
}

// runRules is `assist rules check|test|list [--long] [--rules DIR] [DIR]`
// and `assist rules simulate`.
func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const rulesUsage = "usage: assist rules check|test|list [--long] [--rules DIR] [DIR]\n" +
		"       assist " + simulateSynopsis
	if len(args) == 1 && isHelp(args[0]) {
		fmt.Fprintln(stdout, rulesUsage)
		return exitOK
	}
	if len(args) > 0 && args[0] == "simulate" {
		return runSimulate(ctx, args[1:], stdout, stderr)
	}
	if len(args) < 1 || (args[0] != "check" && args[0] != "test" && args[0] != "list") {
		fmt.Fprintln(stderr, rulesUsage)
		return exitUsage
	}
	cmd := args[0]
	synopsis := "rules " + cmd + " [--rules DIR] [DIR]"
	if cmd == "list" {
		synopsis = "rules list [--long] [--rules DIR] [DIR]"
	}
	fl := config.NewFlagSet("rules "+cmd, synopsis)
	dir := fl.String("rules", "", "rule catalogue directory (default: the built-in one)")
	long := new(bool)
	if cmd == "list" {
		fl.BoolVar(long, "long", false, "also each rule's references")
	}
	if err := config.Parse(fl, args[1:], stdout, stderr); err != nil {
		return parseExit(err, stderr, "assist rules "+cmd)
	}
	switch {
	case fl.NArg() > 1 || (fl.NArg() == 1 && *dir != ""):
		fmt.Fprintln(stderr, rulesUsage)
		return exitUsage
	case fl.NArg() == 1:
		*dir = fl.Arg(0)
	}
	if *long && cmd != "list" {
		fmt.Fprintf(stderr, "assist rules %s: --long goes with list\n", cmd)
		return exitUsage
	}
	cat, err := loadCatalogue(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "assist rules %s: %v\n", cmd, err)
		if errors.Is(err, rules.ErrCatalogue) {
			return exitFail
		}
		return exitUsage
	}
	switch cmd {
	case "list":
		if err := listRules(stdout, cat, *long); err != nil {
			fmt.Fprintf(stderr, "assist rules list: %v\n", err)
			return exitFail
		}
		return exitOK
	case "check":
		problems := cat.Check()
		for _, p := range problems {
			fmt.Fprintln(stdout, p)
		}
		if len(problems) > 0 {
			fmt.Fprintf(stdout, "%d problems in %d rules\n", len(problems), len(cat.Rules()))
			return exitFail
		}
		fmt.Fprintf(stdout, "ok: %d rules, version %s\n", len(cat.Rules()), cat.Version())
		return exitOK
	}
	passed, failed := 0, 0
	for _, r := range cat.RunCases(ctx) {
		if r.Err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL %s / %s: %v\n", r.RuleID, r.Case, r.Err)
			continue
		}
		passed++
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return exitFail
	}
	return exitOK
}

// listRules prints one line per rule in message order: id, severity,
// priority, tax years, version; --long adds what each rule rests on, indented
// under it.
func listRules(w io.Writer, cat *rules.Catalogue, long bool) error {
	rs := cat.Rules()
	width := len("ID")
	for _, r := range rs {
		width = max(width, len(r.ID))
	}
	row := func(id, severity, priority, years, version string) {
		fmt.Fprintf(w, "%-*s  %-11s  %-8s  %-20s  %s\n", width, id, severity, priority, years, version)
	}
	row("ID", "SEVERITY", "PRIORITY", "TAX YEARS", "VERSION")
	for _, r := range rs {
		row(r.ID, string(r.Severity), strconv.Itoa(r.Priority), r.TaxYears.String(), "v"+strconv.Itoa(r.Version))
		if !long {
			continue
		}
		if r.Exclusive {
			fmt.Fprintln(w, "    exclusive: when it applies, no other rule's message is given")
		}
		for _, ref := range r.References {
			fmt.Fprintf(w, "    reference: %s\n", ref)
		}
	}
	_, err := fmt.Fprintf(w, "%d rules, version %s\n", len(rs), cat.Version())
	return err
}
