package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// Default limits of the exec operator.
const (
	DefaultExecMaxOutput = 16 << 20
	// DefaultExecTimeout bounds one command run (the stage's own timeout
	// may end it sooner).
	DefaultExecTimeout = 10 * time.Minute
	stderrTail         = 20 // lines kept in an error
)

// ExecAllowAny in Allow lets exec run any command: for a single trusted
// user's own machine only (docs/security.md).
const ExecAllowAny = "*"

// ExecOptions configures the exec operator.
type ExecOptions struct {
	// Allow lists the commands exec may run, by base name (found on
	// PATH) or absolute path. Empty allows none (the default);
	// ExecAllowAny allows any.
	Allow []string
	// MaxOutput caps a command's stdout in bytes.
	MaxOutput int64
	// Timeout bounds each command run; default DefaultExecTimeout.
	Timeout time.Duration
	// WorkDir is the parent of each command's private working directory;
	// default the system temp directory.
	WorkDir string
}

type execParams struct {
	// Command is the program and its arguments. An argument that is
	// exactly "{field}" is replaced by that field of an object item (or
	// "{}" by a string item), as one argument: no shell is involved.
	Command []string `json:"command"`
	// Mode "item" (default) runs the command once per item with the
	// item's data on stdin; "batch" runs it once per microtask with
	// {"items": [...]} on stdin and expects {"items": [...]} on stdout.
	Mode string `json:"mode"`
	// Env adds environment variables.
	Env map[string]string `json:"env"`
}

var placeholder = regexp.MustCompile(`^\{([A-Za-z0-9_.-]*)\}$`)

func newExec(opt ExecOptions) worker.Handler {
	if opt.MaxOutput <= 0 {
		opt.MaxOutput = DefaultExecMaxOutput
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultExecTimeout
	}
	return func(ctx context.Context, t *worker.Task) ([]task.Item, error) {
		var p execParams
		if err := t.DecodeParams(&p); err != nil {
			return nil, err
		}
		if len(p.Command) == 0 || p.Command[0] == "" {
			return nil, worker.Permanent(errors.New("exec: params.command is empty"))
		}
		if !allowed(opt.Allow, p.Command[0]) {
			return nil, worker.Permanent(fmt.Errorf("exec: command %q is not in this worker's allow-list (--exec-allow)", p.Command[0]))
		}
		for k := range p.Env {
			if err := checkEnv(k); err != nil {
				return nil, worker.Permanent(err)
			}
		}
		dir, err := os.MkdirTemp(opt.WorkDir, "myriad-exec-")
		if err != nil {
			return nil, fmt.Errorf("exec: work dir: %w", err)
		}
		defer os.RemoveAll(dir)
		switch p.Mode {
		case "", "item":
			out := make([]task.Item, 0, len(t.Items))
			for _, it := range t.Items {
				argv, err := expand(p.Command, it)
				if err != nil {
					return nil, worker.Permanent(fmt.Errorf("item %s: %w", it.ID, err))
				}
				stdout, err := run(ctx, argv, p.Env, dir, it.Data, opt.MaxOutput, opt.Timeout)
				if err != nil {
					return nil, fmt.Errorf("item %s: %w", it.ID, err)
				}
				out = append(out, task.Item{ID: it.ID, Data: asJSON(stdout)})
			}
			return out, nil
		case "batch":
			in, err := json.Marshal(map[string]any{"job": t.Job, "stage": t.Stage, "items": t.Items})
			if err != nil {
				return nil, err
			}
			stdout, err := run(ctx, p.Command, p.Env, dir, in, opt.MaxOutput, opt.Timeout)
			if err != nil {
				return nil, err
			}
			var res struct {
				Items []task.Item `json:"items"`
			}
			if err := json.Unmarshal(stdout, &res); err != nil {
				return nil, fmt.Errorf("exec: batch mode wants {\"items\": [...]} on stdout: %w", err)
			}
			return res.Items, nil
		default:
			return nil, worker.Permanent(fmt.Errorf("exec: params.mode %q: want item or batch", p.Mode))
		}
	}
}

