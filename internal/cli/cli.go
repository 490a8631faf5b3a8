package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/queuewrangler/queuewrangler/internal/config"
)

// Exit codes, as `queuewrangler -h` lists them.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// UsageError is bad usage: wrong flags, unknown command, bad input files
// (exit code 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a *UsageError with the formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Errorf(format, args...)}
}

// Command is one subcommand.
type Command struct {
	Name    string
	Summary string // its line in the program's -h
	// About opens the command's own -h: what it does, in a sentence or
	// two (wrapped to the terminal). Empty: Summary says it.
	About string
	// ReadsEnv is set for the commands that read QW_ variables: their -h
	// points to the program's, which lists every one with its default.
	ReadsEnv bool
	// Run receives a flag set whose usage says what the command does; it
	// adds its flags and calls fs.Parse(args). Nil for help.
	Run func(ctx context.Context, fs *Flags, args []string, stdout, stderr io.Writer) error
}

// Program is the binary: its name, the sentence its help opens with, and
// its commands.
type Program struct {
	Name     string
	Intro    string
	Commands []Command
}

// Main runs the command named by args and returns the process exit code.
func (p Program) Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		p.WriteHelp(stderr)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		p.WriteHelp(stdout)
		return ExitOK
	}
	for _, c := range p.Commands {
		if c.Name == args[0] && c.Run != nil {
			fs := &Flags{FlagSet: flag.NewFlagSet(c.Name, flag.ContinueOnError), program: p.Name, command: c,
				stdout: stdout, stderr: stderr}
			fs.Usage = fs.writeUsage
			return p.exitCode(c.Run(ctx, fs, args[1:], stdout, stderr), stderr)
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n\n", p.Name, args[0])
	p.WriteHelp(stderr)
	return ExitUsage
}

// exitCode writes err, if any, and says which exit code it is.
func (p Program) exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
	if u := (*UsageError)(nil); errors.As(err, &u) || config.IsValidation(err) {
		return ExitUsage
	}
	return ExitFailure
}

// WriteHelp writes the program's help: the commands, every variable with
// its default, the exit codes.
func (p Program) WriteHelp(w io.Writer) {
	fmt.Fprintln(w, p.Intro)
	fmt.Fprintf(w, "\nUsage: %s <command> [flags]   (%s <command> -h: what it does, and its flags)\n", p.Name, p.Name)
	fmt.Fprintln(w, "\nCommands:")
	var readers []string
	for _, c := range p.Commands {
		fmt.Fprintf(w, "  %-15s %s\n", c.Name, c.Summary)
		if c.ReadsEnv {
			readers = append(readers, c.Name)
		}
	}
	fmt.Fprintf(w, "\nEnvironment (%s):\n", strings.Join(readers, ", "))
	if err := config.PrintUsage(w); err != nil {
		fmt.Fprintf(w, "  (cannot list variables: %v)\n", err)
	}
	fmt.Fprintln(w, "\nExit codes: 0 success, 1 runtime failure, 2 bad usage or invalid configuration.")
}

// Flags is one command's flag set. Its Parse reports instead of exiting,
// and sends -h to stdout and a mistake's usage to stderr.
type Flags struct {
	*flag.FlagSet
	program        string
	command        Command
	stdout, stderr io.Writer
}

// Parse parses args: flag.ErrHelp after -h (exit code 0), a *UsageError
// for an unknown flag, a bad value or an argument no flag takes.
func (f *Flags) Parse(args []string) error {
	var out bytes.Buffer // where the usage goes depends on why it was written
	f.SetOutput(&out)
	err := f.FlagSet.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		_, _ = f.stdout.Write(out.Bytes())
		return err
	case err != nil:
		_, _ = f.stderr.Write(out.Bytes())
		return Usagef("%s: %v", f.Name(), err)
	case f.NArg() > 0:
		return Usagef("%s: unexpected arguments %q", f.Name(), f.Args())
	}
	return nil
}

// writeUsage is the command's -h: what it does, how to call it, its
// flags, and where its variables are listed.
func (f *Flags) writeUsage() {
	w := f.Output()
	about := f.command.About
	if about == "" {
		about = f.command.Summary
	}
	fmt.Fprintf(w, "%s\n\n", wrap(f.program+" "+f.command.Name+": "+about, 80))
	hasFlags := false
	f.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintf(w, "Usage: %s %s [flags]\n\nFlags:\n", f.program, f.command.Name)
		f.PrintDefaults()
	} else {
		fmt.Fprintf(w, "Usage: %s %s\n", f.program, f.command.Name)
	}
	if f.command.ReadsEnv {
		fmt.Fprintf(w, "\nIt reads QW_ variables: `%s -h` lists every one with its default.\n", f.program)
	}
}

// wrap breaks text into lines of at most width columns at spaces (a word
// longer than width keeps its own line).
func wrap(text string, width int) string {
	var b strings.Builder
	line := 0
	for i, word := range strings.Fields(text) {
		switch {
		case i == 0:
		case line+1+len(word) > width:
			b.WriteByte('\n')
			line = 0
		default:
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += len(word)
	}
	return b.String()
}
