package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/queuewrangler/queuewrangler/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes, design.md section 4.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError is bad usage: wrong flags, unknown command, bad input files.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// command is one subcommand. run receives the arguments after its name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"demo", "the whole product on a simulated Help Scout account, no credentials needed", runDemo},
		{"serve", "run the daemon: poll, webhooks, metrics, health (configured by QW_ variables)", runServe},
		{"sync", "one full or incremental sync into the SQLite file, then exit", runSync},
		{"plan", "compute proposals from the mirror and print them (--json); changes nothing", runPlan},
		{"fake-helpscout", "serve a simulated Help Scout account (no credentials needed)", runFakeHelpScout},
		{"simulate", "offline: compare routing policies on a simulated team (--scenario, --policies, --json)", runSimulate},
		{"version", "print version, commit and Go version", runVersion},
		{"help", "show this help", nil},
	}
}

// Main runs the command named by args and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printHelp(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		printHelp(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name != name || c.run == nil {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		return exitCode(err, stderr)
	}
	fmt.Fprintf(stderr, "queuewrangler: unknown command %q\n\n", name)
	printHelp(stderr)
	return exitUsage
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var u *usageError
	if errors.As(err, &u) || config.IsValidation(err) {
		fmt.Fprintf(stderr, "queuewrangler: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "queuewrangler: %v\n", err)
	return exitFailure
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "queuewrangler keeps a Help Scout team's load fair.")
	fmt.Fprintln(w, "\nUsage: queuewrangler <command> [flags]   (queuewrangler <command> -h for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-15s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEnvironment (serve, sync, plan):")
	if err := config.PrintUsage(w); err != nil {
		fmt.Fprintf(w, "  (cannot list variables: %v)\n", err)
	}
	fmt.Fprintln(w, "\nExit codes: 0 success, 1 runtime failure, 2 bad usage or invalid configuration.")
}

// newFlagSet returns a flag set that reports errors instead of exiting, so
// Main maps them to exit code 2.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: queuewrangler %s [flags]\n", name)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(fs.Output(), "\nFlags:")
			fs.PrintDefaults()
		}
		switch name {
		case "serve", "sync", "plan":
			fmt.Fprintln(fs.Output(), "\nConfigured by QW_ environment variables; `queuewrangler help` lists them with their defaults.")
		}
	}
	return fs
}

// parseFlags parses args and turns a flag error into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}
