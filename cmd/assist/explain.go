package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/open-assist/assist/internal/calc"
	"github.com/open-assist/assist/internal/rules"
	rulefiles "github.com/open-assist/assist/rules"
)

// loadCatalogue loads the rules in dir, or the embedded catalogue when dir is "".
func loadCatalogue(dir string) (*rules.Catalogue, error) {
	var fsys fs.FS = rulefiles.FS
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("rules directory %q: not a readable directory", dir)
		}
		fsys = os.DirFS(dir)
	}
	return rules.Load(fsys)
}

// runExplain prints the guidance for one calculation as JSON.
func runExplain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("explain", flag.ContinueOnError)
	fl.SetOutput(stderr)
	lang := fl.String("lang", "en", "language of the guidance: en or cy")
	dir := fl.String("rules", "", "rule catalogue directory (default: the built-in one)")
	if err := fl.Parse(args); err != nil {
		return exitUsage
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
	var data []byte
	var err error
	if name := fl.Arg(0); name == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(name)
	}
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

// runRules is `assist rules check|test [DIR]`.
func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 || len(args) > 2 || (args[0] != "check" && args[0] != "test") {
		fmt.Fprintln(stderr, "usage: assist rules check|test [DIR]")
		return exitUsage
	}
	dir := ""
	if len(args) == 2 {
		dir = args[1]
	}
	cat, err := loadCatalogue(dir)
	if err != nil {
		fmt.Fprintf(stderr, "assist rules %s: %v\n", args[0], err)
		if errors.Is(err, rules.ErrCatalogue) {
			return exitFail
		}
		return exitUsage
	}
	if args[0] == "check" {
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
