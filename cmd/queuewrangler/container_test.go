package main

import (
	"encoding/json"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/queuewrangler/queuewrangler/internal/cli"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/httpapi"
	"github.com/queuewrangler/queuewrangler/internal/roster"
)

// No container engine runs here, so the tests read the Dockerfile and the
// compose file as an ops engineer would and check what each promises.

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct{ cmd, args string }

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// finalStage is the instructions after the last FROM: what the image runs.
func finalStage(ins []instruction) []instruction {
	last := 0
	for i, in := range ins {
		if in.cmd == "FROM" {
			last = i
		}
	}
	return ins[last:]
}

func jsonArgs(t *testing.T, s string) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%q is not exec form (a JSON array): %v", s, err)
	}
	return v
}

func TestDockerfile(t *testing.T) {
	ins := readDockerfile(t)
	final := finalStage(ins)
	find := func(stage []instruction, cmd string) []instruction {
		var out []instruction
		for _, in := range stage {
			if in.cmd == cmd {
				out = append(out, in)
			}
		}
		return out
	}
	entry := find(final, "ENTRYPOINT")
	if len(entry) != 1 {
		t.Fatalf("final stage has %d ENTRYPOINTs, want 1", len(entry))
	}
	binary := jsonArgs(t, entry[0].args)[0]

	t.Run("HEALTHCHECK runs the binary's probe", func(t *testing.T) {
		hc := find(final, "HEALTHCHECK")
		if len(hc) != 1 {
			t.Fatalf("%d HEALTHCHECKs, want 1", len(hc))
		}
		_, exec, ok := strings.Cut(hc[0].args, "CMD ")
		if !ok {
			t.Fatalf("HEALTHCHECK %q has no CMD", hc[0].args)
		}
		args := jsonArgs(t, strings.TrimSpace(exec))
		if len(args) < 2 || args[0] != binary || args[1] != "healthcheck" {
			t.Errorf("HEALTHCHECK runs %q, want %s healthcheck", args, binary)
		}
		if !slices.ContainsFunc(commands(), func(c cli.Command) bool { return c.Name == "healthcheck" && c.Run != nil }) {
			t.Error("the binary has no healthcheck command")
		}
	})
	t.Run("serve unless another command is named", func(t *testing.T) {
		// With serve in the ENTRYPOINT, docker run IMAGE version ran
		// `serve version`, refused as unexpected arguments.
		if args := jsonArgs(t, entry[0].args); len(args) != 1 {
			t.Errorf("ENTRYPOINT %q names a command: docker run IMAGE version would pass version to it", args)
		}
		cmds := find(final, "CMD")
		if len(cmds) != 1 || !slices.Equal(jsonArgs(t, cmds[0].args), []string{"serve"}) {
			t.Errorf("CMD %v, want [\"serve\"]", cmds)
		}
	})
	t.Run("docker stop sends the signal serve stops on", func(t *testing.T) {
		// serve stops within its budget on SIGTERM (run); another stop
		// signal would leave it running until docker stop's SIGKILL.
		for _, in := range find(final, "STOPSIGNAL") {
			if in.args != "SIGTERM" && in.args != "15" {
				t.Errorf("STOPSIGNAL %s, want SIGTERM", in.args)
			}
		}
	})
	t.Run("a non-root user", func(t *testing.T) {
		users := find(final, "USER")
		if len(users) == 0 {
			t.Fatal("no USER: the image runs as root")
		}
		user, _, _ := strings.Cut(users[len(users)-1].args, ":")
		if user == "root" || user == "0" {
			t.Errorf("USER %s is root", users[len(users)-1].args)
		}
	})
	build := ""
	for _, in := range ins {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = in.args
		}
	}
	t.Run("a static binary", func(t *testing.T) {
		if !strings.Contains(build, "CGO_ENABLED=0 go build") {
			t.Errorf("the build %q does not turn cgo off", build)
		}
		if from := final[0].args; !strings.Contains(from, "distroless/static") {
			t.Errorf("the image is FROM %s, want a static distroless base (no libc for a cgo binary)", from)
		}
	})
	t.Run("VERSION and COMMIT reach `version`", func(t *testing.T) {
		var args []string
		for _, in := range ins {
			if in.cmd == "ARG" {
				name, _, _ := strings.Cut(in.args, "=")
				args = append(args, name)
			}
		}
		for _, want := range []string{"VERSION", "COMMIT"} {
			if !slices.Contains(args, want) {
				t.Errorf("no ARG %s (have %v)", want, args)
			}
		}
		m := regexp.MustCompile(`-ldflags "([^"]*)"`).FindStringSubmatch(build)
		if m == nil {
			t.Fatalf("the build %q sets no -ldflags", build)
		}
		if testing.Short() {
			t.Skip("builds the binary with the Dockerfile's flags")
		}
		// Link with the Dockerfile's own flags and ask the binary. Without
		// -trimpath, which would recompile every package: the flags that
		// matter here are the linker's.
		ldflags := strings.NewReplacer("${VERSION}", "v9.8.7", "${COMMIT}", "c0ffee1").Replace(m[1])
		bin := filepath.Join(t.TempDir(), "queuewrangler")
		cmd := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build -ldflags %q: %v\n%s", ldflags, err, out)
		}
		out, err := exec.Command(bin, "version").Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(out), "queuewrangler v9.8.7\ncommit c0ffee1\n") {
			t.Errorf("version printed %q, want version v9.8.7 and commit c0ffee1", out)
		}
	})
}