func allowed(allow []string, cmd string) bool {
	for _, a := range allow {
		if a == ExecAllowAny || a == cmd || (!strings.Contains(cmd, "/") && a == filepath.Base(cmd)) {
			return true
		}
	}
	return false
}

// checkEnv refuses job-supplied variables that would change which code an
// allowed command runs (the loader's, PATH) or reach the worker's own
// credentials.
func checkEnv(k string) error {
	u := strings.ToUpper(k)
	if k == "" || strings.ContainsAny(k, "=\x00") || u == "PATH" || u == "IFS" || strings.HasPrefix(u, "LD_") ||
		strings.HasPrefix(u, "DYLD_") || strings.HasPrefix(u, "MYRIAD_") {
		return fmt.Errorf("exec: params.env: %q may not be set by a job", k)
	}
	return nil
}

// childEnv is the worker's environment less its credentials, which a
// command never needs.
func childEnv(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "MYRIAD_TOKEN" || k == "MYRIAD_ADMIN_TOKEN" {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// expand replaces whole-argument placeholders with item fields.
func expand(argv []string, it task.Item) ([]string, error) {
	out := make([]string, len(argv))
	var obj map[string]any
	for i, a := range argv {
		m := placeholder.FindStringSubmatch(a)
		if m == nil || i == 0 {
			out[i] = a
			continue
		}
		if m[1] == "" {
			var s string
			if err := json.Unmarshal(it.Data, &s); err != nil {
				return nil, fmt.Errorf("argument %q wants a string item", a)
			}
			out[i] = s
			continue
		}
		if obj == nil {
			if err := json.Unmarshal(it.Data, &obj); err != nil {
				return nil, fmt.Errorf("argument %q wants an object item", a)
			}
		}
		v, ok := obj[m[1]]
		if !ok {
			return nil, fmt.Errorf("argument %q: the item has no field %q", a, m[1])
		}
		switch x := v.(type) {
		case string:
			out[i] = x
		default:
			b, _ := json.Marshal(x)
			out[i] = string(b)
		}
	}
	return out, nil
}

// run executes argv with stdin, in its own process group so a timeout
// kills its children too, capping stdout.
func run(ctx context.Context, argv []string, env map[string]string, dir string, stdin []byte, maxOut int64, timeout time.Duration) ([]byte, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	cmd.Env = childEnv(env)
	stdout := &capped{max: maxOut}
	var stderr tail
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	err := cmd.Run()
	if parent.Err() != nil {
		return nil, parent.Err()
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("exec: %s ran longer than the limit of %v: %w", argv[0], timeout, ctx.Err())
	}
	if stdout.over {
		return nil, worker.Permanent(fmt.Errorf("exec: output exceeds the cap of %d bytes", maxOut))
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code := ee.ExitCode()
			if status, ok := ee.Sys().(syscall.WaitStatus); ok && status.Signaled() {
				code = 128 + int(status.Signal())
			}
			return nil, &worker.ExitError{Code: code, Stderr: stderr.String()}
		}
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return nil, worker.Permanent(fmt.Errorf("exec: %w", err))
		}
		return nil, fmt.Errorf("exec: %w", err)
	}
	return stdout.buf.Bytes(), nil
}

// asJSON returns stdout as JSON: itself if valid, else a JSON string of
// the trimmed text (null when empty).
func asJSON(b []byte) json.RawMessage {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(t) {
		return json.RawMessage(t)
	}
	s, _ := json.Marshal(string(t))
	return s
}

type capped struct {
	buf  bytes.Buffer
	max  int64
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if int64(c.buf.Len()+len(p)) > c.max {
		c.over = true
		return 0, io.ErrShortWrite
	}
	return c.buf.Write(p)
}

// tail keeps the last lines written to it.
type tail struct{ buf bytes.Buffer }

func (t *tail) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if t.buf.Len() > 64<<10 {
		b := t.buf.Bytes()
		t.buf = *bytes.NewBuffer(append([]byte(nil), b[len(b)-32<<10:]...))
	}
	return len(p), nil
}

func (t *tail) String() string {
	lines := strings.Split(strings.TrimRight(t.buf.String(), "\n"), "\n")
	if len(lines) > stderrTail {
		lines = lines[len(lines)-stderrTail:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
