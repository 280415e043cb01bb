// Package rulefiles embeds the default rule catalogue: the YAML files in this
// folder, written for content designers to read and change. `assist rules
// check` and `assist rules test` lint and test them; `--rules DIR` replaces
// them at run time.
package rulefiles

import "embed"

// FS holds catalogue.yaml, messages.yaml, one file per rule and
// thresholds/YYYY-YY.yaml.
//
//go:embed *.yaml thresholds/*.yaml
var FS embed.FS
