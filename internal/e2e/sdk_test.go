package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The SDK example runs its own operator against a real coordinator.
func TestSDKExample(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "sdk")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/myriadhq/myriad/examples/sdk").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	startServer(t, addr, filepath.Join(dir, "data"))
	out, err := exec.Command(bin, "--server", "http://"+addr).CombinedOutput()
	if err != nil {
		t.Fatalf("sdk example: %v\n%s", err, out)
	}
	for _, want := range []string{"completed", `0: "HELLO!"`, `2: "BIG IMPACT!"`} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}
