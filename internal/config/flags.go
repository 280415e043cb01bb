package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// NewFlagSet returns a flag set whose usage names the command and its
// synopsis before the flags.
func NewFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("assist "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: assist %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// Parse parses args with fs, taking flags wherever they are among the
// operands (explain FILE --lang cy), except after "--". Asked for help
// (-h, --help), it prints the usage to stdout and returns flag.ErrHelp; on
// a bad flag it prints the usage to stderr and returns the error, for the
// caller to print.
func Parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	var operands []string
	for {
		err := fs.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			fs.SetOutput(stdout)
			fs.Usage()
			return err
		case err != nil:
			fs.SetOutput(stderr)
			fs.Usage()
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			operands = append(operands, rest...)
			break
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
	// Parse once more with only the operands, so that fs.Args returns them.
	return fs.Parse(append([]string{"--"}, operands...))
}
