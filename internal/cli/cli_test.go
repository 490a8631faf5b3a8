package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/queuewrangler/queuewrangler/internal/config"
)

// program has one command with a flag that reads the environment, one
// without either, and help.
func program(ran *[]string) Program {
	return Program{Name: "prog", Intro: "prog does things.", Commands: []Command{
		{Name: "go", Summary: "go somewhere", ReadsEnv: true,
			About: "go somewhere far away, farther than one line of the terminal holds, so that the help wraps it at a space",
			Run: func(_ context.Context, fs *Flags, args []string, stdout, _ io.Writer) error {
				speed := fs.Int("speed", 1, "how fast")
				if err := fs.Parse(args); err != nil {
					return err
				}
				*ran = append(*ran, "go")
				if *speed < 0 {
					return Usagef("go: --speed %d is negative", *speed)
				}
				if *speed == 0 {
					return &config.ValidationError{Problems: []string{"QW_X: bad", "QW_Y: bad"}}
				}
				if *speed > 100 {
					return errors.New("engine failed")
				}
				return nil
			}},
		{Name: "stay", Summary: "stay here", Run: func(_ context.Context, fs *Flags, args []string, _, _ io.Writer) error {
			return fs.Parse(args)
		}},
		{Name: "help", Summary: "show this help"},
	}}
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string, ran []string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = program(&ran).Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String(), ran
}

func TestCommandHelpGoesToStdout(t *testing.T) {
	for _, flag := range []string{"-h", "-help", "--help"} {
		code, out, errOut, ran := run(t, "go", flag)
		if code != ExitOK || errOut != "" || len(ran) > 0 {
			t.Errorf("go %s: code %d, stderr %q, ran %v; want 0, nothing on stderr, nothing run", flag, code, errOut, ran)
		}
		want := "prog go: go somewhere far away, farther than one line of the terminal holds, so\n" +
			"that the help wraps it at a space\n\n" +
			"Usage: prog go [flags]\n\nFlags:\n  -speed int\n    \thow fast (default 1)\n\n" +
			"It reads QW_ variables: `prog -h` lists every one with its default.\n"
		if out != want {
			t.Errorf("go %s wrote\n%s\nwant\n%s", flag, out, want)
		}
	}
	code, out, _, _ := run(t, "stay", "-h")
	if want := "prog stay: stay here\n\nUsage: prog stay\n"; code != ExitOK || out != want {
		t.Errorf("stay -h: code %d, wrote %q; want 0 and %q (no flags, no variables)", code, out, want)
	}
}

func TestMistakesGoToStderrWithExitCode2(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantErr   []string
		wantUsage bool
	}{
		{"an unknown flag", []string{"go", "--fast"}, []string{"flag provided but not defined: -fast", "prog: go: flag provided but not defined"}, true},
		{"a bad flag value", []string{"go", "--speed", "x"}, []string{`invalid value "x" for flag -speed`}, true},
		{"an argument no flag takes", []string{"stay", "there"}, []string{`prog: stay: unexpected arguments ["there"]`}, false},
		{"a usage error of the command", []string{"go", "--speed", "-1"}, []string{"prog: go: --speed -1 is negative"}, false},
		{"a configuration problem", []string{"go", "--speed", "0"}, []string{"prog: invalid configuration:\n  - QW_X: bad\n  - QW_Y: bad"}, false},
		{"an unknown command", []string{"fly"}, []string{`prog: unknown command "fly"`, "Commands:\n  go "}, false},
		{"no command", nil, []string{"Usage: prog <command>"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut, _ := run(t, tt.args...)
			if code != ExitUsage || out != "" {
				t.Fatalf("code %d, stdout %q; want %d and nothing on stdout", code, out, ExitUsage)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			if len(tt.args) == 0 {
				return
			}
			if got := strings.Contains(errOut, "Usage: prog "+tt.args[0]); got != tt.wantUsage {
				t.Errorf("stderr has the command's usage: %v, want %v:\n%s", got, tt.wantUsage, errOut)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	if code, _, errOut, ran := run(t, "go"); code != ExitOK || errOut != "" || len(ran) != 1 {
		t.Errorf("go: code %d, stderr %q, ran %v; want 0", code, errOut, ran)
	}
	if code, _, errOut, _ := run(t, "go", "--speed", "101"); code != ExitFailure || errOut != "prog: engine failed\n" {
		t.Errorf("a runtime failure: code %d, stderr %q; want %d and the error once", code, errOut, ExitFailure)
	}
}

func TestProgramHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "help"} {
		code, out, errOut, _ := run(t, arg)
		if code != ExitOK || errOut != "" {
			t.Fatalf("%s: code %d, stderr %q", arg, code, errOut)
		}
		for _, want := range []string{"prog does things.\n", "  go              go somewhere\n", "  stay            stay here\n",
			"Environment (go):\n", "QW_MODE", "Exit codes: 0 success, 1 runtime failure, 2 bad usage or invalid configuration."} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q:\n%s", arg, want, out)
			}
		}
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		text  string
		width int
		want  string
	}{
		{"a b c", 80, "a b c"},
		{"aaa bbb ccc", 7, "aaa bbb\nccc"},
		{"aaa  bbb\nccc", 3, "aaa\nbbb\nccc"},
		{"averylongword b", 4, "averylongword\nb"},
		{"", 10, ""},
	}
	for _, tt := range tests {
		if got := wrap(tt.text, tt.width); got != tt.want {
			t.Errorf("wrap(%q, %d) = %q, want %q", tt.text, tt.width, got, tt.want)
		}
	}
}
