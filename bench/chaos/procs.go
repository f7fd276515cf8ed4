package main

import (
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// proc is one running myriad process; its output goes to a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// startProc starts bin with args, its output appended to logPath. The
// process is in a group of its own (so a kill reaches whatever it runs)
// and dies with the harness.
func startProc(name, bin, logPath string, args ...string) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	fmt.Fprintf(f, "=== %s %s: %v\n", time.Now().Format(time.RFC3339Nano), name, args)
	cmd := exec.Command(bin, args...)
	cmd.Env = tokenEnv()
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: f, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// kill SIGKILLs the process group and waits for the process to end.
func (p *proc) kill() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits up to grace for a clean exit, then kills.
// It reports whether the process exited on its own with status 0.
func (p *proc) stop(grace time.Duration) bool {
	p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return p.cmd.ProcessState.Success()
	case <-t.C:
		p.kill()
		return false
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// chaosToken is the admin API token every process of a run shares: the
// coordinator accepts it (MYRIAD_ADMIN_TOKEN), workers and the CLI send
// it (MYRIAD_TOKEN).
var chaosToken = func() string {
	var b [20]byte
	crand.Read(b[:])
	return "myrt_" + hex.EncodeToString(b[:])
}()

func tokenEnv() []string {
	return append(os.Environ(), "MYRIAD_ADMIN_TOKEN="+chaosToken, "MYRIAD_TOKEN="+chaosToken)
}