type composeService struct {
	Profiles    []string          `yaml:"profiles"`
	Image       string            `yaml:"image"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

// run is the queuewrangler command a service runs: the image's `serve`
// unless its entrypoint names another; "" for other images.
func (s composeService) run() string {
	if s.Image != "" {
		return ""
	}
	if len(s.Entrypoint) > 1 {
		return s.Entrypoint[1]
	}
	return "serve"
}

// defaultPort is the port a command listens on by default, read from its
// own -h (the flag's default) or, for serve, from config's default.
func defaultPort(t *testing.T, name string) string {
	t.Helper()
	addr := ""
	if name == "serve" {
		clearEnv(t)
		cfg, err := config.Load()
		if err != nil {
			t.Fatal(err)
		}
		addr = cfg.ListenAddr
	} else {
		_, usage, _ := runMain(t, name, "-h")
		m := regexp.MustCompile(`-addr string\n\s+.*\(default "([^"]+)"\)`).FindStringSubmatch(usage)
		if m == nil {
			t.Fatalf("%s -h names no default --addr:\n%s", name, usage)
		}
		addr = m[1]
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func TestComposeFile(t *testing.T) {
	data, err := os.ReadFile("../../metrics/deploy/docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatalf("the compose file does not parse: %v", err)
	}
	defaults := map[string]string{} // port -> the command that takes it by default
	for _, name := range []string{"serve", "demo", "fake-helpscout"} {
		defaults[defaultPort(t, name)] = name
	}

	t.Run("no published port collides", func(t *testing.T) {
		published := map[string]string{}
		for _, name := range slices.Sorted(func(yield func(string) bool) {
			for k := range compose.Services {
				if !yield(k) {
					return
				}
			}
		}) {
			svc := compose.Services[name]
			for _, p := range svc.Ports {
				parts := strings.Split(p, ":")
				host := parts[len(parts)-2]
				if other, ok := published[host]; ok {
					t.Errorf("%s and %s both publish host port %s", other, name, host)
				}
				published[host] = name
				if cmd, ok := defaults[host]; ok && cmd != svc.run() && !(cmd == "demo" && svc.run() == "serve") {
					t.Errorf("%s publishes host port %s, the default of `queuewrangler %s` (which the README runs on the host)", name, host, cmd)
				}
			}
		}
	})
	// The page, the API and /metrics need no login to read, and Grafana
	// starts as admin/admin: the stack is for one's own machine, so
	// nothing it publishes may reach beyond the host's loopback.
	t.Run("every port is published on loopback only", func(t *testing.T) {
		for name, svc := range compose.Services {
			for _, p := range svc.Ports {
				if !strings.HasPrefix(p, "127.0.0.1:") {
					t.Errorf("%s publishes %s beyond the host's loopback", name, p)
				}
			}
		}
	})
	t.Run("the demo profile runs demo", func(t *testing.T) {
		var runs []string
		for name, svc := range compose.Services {
			if slices.Contains(svc.Profiles, "demo") {
				runs = append(runs, svc.run())
				if svc.run() == "serve" || svc.run() == "fake-helpscout" {
					t.Errorf("the demo profile's %s runs %s, whose clock is not the simulation's", name, svc.run())
				}
				if svc.run() == "demo" && slices.Contains(svc.Entrypoint, "--db") {
					t.Errorf("the demo profile's %s keeps a --db file, which the demo refuses at the container's next start: %q", name, svc.Entrypoint)
				}
			}
		}
		if !slices.Contains(runs, "demo") {
			t.Errorf("the demo profile runs %v, want demo", runs)
		}
	})
	t.Run("every service has a healthcheck", func(t *testing.T) {
		for name, svc := range compose.Services {
			switch {
			case svc.Healthcheck == nil || len(svc.Healthcheck.Test) < 2:
				t.Errorf("%s has no healthcheck", name)
			case svc.run() != "" && svc.Healthcheck.Test[2] != "healthcheck":
				t.Errorf("%s's healthcheck %q does not use the binary's probe", name, svc.Healthcheck.Test)
			}
		}
	})
	t.Run("the daemon reads a mounted roster", func(t *testing.T) {
		svc := compose.Services["queuewrangler"]
		path := svc.Environment["QW_ROSTER_FILE"]
		var host string
		for _, v := range svc.Volumes {
			if parts := strings.Split(v, ":"); len(parts) >= 2 && parts[1] == path {
				host = filepath.Join("../../metrics/deploy", parts[0])
			}
		}
		if path == "" || host == "" {
			t.Fatalf("QW_ROSTER_FILE %q is not a mounted file (volumes %v)", path, svc.Volumes)
		}
		if _, err := roster.Load(host); err != nil {
			t.Errorf("the shipped roster: %v", err)
		}
	})
}

