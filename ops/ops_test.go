package ops

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

func items(raw ...string) []task.Item {
	out := make([]task.Item, len(raw))
	for i, r := range raw {
		out[i] = task.Item{ID: string(rune('a' + i)), Data: json.RawMessage(r)}
	}
	return out
}

func call(t *testing.T, h worker.Handler, params string, in []task.Item) ([]task.Item, error) {
	t.Helper()
	tk := &worker.Task{Stage: "s", Items: in}
	if params != "" {
		tk.Params = json.RawMessage(params)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return h(ctx, tk)
}

func TestWordcountAndSum(t *testing.T) {
	t.Parallel()
	out, err := call(t, worker.MapItems(wordcount), "", items(`"The cat, the HAT."`, `{"text": "don't stop"}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(out[0].Data) != `{"words":4,"counts":{"cat":1,"hat":1,"the":2}}` || out[1].ID != "b" {
		t.Fatalf("wordcount: %s %s", out[0].Data, out[1].Data)
	}
	if _, err := call(t, worker.MapItems(wordcount), "", items(`{"body": "x"}`)); !worker.IsPermanent(err) {
		t.Fatalf("missing field: %v", err)
	}
	if _, err := call(t, worker.MapItems(wordcount), `{"feild": "x"}`, items(`"x"`)); err == nil || !strings.Contains(err.Error(), "feild") {
		t.Fatalf("unknown param: %v", err)
	}
	s, err := call(t, sum, "", append(out, items(`{"words": 1, "counts": {"cat": 2}, "note": "x"}`)...))
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 1 || string(s[0].Data) != `{"items":3,"sum":{"counts":{"cat":3,"don't":1,"hat":1,"stop":1,"the":2},"words":7}}` {
		t.Fatalf("sum: %s", s[0].Data)
	}
	if _, err := call(t, sum, "", items(`3`, `{"a": 1}`)); err == nil {
		t.Fatal("adding a map to a number should fail")
	}
}

func TestSleepHonoursContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newSleep(1)(ctx, &worker.Task{Params: json.RawMessage(`{"ms": 60000}`)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestExec(t *testing.T) {
	t.Parallel()
	h := newExec(ExecOptions{Allow: []string{"cat", "tr", "echo", "sh"}})
	// Item data goes to stdin; JSON stdout is the output, text becomes a
	// string.
	out, err := call(t, h, `{"command": ["cat"]}`, items(`{"x": 1}`, `"plain"`))
	if err != nil || string(out[0].Data) != `{"x": 1}` || string(out[1].Data) != `"plain"` {
		t.Fatalf("cat: %v %s", err, out)
	}
	out, err = call(t, h, `{"command": ["tr", "a-z", "A-Z"]}`, items(`"abc"`))
	if err != nil || string(out[0].Data) != `"ABC"` {
		t.Fatalf("tr: %v %s", err, out[0].Data)
	}
	// A placeholder is one argument, never interpreted by a shell.
	out, err = call(t, h, `{"command": ["echo", "{name}"]}`, items(`{"name": "$(touch /tmp/pwned); x"}`))
	if err != nil || string(out[0].Data) != `"$(touch /tmp/pwned); x"` {
		t.Fatalf("placeholder: %v %s", err, out[0].Data)
	}
	// Batch mode.
	out, err = call(t, h, `{"command": ["sh", "-c", "cat >/dev/null; echo '{\"items\":[{\"id\":\"z\",\"data\":7}]}'"], "mode": "batch"}`, items(`1`, `2`))
	if err != nil || len(out) != 1 || out[0].ID != "z" {
		t.Fatalf("batch: %v %+v", err, out)
	}
	// Exit codes keep the end of stderr.
	_, err = call(t, h, `{"command": ["sh", "-c", "echo one >&2; echo two >&2; exit 3"]}`, items(`1`))
	var ee *worker.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || !strings.Contains(ee.Stderr, "one\ntwo") {
		t.Fatalf("exit: %v", err)
	}
	// Each command runs in its own fresh directory.
	out, err = call(t, h, `{"command": ["sh", "-c", "pwd; ls | wc -l"]}`, items(`1`))
	if err != nil || !strings.Contains(string(out[0].Data), "myriad-exec-") || !strings.HasSuffix(strings.TrimSpace(string(out[0].Data)), `0"`) {
		t.Fatalf("work dir: %v %s", err, out[0].Data)
	}
}

func TestExecLimits(t *testing.T) {
	t.Parallel()
	limited := newExec(ExecOptions{Allow: []string{"echo", "sleep"}, MaxOutput: 100})
	if _, err := call(t, limited, `{"command": ["cat"]}`, items(`1`)); !worker.IsPermanent(err) || !strings.Contains(err.Error(), "allow-list") {
		t.Fatalf("not allowed: %v", err)
	}
	if _, err := call(t, limited, `{"command": ["/tmp/echo"]}`, items(`1`)); err == nil || !strings.Contains(err.Error(), "allow-list") {
		t.Fatalf("a path is not its base name: %v", err)
	}
	if _, err := call(t, limited, `{"command": ["echo", "`+strings.Repeat("x", 200)+`"]}`, items(`1`)); !worker.IsPermanent(err) || !strings.Contains(err.Error(), "cap") {
		t.Fatalf("output cap: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := limited(ctx, &worker.Task{Params: json.RawMessage(`{"command": ["sleep", "30"]}`), Items: items(`1`)})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("timeout: %v after %v", err, time.Since(start))
	}
	none := newExec(ExecOptions{Allow: []string{}})
	if _, err := call(t, none, `{"command": ["echo"]}`, items(`1`)); err == nil {
		t.Fatal("an empty allow-list allowed a command")
	}
	if _, err := call(t, newExec(ExecOptions{}), `{"command": ["echo"]}`, items(`1`)); err == nil || !strings.Contains(err.Error(), "allow-list") {
		t.Fatalf("the default allowed a command: %v", err)
	}
	if _, err := call(t, newExec(ExecOptions{Allow: []string{ExecAllowAny}}), `{"command": ["no-such-program-xyz"]}`, items(`1`)); !worker.IsPermanent(err) {
		t.Fatalf("missing program: %v", err)
	}
	// The operator's own timeout, apart from the stage's.
	quick := newExec(ExecOptions{Allow: []string{"sleep"}, Timeout: 100 * time.Millisecond})
	start = time.Now()
	if _, err := call(t, quick, `{"command": ["sleep", "30"]}`, items(`1`)); err == nil || !strings.Contains(err.Error(), "limit") || time.Since(start) > 10*time.Second {
		t.Fatalf("exec timeout: %v after %v", err, time.Since(start))
	}
}

// A job cannot set variables that change what an allowed command runs,
// and commands do not see the worker's token.
func TestExecEnv(t *testing.T) {
	t.Setenv("MYRIAD_TOKEN", "myrt_secret")
	h := newExec(ExecOptions{Allow: []string{"sh"}})
	for _, k := range []string{"LD_PRELOAD", "PATH", "DYLD_INSERT_LIBRARIES", "MYRIAD_TOKEN", "ld_library_path"} {
		if _, err := call(t, h, `{"command": ["sh", "-c", "true"], "env": {"`+k+`": "x"}}`, items(`1`)); !worker.IsPermanent(err) || !strings.Contains(err.Error(), k) {
			t.Errorf("env %s: %v", k, err)
		}
	}
	out, err := call(t, h, `{"command": ["sh", "-c", "echo \"[$MYRIAD_TOKEN][$GREETING]\""], "env": {"GREETING": "hi"}}`, items(`1`))
	if err != nil || string(out[0].Data) != `"[][hi]"` {
		t.Fatalf("child env: %v %s", err, out)
	}
}

// SleepScale plays a slow host: the sleep lasts scale times longer (a
// lower bound, which load cannot break).
func TestSleepScale(t *testing.T) {
	t.Parallel()
	start := time.Now()
	if _, err := newSleep(10)(context.Background(), &worker.Task{Params: json.RawMessage(`{"ms": 20}`)}); err != nil {
		t.Fatal(err)
	}
	if got := time.Since(start); got < 200*time.Millisecond {
		t.Fatalf("slept %v, want at least 200ms (20ms x 10)", got)
	}
}
