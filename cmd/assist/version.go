package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// runVersion prints what an operator quotes in a bug report: the module
// version, the VCS revision the binary was built from, the Go version and
// the version of the built-in rule set.
func runVersion(stdout, stderr io.Writer) int {
	version, revision, goVersion := buildVersion()
	cat, err := loadCatalogue("")
	if err != nil {
		fmt.Fprintf(stderr, "assist version: built-in rules: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "assist %s\nrevision %s\n%s\nrules %s\n", version, revision, goVersion, cat.Version())
	return exitOK
}

// buildVersion is the module version, VCS revision and Go version the
// binary was built with, "unknown" for what the build did not record.
func buildVersion() (version, revision, goVersion string) {
	version, revision, goVersion = "unknown", "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified {
			revision += " (modified)"
		}
	}
	return version, revision, goVersion
}