// readmeDockerRun returns the README and its docker run command, from
// "docker run " to the end of its code block, with where it starts.
func readmeDockerRun(t *testing.T) (readme string, at int, command string) {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme = string(data)
	at = strings.Index(readme, "docker run ")
	if at < 0 {
		t.Fatal("the README has no docker run")
	}
	command = readme[at:]
	return readme, at, command[:strings.Index(command, "```")]
}

// TestREADMEDockerRunMountsARoster: the README's docker run shows where
// the roster goes.
func TestREADMEDockerRunMountsARoster(t *testing.T) {
	_, _, block := readmeDockerRun(t)
	m := regexp.MustCompile(`QW_ROSTER_FILE=(\S+)`).FindStringSubmatch(block)
	if m == nil {
		t.Fatalf("the README's docker run sets no QW_ROSTER_FILE:\n%s", block)
	}
	if !regexp.MustCompile(`-v \S+:` + regexp.QuoteMeta(m[1]) + `:ro`).MatchString(block) {
		t.Errorf("the README's docker run does not mount a roster at %s read-only:\n%s", m[1], block)
	}
}

// TestHealthcheckCommand: exit 0 when /readyz is 200, 1 with the reason
// otherwise, at QW_LISTEN_ADDR with a wildcard host dialled on loopback; 2
// when QW_LISTEN_ADDR is bad.
func TestHealthcheckCommand(t *testing.T) {
	var ready atomic.Bool
	ts := httptest.NewServer(httpapi.New(httpapi.Options{Ready: func() (bool, string) { return ready.Load(), "the first sync has not finished" }}))
	defer ts.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(ts.URL, "http://"))
	clearEnv(t)
	t.Setenv("QW_LISTEN_ADDR", ":"+port)
	if code, _, stderr := runMain(t, "healthcheck"); code != exitFailure || !strings.Contains(stderr, "not ready (HTTP 503): the first sync has not finished") {
		t.Errorf("before ready: exit %d, stderr %q; want 1 and the reason", code, stderr)
	}
	ready.Store(true)
	if code, stdout, stderr := runMain(t, "healthcheck"); code != exitOK || stdout != "ready\n" {
		t.Errorf("when ready: exit %d, stdout %q, stderr %q; want 0 and ready", code, stdout, stderr)
	}
	ts.Close()
	if code, _, _ := runMain(t, "healthcheck", "--addr", "127.0.0.1:"+port); code != exitFailure {
		t.Errorf("a stopped daemon: exit %d, want 1", code)
	}
	// A configuration problem is exit 2, as serve would report it, not a
	// probe that failed.
	t.Setenv("QW_LISTEN_ADDR", "8080")
	const want = `QW_LISTEN_ADDR: "8080" is not host:port (e.g. :8080 or 127.0.0.1:8080)`
	if code, _, stderr := runMain(t, "healthcheck"); code != exitUsage || !strings.Contains(stderr, want) {
		t.Errorf("a bad QW_LISTEN_ADDR: exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, want)
	}
}

