package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/client"
)

// Real processes: one of three workers runs everything 100 times slower.
// Its microtasks get speculative copies on the others (the coordinator
// logs each), and every item has exactly one result, equal to its input.
func TestSlowWorkerSpeculation(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	url := "http://" + addr
	srv := startServer(t, addr, t.TempDir(), "--speculate-min", "100ms")
	for i := 0; i < 3; i++ {
		args := []string{"worker", "--server", url, "--slots", "2", "--name", fmt.Sprintf("w%d", i)}
		if i == 0 {
			args = append(args, "--slowdown", "100") // 20ms becomes 2s
		}
		start(t, fmt.Sprintf("worker%d", i), args...)
	}
	c := client.New(url)
	waitWorkers(t, c, 3)
	const n = 60
	sub, err := c.Submit(context.Background(), sleepJob(n, 20))
	if err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, c, sub.ID, n)
	if !strings.Contains(srv.out.String(), "straggler: speculative copy") {
		t.Fatalf("no speculative copy was made; coordinator log:\n%s", tail(srv.out.String(), 40))
	}
}
