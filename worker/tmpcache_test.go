package worker

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestOrphanCachesRemoved(t *testing.T) {
	tmp := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(name, owner string) string {
		d := filepath.Join(tmp, tempCachePrefix+name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(d, ownerFile), []byte(owner), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	gone := mk("gone", strconv.Itoa(dead.Process.Pid))
	mine := mk("mine", strconv.Itoa(os.Getpid()))
	starting := mk("starting", "")
	old := mk("old", "")
	long := time.Now().Add(-2 * orphanAge)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	odd := mk("odd", "not a pid")
	other := filepath.Join(tmp, "something-else")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	removeOrphanCaches(tmp, slog.New(slog.DiscardHandler))
	for d, want := range map[string]bool{gone: false, mine: true, starting: true, old: false, odd: true, other: true} {
		_, err := os.Stat(d)
		if got := err == nil; got != want {
			t.Errorf("%s: kept %v, want %v", filepath.Base(d), got, want)
		}
	}
}