// TestREADMEDockerRunKeepsItsSecrets: a secret the README's docker run
// makes up on the command line (-e QW_ADMIN_TOKEN=$(openssl ...)) reaches
// the container and nowhere the operator can read it back, yet the admin
// token is the page's login and the webhook secret goes into Help Scout.
// The secrets come from a file, which also keeps them out of ps.
func TestREADMEDockerRunKeepsItsSecrets(t *testing.T) {
	readme, i, block := readmeDockerRun(t)
	secrets := []string{"QW_ADMIN_TOKEN", "QW_HELPSCOUT_WEBHOOK_SECRET", "QW_HELPSCOUT_CLIENT_SECRET"}
	for _, secret := range secrets {
		if strings.Contains(block, secret+"=") {
			t.Errorf("the README's docker run sets %s on its command line:\n%s", secret, block)
		}
	}
	m := regexp.MustCompile(`--env-file (\S+)`).FindStringSubmatch(block)
	if m == nil {
		t.Fatalf("the README's docker run reads no --env-file:\n%s", block)
	}
	setup := readme[strings.LastIndex(readme[:i], "```sh"):i]
	for _, secret := range secrets {
		if !strings.Contains(setup, "\n"+secret+"=") {
			t.Errorf("the README writes no %s into %s before the docker run:\n%s", secret, m[1], setup)
		}
	}
	if !strings.Contains(setup, "umask 077") || !strings.Contains(setup, "> "+m[1]) {
		t.Errorf("the README does not write %s readable by its owner alone:\n%s", m[1], setup)
	}
}

// TestLocalFilesStayOutOfGitAndTheImage: what the README has an operator
// make in the checkout (the binary, the database and the files beside it,
// the env file holding the secrets) is ignored by git and by the image's
// build context: the env file copied by `COPY . .` would sit in the
// build cache, and a database holds customers' names.
func TestLocalFilesStayOutOfGitAndTheImage(t *testing.T) {
	made := []string{"queuewrangler", "queuewrangler.db", "queuewrangler.db-wal", "queuewrangler.db-shm",
		"queuewrangler.db.lock", "queuewrangler.env"}
	for _, ignoreFile := range []string{"../../.gitignore", "../../.dockerignore"} {
		data, err := os.ReadFile(ignoreFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range made {
			ignored := false
			for line := range strings.Lines(string(data)) {
				pattern := strings.TrimPrefix(strings.TrimSpace(line), "/")
				if ok, _ := filepath.Match(pattern, name); ok && !strings.HasPrefix(pattern, "#") {
					ignored = true
				}
			}
			if !ignored {
				t.Errorf("%s does not ignore %s", filepath.Base(ignoreFile), name)
			}
		}
	}
}

// TestREADMEDockerRunPublishesOnLoopback: the page, the API and /metrics
// show customers' names and need no login to read, and the README puts a
// reverse proxy in front that passes only the webhook; its docker run
// must not publish the port around that proxy on every host address.
func TestREADMEDockerRunPublishesOnLoopback(t *testing.T) {
	_, _, block := readmeDockerRun(t)
	ports := regexp.MustCompile(`(?:-p|--publish) (\S+)`).FindAllStringSubmatch(block, -1)
	if len(ports) == 0 {
		t.Fatalf("the README's docker run publishes no port:\n%s", block)
	}
	for _, p := range ports {
		if !strings.HasPrefix(p[1], "127.0.0.1:") {
			t.Errorf("the README's docker run publishes %s beyond the host's loopback", p[1])
		}
	}
}
